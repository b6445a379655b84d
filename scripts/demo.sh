#!/usr/bin/env bash
# The demo, on one machine, with no AWS and no Redshift:
#
#   scripts/demo.sh          install what is missing, start a throwaway PostgreSQL with three
#                            simulated clusters and a live workload, and export them every 30 s
#                            into a local archive; prints the export status as it goes.
#                            Ctrl-C stops everything.
#   scripts/demo.sh status   the export status, from another terminal
#   scripts/demo.sh stlarchive ARGS...   any stlarchive command with the demo's settings
#
# Everything lives in $STLARCHIVE_DEMO_DIR (default /tmp/stlarchive-demo-<uid>); delete it to
# start over. $STLARCHIVE_DEMO_PORT is the PostgreSQL port (default 55439) and
# $STLARCHIVE_DEMO_BACKFILL the history written first (default 2h).
set -euo pipefail
cd "$(dirname "$0")/.."

demo=${STLARCHIVE_DEMO_DIR:-/tmp/stlarchive-demo-$(id -u)}
export STLARCHIVE_ARCHIVE="$demo/archive"
export STLARCHIVE_PGHOST=127.0.0.1
export STLARCHIVE_PGPORT=${STLARCHIVE_DEMO_PORT:-55439}
backfill=${STLARCHIVE_DEMO_BACKFILL:-2h}
export STLARCHIVE_DEMO_PASSWORD=postgres
config=provisioning/datasources/stlarchive.yaml
bin=bin/stlarchive

case "${1:-run}" in
  status) exec "$bin" status --config "$config" ;;
  stlarchive) shift; exec "$bin" "$@" --config "$config" ;;
  run) ;;
  *) echo "usage: $0 [run | status | stlarchive ARGS...]" >&2; exit 2 ;;
esac

scripts/postgres.sh install
echo "building bin/stlarchive ..."
CGO_ENABLED=1 go build -o "$bin" ./pkg/cmd/stlarchive

mkdir -p "$demo"
chmod 711 "$demo"
scripts/postgres.sh start "$demo/pg" "$STLARCHIVE_PGPORT"

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "stopping ..."
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
  scripts/postgres.sh stop "$demo/pg" || true
  echo "stopped. The archive stays in $STLARCHIVE_ARCHIVE"
}
# Ctrl-C (or a TERM) stops everything and ends the demo with status 0; an unexpected end
# cleans up too and keeps its status.
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

# Two hours of history first, written before the exporter starts (rows that reach STL long after
# their time are late rows, which the export lag does not wait for), then a live workload.
echo "writing $backfill of simulated history ..."
"$bin" simulate --config "$config" --backfill "$backfill" --once >"$demo/simulate.log" 2>&1
"$bin" simulate --config "$config" --retention 24h >>"$demo/simulate.log" 2>&1 &
pids+=($!)
"$bin" export --config "$config" >"$demo/export.log" 2>&1 &
pids+=($!)

echo "simulator log: $demo/simulate.log"
echo "exporter log:  $demo/export.log"
echo "archive:       $STLARCHIVE_ARCHIVE"
echo "status from another terminal: scripts/demo.sh status"
echo
while sleep 15; do
  for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || { echo "a demo process stopped; see the logs above" >&2; exit 1; }
  done
  date -u '+%H:%M:%S UTC'
  "$bin" status --config "$config" || true
  echo
done
