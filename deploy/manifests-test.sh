#!/usr/bin/env bash
# Checks every deployment file offline, then runs the Kubernetes Deployment
# for real with `podman kube play`:
#   - yamllint over deploy/;
#   - kubectl kustomize of the base and each overlay;
#   - schema (kubernetes-models) and type (kubernetes-types + tsc) validation
#     of the rendered objects, and proof that the validator catches an
#     unknown field, a wrong type and a removed API;
#   - deploy/compose.yaml parsed and its services checked;
#   - the one-replica overlay played with podman: a GEMM from the host's CLI
#     on 127.0.0.1, a non-root process on a read-only root, exit 0 on stop.
# Usage: deploy/manifests-test.sh BIN_DIR PYTHON   (needs the image of image-test.sh)
set -euo pipefail
bin=$(cd "$1" && pwd)
python=$2
cd "$(dirname "$0")/.."
work=$(mktemp -d)
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v kubectl >/dev/null || fail "kubectl is needed for kustomize (not packaged by Debian 12)"

yamllint -c deploy/.yamllint deploy/
echo "yamllint: deploy/ clean"

validate=deploy/k8s/validate
if [ ! -d "$validate/node_modules" ]; then
  (cd "$validate" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci"
fi
to_json() { "$python" -c 'import sys, yaml, json; print(json.dumps(list(yaml.safe_load_all(sys.stdin))))'; }
for dir in deploy/k8s/base deploy/k8s/overlays/*; do
  kubectl kustomize "$dir" >"$work/rendered.yaml" || fail "kustomize $dir"
  to_json <"$work/rendered.yaml" >"$work/rendered.json"
  node "$validate/validate.mjs" "$work/rendered.json" >"$work/validate.log" 2>&1 ||
    { cat "$work/validate.log"; fail "validation of $dir"; }
  echo "$dir: $(grep -c '^schema ok' "$work/validate.log") objects, schema and types valid"
done
to_json <"$validate/testdata/bad.yaml" >"$work/bad.json"
if node "$validate/validate.mjs" "$work/bad.json" >"$work/bad.log" 2>&1; then
  fail "the validator accepted testdata/bad.yaml"
fi
for needle in "'\"grpcc\"' does not exist" "port must be integer" "kubernetes-types/policy/v1beta1"; do
  grep -qF "$needle" "$work/bad.log" || { cat "$work/bad.log"; fail "validator missed: $needle"; }
done
echo "validator: rejects an unknown field, a wrong type and a removed API"

"$python" - deploy/compose.yaml <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
s = c["services"]
assert set(s) == {"server", "load"}, s.keys()
assert s["server"]["deploy"]["replicas"] >= 2
assert s["server"]["build"]["dockerfile"] == "Dockerfile"
assert s["load"]["depends_on"]["server"]["condition"] == "service_healthy"
assert any(a.startswith("--target=dns:///server:") for a in s["load"]["command"]), s["load"]
assert s["load"]["image"] == s["server"]["image"]
print("compose: server x%d and load service check out" % s["server"]["deploy"]["replicas"])
PY

# podman kube play of the one-replica overlay.
. deploy/podman-env.sh
kubectl kustomize deploy/k8s/overlays/podman >"$work/play.yaml"
port=$(grep -oE '127\.0\.0\.1:[0-9]+' "$work/play.yaml" | head -1 | cut -d: -f2)
cleanup() { podman kube down "$work/play.yaml" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
podman kube down "$work/play.yaml" >/dev/null 2>&1 || true
podman kube play "$work/play.yaml" >"$work/play.log" 2>&1 || { cat "$work/play.log"; fail "kube play"; }
for _ in $(seq 100); do
  "$bin/imunpack" --target "127.0.0.1:$port" health >/dev/null 2>&1 && break
  sleep 0.2
done
"$bin/imunpack" --target "127.0.0.1:$port" gemm --m 300 --k 256 --n 200 --check >"$work/gemm.txt" ||
  { cat "$work/gemm.txt"; fail "GEMM against the kube-played pod"; }
grep -q "bit-identical" "$work/gemm.txt" || fail "no exactness line"
ctr=$(podman ps --format '{{.Names}}' | grep -- '-server$' | head -1)
[ "$(podman exec "$ctr" id -u)" != 0 ] || fail "pod runs as root"
[ "$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$ctr")" = true ] || fail "root is writable"
workers=$("$bin/imunpack" --target "127.0.0.1:$port" --json info | "$python" -c 'import json,sys; print(json.load(sys.stdin)["workers"])')
[ "$workers" = 2 ] || fail "ConfigMap not applied (workers = $workers)"
podman pod stop -t 30 "$(podman pod ps --format '{{.Name}}' | grep '^imunpack' | head -1)" >/dev/null 2>&1
code=$(podman inspect --format '{{.State.ExitCode}}' "$ctr")
[ "$code" = 0 ] || fail "server exit code $code after pod stop"
echo "podman kube play: GEMM bit-identical, uid != 0, read-only root, ConfigMap applied, exit 0 on stop"
