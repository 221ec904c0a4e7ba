// Function multiversioning for the streaming loops outside the GEMM.
//
// The library is built for baseline x86-64 so one binary runs anywhere, but
// the passes that must run near memory bandwidth (quantize, select,
// reassemble) need AVX-512/AVX2: round-to-integer and int64 -> double have no
// SSE2 vector form. Leaf loops marked IMUNPACK_MULTIVERSION are compiled for
// x86-64-v4, x86-64-v3 and baseline, and the loader picks the best (GCC
// target_clones, resolved once through an ifunc). Keep such functions leaf
// functions: OpenMP outlines parallel regions into new functions, which do
// not inherit the attribute, so parallel regions call into them.
#ifndef IMUNPACK_KERNELS_TARGET_H_
#define IMUNPACK_KERNELS_TARGET_H_

#include <cmath>

// Not under ThreadSanitizer: the ifunc resolver would run, instrumented,
// before the sanitizer's runtime is up (a crash at load time).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_THREAD__)
#define IMUNPACK_MULTIVERSION \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define IMUNPACK_MULTIVERSION
#endif

namespace imunpack {

// Round half to even with plain float arithmetic (vectorizes on any SIMD
// level, independent of the rounding-mode instructions): for |v| < 2^23,
// |v| + 2^23 has no fraction bits left, so the addition itself rounds |v| in
// the default round-to-nearest-even mode; larger floats are integers already.
// Requires IEEE semantics (no -ffast-math), which this project keeps.
inline float RoundHalfEven(float v) {
  constexpr float kTwo23 = 8388608.0f;
  const float av = std::fabs(v);
  const float r = av < kTwo23 ? (av + kTwo23) - kTwo23 : av;
  return std::copysign(r, v);
}

}  // namespace imunpack

#endif  // IMUNPACK_KERNELS_TARGET_H_
