# Shared by the scripts that run a throwaway test server in the background (versitygw.sh,
# dynalite.sh): its pid goes to DIR.pid and its output to DIR.log. Source it; $name is the
# calling script's name, for messages.

# require_free_port PORT: a port someone else already listens on would look like a started server.
require_free_port() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then echo "$name: port $1 is in use" >&2; exit 3; fi
}

# wait_listening DIR PORT: waits up to 10 s for the server started for DIR to answer on PORT.
wait_listening() {
  local dir=$1 port=$2 i
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && kill -0 "$(cat "$dir.pid")" 2>/dev/null; then return 0; fi
    if ! kill -0 "$(cat "$dir.pid")" 2>/dev/null; then cat "$dir.log" >&2; exit 1; fi
    sleep 0.1
  done
  echo "$name: no answer on 127.0.0.1:$port" >&2; cat "$dir.log" >&2; exit 1
}

# stop_server DIR: stops the server started for DIR, killing it after 5 s.
stop_server() {
  local dir=$1 pid i
  [ -f "$dir.pid" ] || exit 0
  pid=$(cat "$dir.pid")
  kill "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir.pid"
}
