#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (AddressSanitizer and
# UndefinedBehaviorSanitizer on) in build-fuzz/ and runs each for a bounded
# time from the seed corpus in fuzz/corpus (copied: the repository's corpus
# is not modified). A crash, a sanitizer report or a failed exactness check
# fails the run and leaves the input in build-fuzz/artifacts/.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default 60)]
set -euo pipefail
secs=${1:-60}
cd "$(dirname "$0")/.."
scripts/install-deps.sh --fuzz
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DIMUNPACK_FUZZ=ON -DIMUNPACK_SANITIZE=address,undefined -DBUILD_TESTING=OFF \
  -DIMUNPACK_PYTHON=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_request fuzz_int_gemm
mkdir -p build-fuzz/artifacts
for target in request int_gemm; do
  corpus=$(mktemp -d)
  cp fuzz/corpus/"$target"/* "$corpus"/
  echo "fuzz_$target: ${secs} s"
  status=0
  ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    OMP_NUM_THREADS=1 build-fuzz/bin/fuzz_"$target" "$corpus" -max_total_time="$secs" \
    -rss_limit_mb=4096 -timeout=30 -print_final_stats=1 \
    -artifact_prefix=build-fuzz/artifacts/"$target"- >build-fuzz/fuzz_"$target".log 2>&1 || status=$?
  grep -E "stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY:|Test unit written" \
    build-fuzz/fuzz_"$target".log || true
  rm -rf "$corpus"
  [ "$status" -eq 0 ] || { tail -40 build-fuzz/fuzz_"$target".log; echo "fuzz_$target FAILED"; exit 1; }
done
echo "fuzzing passed"
