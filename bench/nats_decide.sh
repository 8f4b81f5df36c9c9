#!/usr/bin/env bash
# nats_decide (reliability-and-performance.md §2.3, target P5): decide request/reply over a real
# nats-server -js, bench_nats_load against (a) the bare cnats echo responder bench_nats_echo and
# (b) the router, in the same run, at increasing concurrency W.
#
#   bench/nats_decide.sh [BUILD_DIR] [--quick]
#
# Runs, each W in $STEPS (16,64,256,1024), $DURATION s measured after $WARMUP s warm-up:
#   echo (constant reply, subject bench.echo.decide), router push_assignment=false, router
#   push_assignment=true with nats.assignments.reply_mode "after_publish" (gating), then the
#   router restarted with "immediate" (reported). Pushing runs audit the CAF_ASSIGNMENTS stream
#   (every returned assignment_id stored exactly once as Nats-Msg-Id). Prints markdown tables;
#   exits 1 when an audit fails.
# Also prints the router's and nats-server's CPU time per decide of each router run (from
# /proc and router_decide_requests_total{transport="nats"}) and the load average, because
# decisions/s on a shared machine mostly measures the other tenants.
# Environment: STEPS, DURATION (20), WARMUP (3), CONNECTIONS (4). --quick: W 16,64, 2 s runs;
# --smoke: W 16, 1 s runs (make test).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=build
QUICK=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    --smoke) QUICK=2 ;;
    *) BUILD_DIR=$arg ;;
  esac
done
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
STEPS=${STEPS:-16,64,256,1024}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-3}
CONNECTIONS=${CONNECTIONS:-4}
if [ "$QUICK" = 1 ]; then STEPS=16,64 DURATION=2 WARMUP=1; fi
if [ "$QUICK" = 2 ]; then STEPS=16 DURATION=1 WARMUP=0.3; fi

ROUTER_BIN=${ROUTER_BIN:-"$BUILD_DIR/beamline-router"}
LOAD_BIN="$BUILD_DIR/bench_nats_load"
ECHO_BIN="$BUILD_DIR/bench_nats_echo"
for b in "$ROUTER_BIN" "$LOAD_BIN" "$ECHO_BIN"; do
  [ -x "$b" ] || { echo "missing $b (build beamline-router bench_nats_load bench_nats_echo)" >&2; exit 2; }
done
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/nats_decide.XXXXXX)}
mkdir -p "$OUT_DIR"
PIDS=()
ROUTER_PID=""
cleanup() {
  local rc=$?
  for p in "${PIDS[@]}" $ROUTER_PID; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}" $ROUTER_PID; do wait "$p" 2>/dev/null || true; done
  # A passing smoke run (make test) leaves nothing behind; other runs keep their logs.
  if [ "$QUICK" = 2 ] && [ "$rc" = 0 ]; then rm -rf "$OUT_DIR"; fi
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
cpu_seconds() {  # user+system CPU seconds of a pid
  awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat" 2>/dev/null || echo "?"
}

for t in 0 1 2 3 4 5 6 7; do
  mkdir -p "$OUT_DIR/fixtures/bench-$t"
  cp "$ROOT/bench/policies/three_providers.json" "$OUT_DIR/fixtures/bench-$t/"
done
NATS_PORT=$(free_port)
nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$OUT_DIR/nats" >"$OUT_DIR/nats.log" 2>&1 &
NATS_PID=$!
PIDS+=("$NATS_PID")
wait_port "$NATS_PORT"
NATS_URL="nats://127.0.0.1:$NATS_PORT"
"$ECHO_BIN" --url "$NATS_URL" --subject bench.echo.decide >"$OUT_DIR/echo.out" 2>&1 &
ECHO_PID=$!
PIDS+=("$ECHO_PID")

