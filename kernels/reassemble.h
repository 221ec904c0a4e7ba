// Reassemble (the paper's pack): the exact integer product from the partial
// products, then dequantization (DESIGN 1.4).
//
//   C_int[i][j] = sum over partials P (exponent g), rows r of i (exponent a),
//                 columns c of j (exponent a_B) of s^(g + a + a_B) · P[r][c]
//   C[i][j]     = float( double(C_int[i][j]) · (inv_a[i] · inv_b[j]) ),
//                 inv_a = 1 / double(sigma_a), inv_b = 1 / double(sigma_b).
//
// The sum runs in uint64 arithmetic modulo 2^64 (shifts, since s is a power
// of two): partial sums may wrap but the result is exact whenever the true
// C_int fits in int64, which max|A|·max|B|·k < 2^63 guarantees. Otherwise the
// wide path sums in 128 bits; IntGemm then reports any element that does not
// fit int64 as OUT_OF_RANGE instead of returning it wrong.
#ifndef IMUNPACK_KERNELS_REASSEMBLE_H_
#define IMUNPACK_KERNELS_REASSEMBLE_H_

#include <cstdint>
#include <vector>

#include "kernels/int8_gemm.h"
#include "kernels/matrix.h"
#include "kernels/status.h"
#include "kernels/unpack.h"

namespace imunpack {

// True when max|A|·max|B|·k might not fit int64.
bool NeedsWideAccumulator(uint32_t max_abs_a, uint32_t max_abs_b, int64_t k);

// Exact int64 product.
StatusOr<Matrix<int64_t>> ReassembleInt(const UnpackedGemm& u,
                                         const std::vector<PartialProduct>& parts,
                                         bool wide);

// Dequantized product. inv_a holds 1 or m values, inv_b 1 or n values.
Matrix<float> ReassembleFloat(const UnpackedGemm& u,
                              const std::vector<PartialProduct>& parts,
                              bool wide, const std::vector<double>& inv_a,
                              const std::vector<double>& inv_b);

}  // namespace imunpack

#endif  // IMUNPACK_KERNELS_REASSEMBLE_H_
