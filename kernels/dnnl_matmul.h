// oneDNN matmul, C = A·B, row-major with leading dimensions, for the three
// data-type combinations this project uses: s8·s8 -> s32 (the unpacked GEMM),
// f32 (verification and the baseline) and bf16·bf16 -> f32 (a baseline).
//
// Primitives are created once per (types, shape, strides) and cached for the
// life of the process; oneDNN exceptions are turned into Status here and
// nowhere else. Thread-safe: concurrent calls may share a primitive, since
// each call brings its own scratchpad. Runs on the calling thread's OpenMP
// thread count.
#ifndef IMUNPACK_KERNELS_DNNL_MATMUL_H_
#define IMUNPACK_KERNELS_DNNL_MATMUL_H_

#include <cstdint>
#include <memory>
#include <string>

#include "kernels/status.h"

namespace imunpack {

enum class MatmulType { kS8S8S32, kF32, kBF16 };

// A: M x K (lda), B: K x N (ldb), C: M x N (ldc), element types per `type`
// (bf16 passed as uint16_t bit patterns).
Status DnnlMatmul(MatmulType type, const void* a, const void* b, void* c,
                  int64_t M, int64_t K, int64_t N, int64_t lda, int64_t ldb,
                  int64_t ldc);

// An int8 B (K x N, row-major) reordered once into the blocked layout that
// oneDNN's s8 matmul picks for it (with the layout's s8 compensation), so
// that every GEMM with this B skips the repacking oneDNN otherwise does per
// call (at 1024x4096x4096 on 2 cores: 39 instead of 47 ms). For registered
// matrices, which are multiplied many times.
class PackedInt8Weights {
 public:
  // nullptr when oneDNN would use B as it is (nothing to gain) or packing
  // fails; callers then use DnnlMatmul on the plain B.
  static std::shared_ptr<const PackedInt8Weights> Pack(const int8_t* b, int64_t K, int64_t N);
  ~PackedInt8Weights();

  int64_t K() const { return k_; }
  int64_t N() const { return n_; }
  const int8_t* source() const { return source_; }  // the plain B packed
  size_t bytes() const;

 private:
  friend Status DnnlMatmulPacked(const int8_t* a, const PackedInt8Weights& b, int32_t* c,
                                 int64_t M, int64_t lda, int64_t ldc);
  struct Impl;
  PackedInt8Weights(const int8_t* source, int64_t k, int64_t n, std::unique_ptr<Impl> impl);
  const int8_t* source_;
  int64_t k_, n_;
  std::unique_ptr<Impl> impl_;
};

// C (M x N, ldc, int32) = A (M x K, lda, int8) · packed B; the same result as
// DnnlMatmul(kS8S8S32, ...) on B's plain form.
Status DnnlMatmulPacked(const int8_t* a, const PackedInt8Weights& b, int32_t* c, int64_t M,
                        int64_t lda, int64_t ldc);

// "2.6.3" and the ISA oneDNN dispatches to, e.g. "avx512_core_vnni".
std::string DnnlVersion();
std::string DnnlIsa();

// Primitives currently cached (for tests and server info).
int64_t DnnlCachedPrimitives();

}  // namespace imunpack

#endif  // IMUNPACK_KERNELS_DNNL_MATMUL_H_