start_router() {  # start_router REPLY_MODE
  sed -e "s#@FIXTURES@#$OUT_DIR/fixtures#" -e "s#@NATS_URL@#$NATS_URL#" \
    "$ROOT/bench/config/bench.toml" >"$OUT_DIR/bench-$1.toml"
  printf '\n[nats.assignments]\nreply_mode = "%s"\n' "$1" >>"$OUT_DIR/bench-$1.toml"
  HTTP_PORT=$(free_port)
  "$ROUTER_BIN" --config "$OUT_DIR/bench-$1.toml" --data-dir "$OUT_DIR/data-$1" \
    --grpc-listen 127.0.0.1:0 --http-listen "127.0.0.1:$HTTP_PORT" \
    >"$OUT_DIR/router-$1.out" 2>"$OUT_DIR/router-$1.err" &
  ROUTER_PID=$!
  wait_port "$HTTP_PORT"
  for _ in $(seq 1 150); do
    curl -fs "http://127.0.0.1:$HTTP_PORT/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "router not ready (see $OUT_DIR/router-$1.err); continuing" >&2
}
stop_router() {
  kill "$ROUTER_PID" 2>/dev/null || true
  wait "$ROUTER_PID" 2>/dev/null || true
  ROUTER_PID=""
}
publish_failures() {  # router_assignment_publish_failures_total summed over reasons
  curl -fs "http://127.0.0.1:$HTTP_PORT/metrics" 2>/dev/null |
    awk '/^router_assignment_publish_failures_total/ {s += $NF} END {printf "%.0f", s}'
}
decides() {  # router_decide_requests_total{transport="nats"} summed over outcomes (0 if unknown)
  curl -fs "http://127.0.0.1:$HTTP_PORT/metrics" 2>/dev/null |
    awk '/^router_decide_requests_total\{/ && /transport="nats"/ {s += $NF} END {printf "%.0f", s}'
}
per_decision() {  # per_decision LABEL KEY: router, nats-server, load tool CPU per decide
  local r1 n1 d1 l1
  r1=$(cpu_seconds "$ROUTER_PID"); n1=$(cpu_seconds "$NATS_PID"); d1=$(decides)
  l1=$(awk '{s += $1 + $2} END {printf "%.2f", s}' "$OUT_DIR/load_cpu.txt")
  awk -v l="$1" -v r0="$mark_r" -v r1="$r1" -v n0="$mark_n" -v n1="$n1" -v d0="$mark_d" -v d1="$d1" \
    -v l0="$mark_l" -v l1="$l1" \
    'BEGIN {d = d1 - d0; if (d > 0) printf "%s: %.0f decides (warm-up and audit included), CPU per decide: router %.1f us, nats-server %.1f us, load tool %.1f us (its audit reads included)\n", l, d, 1e6 * (r1 - r0) / d, 1e6 * (n1 - n0) / d, 1e6 * (l1 - l0) / d}' \
    >>"$OUT_DIR/cpu_per_decide.txt"
  [ -n "${SUMMARY_FILE:-}" ] && awk -v k="$2" -v r0="$mark_r" -v r1="$r1" -v n0="$mark_n" -v n1="$n1" \
    -v d0="$mark_d" -v d1="$d1" -v l0="$mark_l" -v l1="$l1" \
    'BEGIN {d = d1 - d0; if (d > 0) printf "nats_%s_router_cpu_us %.1f\nnats_%s_server_cpu_us %.1f\nnats_%s_load_cpu_us %.1f\n", k, 1e6 * (r1 - r0) / d, k, 1e6 * (n1 - n0) / d, k, 1e6 * (l1 - l0) / d}' \
    >>"$SUMMARY_FILE"
  return 0
}
mark_cpu() {
  mark_r=$(cpu_seconds "$ROUTER_PID"); mark_n=$(cpu_seconds "$NATS_PID"); mark_d=$(decides)
  mark_l=$(awk '{s += $1 + $2} END {printf "%.2f", s}' "$OUT_DIR/load_cpu.txt")
  mark_f=$(publish_failures)
}
: >"$OUT_DIR/load_cpu.txt"
load() {  # load LABEL SUBJECT [--push]; appends the tool's user and system seconds to load_cpu.txt
  local TIMEFORMAT='%U %S'
  { time "$LOAD_BIN" --url "$NATS_URL" --mode load --concurrency "$STEPS" --duration "$DURATION" \
    --warmup "$WARMUP" --connections "$CONNECTIONS" --subject "$2" --label "$1" "${@:3}" \
    2>&3; } 3>&2 2>>"$OUT_DIR/load_cpu.txt"
}
# §2.3: publish failures during a pushing run fail its audit.
check_failures() {  # check_failures LABEL
  local f1
  f1=$(publish_failures)
  if [ "$f1" != "$mark_f" ]; then
    echo "FAIL: $1: router_assignment_publish_failures_total +$((f1 - mark_f)) during the run"
    audit_failed=1
  fi
  return 0
}
audit_failed=0

