#!/usr/bin/env bash
# `make load`: the predecessor's load cases (reliability-and-performance.md §4) against a real
# nats-server -js and the router with NATS on; tenant test_tenant_perf (allowlisted), policy
# test_policy_perf (openai 0.7 / anthropic 0.3), a fixed decide.rng_seed.
#
#   bench/load.sh [BUILD_DIR] [--quick]
#
#   L1  1000 sequential NATS decides with push_assignment=true: all ok, every assignment stored
#       once (stream audit), openai share 70 % +- 5 points
#   L2  100 concurrent gRPC Decides (h2load -n 100 -c 100) and 100 concurrent pushing NATS
#       decides: all OK, 100 distinct assignments stored once
#   L3  sustained fixed rate for $LOAD_SECONDS (60) s: NATS $NATS_RATE (2000) pushing decides/s
#       and gRPC $GRPC_RATE (1000) req/s at the same time: 0 errors, p50/p95/p99 per transport
# Prints markdown tables with the predecessor's figures beside ours; exit 1 when a functional
# check fails. --quick: L1 200, L2 as is, L3 3 s at 200 + 100/s (smoke).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=build
QUICK=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    *) BUILD_DIR=$arg ;;
  esac
done
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
LOAD_SECONDS=${LOAD_SECONDS:-60}
NATS_RATE=${NATS_RATE:-2000}
GRPC_RATE=${GRPC_RATE:-1000}
L1_COUNT=1000
if [ "$QUICK" = 1 ]; then LOAD_SECONDS=3 NATS_RATE=200 GRPC_RATE=100 L1_COUNT=200; fi

ROUTER_BIN="$BUILD_DIR/beamline-router"
LOAD_BIN="$BUILD_DIR/bench_nats_load"
ECHO_BIN="$BUILD_DIR/bench_grpc_echo"
for b in "$ROUTER_BIN" "$LOAD_BIN" "$ECHO_BIN"; do
  [ -x "$b" ] || { echo "missing $b (build beamline-router bench_nats_load bench_grpc_echo)" >&2; exit 2; }
done
command -v h2load >/dev/null || { echo "h2load missing (apt-get install nghttp2-client)" >&2; exit 2; }
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/load.XXXXXX)}
mkdir -p "$OUT_DIR"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
  for _ in $(seq 1 150); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1" >&2
  return 1
}

mkdir -p "$OUT_DIR/fixtures/test_tenant_perf"
cp "$ROOT/bench/policies/test_policy_perf.json" "$OUT_DIR/fixtures/test_tenant_perf/"
NATS_PORT=$(free_port)
nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$OUT_DIR/nats" >"$OUT_DIR/nats.log" 2>&1 &
PIDS+=($!)
wait_port "$NATS_PORT"
NATS_URL="nats://127.0.0.1:$NATS_PORT"
sed -e "s#@FIXTURES@#$OUT_DIR/fixtures#" -e "s#@NATS_URL@#$NATS_URL#" \
  "$ROOT/bench/config/bench.toml" >"$OUT_DIR/load.toml"
cat >>"$OUT_DIR/load.toml" <<'EOF'

[tenants]
allowlist = ["test_tenant_perf"]

[decide]
rng_seed = 42
EOF
GRPC_PORT=$(free_port)
HTTP_PORT=$(free_port)
"$ROUTER_BIN" --config "$OUT_DIR/load.toml" --data-dir "$OUT_DIR/data" \
  --grpc-listen "127.0.0.1:$GRPC_PORT" --http-listen "127.0.0.1:$HTTP_PORT" \
  >"$OUT_DIR/router.out" 2>"$OUT_DIR/router.err" &
PIDS+=($!)
ROUTER_PID=$!
wait_port "$GRPC_PORT"
for _ in $(seq 1 150); do
  curl -fs "http://127.0.0.1:$HTTP_PORT/ready" >/dev/null 2>&1 && break
  sleep 0.1
done
"$ECHO_BIN" --write-request "$OUT_DIR/decide.grpc" --tenant test_tenant_perf --policy test_policy_perf
"$ECHO_BIN" --call "127.0.0.1:$GRPC_PORT" --tenant test_tenant_perf --policy test_policy_perf \
  >/dev/null || { echo "gRPC validity check failed (see $OUT_DIR)" >&2; exit 1; }

