#!/usr/bin/env bash
# Builds the container image with podman and runs it as a user would: host
# network, a GEMM from the host's CLI on 127.0.0.1, the process inside is not
# root, the image's HEALTHCHECK passes, and `podman stop` (SIGTERM) ends it
# with exit code 0 within seconds. Prints the image size.
# Usage: deploy/image-test.sh BIN_DIR   (BIN_DIR holds the host's imunpack CLI)
set -euo pipefail
bin=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
. deploy/podman-env.sh
image=${IMUNPACK_IMAGE:-localhost/imunpack:test}
name=imunpack-image-test-$$
port=$((20000 + RANDOM % 30000))
log=$(mktemp)  # podman's own complaints (e.g. no systemd for health timers)
trap 'podman rm -f "$name" >/dev/null 2>&1 || true; rm -f "$log"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

ensure_base_image
echo "building $image"
podman build --pull=never --network host --format docker -t "$image" . >/tmp/imunpack-image-build.log 2>&1 ||
  { tail -30 /tmp/imunpack-image-build.log; fail "podman build"; }
podman image prune -f >/dev/null 2>&1 || true
size=$(podman image inspect --format '{{.Size}}' "$image")
echo "image $image: $((size / 1000000)) MB"

# The healthcheck timer needs systemd; it is run by hand below instead.
podman run -d --name "$name" --network host --health-interval disable \
  -e IMUNPACK_ADDRESS="127.0.0.1:$port" -e IMUNPACK_METRICS_PORT=-1 -e IMUNPACK_DRAIN_S=5 \
  "$image" >/dev/null 2>"$log" || { cat "$log"; fail "podman run"; }
for _ in $(seq 100); do
  "$bin/imunpack" --target "127.0.0.1:$port" health >/dev/null 2>&1 && break
  sleep 0.2
done
"$bin/imunpack" --target "127.0.0.1:$port" gemm --m 384 --k 512 --n 256 --verify --check ||
  fail "GEMM against the container"
uid=$(podman exec "$name" id -u)
[ "$uid" != 0 ] || fail "the server runs as root"
echo "server process uid: $uid"
podman healthcheck run "$name" >/dev/null 2>&1 || fail "the image's HEALTHCHECK fails"
echo "HEALTHCHECK (imunpack health): healthy"
start=$(date +%s%N)
podman stop -t 30 "$name" >/dev/null 2>>"$log" || { cat "$log"; fail "podman stop"; }
ms=$((($(date +%s%N) - start) / 1000000))
code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
[ "$code" = 0 ] || { podman logs "$name" | tail -20; fail "exit code $code after podman stop"; }
[ "$ms" -lt 10000 ] || fail "podman stop took ${ms} ms"
echo "podman stop: exit code 0 after ${ms} ms"
