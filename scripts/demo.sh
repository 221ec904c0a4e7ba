#!/usr/bin/env bash
# The main job: build, then run one real IM-Unpack GEMM (2048^3, activations
# with outlier channels at percentile 0.999, weights at 1, b = 8) beside
# oneDNN fp32, bf16 and raw int8, and print the exactness check, the accuracy
# against fp32, the unpack overhead and the speed. Extra arguments go to
# imunpack-bench (see build/bin/imunpack-bench --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
exec build/bin/imunpack-bench --threads "$(nproc)" "$@"
