#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs every
# test: the ctest suite, then the deployment artifacts for real (container
# image, manifests, podman kube play), the suite again under sanitizers,
# and the fuzz targets for a bounded time. Each extra stage can be skipped:
#   IMUNPACK_SKIP_DEPLOY_TESTS=1  (needs root for podman, and kubectl)
#   IMUNPACK_SKIP_SANITIZERS=1    (ASan+UBSan suite, TSan server tests)
#   IMUNPACK_SKIP_FUZZ=1          (clang libFuzzer targets, 30 s each)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh -DIMUNPACK_WERROR=ON
(cd build && ctest --output-on-failure -j"$(nproc)" --timeout 900)

if [ "${IMUNPACK_SKIP_DEPLOY_TESTS:-0}" != 1 ]; then
  scripts/install-deps.sh --deploy
  timeout 1800 deploy/image-test.sh build/bin
  timeout 600 deploy/manifests-test.sh build/bin /usr/bin/python3
fi
if [ "${IMUNPACK_SKIP_SANITIZERS:-0}" != 1 ]; then
  timeout 2700 scripts/sanitize.sh
fi
if [ "${IMUNPACK_SKIP_FUZZ:-0}" != 1 ]; then
  timeout 1200 scripts/fuzz.sh 30
fi
echo "all tests passed"
