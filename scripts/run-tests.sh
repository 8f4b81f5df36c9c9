#!/usr/bin/env bash
# Runs the whole test suite against the build in $1: every gtest binary through ctest
# (unit + integration over real loopback gRPC), then the Python grpcio client tests.
set -euo pipefail
BUILD_DIR=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "== ctest ($BUILD_DIR)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j 2 --timeout 600

echo "== benchmarks, smoke mode (each binary once, so they cannot rot; real runs: make bench)"
for bench in "$BUILD_DIR"/*_bench; do
  [ -x "$bench" ] || continue
  smoke_out=$("$bench" --benchmark_min_time=0.001 2>&1)
  if grep -q "ERROR OCCURRED" <<<"$smoke_out"; then
    echo "$smoke_out"
    echo "$(basename "$bench"): a benchmark reported an error" >&2
    exit 1
  fi
  echo "$(basename "$bench"): ok"
done
if [ -z "${ROUTER_SANITIZE:-}" ] && [ -x "$BUILD_DIR/bench_grpc_echo" ] && command -v h2load >/dev/null; then
  # grpc_decide and nats_decide once with 1-second runs (bench/*.sh --smoke): the scripts and
  # their tools keep working; the figures of a smoke run mean nothing.
  # A failure fails the suite (a `cmd && echo ok` line would not stop `set -e`); one retry, so
  # that a 1-second run disturbed by the machine is not taken for a rotten script.
  smoke() {  # smoke NAME CMD...
    local out
    if out=$("${@:2}" 2>&1) || out=$("${@:2}" 2>&1); then
      echo "$1: ok"
    else
      echo "$out"
      echo "$1: failed twice" >&2
      exit 1
    fi
  }
  smoke "grpc_decide.sh --smoke" bench/grpc_decide.sh "$BUILD_DIR" --smoke
  smoke "nats_decide.sh --smoke" bench/nats_decide.sh "$BUILD_DIR" --smoke
  smoke "bench_store_memory" "$BUILD_DIR/bench_store_memory" --entries 2000
fi

echo "== operations artefacts (promtool rules and tests, dashboard and alert metric references)"
tests/ops/check_ops_artifacts.sh

if [ -d tests/python ] && ls tests/python/test_*.py >/dev/null 2>&1 && [ -z "${ROUTER_SANITIZE:-}" ]; then
  echo "== python grpcio client tests"
  ROUTER_BIN="$ROOT/$BUILD_DIR/beamline-router" /usr/bin/python3 -m unittest discover -s tests/python -p 'test_*.py' -v
fi

if [ -z "${ROUTER_SANITIZE:-}" ]; then
  echo "== operations tests (checker unit tests; live Prometheus scrape of a real router)"
  ROUTER_BIN="$ROOT/$BUILD_DIR/beamline-router" /usr/bin/python3 -m unittest discover -s tests/ops -p 'test_*.py' -v
fi
