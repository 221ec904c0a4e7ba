// The scaled int8 GEMMs of an unpacked problem: one oneDNN s8·s8 -> s32
// matmul per (group, row block, column block), the inner dimension split so
// int32 accumulation can never overflow.
#ifndef IMUNPACK_KERNELS_INT8_GEMM_H_
#define IMUNPACK_KERNELS_INT8_GEMM_H_

#include <cstdint>
#include <vector>

#include "kernels/matrix.h"
#include "kernels/status.h"
#include "kernels/unpack.h"

namespace imunpack {

// Which lines of an operand a partial product covers: the m (n) base lines,
// the extra ones, or all m' (n') of a group buffer (base first).
enum class LineSet { kBase, kExtra, kAll };

struct PartialProduct {
  int exponent = 0;  // inner group exponent g
  LineSet rows = LineSet::kBase;
  LineSet cols = LineSet::kBase;
  int64_t rows_n = 0, cols_n = 0;
  Buffer<int32_t> p;  // rows_n x cols_n
};

// Largest inner width per call with |sum| <= k·(s-1)^2 < 2^31.
int64_t MaxInnerPerCall(int bits);

// Runs every GEMM of `u`. max_k_per_call 0 means MaxInnerPerCall(bits).
Status RunInt8Gemms(const UnpackedGemm& u, int64_t max_k_per_call,
                    std::vector<PartialProduct>* out);

}  // namespace imunpack

#endif  // IMUNPACK_KERNELS_INT8_GEMM_H_
