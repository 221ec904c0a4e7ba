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
#include <string>

#include "kernels/status.h"

namespace imunpack {

enum class MatmulType { kS8S8S32, kF32, kBF16 };

// A: M x K (lda), B: K x N (ldb), C: M x N (ldc), element types per `type`
// (bf16 passed as uint16_t bit patterns).
Status DnnlMatmul(MatmulType type, const void* a, const void* b, void* c,
                  int64_t M, int64_t K, int64_t N, int64_t lda, int64_t ldb,
                  int64_t ldc);

// "2.6.3" and the ISA oneDNN dispatches to, e.g. "avx512_core_vnni".
std::string DnnlVersion();
std::string DnnlIsa();

// Primitives currently cached (for tests and server info).
int64_t DnnlCachedPrimitives();

}  // namespace imunpack

#endif  // IMUNPACK_KERNELS_DNNL_MATMUL_H_
