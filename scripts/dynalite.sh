#!/usr/bin/env bash
# Installs and runs a throwaway dynalite, the DynamoDB-compatible server the tests use for the state.
#
#   scripts/dynalite.sh install           install dynalite 4.0.0 under .tools/dynalite if missing
#   scripts/dynalite.sh start DIR PORT    serve on 127.0.0.1:PORT, data in DIR; the pid goes to DIR.pid
#   scripts/dynalite.sh stop DIR          stop the server started for DIR
#
# dynalite lacks TransactWriteItems and UpdateTimeToLive; the state store uses neither.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
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
  local dir=$1 port=$2 i
  [ -f "$cli" ] || { echo "dynalite.sh: dynalite is not installed (run: scripts/dynalite.sh install)" >&2; exit 1; }
  mkdir -p "$dir"
  # A port someone else already listens on would look like a started server.
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "dynalite.sh: port $port is in use" >&2; exit 3; fi
  # Tables become active after 50 ms instead of 500: tests create one per case.
  nohup node "$cli" --host 127.0.0.1 --port "$port" --path "$dir" --createTableMs 50 >"$dir.log" 2>&1 &
  echo $! >"$dir.pid"
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && kill -0 "$(cat "$dir.pid")" 2>/dev/null; then return 0; fi
    if ! kill -0 "$(cat "$dir.pid")" 2>/dev/null; then cat "$dir.log" >&2; exit 1; fi
    sleep 0.1
  done
  echo "dynalite.sh: no answer on 127.0.0.1:$port" >&2; cat "$dir.log" >&2; exit 1
}

stop() {
  local dir=$1 pid i
  [ -f "$dir.pid" ] || exit 0
  pid=$(cat "$dir.pid")
  kill "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir.pid"
}

case "${1:-}" in
  install) install ;;
  start) [ $# -eq 3 ] || { echo "usage: $0 start DIR PORT" >&2; exit 2; }; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }; stop "$2" ;;
  *) echo "usage: $0 install | start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
