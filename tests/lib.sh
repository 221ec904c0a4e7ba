# Shared by the shell tests: start an imunpack-server on a free 127.0.0.1
# port and wait until it is healthy. Source it, then:
#   start_server BIN_DIR [server flags...]   sets $server (pid) and $port,
#                                            and appends the pid to $servers
# The caller's EXIT trap should kill "$server" when it is set. Never
# "kill 0": an empty pid would signal the whole process group (ctest).
start_server() {
  local bin=$1
  shift
  for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 30000))
    "$bin/imunpack-server" --address "127.0.0.1:$port" --log-level warn --metrics-port -1 "$@" &
    server=$!
    for _ in $(seq 100); do
      if "$bin/imunpack" --target "127.0.0.1:$port" health >/dev/null 2>&1; then
        servers="${servers:-} $server"
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
