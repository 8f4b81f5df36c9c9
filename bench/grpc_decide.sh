#!/usr/bin/env bash
# grpc_decide (reliability-and-performance.md §2.2, targets P3 and P4): the router's gRPC Decide
# under h2load against the bare echo server bench_grpc_echo, same h2load parameters, same run.
#
#   bench/grpc_decide.sh [BUILD_DIR] [--quick] [--nats]
#
# 1. Throughput: h2load -c 16 -m 64 -t 1 -D $DURATION --warm-up-time=3s, order echo, router,
#    echo, router (REPS pairs); server pinned to CPU 0, h2load to CPU 1; ratio of the medians.
# 2. Fixed rate: h2load -c 10 --rps 500 (5,000 req/s in total) -D $RATE_DURATION with
#    --log-file; p50/p90/p99/p99.9 from every request's duration; echo measured the same way.
#    Nothing is pinned here (taskset -a -p widens both servers to every CPU first):
#    at a fixed rate the question is latency, not capacity, and a server squeezed onto one
#    core with its own background threads measured about twice the p99 (docs/PERFORMANCE.md).
# Validity: before the runs one Decide through the C++ client returns OK; after them
# router_decide_requests_total{transport="grpc"} rose for outcome="ok" by at least h2load's
# succeeded count of the router runs (h2load excludes warm-up requests from its counts, the
# router counts them), for invalid_request by at most the streams a timed run cuts off at its
# end, and for no other outcome; h2load saw no failed or errored request. Else the run is void
# and the script exits 1.
# Environment: DURATION (20), RATE_DURATION (60), REPS (2), RPS_PER_CLIENT (500), ROUTER_BIN
# (default BUILD_DIR/beamline-router; e.g. a wrapper that sets LD_PRELOAD); --quick sets
# 2 s runs and one pair; --smoke 1 s runs (make test). --nats also starts nats-server and connects the router to it.
# Prints markdown tables (docs/PERFORMANCE.md) on stdout; logs under $OUT_DIR (a temp dir).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=build
QUICK=0
WITH_NATS=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    --smoke) QUICK=2 ;;
    --nats) WITH_NATS=1 ;;
    *) BUILD_DIR=$arg ;;
  esac
done
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
DURATION=${DURATION:-20}
RATE_DURATION=${RATE_DURATION:-60}
REPS=${REPS:-2}
RPS_PER_CLIENT=${RPS_PER_CLIENT:-500}
WARMUP=3s
RATE_WARMUP=5s
if [ "$QUICK" = 1 ]; then
  DURATION=2 RATE_DURATION=2 REPS=1 WARMUP=1s RATE_WARMUP=1s
elif [ "$QUICK" = 2 ]; then
  DURATION=1 RATE_DURATION=1 REPS=1 WARMUP=200ms RATE_WARMUP=200ms
fi

ROUTER_BIN=${ROUTER_BIN:-"$BUILD_DIR/beamline-router"}
ECHO_BIN="$BUILD_DIR/bench_grpc_echo"
for b in "$ROUTER_BIN" "$ECHO_BIN"; do
  [ -x "$b" ] || { echo "missing $b (build the targets beamline-router bench_grpc_echo)" >&2; exit 2; }
done
command -v h2load >/dev/null || { echo "h2load missing (apt-get install nghttp2-client)" >&2; exit 2; }

OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/grpc_decide.XXXXXX)}
mkdir -p "$OUT_DIR"
PIDS=()
cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  # A passing smoke run (make test) leaves nothing behind; other runs keep their logs.
  if [ "$QUICK" = 2 ] && [ "$rc" = 0 ]; then rm -rf "$OUT_DIR"; fi
}
trap cleanup EXIT

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {  # wait_port PORT: up to 15 s
  for _ in $(seq 1 150); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1" >&2
  return 1
}
CPUS=$(nproc)
pin() {  # pin CPU cmd...: taskset when the machine has 2+ CPUs (foreground commands)
  local cpu=$1
  shift
  if [ "$CPUS" -ge 2 ]; then taskset -c "$cpu" "$@"; else "$@"; fi
}
# Servers start as plain background commands (not through the function, whose subshell would
# be $! instead of the server), prefixed with this when pinning is possible.
PIN0=()
[ "$CPUS" -ge 2 ] && PIN0=(taskset -c 0)

# ---- fixtures and config: three_providers for tenants bench-0..bench-7
for t in 0 1 2 3 4 5 6 7; do
  mkdir -p "$OUT_DIR/fixtures/bench-$t"
  cp "$ROOT/bench/policies/three_providers.json" "$OUT_DIR/fixtures/bench-$t/"
done
NATS_URL=""
if [ "$WITH_NATS" = 1 ]; then
  NATS_PORT=$(free_port)
  nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$OUT_DIR/nats" >"$OUT_DIR/nats.log" 2>&1 &
  PIDS+=($!)
  wait_port "$NATS_PORT"
  NATS_URL="nats://127.0.0.1:$NATS_PORT"
fi
sed -e "s#@FIXTURES@#$OUT_DIR/fixtures#" -e "s#@NATS_URL@#$NATS_URL#" \
  "$ROOT/bench/config/bench.toml" >"$OUT_DIR/bench.toml"
