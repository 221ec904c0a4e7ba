#!/usr/bin/env bash
# imunpack-load as a user runs it, against a real imunpack-server on
# 127.0.0.1: the JSON report parses and holds every field, every request is
# accounted for, thresholds set the exit code, and a sweep draws its chart.
# Usage: load_cli_test.sh BIN_DIR PYTHON
set -u
bin=$1
python=$2
. "$(dirname "$0")/lib.sh"
start_server "$bin" --workers 2 --threads-per-worker 1 || exit 1
target="127.0.0.1:$port"

"$bin/imunpack-load" --target "$target" --concurrency 3 --connections 2 --requests 150 \
  --duration 0 --warmup 0.2 --shape 64x128x32 --shape 17x33x9 --registered-b --quiet \
  --json "$work/run.json" >"$work/run.txt" || fail "closed-loop run exited $?: $(cat "$work/run.txt")"
grep -q "^latency ms" "$work/run.txt" || fail "no latency line in the summary"
"$python" - "$work/run.json" <<'PY' || exit 1
import json, sys
report = json.load(open(sys.argv[1]))
level = report["levels"][0]
for key in ["sent", "completed", "ok", "errors", "codes", "rps", "gflops", "mb_sent_per_s",
            "mb_received_per_s", "latency", "server_ms", "unpack_ratio_mean", "replicas",
            "windows", "stable", "error_rate"]:
    assert key in level, "missing " + key
for key in ["min_ms", "mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p99.9_ms", "max_ms",
            "histogram"]:
    assert key in level["latency"], "missing latency." + key
for key in ["queue", "quantize", "unpack", "gemm", "reassemble", "server"]:
    assert key in level["server_ms"], "missing server_ms." + key
assert level["sent"] == 150, level["sent"]
assert level["completed"] == level["sent"] == sum(level["codes"].values()), level
assert level["ok"] == 150 and level["codes"] == {"OK": 150}, level["codes"]
assert sum(level["replicas"].values()) == 150
lat = level["latency"]
assert 0 < lat["min_ms"] <= lat["p50_ms"] <= lat["p99_ms"] <= lat["max_ms"], lat
print("closed loop: 150 sent = 150 OK, report complete")
PY

# A p99 bound nobody can meet: exit 2, and the reason on stderr.
"$bin/imunpack-load" --target "$target" --requests 20 --duration 0 --warmup 0 --quiet \
  --max-p99-ms 0.000001 >/dev/null 2>"$work/err.txt"
rc=$?
[ "$rc" -eq 2 ] || fail "--max-p99-ms breach exited $rc, want 2"
grep -q "max-p99-ms" "$work/err.txt" || fail "no reason given: $(cat "$work/err.txt")"

# Nothing listening: no request succeeds, non-zero exit, UNAVAILABLE counted.
"$bin/imunpack-load" --target "127.0.0.1:1" --requests 5 --duration 0 --warmup 0 --quiet \
  --json "$work/down.json" >/dev/null 2>&1 && fail "a run with no server exited 0"
"$python" -c "import json,sys; l=json.load(open(sys.argv[1]))['levels'][0]; assert l['codes'].get('UNAVAILABLE')==l['sent']==5, l['codes']" \
  "$work/down.json" || fail "UNAVAILABLE not counted"

# A quantized on the client: the CLI's result is bit-identical to the local
# pipeline on the float A, and the load tool's requests all succeed with a
# quarter of the request bytes.
"$bin/imunpack" --target "$target" gemm --m 130 --k 257 --n 70 --bits 5 --quantize-on-client \
  --check >"$work/q.txt" || fail "gemm --quantize-on-client exited $?: $(cat "$work/q.txt")"
grep -q "bit-identical: 0 of" "$work/q.txt" || fail "quantized on the client: $(cat "$work/q.txt")"
for mode in "" --quantize-on-client; do
  "$bin/imunpack-load" --target "$target" --concurrency 2 --requests 20 --duration 0 --warmup 0 \
    --shape 96x512x64 --registered-b $mode --quiet --json "$work/q$mode.json" >/dev/null ||
    fail "load $mode exited $?"
done
"$python" - "$work/q.json" "$work/q--quantize-on-client.json" <<'PY' || fail "quantized load run"
import json, sys
floats, quantized = (json.load(open(p))["levels"][0] for p in sys.argv[1:])
assert quantized["codes"] == {"OK": 20}, quantized["codes"]
ratio = quantized["mb_sent_per_s"] / quantized["rps"] / (floats["mb_sent_per_s"] / floats["rps"])
assert 0.2 < ratio < 0.35, ratio  # int8 digits instead of float32, plus a small head
print("quantized on the client: request bytes x%.3f" % ratio)
PY

# A sweep: one CSV row per level and a PNG chart.
"$bin/imunpack-load" --target "$target" --concurrency-range 1:3:1 --duration 1 --warmup 0.1 \
  --shape 32x32x32 --quiet --csv "$work/sweep.csv" --plot "$work/sweep.png" >"$work/sweep.txt" \
  || fail "sweep exited $?: $(cat "$work/sweep.txt")"
[ "$(wc -l <"$work/sweep.csv")" -eq 4 ] || fail "sweep CSV: $(cat "$work/sweep.csv")"
head -c 4 "$work/sweep.png" | od -An -c | grep -q "P   N   G" || fail "no PNG written"
echo "load CLI: report, thresholds, down server and sweep chart all as expected"
