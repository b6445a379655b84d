#!/usr/bin/env bash
# Installs and runs a throwaway versitygw, the S3-compatible server the tests use for the S3 archive.
#
#   scripts/versitygw.sh install                           build versitygw v1.8.0 into .tools/bin if missing
#   scripts/versitygw.sh start DIR PORT ACCESS SECRET      serve the folder DIR (one sub-folder per bucket)
#                                                          on 127.0.0.1:PORT; the pid goes to DIR.pid
#   scripts/versitygw.sh stop DIR                          stop the server started for DIR
#
# The server listens on loopback only and signs with SigV4 (path-style addressing).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
name=versitygw.sh
# shellcheck source=lib/server.sh
source "$root/scripts/lib/server.sh"
version=v1.8.0
bin="$root/.tools/bin/versitygw"

install() {
  if [ -x "$bin" ]; then return 0; fi
  mkdir -p "$root/.tools/bin"
  # -mod=mod: versitygw's own go.mod is used as is; GOBIN keeps the binary inside the project.
  (cd "$root" && GOFLAGS=-mod=mod GOBIN="$root/.tools/bin" go install "github.com/versity/versitygw/cmd/versitygw@$version")
  [ -x "$bin" ] || { echo "versitygw.sh: build did not produce $bin" >&2; exit 1; }
}

start() {
  local dir=$1 port=$2 access=$3 secret=$4
  [ -x "$bin" ] || { echo "versitygw.sh: versitygw is not installed (run: scripts/versitygw.sh install)" >&2; exit 1; }
  mkdir -p "$dir"
  require_free_port "$port"
  # The credentials go through the environment so they do not show in the process list.
  ROOT_ACCESS_KEY="$access" ROOT_SECRET_KEY="$secret" \
    nohup "$bin" --port "127.0.0.1:$port" posix "$dir" >"$dir.log" 2>&1 &
  echo $! >"$dir.pid"
  wait_listening "$dir" "$port"
}

case "${1:-}" in
  install) install ;;
  start) [ $# -eq 5 ] || { echo "usage: $0 start DIR PORT ACCESS SECRET" >&2; exit 2; }; start "$2" "$3" "$4" "$5" ;;
  stop) [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }; stop_server "$2" ;;
  *) echo "usage: $0 install | start DIR PORT ACCESS SECRET | stop DIR" >&2; exit 2 ;;
esac