"$ECHO_BIN" --write-request "$OUT_DIR/decide.grpc"

GRPC_PORT=$(free_port)
HTTP_PORT=$(free_port)
ECHO_PORT=$(free_port)
"${PIN0[@]}" "$ROUTER_BIN" --config "$OUT_DIR/bench.toml" --data-dir "$OUT_DIR/data" \
  --grpc-listen "127.0.0.1:$GRPC_PORT" --http-listen "127.0.0.1:$HTTP_PORT" \
  >"$OUT_DIR/router.out" 2>"$OUT_DIR/router.err" &
ROUTER_PID=$!
PIDS+=($!)
"${PIN0[@]}" "$ECHO_BIN" --listen "127.0.0.1:$ECHO_PORT" >"$OUT_DIR/echo.out" 2>&1 &
ECHO_PID=$!
PIDS+=($!)
wait_port "$GRPC_PORT"
wait_port "$ECHO_PORT"
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$HTTP_PORT/ready" >/dev/null 2>&1 && break
  sleep 0.1
done
"$ECHO_BIN" --call "127.0.0.1:$GRPC_PORT" >"$OUT_DIR/check.out" ||
  { echo "validity check: router Decide not OK (see $OUT_DIR)" >&2; exit 1; }
"$ECHO_BIN" --call "127.0.0.1:$ECHO_PORT" >/dev/null

decide_counts() {  # prints "<ok> <cancelled or invalid_request> <other>" of router_decide_requests_total{grpc}
  curl -fs "http://127.0.0.1:$HTTP_PORT/metrics" | tee "$OUT_DIR/metrics-$RANDOM.txt" |
    awk '/^router_decide_requests_total\{/ && /transport="grpc"/ {
           if ($0 ~ /outcome="ok"/) ok += $NF; else if ($0 ~ /outcome="(cancelled|invalid_request)"/) inv += $NF;
           else bad += $NF }
         END {printf "%d %d %d\n", ok, inv, bad}'
}

H2_COMMON=(-H 'content-type: application/grpc' -H 'te: trailers' -d "$OUT_DIR/decide.grpc")
run_throughput() {  # run_throughput NAME PORT -> prints "req/s succeeded"
  local log="$OUT_DIR/h2load-$1-$RANDOM.txt"
  pin 1 h2load -c 16 -m 64 -t 1 -D "$DURATION" --warm-up-time="$WARMUP" "${H2_COMMON[@]}" \
    "http://127.0.0.1:$2/beamline.flow.v1.Router/Decide" >"$log" 2>&1
  local rps succeeded
  rps=$(awk '/^finished in/ {for (i = 1; i <= NF; i++) if ($i ~ /req\/s/) {v=$(i-1)}} END {print v}' "$log")
  succeeded=$(awk '/^requests:/ {for (i = 1; i <= NF; i++) if ($(i+1) ~ /^succeeded/) v=$i} END {print v}' "$log")
  failed_requests "$log"
  echo "$rps $succeeded"
}
run_rate() {  # run_rate NAME PORT -> prints "achieved_rps p50 p90 p99 p999 succeeded" (us)
  local log="$OUT_DIR/rate-$1.log" out="$OUT_DIR/rate-$1.txt"
  h2load -c 10 -t 1 --rps "$RPS_PER_CLIENT" -D "$RATE_DURATION" --warm-up-time="$RATE_WARMUP" \
    --log-file="$log" "${H2_COMMON[@]}" "http://127.0.0.1:$2/beamline.flow.v1.Router/Decide" \
    >"$out" 2>&1
  local rps succeeded
  rps=$(awk '/^finished in/ {for (i = 1; i <= NF; i++) if ($i ~ /req\/s/) {v=$(i-1)}} END {print v}' "$out")
  succeeded=$(awk '/^requests:/ {for (i = 1; i <= NF; i++) if ($(i+1) ~ /^succeeded/) v=$i} END {print v}' "$out")
  failed_requests "$out"
  # log columns: start (us since epoch), HTTP status, duration (us)
  local pct
  pct=$(awk '{print $3}' "$log" | sort -n | awk '{a[NR]=$1} END {
      if (NR == 0) {print "0 0 0 0"; exit}
      split("0.50 0.90 0.99 0.999", q, " ");
      for (i = 1; i <= 4; i++) {k = int(q[i] * NR + 0.999999); if (k < 1) k = 1; if (k > NR) k = NR; printf "%s ", a[k]}
      print ""}')
  echo "$rps $pct$succeeded"
}
H2_ERRORS="$OUT_DIR/h2load-errors"
: >"$H2_ERRORS"
failed_requests() {  # appends the file name when h2load counted failed or errored requests
  awk '/^requests:/ {for (i = 1; i <= NF; i++) if (($(i+1) ~ /^(failed|errored)/) && $i > 0) bad=1}
       END {exit bad ? 0 : 1}' "$1" && echo "$1" >>"$H2_ERRORS"
  return 0
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }

