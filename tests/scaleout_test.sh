#!/usr/bin/env bash
# Scale-out without a cluster: three server processes on three 127.0.0.1
# ports. One round_robin channel spreads a closed loop evenly over them, and
# one GEMM sharded across them (inline or registered B) is bit-identical to
# the same GEMM on a single server.
# Usage: scaleout_test.sh BIN_DIR PYTHON
set -u
bin=$1
python=$2
. "$(dirname "$0")/lib.sh"
targets=()
for r in 1 2 3; do
  start_server "$bin" --workers 1 --threads-per-worker 1 --replica-id "replica-$r" || exit 1
  targets+=(--target "127.0.0.1:$port")
done
single=("${targets[@]:0:2}")

"$bin/imunpack-load" "${targets[@]}" --concurrency 6 --requests 600 --duration 0 --warmup 0.3 \
  --shape 64x64x64 --quiet --json "$work/load.json" >/dev/null || fail "load run exited $?"
"$python" - "$work/load.json" <<'PY' || exit 1
import json, sys
level = json.load(open(sys.argv[1]))["levels"][0]
replicas = level["replicas"]
assert level["ok"] == 600, level["codes"]
assert sorted(replicas) == ["replica-1", "replica-2", "replica-3"], replicas
for name, n in replicas.items():
    assert abs(n - 200) <= 40, f"{name} got {n} of 600 (want 200 +- 20%)"
print("round_robin over 3 replicas:", replicas)
PY

gemm=(gemm --m 301 --k 256 --n 96 --seed 5 --percentile-a 0.99)
"$bin/imunpack" "${single[@]}" "${gemm[@]}" --out "$work/single.npy" >/dev/null || fail "single-server gemm"
"$bin/imunpack" "${targets[@]}" "${gemm[@]}" --shards 3 --json --out "$work/sharded.npy" \
  >"$work/sharded.json" || fail "sharded gemm"
cmp -s "$work/single.npy" "$work/sharded.npy" || fail "sharded C differs from single-server C"
"$python" -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['blocks']==3 and len(set(j['replica_ids']))==3, j" \
  "$work/sharded.json" || fail "not 3 blocks on 3 replicas"
echo "sharded GEMM over 3 replicas ($(grep -o '"replica_ids":\[[^]]*\]' "$work/sharded.json")): bit-identical"

# Registered B: uploaded to every replica under one handle, then sharded.
"$python" -c "
import numpy as np, sys
rng = np.random.default_rng(3)
np.save(sys.argv[1], rng.standard_normal((301, 256), dtype=np.float32))
np.save(sys.argv[2], rng.standard_normal((256, 96), dtype=np.float32))" "$work/a.npy" "$work/b.npy"
handle=$("$bin/imunpack" "${targets[@]}" upload --b "$work/b.npy" --name w) || fail "upload"
"$bin/imunpack" "${targets[@]}" list | grep -c "$handle" >/dev/null || fail "handle not listed"
for t in 1 3 5; do
  "$bin/imunpack" --target "${targets[$t]}" list | grep -q "$handle" || fail "${targets[$t]} lacks $handle"
done
"$bin/imunpack" "${single[@]}" gemm --a "$work/a.npy" --b "$work/b.npy" --out "$work/c1.npy" >/dev/null \
  || fail "inline gemm"
"$bin/imunpack" "${targets[@]}" gemm --a "$work/a.npy" --b-handle "$handle" --shards 3 \
  --out "$work/c3.npy" >/dev/null || fail "sharded registered gemm"
cmp -s "$work/c1.npy" "$work/c3.npy" || fail "sharded registered C differs"
"$bin/imunpack" "${targets[@]}" delete "$handle" >/dev/null || fail "delete"
for t in 1 3 5; do
  "$bin/imunpack" --target "${targets[$t]}" list | grep -q "$handle" && fail "$handle left on ${targets[$t]}"
done
echo "registered B on all 3 replicas under $handle; sharded result bit-identical; deleted everywhere"