echo "### nats_decide ($(date -u +%Y-%m-%dT%H:%MZ), $(case $QUICK in 1) echo quick ;; 2) echo smoke ;; *) echo full ;; esac) mode)"
echo
echo "\`bench_nats_load --mode load --concurrency $STEPS --duration $DURATION --warmup $WARMUP --connections $CONNECTIONS\`;"
echo "nats-server $(nats-server --version 2>/dev/null | awk '{print $NF}') with JetStream (file store), all on this machine. Latency in ms."
echo
echo "| run | W | decisions/s | p50 | p99 | ok | errors | assignments audit |"
echo "|---|---|---|---|---|---|---|---|"
load "echo (bare cnats)" bench.echo.decide | tee "$OUT_DIR/echo.rows"
start_router after_publish
router_cpu0=$(cpu_seconds "$ROUTER_PID")
nats_cpu0=$(cpu_seconds "$NATS_PID")
mark_cpu
load "router, push=false" beamline.router.v1.decide | tee "$OUT_DIR/nopush.rows"
per_decision "router, push=false" nopush
mark_cpu
load "router, push=true, after_publish" beamline.router.v1.decide --push | tee "$OUT_DIR/after.rows"
per_decision "router, push=true, after_publish" after
check_failures "router, push=true, after_publish"
router_cpu1=$(cpu_seconds "$ROUTER_PID")
nats_cpu1=$(cpu_seconds "$NATS_PID")
stop_router
start_router immediate
mark_cpu
load "router, push=true, immediate" beamline.router.v1.decide --push | tee "$OUT_DIR/immediate.rows"
per_decision "router, push=true, immediate" immediate
check_failures "router, push=true, immediate"
stop_router

# Best decisions/s over the steps; a step with any error reply (e.g. `unavailable`) is void
# (§2.3) and does not count.
best() {
  awk -F'|' '{gsub(/ /, "", $4); gsub(/ /, "", $8); if ($8 + 0 == 0 && $4 + 0 > b) b = $4 + 0} END {printf "%.0f", b}' "$1"
}
void_steps() {  # the W of each step of FILE with error replies
  awk -F'|' '{gsub(/ /, "", $3); gsub(/ /, "", $8); if ($8 + 0 > 0) printf "%s ", $3}' "$1"
}
echo_best=$(best "$OUT_DIR/echo.rows")
ratio() { awk -v r="$1" -v e="$echo_best" 'BEGIN {printf "%.1f", (e > 0 ? 100 * r / e : 0)}'; }
echo
echo "| run | best decisions/s | ratio to echo | target |"
echo "|---|---|---|---|"
echo "| echo (bare cnats) | $echo_best | 100 % | |"
for f in nopush after immediate; do
  b=$(best "$OUT_DIR/$f.rows")
  case $f in
    nopush) echo "| router, push=false | $b | $(ratio "$b") % | |" ;;
    after) echo "| router, push=true, after_publish | $b | $(ratio "$b") % | >= 20,000/s, audit clean |" ;;
    immediate) echo "| router, push=true, immediate | $b | $(ratio "$b") % | reported |" ;;
  esac
done
echo
grep -q "FAIL" "$OUT_DIR/after.rows" "$OUT_DIR/immediate.rows" && audit_failed=1
voided=$(void_steps "$OUT_DIR/after.rows")
[ -n "$voided" ] && echo "Void after_publish steps (error replies, not counted in the best): W = $voided"
echo "CPU seconds during the push=false and after_publish runs: router $(awk -v a="$router_cpu0" -v b="$router_cpu1" 'BEGIN {printf "%.1f", b - a}'), nats-server $(awk -v a="$nats_cpu0" -v b="$nats_cpu1" 'BEGIN {printf "%.1f", b - a}') (the load tool runs on the same 2 cores). Logs: $OUT_DIR"
# CPU cost per decide (all W steps of a run together): steadier than decisions/s on a busy machine.
[ -f "$OUT_DIR/cpu_per_decide.txt" ] && sed 's/^/- /' "$OUT_DIR/cpu_per_decide.txt"
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
if [ -n "${SUMMARY_FILE:-}" ]; then
  {
    echo "nats_echo_best $echo_best"
    echo "nats_nopush_best $(best "$OUT_DIR/nopush.rows")"
    echo "nats_after_best $(best "$OUT_DIR/after.rows")"
    echo "nats_immediate_best $(best "$OUT_DIR/immediate.rows")"
    echo "nats_audit_clean $([ "$audit_failed" = 0 ] && echo 1 || echo 0)"
  } >>"$SUMMARY_FILE"
fi
# Exactly-once is deterministic: an audit failure fails the script (throughput never does).
exit "$audit_failed"