read -r ok_before inv_before bad_before < <(decide_counts)
router_succeeded=0
echo_rps=() router_rps=()
for _ in $(seq 1 "$REPS"); do
  read -r r s < <(run_throughput echo "$ECHO_PORT")
  echo_rps+=("$r")
  read -r r s < <(run_throughput router "$GRPC_PORT")
  router_rps+=("$r")
  router_succeeded=$((router_succeeded + ${s%.*}))
done
# The fixed-rate runs let every thread of both servers use all CPUs (see the header).
if [ "$CPUS" -ge 2 ]; then
  taskset -a -p -c "0-$((CPUS - 1))" "$ROUTER_PID" >/dev/null
  taskset -a -p -c "0-$((CPUS - 1))" "$ECHO_PID" >/dev/null
fi
read -r rate_r_rps r50 r90 r99 r999 rate_r_ok < <(run_rate router "$GRPC_PORT")
router_succeeded=$((router_succeeded + rate_r_ok))
read -r rate_e_rps e50 e90 e99 e999 _ < <(run_rate echo "$ECHO_PORT")
read -r ok_after inv_after bad_after < <(decide_counts)

echo_med=$(printf '%s\n' "${echo_rps[@]}" | median)
router_med=$(printf '%s\n' "${router_rps[@]}" | median)
ratio=$(awk -v r="$router_med" -v e="$echo_med" 'BEGIN {printf "%.1f", (e > 0 ? 100 * r / e : 0)}')
delta=$((ok_after - ok_before))
valid="valid"
# A timed h2load run resets the streams still in flight when the time is up (at most c x m =
# 1024 per throughput run, 10 per rate run); the router counts those cut-off calls as
# `cancelled` when gRPC already reports the reset to the handler, else invalid_request (no
# request message: usually the case, the reset is processed after the handler ran), so up to
# that many are expected and nothing else.
cutoff=$((REPS * 1024 + 10))
invalid=$((inv_after - inv_before))
if [ "$bad_after" != "$bad_before" ] || [ "$invalid" -gt "$cutoff" ] ||
  [ "$delta" -lt "$router_succeeded" ] || [ -s "$H2_ERRORS" ]; then
  valid="VOID (router ok +$delta, cancelled/invalid_request +$invalid (cut-off allowance $cutoff), other +$((bad_after - bad_before)), h2load succeeded $router_succeeded, h2load errors in: $(tr '\n' ' ' <"$H2_ERRORS"))"
fi
ms() { awk -v v="$1" 'BEGIN {printf "%.3f", v / 1000}'; }

echo "### grpc_decide ($(date -u +%Y-%m-%dT%H:%MZ), $(case $QUICK in 1) echo quick ;; 2) echo smoke ;; *) echo full ;; esac) mode, NATS $( [ "$WITH_NATS" = 1 ] && echo on || echo off ))"
echo
echo "Throughput: \`h2load -c 16 -m 64 -t 1 -D $DURATION --warm-up-time=$WARMUP\`, $REPS pair(s) echo/router, median."
echo
echo "| server | req/s (median) | runs | ratio router/echo | target |"
echo "|---|---|---|---|---|"
echo "| bench_grpc_echo | $echo_med | ${echo_rps[*]} | | |"
echo "| beamline-router | $router_med | ${router_rps[*]} | ${ratio} % | >= 60 % |"
echo
echo "Fixed rate: \`h2load -c 10 --rps $RPS_PER_CLIENT -D $RATE_DURATION --warm-up-time=$RATE_WARMUP\` ($((RPS_PER_CLIENT * 10)) req/s offered), latency in ms."
echo
echo "| server | achieved req/s | p50 | p90 | p99 | p99.9 | target |"
echo "|---|---|---|---|---|---|---|"
echo "| bench_grpc_echo | $rate_e_rps | $(ms "$e50") | $(ms "$e90") | $(ms "$e99") | $(ms "$e999") | |"
echo "| beamline-router | $rate_r_rps | $(ms "$r50") | $(ms "$r90") | $(ms "$r99") | $(ms "$r999") | p99 < 1 ms |"
echo
echo "Validity: $valid (router_decide_requests_total{grpc}: ok +$delta incl. warm-up, cancelled/invalid_request +$invalid from streams cut at the end of timed runs, other +$((bad_after - bad_before)); h2load succeeded $router_succeeded after warm-up). Logs: $OUT_DIR"
# Machine-readable figures for bench/check.py (make bench-check), one "key value" per line.
if [ -n "${SUMMARY_FILE:-}" ]; then
  {
    echo "grpc_echo_rps $echo_med"
    echo "grpc_router_rps $router_med"
    echo "grpc_ratio_percent $ratio"
    echo "grpc_rate_achieved_rps $rate_r_rps"
    echo "grpc_router_p50_us $r50"
    echo "grpc_router_p99_us $r99"
    echo "grpc_echo_p99_us $e99"
    echo "grpc_valid $([ "$valid" = "valid" ] && echo 1 || echo 0)"
    echo "grpc_router_rss_kb $(awk '/^VmRSS/ {print $2}' "/proc/$ROUTER_PID/status" 2>/dev/null || echo 0)"
  } >>"$SUMMARY_FILE"
fi
[ "$valid" = "valid" ]
