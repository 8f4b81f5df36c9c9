#!/usr/bin/env bash
# `make run`: starts a local nats-server with JetStream (port 4222, store under .run/nats) and
# the router with config/local.toml (embedded SQLite store under .run/data, the example policies,
# admin key "local-admin-key-0123456789"). Ctrl-C stops both.
set -euo pipefail
BUILD_DIR=${1:-build}
RUN_DIR=${2:-.run}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
mkdir -p "$RUN_DIR/nats" "$RUN_DIR/data"

NATS_PID=""
cleanup() {
  [ -n "$NATS_PID" ] && kill "$NATS_PID" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

if command -v nats-server >/dev/null 2>&1; then
  if ! (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; then
    nats-server -js -a 127.0.0.1 -p 4222 -sd "$RUN_DIR/nats" >"$RUN_DIR/nats.log" 2>&1 &
    NATS_PID=$!
    echo "nats-server with JetStream on nats://127.0.0.1:4222 (log: $RUN_DIR/nats.log)"
  else
    echo "nats-server already listening on 127.0.0.1:4222; using it"
  fi
fi

echo "router: gRPC 127.0.0.1:9000, HTTP 127.0.0.1:9001 (/health, /ready); admin key in config/local.toml"
"$BUILD_DIR/beamline-router" --config config/local.toml