rss_mib() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$ROUTER_PID/status" 2>/dev/null || echo "?"; }
RSS_IDLE=$(rss_mib)
FAILED=0
nats_run() {  # nats_run LABEL MODE ARGS...: one row; marks FAILED on a functional failure
  "$LOAD_BIN" --url "$NATS_URL" --tenant test_tenant_perf --policy test_policy_perf --push \
    --require-ok --label "$1" --mode "$2" "${@:3}" || FAILED=1
}
H2=(-H 'content-type: application/grpc' -H 'te: trailers' -d "$OUT_DIR/decide.grpc")
grpc_row() {  # grpc_row LABEL SUMMARY LOG: one row from an h2load summary and --log-file
  local n ok wall rps pct
  n=$(awk '/^requests:/ {print $2}' "$2")
  ok=$(awk '/^requests:/ {for (i = 1; i <= NF; i++) if ($(i+1) ~ /^succeeded/) v=$i} END {print v}' "$2")
  wall=$(awk '/^finished in/ {v=$3; sub(/,$/, "", v); print v}' "$2")
  rps=$(awk '/^finished in/ {for (i = 1; i <= NF; i++) if ($i ~ /req\/s/) {v=$(i-1)}} END {print v}' "$2")
  pct=$(awk '{print $3}' "$3" | sort -n | awk '{a[NR]=$1} END {
      split("0.50 0.95 0.99", q, " ");
      for (i = 1; i <= 3; i++) {k = int(q[i] * NR + 0.999999); if (k < 1) k = 1; if (k > NR) k = NR; printf "%.2f | ", a[k] / 1000}}')
  [ "$n" = "$ok" ] || FAILED=1
  echo "| $1 | $n | $wall | $rps | $pct$ok | $((n - ok)) | n/a (gRPC) |"
}

echo "### make load ($(date -u +%Y-%m-%dT%H:%MZ)$( [ "$QUICK" = 1 ] && echo ", quick mode"))"
echo
echo "| case | requests | wall | req/s | p50 ms | p95 ms | p99 ms | ok | errors | assignments audit | openai share |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
nats_run "L1 NATS $L1_COUNT sequential, push" sequential --count "$L1_COUNT" --share openai \
  >"$OUT_DIR/l1.row"
cat "$OUT_DIR/l1.row"
share=$(awk -F'|' '{print $12}' "$OUT_DIR/l1.row" | awk '{print $2}')
awk -v s="${share:-0}" 'BEGIN {exit (s >= 65 && s <= 75) ? 0 : 1}' || FAILED=1
nats_run "L2 NATS 100 concurrent, push" burst --count 100 --connections 4
h2load -n 100 -c 100 -m 1 -t 1 --log-file="$OUT_DIR/l2.log" "${H2[@]}" \
  "http://127.0.0.1:$GRPC_PORT/beamline.flow.v1.Router/Decide" >"$OUT_DIR/l2.txt" 2>&1
grpc_row "L2 gRPC 100 concurrent" "$OUT_DIR/l2.txt" "$OUT_DIR/l2.log"
h2load -c 10 -t 1 --rps "$((GRPC_RATE / 10))" -D "$LOAD_SECONDS" --log-file="$OUT_DIR/l3.log" \
  "${H2[@]}" "http://127.0.0.1:$GRPC_PORT/beamline.flow.v1.Router/Decide" >"$OUT_DIR/l3.txt" 2>&1 &
H2_PID=$!
nats_run "L3 NATS ${NATS_RATE}/s for ${LOAD_SECONDS} s, push" rate --rate "$NATS_RATE" \
  --duration "$LOAD_SECONDS" --connections 4
wait "$H2_PID" || true
grpc_row "L3 gRPC ${GRPC_RATE}/s for ${LOAD_SECONDS} s (same time)" "$OUT_DIR/l3.txt" "$OUT_DIR/l3.log"
echo
echo "Router RSS (P7): idle after start $RSS_IDLE MiB (NATS on, fixtures loaded), after the runs $(rss_mib) MiB; predecessor about 100 MB idle, 200-300 MB under load."
echo
echo "Predecessor (Erlang/OTP, spec §3; its \"p95\" was an average): sequential 24.4 req/s"
echo "(p95 99 ms), concurrent 62.3 req/s (p95 796 ms); heavy batch load 1000 sequential /"
echo "100 concurrent / 60 s sustained: 12.5 / 58.7 / 53.9 req/s."
echo
echo "Functional checks: $( [ "$FAILED" = 0 ] && echo "all passed" || echo "FAILED (see rows)" ). Logs: $OUT_DIR"
exit "$FAILED"
