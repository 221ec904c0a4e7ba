#!/usr/bin/env bash
# Soak: imunpack-load at high concurrency with a mix of shapes and deadlines
# that cut calls short, plus malformed requests and clients killed mid-call,
# against one imunpack-server on 127.0.0.1. Passes when the server never
# crashes, every call the load tool sent is answered, the server's RSS over
# the second half stays within 10% of its level at half time, and SIGTERM
# ends it with exit 0.
# Usage: scripts/soak.sh [SECONDS (default 300)] [BIN_DIR (default build/bin)]
set -u
secs=${1:-300}
bin=${2:-$(cd "$(dirname "$0")/.." && pwd)/build/bin}
python=/usr/bin/python3
. "$(dirname "$0")/../tests/lib.sh"
start_server "$bin" --workers 2 --threads-per-worker 1 --queue-capacity 32 --drain-s 30 || exit 1
target=(--target "127.0.0.1:$port")
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status" 2>/dev/null; }

"$bin/imunpack-load" "${target[@]}" --concurrency 16 --connections 2 --duration "$secs" --warmup 0 \
  --shape 64x64x64 --shape 256x512x256 --shape 512x1024x512 --shape 33x4097x7 \
  --deadline-ms 40 --quiet --json "$work/load.json" >"$work/load.txt" 2>&1 &
loader=$!
cleanup_pids="$cleanup_pids $loader"
# Malformed requests and clients that vanish mid-call, all along.
(
  while :; do
    "$bin/imunpack" "${target[@]}" gemm --m 8 --k 8 --n 8 --bits 9 >/dev/null 2>&1
    "$bin/imunpack" "${target[@]}" gemm --m 8 --k 8 --n 8 --percentile-a 2 >/dev/null 2>&1
    "$bin/imunpack" "${target[@]}" gemm --m 768 --k 768 --n 768 >/dev/null 2>&1 &
    victim=$!
    sleep 0.3
    kill -9 "$victim" 2>/dev/null
    wait "$victim" 2>/dev/null
  done
) &
noise=$!
cleanup_pids="$cleanup_pids $noise"
samples=()
for ((t = 0; t < secs; ++t)); do
  sleep 1
  kill -0 "$server" 2>/dev/null || fail "the server died after ${t}s"
  samples+=("$(rss)")
done
wait "$loader"
kill -9 "$noise" 2>/dev/null
wait "$noise" 2>/dev/null
kill -TERM "$server"
wait "$server"
rc=$?
[ "$rc" -eq 0 ] || fail "exit code $rc after SIGTERM"

"$python" - "$work/load.json" "${samples[@]}" <<'PY'
import json, sys
l = json.load(open(sys.argv[1]))["levels"][0]
rss = [int(x) / 1024 for x in sys.argv[2:] if x]
# Warm-up: the first half. Allocator arenas, oneDNN's primitive cache and
# the buffer cache fill up first, and the heap that glibc keeps (trim
# threshold 512 MiB) grows in steps until the largest mix of requests in
# flight at once has occurred, a couple of minutes in at concurrency 16. A
# leak keeps growing after that; this must stay flat.
warm = len(rss) // 2
base, peak, last = rss[warm], max(rss[warm:]), rss[-1]
print(f"soak {len(rss)} s: {l['sent']} calls sent, {l['completed']} answered: {l['codes']}")
print(f"  latency p50 {l['latency']['p50_ms']:.1f} ms, p99 {l['latency']['p99_ms']:.1f} ms, "
      f"{l['ok_rps']:.0f} ok/s")
print("  RSS every 10 s (MiB):", [round(x) for x in rss[::10]])
print(f"  server RSS: {rss[0]:.0f} MiB at 1 s, {base:.0f} MiB after warm-up, peak {peak:.0f}, "
      f"last {last:.0f} MiB ({100 * (peak / base - 1):+.1f}% peak vs warm)")
ok = True
if l["completed"] != l["sent"]:
    print("  FAIL: calls lost"); ok = False
if not set(l["codes"]) <= {"OK", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"}:
    print("  FAIL: unexpected codes"); ok = False
if l["ok"] == 0:
    print("  FAIL: nothing succeeded"); ok = False
if peak > 1.10 * base:
    print("  FAIL: RSS grew more than 10% after warm-up"); ok = False
sys.exit(0 if ok else 1)
PY
rc=$?
[ $rc -eq 0 ] || { cat "$work/load.txt"; fail "soak: see above"; }
echo "soak passed; server exited 0 on SIGTERM"
