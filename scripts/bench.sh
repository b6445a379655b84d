#!/usr/bin/env bash
# Runs the export benchmarks on a throwaway PostgreSQL and prints their figures:
#   scripts/bench.sh            bench export (1M rows) and bench idle (20 clusters)
#   scripts/bench.sh ARGS...    one benchmark, e.g. scripts/bench.sh export --rows 3000000
# The PostgreSQL listens on 127.0.0.1:$STLARCHIVE_BENCH_PORT (default 55440).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/postgres.sh install
CGO_ENABLED=1 go build -o bin/stlarchive ./pkg/cmd/stlarchive
dir=$(mktemp -d /tmp/stlarchive-bench.XXXXXX)
chmod 711 "$dir"
port=${STLARCHIVE_BENCH_PORT:-55440}
scripts/postgres.sh start "$dir/pg" "$port"
trap 'scripts/postgres.sh stop "$dir/pg"; rm -rf "$dir"' EXIT
export STLARCHIVE_BENCH_DATABASE_URL="postgres://postgres:postgres@127.0.0.1:$port/postgres?sslmode=disable"
if [ $# -gt 0 ]; then
  bin/stlarchive bench "$@"
else
  bin/stlarchive bench export
  echo
  bin/stlarchive bench idle
fi
