#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh -DIMUNPACK_WERROR=ON
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 900
