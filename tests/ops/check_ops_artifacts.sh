#!/usr/bin/env bash
# Checks the shipped operations artefacts (observability.md §4, O4): Prometheus rules and their
# unit tests, the example Prometheus config, the Grafana dashboard, and that every metric they
# name is exported by the router.
#
#   tests/ops/check_ops_artifacts.sh [--metrics-file FILE] [--catalogue-file FILE]
#
# --metrics-file FILE    a saved /metrics scrape of a running router (the test harness starts a
#                        router, scrapes it and passes the file). Without it the exported names
#                        are the catalogue rows of docs/OBSERVABILITY.md marked `yes`.
# --catalogue-file FILE  output of `beamline-router --print-metrics-catalogue`, compared with the
#                        docs catalogue.
# Needs promtool (Debian package prometheus) and /usr/bin/python3 (standard library only).
# Prints every check; exits non-zero when any fails.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PROMTOOL=${PROMTOOL:-promtool}
PY=/usr/bin/python3
METRICS_FILE=""
CATALOGUE_FILE=""

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --metrics-file) METRICS_FILE=${2:?--metrics-file needs a file}; shift 2 ;;
    --metrics-file=*) METRICS_FILE=${1#*=}; shift ;;
    --catalogue-file) CATALOGUE_FILE=${2:?--catalogue-file needs a file}; shift 2 ;;
    --catalogue-file=*) CATALOGUE_FILE=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "check_ops_artifacts: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
# Paths given relative to the caller's directory stay valid after the cd below.
[ -n "$METRICS_FILE" ] && METRICS_FILE=$(realpath -- "$METRICS_FILE")
[ -n "$CATALOGUE_FILE" ] && CATALOGUE_FILE=$(realpath -- "$CATALOGUE_FILE")
for f in "$METRICS_FILE" "$CATALOGUE_FILE"; do
  if [ -n "$f" ] && [ ! -r "$f" ]; then
    echo "check_ops_artifacts: cannot read $f" >&2; exit 2
  fi
done
if ! command -v "$PROMTOOL" >/dev/null 2>&1; then
  echo "check_ops_artifacts: promtool not found (apt-get install prometheus)" >&2; exit 2
fi

cd "$ROOT"
FAILED=0

run() {  # run <description> <command...>: prints the check, its output when it fails
  local what=$1; shift
  local out
  if out=$("$@" 2>&1); then
    echo "  ok    $what"
  else
    echo "  FAIL  $what"
    printf '%s\n' "$out" | sed 's/^/        /'
    FAILED=1
  fi
}

echo "== promtool ($("$PROMTOOL" --version 2>&1 | head -1))"
run "promtool check rules deploy/prometheus/alerts.yml" \
  "$PROMTOOL" check rules deploy/prometheus/alerts.yml
run "promtool test rules deploy/prometheus/alerts_test.yml (every active alert fires / stays silent)" \
  "$PROMTOOL" test rules deploy/prometheus/alerts_test.yml
run "promtool check config deploy/prometheus/prometheus.yml (scrape config loading alerts.yml)" \
  "$PROMTOOL" check config deploy/prometheus/prometheus.yml
if [ -n "$METRICS_FILE" ]; then
  # promtool lints from stdin; its findings are style hints (exit 1 on any), so they are shown,
  # and the exposition contract itself is the metrics tests' job.
  lint=$("$PROMTOOL" check metrics <"$METRICS_FILE" 2>&1)
  if [ -z "$lint" ]; then
    echo "  ok    promtool check metrics $METRICS_FILE"
  else
    echo "  warn  promtool check metrics $METRICS_FILE:"
    printf '%s\n' "$lint" | sed 's/^/        /'
  fi
fi

echo "== dashboard generator"
run "deploy/grafana/beamline-router.json is what deploy/grafana/build_dashboard.py generates" \
  "$PY" deploy/grafana/build_dashboard.py --check

args=(--root "$ROOT")
[ -n "$METRICS_FILE" ] && args+=(--metrics-file "$METRICS_FILE")
[ -n "$CATALOGUE_FILE" ] && args+=(--catalogue-file "$CATALOGUE_FILE")
PROMTOOL="$PROMTOOL" "$PY" tests/ops/ops_check.py "${args[@]}" || FAILED=1

if [ "$FAILED" -ne 0 ]; then
  echo "check_ops_artifacts: FAILED"
  exit 1
fi
echo "check_ops_artifacts: all checks passed"
