// Plain reference implementations, beside the fast paths they check. Written
// for obviousness, not speed: full sorts, whole-matrix rescans, int128 sums.
#ifndef IMUNPACK_KERNELS_REFERENCE_H_
#define IMUNPACK_KERNELS_REFERENCE_H_

#include <cstdint>
#include <vector>

#include "kernels/config.h"
#include "kernels/matrix.h"
#include "kernels/quantize.h"

namespace imunpack::reference {

// C = A·B in 128-bit accumulation, cast to int64 (callers keep it in range).
Matrix<int64_t> IntGemm(MatrixView<int32_t> a, MatrixView<int32_t> b);

// alpha by a full descending sort, then the DESIGN 1.1 formula element by
// element (same float product and round-half-even as the fast path).
Quantized Quantize(MatrixView<float> x, const QuantConfig& q, int bits,
                   Operand which);

// C[i][j] = float(double(c[i][j]) · (1/double(sa_i) · 1/double(sb_j))).
// sigma_a holds 1 or rows values, sigma_b 1 or cols values.
Matrix<float> Dequantize(const Matrix<int64_t>& c,
                         const std::vector<float>& sigma_a,
                         const std::vector<float>& sigma_b);

// The paper's reference UnpackRow: while some row holds an entry outside
// [-(s-1), s-1], replace each such row by x mod s (floor) and append a row
// of floor(x / s) tagged with its origin and exponent + 1. Rescans the whole
// matrix every round.
struct PaperUnpacked {
  Matrix<int64_t> values;
  std::vector<int64_t> origin;  // original row (or column) of each line
  std::vector<int> exponent;    // scale s^exponent
};
PaperUnpacked PaperUnpackRows(const Matrix<int64_t>& x, int bits);
// Same on columns (UnpackColumn of A's columns).
PaperUnpacked PaperUnpackColumns(const Matrix<int64_t>& x, int bits);

// UnpackBoth by literal rescans of the piece matrix (sign-magnitude split),
// same tie rule as the fast planner (most out-of-range entries; outer before
// inner; lower original index). Returns extra outer and inner line counts.
struct BothCounts {
  std::vector<int32_t> outer_extra, inner_extra;
};
BothCounts GreedyBoth(const Matrix<int64_t>& x, int bits);

}  // namespace imunpack::reference

#endif  // IMUNPACK_KERNELS_REFERENCE_H_
