#!/usr/bin/env bash
# TLS, mutual TLS and bearer tokens against a real imunpack-server on
# 127.0.0.1: the right credentials get exact answers through the CLI, the
# load tool and the Python client; every missing or wrong one is refused
# with the right code; health stays reachable without a token.
# Usage: security_test.sh BIN_DIR PYTHON PYTHON_PACKAGE_DIR
set -u
bin=$1
python=$2
pypkg=$3
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
"$here/../scripts/make-test-certs.sh" "$work/certs" >/dev/null || fail "certificates"
"$here/../scripts/make-test-certs.sh" "$work/rogue" >/dev/null || fail "rogue certificates"
token=0123456789abcdef-test-token
printf '# tokens\n%s\nanother-token-0123456789\n' "$token" >"$work/tokens"
c=$work/certs

port=$((20000 + RANDOM % 30000))
"$bin/imunpack-server" --address "127.0.0.1:$port" --log-level warn --tls-cert "$c/server.pem" \
  --tls-key "$c/server.key" --tls-client-ca "$c/ca.pem" --auth-token-file "$work/tokens" \
  --registered-mib-per-client 1 &
cleanup_pids="$cleanup_pids $!"
good=(--target "127.0.0.1:$port" --tls-ca "$c/ca.pem" --tls-cert "$c/client.pem" --tls-key "$c/client.key")
for _ in $(seq 100); do
  "$bin/imunpack" "${good[@]}" health >/dev/null 2>&1 && break
  sleep 0.1
done

# Health needs TLS but no token (probes hold no secrets).
[ "$("$bin/imunpack" "${good[@]}" health)" = SERVING ] || fail "health over mutual TLS without a token"
# Everything right: an exact GEMM.
"$bin/imunpack" "${good[@]}" --token "$token" gemm --m 64 --k 96 --n 32 --check | grep -q bit-identical ||
  fail "GEMM with TLS, client certificate and token"
IMUNPACK_TOKEN=another-token-0123456789 "$bin/imunpack" "${good[@]}" info >/dev/null ||
  fail "second token from the environment"

expect() {  # code, description, command...
  local code=$1 what=$2
  shift 2
  local out
  out=$("$@" 2>&1) && fail "$what: succeeded"
  echo "$out" | grep -q "$code" || fail "$what: want $code, got: $out"
  echo "refused as $code: $what"
}
expect UNAUTHENTICATED "no token" "$bin/imunpack" "${good[@]}" info
expect UNAUTHENTICATED "wrong token" "$bin/imunpack" "${good[@]}" --token wrong-token-0123456789 info
expect UNAUTHENTICATED "token prefix" "$bin/imunpack" "${good[@]}" --token "${token:0:10}" info
expect UNAVAILABLE "no client certificate" \
  "$bin/imunpack" --target "127.0.0.1:$port" --tls-ca "$c/ca.pem" --token "$token" info
expect UNAVAILABLE "client certificate from another CA" \
  "$bin/imunpack" --target "127.0.0.1:$port" --tls-ca "$c/ca.pem" --tls-cert "$work/rogue/client.pem" \
  --tls-key "$work/rogue/client.key" --token "$token" info
expect UNAVAILABLE "server not trusted (other CA)" \
  "$bin/imunpack" --target "127.0.0.1:$port" --tls-ca "$work/rogue/ca.pem" --tls-cert "$c/client.pem" \
  --tls-key "$c/client.key" --token "$token" info
expect UNAVAILABLE "plaintext to the TLS port" "$bin/imunpack" --target "127.0.0.1:$port" --token "$token" info

# The per-client registered budget (1 MiB): a 512x512 B (about 1.3 MiB prepared) is refused.
"$python" -c "import numpy as np, sys; np.save(sys.argv[1], np.ones((512, 512), np.float32))" "$work/big.npy"
expect RESOURCE_EXHAUSTED "upload above the per-client budget" \
  "$bin/imunpack" "${good[@]}" --token "$token" upload --b "$work/big.npy"

# The load tool and the Python client with the same credentials.
"$bin/imunpack-load" "${good[@]}" --token "$token" --requests 40 --duration 0 --warmup 0 --quiet \
  --shape 32x32x32 --json "$work/load.json" >/dev/null || fail "load tool over mutual TLS"
"$python" -c "import json,sys; l=json.load(open(sys.argv[1]))['levels'][0]; assert l['ok']==40, l['codes']" \
  "$work/load.json" || fail "load tool answers"
PYTHONPATH=$pypkg "$python" - "$port" "$c" "$token" <<'PY' || fail "Python client over mutual TLS"
import sys, numpy as np, grpc, imunpack
port, c, token = sys.argv[1], sys.argv[2], sys.argv[3]
tls = dict(tls_ca=f"{c}/ca.pem", tls_cert=f"{c}/client.pem", tls_key=f"{c}/client.key")
with imunpack.Client(f"127.0.0.1:{port}", token=token, **tls) as client:
    a = np.arange(12, dtype=np.int32).reshape(3, 4) * 1000
    b = np.arange(8, dtype=np.int32).reshape(4, 2)
    c_int, _ = client.int_gemm(a, b)
    assert np.array_equal(c_int, a.astype(np.int64) @ b), c_int
with imunpack.Client(f"127.0.0.1:{port}", **tls) as client:
    assert client.health() == "SERVING"
    try:
        client.info()
        raise SystemExit("no token accepted")
    except imunpack.ImunpackError as e:
        assert e.code == grpc.StatusCode.UNAUTHENTICATED, e
print("python: exact int_gemm with TLS and token; UNAUTHENTICATED without")
PY
echo "security: mutual TLS and bearer tokens enforced; health open; per-client budget enforced"
