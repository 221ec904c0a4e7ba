# Shared by the shell tests. Sourcing it sets $work (a fresh temporary
# directory), fail() (print and exit 1), and an EXIT trap that kills every
# process listed in $cleanup_pids and removes $work. Then:
#   start_server BIN_DIR [server flags...]   starts an imunpack-server on a
#       free 127.0.0.1 port, waits until it is healthy, sets $server (pid)
#       and $port, and adds the pid to $cleanup_pids.
# Never "kill 0": an empty pid would signal the whole process group (ctest).
work=$(mktemp -d)
cleanup_pids=
trap 'for p in $cleanup_pids; do kill -9 "$p" 2>/dev/null; done; rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*"
  exit 1
}

start_server() {
  local bin=$1
  shift
  for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 30000))
    "$bin/imunpack-server" --address "127.0.0.1:$port" --log-level warn --metrics-port -1 "$@" &
    server=$!
    for _ in $(seq 100); do
      if "$bin/imunpack" --target "127.0.0.1:$port" health >/dev/null 2>&1; then
        cleanup_pids="$cleanup_pids $server"
        return 0
      fi
      kill -0 "$server" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$server" 2>/dev/null
    server=
  done
  echo "server did not start" >&2
  return 1
}
