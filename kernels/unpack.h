// Unpack: write the int8 pieces of both operands for a GemmPlan.
//
// With the plan fixed, entry x of A at (i, t) with digits d_0..d_{D-1} puts
// digit e at A' row (i, a) and inner sub-index b' where a = min(e, R_i) and
// b' = e - a. B likewise (outer j, inner sub-index c). The inner index of the
// unpacked GEMM is (t, b', c), scale s^(b'+c), so
//   A·B = sum over (i,a), (j,a_B), (t,b',c) of
//         s^(a + a_B + b' + c) · A'[(i,a)][(t,b',c)] · B'[(t,b',c)][(j,a_B)].
// Inner indices with the same exponent g = b' + c form one int8 GEMM group.
//
// Layout. Group 0 is (t, 0, 0) for every t, in order, so its base rows of A'
// and base columns of B' are exactly digit 0 of A and B, which the quantize
// pass already wrote (SplitOperand::base) and which are used in place. Extra
// outer lines (a >= 1) get their own buffers. Groups g >= 1 hold only the
// split inner lines; each is one m' x k_g and one k_g x n' buffer whose first
// m rows / n columns are the base lines and the rest the extra ones.
#ifndef IMUNPACK_KERNELS_UNPACK_H_
#define IMUNPACK_KERNELS_UNPACK_H_

#include <cstdint>
#include <vector>

#include "kernels/dnnl_matmul.h"
#include "kernels/matrix.h"
#include "kernels/plan.h"
#include "kernels/quantize.h"

namespace imunpack {

// Extra outer lines of one operand, ordered by original line then exponent:
// the extra lines of outer o are [begin[o], begin[o+1]), exponents 1, 2, ...
struct ExtraLines {
  std::vector<int64_t> begin;   // size outer + 1
  std::vector<int32_t> origin;  // per extra line: its original outer index
  std::vector<int8_t> exponent; // per extra line: a >= 1
  int64_t count() const { return static_cast<int64_t>(origin.size()); }
};

struct InnerGroup {
  int exponent = 0;      // g = b' + c >= 1
  int64_t k = 0;         // inner width k_g
  Buffer<int8_t> a;      // m' x k_g, row-major
  Buffer<int8_t> b;      // k_g x n', row-major
};

struct UnpackedGemm {
  int bits = 8;
  int64_t m = 0, k = 0, n = 0;
  // Group 0.
  const int8_t* a_base = nullptr;  // m x k (SplitOperand A's base)
  const int8_t* b_base = nullptr;  // k x n (SplitOperand B's base)
  // b_base packed for oneDNN (a registered B), or nullptr.
  const PackedInt8Weights* b_packed = nullptr;
  Buffer<int8_t> a_extra;          // rows_extra x k
  Buffer<int8_t> b_extra;          // k x cols_extra
  ExtraLines rows;                 // A's extra rows
  ExtraLines cols;                 // B's extra columns
  // Groups g >= 1, ascending exponent.
  std::vector<InnerGroup> groups;
};

// Writes the pieces. `a` and `b` must outlive the result (their base buffers
// are used in place); a_heavy/b_heavy are their ToCoords.
void Unpack(const SplitOperand& a, const std::vector<HeavyCoord>& a_heavy,
            const SplitOperand& b, const std::vector<HeavyCoord>& b_heavy,
            const GemmPlan& plan, int bits, UnpackedGemm* out);

}  // namespace imunpack

#endif  // IMUNPACK_KERNELS_UNPACK_H_
