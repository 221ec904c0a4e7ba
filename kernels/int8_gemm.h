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

// The products of an unpacked GEMM. Groups g >= 1 at most fused_max_k wide
// are not run through oneDNN: a GEMM with a handful of inner columns costs a
// full m' x n' int32 output write and read for almost no arithmetic, so the
// reassembly pass computes their rank-k_g update row by row instead.
struct Products {
  std::vector<PartialProduct> parts;
  std::vector<int> fused_groups;  // indices into UnpackedGemm::groups
};

// Default widest group folded into the reassembly.
constexpr int64_t kDefaultFusedMaxK = 32;

// Runs every GEMM of `u`. max_k_per_call 0 means MaxInnerPerCall(bits);
// fused_max_k < 0 means kDefaultFusedMaxK, 0 fuses nothing.
Status RunInt8Gemms(const UnpackedGemm& u, int64_t max_k_per_call,
                    int64_t fused_max_k, Products* out);

}  // namespace imunpack

#endif  // IMUNPACK_KERNELS_INT8_GEMM_H_
