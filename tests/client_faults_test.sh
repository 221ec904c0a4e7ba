#!/usr/bin/env bash
# Clients that misbehave, against a real imunpack-server on 127.0.0.1:
# processes killed while their call runs, calls whose deadline expires in
# the queue or mid-GEMM. Afterwards nothing is left in flight or queued,
# and the next requests are exact.
# Usage: client_faults_test.sh BIN_DIR PYTHON
set -u
bin=$1
python=$2
. "$(dirname "$0")/lib.sh"
start_server "$bin" --workers 1 --threads-per-worker 1 --queue-capacity 8 || exit 1
target=(--target "127.0.0.1:$port")
in_flight() { "$bin/imunpack" "${target[@]}" --json info | "$python" -c 'import json,sys; i=json.load(sys.stdin); print(i.get("inFlight",0), i.get("queueDepth",0))'; }

# Clients killed (SIGKILL: no goodbye) while their GEMM is queued or running.
for round in 1 2 3; do
  pids=()
  for i in 1 2 3 4; do
    "$bin/imunpack" "${target[@]}" gemm --m 1024 --k 1024 --n 1024 --seed "$i" >/dev/null 2>&1 &
    pids+=($!)
  done
  for _ in $(seq 200); do
    [ "$(in_flight | cut -d' ' -f1)" -ge 2 ] && break
    sleep 0.01
  done
  kill -9 "${pids[@]}" 2>/dev/null
  wait "${pids[@]}" 2>/dev/null
done
echo "killed 12 clients mid-call"

# Deadlines that expire in the queue and during the GEMM: counted, not hung.
# The deadline is half the fastest lone call measured here, so on any machine
# (and even if the calibration ran while other tests loaded it) calls that
# queue behind others (one worker, six callers) cannot make it.
"$bin/imunpack-load" "${target[@]}" --concurrency 1 --requests 5 --duration 0 --warmup 0 \
  --shape 1024x1024x1024 --quiet --json "$work/alone.json" >/dev/null 2>&1 || fail "lone calls"
deadline_ms=$("$python" -c 'import json,sys,math; l=json.load(open(sys.argv[1]))["levels"][0]
print(max(1, math.floor(0.5 * l["latency"]["min_ms"])))' "$work/alone.json") || fail "lone-call report"
echo "deadline ${deadline_ms} ms"
"$bin/imunpack-load" "${target[@]}" --concurrency 6 --requests 30 --duration 0 --warmup 0 \
  --shape 1024x1024x1024 --deadline-ms "$deadline_ms" --quiet --json "$work/deadline.json" >/dev/null 2>&1
"$python" - "$work/deadline.json" <<'PY' || fail "deadline run"
import json, sys
l = json.load(open(sys.argv[1]))["levels"][0]
assert l["completed"] == l["sent"] == 30, l
assert l["codes"].get("DEADLINE_EXCEEDED", 0) > 0, l["codes"]
assert set(l["codes"]) <= {"OK", "DEADLINE_EXCEEDED"}, l["codes"]
print("deadlines: ", l["codes"])
PY

# Nothing left behind: the pool drains to zero, and the next calls are exact.
for _ in $(seq 300); do
  [ "$(in_flight)" = "0 0" ] && break
  sleep 0.05
done
[ "$(in_flight)" = "0 0" ] || fail "left in flight / queued: $(in_flight)"
for i in 1 2 3; do
  "$bin/imunpack" "${target[@]}" gemm --m 200 --k 300 --n 100 --seed "$i" --check | grep -q bit-identical ||
    fail "GEMM after the faults"
done
kill -0 "$server" || fail "server died"
echo "after the faults: nothing in flight, health SERVING, next GEMMs bit-identical"
