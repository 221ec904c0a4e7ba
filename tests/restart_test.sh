#!/usr/bin/env bash
# SIGTERM and a restart while imunpack-load runs against 127.0.0.1: the old
# server exits 0 after finishing what it had accepted, every call is either
# answered OK or refused (UNAVAILABLE; none lost), the load tool rides
# over the restart on its own and reports how long the gap was.
# Usage: restart_test.sh BIN_DIR PYTHON
set -u
bin=$1
python=$2
. "$(dirname "$0")/lib.sh"
start_server "$bin" --workers 2 --threads-per-worker 1 --drain-s 20 || exit 1
first=$server

"$bin/imunpack-load" --target "127.0.0.1:$port" --concurrency 6 --duration 8 --warmup 0 \
  --shape 256x256x256 --shape 64x512x64 --quiet --json "$work/load.json" >"$work/load.txt" 2>&1 &
loader=$!
cleanup_pids="$cleanup_pids $loader"
sleep 2
kill -TERM "$first"
wait "$first"
rc=$?
[ "$rc" -eq 0 ] || fail "server exited $rc after SIGTERM under load"
sleep 0.5  # down for a moment, as in a real restart
"$bin/imunpack-server" --address "127.0.0.1:$port" --log-level warn --workers 2 \
  --threads-per-worker 1 &
cleanup_pids="$cleanup_pids $!"
wait "$loader"
"$python" - "$work/load.json" <<'PY' || { cat "$work/load.txt"; fail "load report"; }
import json, sys
l = json.load(open(sys.argv[1]))["levels"][0]
codes = l["codes"]
assert l["completed"] == l["sent"], ("lost calls", l["sent"], l["completed"])
# CANCELLED: calls still arriving when the old server began its shutdown,
# cut by gRPC before any handler saw them (never accepted, never lost).
assert set(codes) <= {"OK", "UNAVAILABLE", "CANCELLED"}, codes
tail = [w["rps"] for w in l["windows"][-2:]]
assert all(r > 0 for r in tail), ("no answers after the restart", l["windows"])
assert l["max_gap_ms"] >= 400, l["max_gap_ms"]  # the server was down at least 0.5 s
print(f"restart under load: {l['sent']} sent = {codes}; longest gap {l['max_gap_ms']:.0f} ms; "
      f"answers again in the last windows: {tail}")
PY
