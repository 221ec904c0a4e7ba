// Unpack planning: how many extra lines each operand needs, decided from the
// heavy-hitter list alone, before anything is copied.
//
// Each operand is viewed as an outer x inner matrix (A: m x k; B as B^T:
// n x k). A plan gives every outer line o a number of extra lines R_o and
// every inner line t a number of extra lines C_t. An entry with D digits is
// representable iff D - 1 <= R_o + C_t: its digit e goes to outer sub-line
// a = min(e, R_o) and inner sub-line e - a (unpack.h). Then
//   m' = m + sum R^A,   n' = n + sum R^B,   k' = sum_t (1 + C^A_t)(1 + C^B_t).
#ifndef IMUNPACK_KERNELS_PLAN_H_
#define IMUNPACK_KERNELS_PLAN_H_

#include <cstdint>
#include <vector>

#include "kernels/config.h"
#include "kernels/quantize.h"

namespace imunpack {

// A heavy hitter in outer/inner coordinates.
struct HeavyCoord {
  int32_t outer;
  int32_t inner;
  uint32_t mag;
  bool negative;
  int8_t digits;  // >= 2
};

// Converts a split operand's heavy list to outer/inner coordinates
// (B is stored k x n, so its outer index is the column).
std::vector<HeavyCoord> ToCoords(const SplitOperand& op, Operand which, int bits);

struct OperandPlan {
  Strategy strategy = Strategy::kRow;  // kRow, kColumn or kBoth, never kAuto
  std::vector<int32_t> outer_extra;    // R_o, size = outer dim
  std::vector<int32_t> inner_extra;    // C_t, size = inner dim
  int64_t total_outer_extra = 0;       // sum R_o
};

// ROW: R_o = max(D) - 1 over the line; COLUMN: C_t likewise; BOTH: greedy.
OperandPlan PlanOperand(const std::vector<HeavyCoord>& heavy, int64_t outer,
                        int64_t inner, Strategy strategy);

struct GemmPlan {
  OperandPlan a, b;
  int64_t m = 0, k = 0, n = 0;
  int64_t m_unpacked = 0, k_unpacked = 0, n_unpacked = 0;
  double unpack_ratio() const {
    return static_cast<double>(m_unpacked) * k_unpacked * n_unpacked /
           (static_cast<double>(m) * k * n);
  }
};

// Combines two operand plans and counts m', k', n'.
GemmPlan CombinePlans(OperandPlan a, OperandPlan b, int64_t m, int64_t k,
                      int64_t n);

// Plans both operands. kAuto evaluates ROW, COLUMN and BOTH for each operand
// and all nine combinations, keeping the smallest m'·k'·n' (ties: the first
// of row, column, both for A, then for B).
GemmPlan PlanGemm(const std::vector<HeavyCoord>& a_heavy,
                  const std::vector<HeavyCoord>& b_heavy, int64_t m, int64_t k,
                  int64_t n, Strategy strategy);

// B's plan alone, fixed before any A is known (registered weights). kAuto
// takes the smallest unpacked B, (n + sum R)·(k + sum C).
OperandPlan PlanOperandAlone(const std::vector<HeavyCoord>& heavy, int64_t outer,
                             int64_t inner, Strategy strategy);

// Plans A against a fixed B plan; kAuto searches A's three strategies.
GemmPlan PlanGemmWithB(const std::vector<HeavyCoord>& a_heavy, const OperandPlan& b_plan,
                       int64_t m, int64_t k, int64_t n, Strategy a_strategy);

}  // namespace imunpack

#endif  // IMUNPACK_KERNELS_PLAN_H_
