// Reassemble (the paper's pack): the exact integer product from the partial
// products, then dequantization (DESIGN 1.4).
//
//   C_int[i][j] = sum over products P (inner exponent g), rows r of i
//                 (exponent a), columns c of j (exponent a_B) of
//                 s^(g + a + a_B) · P[r][c]
//   C[i][j]     = float( double(C_int[i][j]) · (inv_a[i] · inv_b[j]) ),
//                 inv_a = 1 / double(sigma_a), inv_b = 1 / double(sigma_b).
//
// Fused groups (int8_gemm.h) contribute their P rows computed here, from the
// int8 pieces, in int32 (exact: k_g·(s-1)^2 < 2^31).
//
// The sum runs in unsigned arithmetic modulo 2^w (shifts, since s is a power
// of two): partial sums may wrap, but the result is exact whenever the true
// C_int fits in a signed w-bit integer. w is chosen from the bound
// |C_int| <= max|A|·max|B|·k: 32 bits when it is below 2^31 (the common case,
// half the memory traffic of 64), 64 below 2^63, else 128; IntGemm then
// reports any element that does not fit int64 as OUT_OF_RANGE instead of
// returning it wrong.
#ifndef IMUNPACK_KERNELS_REASSEMBLE_H_
#define IMUNPACK_KERNELS_REASSEMBLE_H_

#include <cstdint>
#include <vector>

#include "kernels/int8_gemm.h"
#include "kernels/matrix.h"
#include "kernels/status.h"
#include "kernels/unpack.h"

namespace imunpack {

enum class AccumulatorWidth { k32 = 32, k64 = 64, k128 = 128 };

// The narrowest accumulator that max|A|·max|B|·k provably fits.
AccumulatorWidth ChooseAccumulator(uint32_t max_abs_a, uint32_t max_abs_b,
                                   int64_t k);

// Exact int64 product.
StatusOr<Matrix<int64_t>> ReassembleInt(const UnpackedGemm& u,
                                         const Products& products,
                                         AccumulatorWidth width);

// Dequantized product. inv_a holds 1 or m values, inv_b 1 or n values.
Matrix<float> ReassembleFloat(const UnpackedGemm& u, const Products& products,
                              AccumulatorWidth width,
                              const std::vector<double>& inv_a,
                              const std::vector<double>& inv_b);

}  // namespace imunpack

#endif  // IMUNPACK_KERNELS_REASSEMBLE_H_
