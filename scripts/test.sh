#!/usr/bin/env bash
# Runs every test: Go (with a throwaway PostgreSQL started by the tests themselves through
# scripts/postgres.sh) and the frontend's type check, lint and component tests.
# Installs what is missing first: PostgreSQL from the system packages and the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/postgres.sh install
scripts/versitygw.sh install
scripts/dynalite.sh install
if [ ! -d node_modules ]; then npm ci --no-audit --no-fund; fi

echo "== go vet"
CGO_ENABLED=1 go vet ./pkg/...
echo "== go test"
# pipefail: the pipeline fails when go test does, although tee succeeds. The summary repeats go
# test's line per package (ok / FAIL) and each failed test, after the long output, then the ten
# slowest tests (-v prints each test's time).
status=0
CGO_ENABLED=1 go test -v -count=1 -timeout 40m ./pkg/... 2>&1 | tee .test-go.log || status=$?
echo "== go test summary"
grep -E '^(ok|FAIL|--- FAIL|panic:|\?)[[:space:]]' .test-go.log || true
echo "== slowest tests"
sed -nE 's/^--- (PASS|FAIL): ([^ ]+) \(([0-9.]+)s\)$/\3 s  \2/p' .test-go.log | sort -rn | head -n 10 || true
if [ "$status" -ne 0 ]; then
  echo "go test failed (exit status $status); the whole output is in .test-go.log" >&2
  exit "$status"
fi
echo "== frontend"
npm run typecheck
npm run lint
npm run test:ci
