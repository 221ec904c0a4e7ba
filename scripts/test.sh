#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh -DIMUNPACK_WERROR=ON
(cd build && ctest --output-on-failure -j"$(nproc)" --timeout 900)

# The deployment artifacts, exercised for real: the image built and run with
# podman, the manifests validated and played. IMUNPACK_SKIP_DEPLOY_TESTS=1
# skips them (they need root for podman, and a few minutes the first time).
if [ "${IMUNPACK_SKIP_DEPLOY_TESTS:-0}" != 1 ]; then
  scripts/install-deps.sh --deploy
  timeout 1800 deploy/image-test.sh build/bin
  timeout 600 deploy/manifests-test.sh build/bin /usr/bin/python3
fi
