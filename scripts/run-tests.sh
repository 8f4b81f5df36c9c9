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
  "$bench" --benchmark_min_time=0.001 >/dev/null
  echo "$(basename "$bench"): ok"
done

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
