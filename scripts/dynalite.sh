#!/usr/bin/env bash
# Installs and runs a throwaway dynalite, the DynamoDB-compatible server the tests use for the state.
#
#   scripts/dynalite.sh install           install dynalite 4.0.0 under .tools/dynalite if missing
#   scripts/dynalite.sh start DIR PORT    serve on 127.0.0.1:PORT, data in DIR; the pid goes to DIR.pid
#   scripts/dynalite.sh stop DIR          stop the server started for DIR
#
# The server runs through scripts/lib/dynalite-server.js, which survives clients that disconnect
# in the middle of a request. dynalite lacks TransactWriteItems and UpdateTimeToLive; the state store uses neither.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
name=dynalite.sh
# shellcheck source=lib/server.sh
source "$root/scripts/lib/server.sh"
version=4.0.0
prefix="$root/.tools/dynalite"
cli="$prefix/node_modules/dynalite/cli.js"

install() {
  if [ -f "$cli" ]; then return 0; fi
  command -v npm >/dev/null || { echo "dynalite.sh: npm is needed to install dynalite" >&2; exit 1; }
  mkdir -p "$prefix"
  # Its own prefix keeps dynalite out of the frontend's package.json and lock file.
  npm install --prefix "$prefix" --no-audit --no-fund --no-save "dynalite@$version" >/dev/null
  [ -f "$cli" ] || { echo "dynalite.sh: install did not produce $cli" >&2; exit 1; }
}

start() {
  local dir=$1 port=$2
  [ -f "$cli" ] || { echo "dynalite.sh: dynalite is not installed (run: scripts/dynalite.sh install)" >&2; exit 1; }
  mkdir -p "$dir"
  require_free_port "$port"
  # Tables become active after 50 ms instead of 500: tests create one per case. The wrapper
  # keeps the server alive when a client disconnects in the middle of a request (tests kill
  # clients), which dynalite's own cli.js does not survive.
  nohup node "$root/scripts/lib/dynalite-server.js" "$prefix/node_modules/dynalite" \
    --host 127.0.0.1 --port "$port" --path "$dir" --createTableMs 50 >"$dir.log" 2>&1 &
  echo $! >"$dir.pid"
  wait_listening "$dir" "$port"
}

case "${1:-}" in
  install) install ;;
  start) [ $# -eq 3 ] || { echo "usage: $0 start DIR PORT" >&2; exit 2; }; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }; stop_server "$2" ;;
  *) echo "usage: $0 install | start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
