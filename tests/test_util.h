// Random integer and float operands for the kernel tests, covering the value
// patterns IM-Unpack must survive.
#ifndef IMUNPACK_TESTS_TEST_UTIL_H_
#define IMUNPACK_TESTS_TEST_UTIL_H_

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "kernels/matrix.h"

namespace imunpack::testing {

enum class IntDist {
  kGaussian,        // round(N(0, s)): a fair share of heavy hitters
  kStudentT,        // round(t3 · s/2): rare, very large ones
  kOutlierColumns,  // small values, a few columns 50x larger
  kOutlierRows,     // small values, a few rows 50x larger
  kAllNegative,     // -|gaussian| · 3
  kEdges,           // 0, ±(s-1), ±s, ±(s+1), ±(s²-1), ±s², ±(s²+1)
  kNearInt32,       // ±(2^31-1), -2^31, ±2^30 and zeros
  kSmall,           // already in range: no heavy hitters at all
};

inline const char* IntDistName(IntDist d) {
  switch (d) {
    case IntDist::kGaussian: return "gaussian";
    case IntDist::kStudentT: return "student_t";
    case IntDist::kOutlierColumns: return "outlier_columns";
    case IntDist::kOutlierRows: return "outlier_rows";
    case IntDist::kAllNegative: return "all_negative";
    case IntDist::kEdges: return "edges";
    case IntDist::kNearInt32: return "near_int32";
    case IntDist::kSmall: return "small";
  }
  return "?";
}

inline Matrix<int32_t> RandomInt(IntDist dist, int64_t rows, int64_t cols,
                                 int bits, std::mt19937_64& rng) {
  const double s = std::ldexp(1.0, bits - 1);
  Matrix<int32_t> m(rows, cols);
  std::normal_distribution<double> g(0.0, 1.0);
  std::student_t_distribution<double> t(3.0);
  std::uniform_int_distribution<int> coin(0, 99);
  auto clamp32 = [](double v) {
    v = std::nearbyint(v);
    if (v > 2147483647.0) v = 2147483647.0;
    if (v < -2147483648.0) v = -2147483648.0;
    return static_cast<int32_t>(v);
  };
  // Outlier lines chosen once per matrix.
  std::vector<bool> out_col(cols, false), out_row(rows, false);
  for (int64_t j = 0; j < cols; ++j) out_col[j] = coin(rng) < 4;
  for (int64_t i = 0; i < rows; ++i) out_row[i] = coin(rng) < 4;
  const int64_t s2 = static_cast<int64_t>(s * s);
  const int64_t edges[] = {0, int64_t(s) - 1, int64_t(s), int64_t(s) + 1,
                           s2 - 1, s2, s2 + 1};
  const int64_t limits[] = {0, 2147483647, -2147483647 - 1, 1 << 30, -(1 << 30),
                            2147483646, -2147483647};
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      double v = 0;
      switch (dist) {
        case IntDist::kGaussian: v = g(rng) * s; break;
        case IntDist::kStudentT: v = t(rng) * s / 2; break;
        case IntDist::kOutlierColumns: v = g(rng) * s / 4 * (out_col[j] ? 50 : 1); break;
        case IntDist::kOutlierRows: v = g(rng) * s / 4 * (out_row[i] ? 50 : 1); break;
        case IntDist::kAllNegative: v = -std::fabs(g(rng)) * s * 3; break;
        case IntDist::kEdges: {
          int64_t e = edges[coin(rng) % 7];
          v = static_cast<double>(coin(rng) < 50 ? -e : e);
          break;
        }
        case IntDist::kNearInt32: v = static_cast<double>(limits[coin(rng) % 7]); break;
        case IntDist::kSmall: v = std::fmod(g(rng) * s, s); break;
      }
      m(i, j) = clamp32(v);
    }
  }
  return m;
}

}  // namespace imunpack::testing

#endif  // IMUNPACK_TESTS_TEST_UTIL_H_
