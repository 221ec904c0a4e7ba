#!/usr/bin/env bash
# The main job: build, start imunpack-server on 127.0.0.1, wait until it is
# healthy, run one real GEMM through the imunpack CLI (2048^3, activations
# with outlier channels at percentile 0.999, weights at 1, b = 8) with the
# server's fp32 accuracy check and a local bit-exactness check, print the
# overhead report, and stop the server with SIGTERM.
# Extra arguments go to `imunpack gemm` (e.g. --bits 4 --percentile-a 0.995).
# IMUNPACK_DEMO_PORT picks the port (default 50051).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
port=${IMUNPACK_DEMO_PORT:-50051}
target="127.0.0.1:$port"

build/bin/imunpack-server --address "$target" --metrics-port -1 --log-level warn &
server=$!
trap 'kill -9 "$server" 2>/dev/null || true' EXIT
for _ in $(seq 300); do
  build/bin/imunpack --target "$target" health >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "imunpack-server failed to start (port $port in use?)" >&2; exit 1; }
  sleep 0.1
done
echo "imunpack-server on $target: $(build/bin/imunpack --target "$target" health)"

build/bin/imunpack --target "$target" gemm --m 2048 --k 2048 --n 2048 --verify --check "$@"

kill -TERM "$server"
wait "$server" && echo "imunpack-server stopped cleanly (exit 0)"
trap - EXIT
