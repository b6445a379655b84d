#!/usr/bin/env bash
# Installs and runs a throwaway PostgreSQL for the simulator, the demo and the tests.
#
#   scripts/postgres.sh install           install PostgreSQL from the system packages if missing
#   scripts/postgres.sh start DIR PORT    create a cluster in DIR (if new) and start it on 127.0.0.1:PORT
#   scripts/postgres.sh stop DIR          stop the cluster in DIR
#
# The server listens on loopback only. TCP connections need a password (scram-sha-256), as a
# Redshift cluster does: user postgres, password postgres. The Unix socket in DIR trusts.
set -euo pipefail

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$d" ] && command -v pg_ctl >/dev/null 2>&1; then d=$(dirname "$(command -v pg_ctl)"); fi
  [ -n "$d" ] || return 1
  echo "$d"
}

# as_owner runs a command as the user that owns the data directory: initdb refuses root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install() {
  if bindir >/dev/null; then return 0; fi
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
  # The package starts a system-wide cluster; the project runs its own and needs none.
  $sudo service postgresql stop >/dev/null 2>&1 || true
  bindir >/dev/null || { echo "postgres.sh: PostgreSQL binaries not found after install" >&2; exit 1; }
}

start() {
  local dir=$1 port=$2 bin fresh=
  bin=$(bindir) || { echo "postgres.sh: PostgreSQL is not installed (run: scripts/postgres.sh install)" >&2; exit 1; }
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"; chmod 700 "$dir"
    runuser -u postgres -- test -x "$dir" ||
      { echo "postgres.sh: user postgres cannot reach $dir; choose a folder whose parents others may enter (e.g. under /tmp)" >&2; exit 1; }
  fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$dir" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --encoding=UTF8 --locale=C >"$dir/../initdb.log" 2>&1 || { cat "$dir/../initdb.log" >&2; exit 1; }
    fresh=1
  fi
  as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 -c shared_buffers=256MB" start >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
  if [ -n "${fresh:-}" ]; then
    as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -qAt \
      -c "ALTER USER postgres PASSWORD 'postgres'" >/dev/null
  fi
}

stop() {
  local dir=$1 bin
  bin=$(bindir) || exit 0
  [ -f "$dir/postmaster.pid" ] || exit 0
  as_owner "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
}

case "${1:-}" in
  install) install ;;
  start) [ $# -eq 3 ] || { echo "usage: $0 start DIR PORT" >&2; exit 2; }; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }; stop "$2" ;;
  *) echo "usage: $0 install | start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
