#!/usr/bin/env bash
# `make bench`: every benchmark of reliability-and-performance.md §2 at full length, printing
# docs/PERFORMANCE.md-ready markdown tables; raw results go to bench/results/<timestamp>/,
# with summary.json (the figures `make bench-check` compares with bench/baseline/<class>.json).
#
#   bench/run_all.sh [BUILD_DIR]
# Environment: REPETITIONS (5) and MIN_TIME (0.5) for the Google Benchmark binaries; SKIP_GRPC,
# SKIP_NATS = 1 to leave a script out; the scripts' own variables (DURATION, ...) pass through.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${1:-build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
REPETITIONS=${REPETITIONS:-5}
MIN_TIME=${MIN_TIME:-0.5}
OUT="$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
export SUMMARY_FILE="$OUT/summary.txt"
: >"$SUMMARY_FILE"
{
  echo "## Benchmarks ($(date -u +%Y-%m-%d), \`make bench\`)"
  echo
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores,"
  echo "kernel $(uname -r), $(c++ --version | head -1), gRPC $(pkg-config --modversion grpc++ 2>/dev/null),"
  echo "cnats $(pkg-config --modversion libnats 2>/dev/null), $(nats-server --version 2>/dev/null),"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  for b in "$BUILD_DIR"/*_bench; do
    [ -x "$b" ] || continue
    name=$(basename "$b")
    "$b" --benchmark_repetitions="$REPETITIONS" --benchmark_min_time="$MIN_TIME" \
      --benchmark_out="$OUT/$name.json" --benchmark_out_format=json >"$OUT/$name.txt" 2>&1
    echo "### $name"
    echo
    python3 "$ROOT/bench/bench_table.py" "$OUT/$name.json"
  done
  [ "${SKIP_GRPC:-0}" = 1 ] || "$ROOT/bench/grpc_decide.sh" "$BUILD_DIR" || true
  echo
  [ "${SKIP_NATS:-0}" = 1 ] || "$ROOT/bench/nats_decide.sh" "$BUILD_DIR" || true
} | tee "$OUT/tables.md"
python3 "$ROOT/bench/check.py" summary "$OUT" >/dev/null
echo
echo "(tables saved to $OUT/tables.md, figures to $OUT/summary.json; \`make bench-check\` compares them with bench/baseline/$(python3 "$ROOT/bench/check.py" machine-class).json)"
