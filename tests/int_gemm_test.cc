// Bit-exactness of IntGemm against the plain int64 GEMM, and the invariants
// of the unpacked pieces, over shapes, bit widths, strategies and values.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <tuple>

#include "kernels/int8_gemm.h"
#include "kernels/pipeline.h"
#include "kernels/plan.h"
#include "kernels/quantize.h"
#include "kernels/reference.h"
#include "kernels/unpack.h"
#include "tests/test_util.h"

namespace imunpack {
namespace {

using testing::IntDist;
using testing::IntDistName;
using testing::RandomInt;

struct Shape {
  int64_t m, k, n;
};

// Awkward sizes: 1, around powers of two, primes; a few hundred at most.
constexpr Shape kShapes[] = {{1, 1, 1},   {1, 7, 1},    {2, 2, 3},    {3, 1, 5},     {2, 3, 2},
                             {63, 65, 17}, {65, 63, 64}, {127, 129, 31}, {129, 127, 3},
                             {31, 257, 29}, {97, 61, 113}, {200, 300, 150}};

constexpr IntDist kDists[] = {IntDist::kGaussian, IntDist::kStudentT,
                              IntDist::kOutlierColumns, IntDist::kOutlierRows,
                              IntDist::kAllNegative, IntDist::kEdges,
                              IntDist::kNearInt32, IntDist::kSmall};

// Whether every element of the exact product fits in int64.
bool ProductFitsInt64(const Matrix<int32_t>& a, const Matrix<int32_t>& b) {
  for (int64_t i = 0; i < a.rows(); ++i) {
    for (int64_t j = 0; j < b.cols(); ++j) {
      __int128 s = 0;
      for (int64_t t = 0; t < a.cols(); ++t) s += static_cast<__int128>(a(i, t)) * b(t, j);
      if (s > INT64_MAX || s < INT64_MIN) return false;
    }
  }
  return true;
}

// Every piece of every int8 buffer lies in [-(s-1), s-1].
void ExpectPiecesInRange(const UnpackedGemm& u, int bits) {
  const int lim = (1 << (bits - 1)) - 1;
  auto check = [&](const int8_t* p, int64_t n, const char* what) {
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_LE(p[i], lim) << what << "[" << i << "]";
      ASSERT_GE(p[i], -lim) << what << "[" << i << "]";
    }
  };
  check(u.a_base, u.m * u.k, "a_base");
  check(u.b_base, u.k * u.n, "b_base");
  check(u.a_extra.data(), static_cast<int64_t>(u.a_extra.size()), "a_extra");
  check(u.b_extra.data(), static_cast<int64_t>(u.b_extra.size()), "b_extra");
  for (const InnerGroup& g : u.groups) {
    check(g.a.data(), static_cast<int64_t>(g.a.size()), "group.a");
    check(g.b.data(), static_cast<int64_t>(g.b.size()), "group.b");
  }
}

class IntGemmExactTest : public ::testing::TestWithParam<std::tuple<int, Strategy>> {};

TEST_P(IntGemmExactTest, MatchesNaiveInt64Gemm) {
  const auto [bits, strategy] = GetParam();
  std::mt19937_64 rng(bits * 131 + static_cast<int>(strategy));
  int case_no = 0;
  std::set<int> widths;
  for (size_t si = 0; si < std::size(kShapes); ++si) {
    const Shape& sh = kShapes[si];
    for (size_t di = 0; di < std::size(kDists); ++di) {
      // B pairs with a different distribution per shape. Near-int32 times
      // near-int32 only where k <= 3 (beyond, int64 overflows nearly always),
      // and always there: it is what drives the 128-bit reassembly.
      const IntDist da = kDists[di];
      IntDist db = kDists[(di + si) % std::size(kDists)];
      if (da == IntDist::kNearInt32 && sh.k <= 3) db = IntDist::kNearInt32;
      if (da == IntDist::kNearInt32 && db == IntDist::kNearInt32 && sh.k > 3) db = IntDist::kEdges;
      ++case_no;
      Matrix<int32_t> a = RandomInt(da, sh.m, sh.k, bits, rng);
      Matrix<int32_t> b = RandomInt(db, sh.k, sh.n, bits, rng);
      GemmConfig cfg;
      cfg.bits = bits;
      cfg.strategy = strategy;
      // Small inner chunks now and then, to exercise the k split, and every
      // group either through oneDNN (0), by default, or fused (huge).
      cfg.max_k_per_call = case_no % 5 == 0 ? 7 : 0;
      cfg.fused_max_k = case_no % 3 == 0 ? 0 : (case_no % 3 == 1 ? -1 : (1 << 20));
      Overhead ov;
      StatusOr<Matrix<int64_t>> c = IntGemm(a, b, cfg, &ov);
      const std::string where = std::to_string(sh.m) + "x" + std::to_string(sh.k) + "x" +
                                std::to_string(sh.n) + " A:" + IntDistName(da) +
                                " B:" + IntDistName(db);
      widths.insert(ov.accumulator_bits);
      if (!ProductFitsInt64(a, b)) {
        // Only near-int32 products with tiny k get here (3·2^62 > 2^63).
        ASSERT_FALSE(c.ok()) << where;
        EXPECT_EQ(c.status().code(), StatusCode::kOutOfRange);
        EXPECT_EQ(ov.accumulator_bits, 128);
        continue;
      }
      ASSERT_TRUE(c.ok()) << where << ": " << c.status().ToString();
      Matrix<int64_t> want = reference::IntGemm(a, b);
      for (int64_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(c->data()[i], want.data()[i]) << where << " at " << i;
      }
      EXPECT_GE(ov.unpack_ratio, 1.0);
      EXPECT_EQ(ov.m, sh.m);
      if (strategy != Strategy::kAuto) {
        EXPECT_EQ(ov.strategy_a, strategy);
        EXPECT_EQ(ov.strategy_b, strategy);
      }
    }
  }
  // The value mix reaches every reassembly width.
  EXPECT_EQ(widths, (std::set<int>{32, 64, 128}));
}

TEST_P(IntGemmExactTest, UnpackedPiecesFitInBits) {
  const auto [bits, strategy] = GetParam();
  std::mt19937_64 rng(bits * 7 + static_cast<int>(strategy));
  for (IntDist d : kDists) {
    Matrix<int32_t> a = RandomInt(d, 37, 41, bits, rng);
    Matrix<int32_t> b = RandomInt(d, 41, 29, bits, rng);
    SplitOperand sa, sb;
    SplitInt(a, bits, &sa);
    SplitInt(b, bits, &sb);
    auto ah = ToCoords(sa, Operand::kA, bits);
    auto bh = ToCoords(sb, Operand::kB, bits);
    GemmPlan plan = PlanGemm(ah, bh, 37, 41, 29, strategy);
    UnpackedGemm u;
    Unpack(sa, ah, sb, bh, plan, bits, &u);
    ExpectPiecesInRange(u, bits);
    // m', n' and k' are what the buffers hold.
    EXPECT_EQ(plan.m_unpacked, 37 + u.rows.count());
    EXPECT_EQ(plan.n_unpacked, 29 + u.cols.count());
    int64_t k = 41;
    for (const InnerGroup& g : u.groups) k += g.k;
    EXPECT_EQ(plan.k_unpacked, k) << IntDistName(d);
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllBitsAllStrategies, IntGemmExactTest,
    ::testing::Combine(::testing::Range(2, 9),
                       ::testing::Values(Strategy::kAuto, Strategy::kRow,
                                         Strategy::kColumn, Strategy::kBoth)),
    [](const auto& info) {
      // Appends, not operator+: GCC 12 warns falsely (-Wrestrict) on
      // "literal" + std::string at -O3.
      std::string name = "b";
      name += std::to_string(std::get<0>(info.param));
      name += "_";
      name += StrategyName(std::get<1>(info.param));
      return name;
    });

TEST(IntGemmTest, Int64LimitsUseTheWideAccumulator) {
  // k = 2 with INT32_MIN · INT32_MIN twice is exactly 2^63: one past int64.
  Matrix<int32_t> a(1, 2), b(2, 1);
  a(0, 0) = a(0, 1) = INT32_MIN;
  b(0, 0) = b(1, 0) = INT32_MIN;
  GemmConfig cfg;
  Overhead ov;
  StatusOr<Matrix<int64_t>> c = IntGemm(a, b, cfg, &ov);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(c.status().message().find("c[0][0]"), std::string::npos);
  // Cancelling signs: the bound says wide, the result fits and is exact.
  b(1, 0) = INT32_MAX;
  for (int bits : {2, 8}) {
    cfg.bits = bits;
    c = IntGemm(a, b, cfg, &ov);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(ov.accumulator_bits, 128);
    EXPECT_EQ((*c)(0, 0), reference::IntGemm(a, b)(0, 0));
  }
}

TEST(IntGemmTest, InnerSplitAtTheInt32AccumulatorBound) {
  // 2100 products of ±127·127 reach 3.4e7 > 2^24: catches any float
  // round-trip inside the s32 GEMM, and the forced split of k.
  const int64_t k = 2100;
  Matrix<int32_t> a(3, k), b(k, 2);
  for (int64_t t = 0; t < k; ++t) {
    a(0, t) = 127;
    a(1, t) = -127;
    a(2, t) = t % 3 == 0 ? -127 : 127;
    b(t, 0) = 127;
    b(t, 1) = t % 2 ? 127 : -126;
  }
  for (int64_t chunk : {0, 1000, 2099}) {
    GemmConfig cfg;
    cfg.max_k_per_call = chunk;
    Overhead ov;
    StatusOr<Matrix<int64_t>> c = IntGemm(a, b, cfg, &ov);
    ASSERT_TRUE(c.ok());
    Matrix<int64_t> want = reference::IntGemm(a, b);
    for (int64_t i = 0; i < want.size(); ++i) EXPECT_EQ(c->data()[i], want.data()[i]);
    EXPECT_EQ(ov.gemm_calls, chunk == 0 ? 1 : (k + chunk - 1) / chunk);
  }
  EXPECT_EQ(MaxInnerPerCall(8), 133144);
}

TEST(IntGemmTest, ShapeAndConfigErrors) {
  Matrix<int32_t> a = Matrix<int32_t>::Zeros(2, 3), b = Matrix<int32_t>::Zeros(4, 5);
  GemmConfig cfg;
  StatusOr<Matrix<int64_t>> c = IntGemm(a, b, cfg);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("a is 2x3, b is 4x5"), std::string::npos);
  Matrix<int32_t> empty;
  c = IntGemm(empty, b, cfg);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("a.rows = 0"), std::string::npos);
  Matrix<int32_t> b3 = Matrix<int32_t>::Zeros(3, 5);
  for (int bits : {0, 1, 9, 32}) {
    cfg.bits = bits;
    c = IntGemm(a, b3, cfg);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.status().message().find("bits = " + std::to_string(bits)), std::string::npos);
  }
  cfg.bits = 8;
  cfg.strategy = static_cast<Strategy>(9);
  c = IntGemm(a, b3, cfg);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("strategy = 9"), std::string::npos);
}

}  // namespace
}  // namespace imunpack
