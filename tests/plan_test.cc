#include "kernels/plan.h"

#include <gtest/gtest.h>

#include <random>

#include "kernels/quantize.h"
#include "kernels/reference.h"
#include "tests/test_util.h"

namespace imunpack {
namespace {

using testing::IntDist;
using testing::RandomInt;

Matrix<int64_t> Widen(const Matrix<int32_t>& x) {
  Matrix<int64_t> w(x.rows(), x.cols());
  for (int64_t i = 0; i < x.size(); ++i) w.data()[i] = x.data()[i];
  return w;
}

std::vector<HeavyCoord> CoordsOf(const Matrix<int32_t>& x, Operand which, int bits) {
  SplitOperand s;
  SplitInt(x, bits, &s);
  return ToCoords(s, which, bits);
}

constexpr IntDist kDists[] = {IntDist::kGaussian, IntDist::kStudentT,
                              IntDist::kOutlierColumns, IntDist::kOutlierRows,
                              IntDist::kAllNegative, IntDist::kEdges,
                              IntDist::kNearInt32, IntDist::kSmall};

TEST(PlanTest, RowAndColumnNeverExceedThePaperLoop) {
  std::mt19937_64 rng(1);
  for (int bits = 2; bits <= 8; ++bits) {
    for (IntDist d : kDists) {
      Matrix<int32_t> x = RandomInt(d, 17, 23, bits, rng);
      std::vector<HeavyCoord> h = CoordsOf(x, Operand::kA, bits);
      OperandPlan row = PlanOperand(h, 17, 23, Strategy::kRow);
      OperandPlan col = PlanOperand(h, 17, 23, Strategy::kColumn);
      int64_t ours_rows = 17 + row.total_outer_extra;
      int64_t ours_cols = 23;
      for (int32_t c : col.inner_extra) ours_cols += c;
      reference::PaperUnpacked pr = reference::PaperUnpackRows(Widen(x), bits);
      reference::PaperUnpacked pc = reference::PaperUnpackColumns(Widen(x), bits);
      EXPECT_LE(ours_rows, pr.values.rows()) << bits << " " << IntDistName(d);
      EXPECT_LE(ours_cols, pc.values.cols()) << bits << " " << IntDistName(d);
      // With no negative entries the two digit systems coincide.
      Matrix<int32_t> pos(x.rows(), x.cols());
      for (int64_t i = 0; i < x.size(); ++i)
        pos.data()[i] = x.data()[i] == INT32_MIN ? INT32_MAX : std::abs(x.data()[i]);
      std::vector<HeavyCoord> hp = CoordsOf(pos, Operand::kA, bits);
      EXPECT_EQ(17 + PlanOperand(hp, 17, 23, Strategy::kRow).total_outer_extra,
                reference::PaperUnpackRows(Widen(pos), bits).values.rows());
      int64_t pcols = 23;
      for (int32_t c : PlanOperand(hp, 17, 23, Strategy::kColumn).inner_extra) pcols += c;
      EXPECT_EQ(pcols, reference::PaperUnpackColumns(Widen(pos), bits).values.cols());
    }
  }
}

TEST(PlanTest, SignMagnitudeNeedsFewerDigitsForSomeNegatives) {
  // b = 4, s = 8: -57 = -(7·8 + 1) is two digits; floor/mod needs three.
  Matrix<int32_t> x(1, 1);
  x(0, 0) = -57;
  EXPECT_EQ(1 + PlanOperand(CoordsOf(x, Operand::kA, 4), 1, 1, Strategy::kRow).total_outer_extra, 2);
  EXPECT_EQ(reference::PaperUnpackRows(Widen(x), 4).values.rows(), 3);
}

TEST(PlanTest, IncrementalGreedyBothMatchesRescanningReference) {
  std::mt19937_64 rng(2);
  for (int bits : {2, 3, 5, 8}) {
    for (IntDist d : kDists) {
      for (auto [r, c] : {std::pair{1, 1}, {1, 9}, {9, 1}, {13, 11}, {31, 29}}) {
        Matrix<int32_t> x = RandomInt(d, r, c, bits, rng);
        OperandPlan p = PlanOperand(CoordsOf(x, Operand::kA, bits), r, c, Strategy::kBoth);
        reference::BothCounts ref = reference::GreedyBoth(Widen(x), bits);
        EXPECT_EQ(p.outer_extra, ref.outer_extra) << bits << IntDistName(d) << r << "x" << c;
        EXPECT_EQ(p.inner_extra, ref.inner_extra) << bits << IntDistName(d) << r << "x" << c;
      }
    }
  }
}

TEST(PlanTest, AutoIsNeverWorseThanAnyUniformStrategy) {
  std::mt19937_64 rng(3);
  for (int bits : {2, 4, 8}) {
    for (IntDist da : kDists) {
      for (IntDist db : {IntDist::kGaussian, IntDist::kOutlierRows, IntDist::kSmall}) {
        Matrix<int32_t> a = RandomInt(da, 19, 37, bits, rng);
        Matrix<int32_t> b = RandomInt(db, 37, 23, bits, rng);
        auto ah = CoordsOf(a, Operand::kA, bits);
        auto bh = CoordsOf(b, Operand::kB, bits);
        auto work = [](const GemmPlan& p) {
          return static_cast<double>(p.m_unpacked) * p.k_unpacked * p.n_unpacked;
        };
        const double best = work(PlanGemm(ah, bh, 19, 37, 23, Strategy::kAuto));
        for (Strategy s : {Strategy::kRow, Strategy::kColumn, Strategy::kBoth}) {
          EXPECT_LE(best, work(PlanGemm(ah, bh, 19, 37, 23, s)))
              << bits << IntDistName(da) << IntDistName(db) << StrategyName(s);
        }
      }
    }
  }
}

TEST(PlanTest, AutoMixesStrategiesPerOperand) {
  // A has one outlier column (split k), B one outlier column (split n):
  // the mixed plan beats every uniform one.
  Matrix<int32_t> a = Matrix<int32_t>::Zeros(64, 64);
  Matrix<int32_t> b = Matrix<int32_t>::Zeros(64, 64);
  for (int i = 0; i < 64; ++i) {
    a(i, 5) = 1000;
    b(i, 9) = 1000;
  }
  GemmPlan p = PlanGemm(CoordsOf(a, Operand::kA, 8), CoordsOf(b, Operand::kB, 8),
                        64, 64, 64, Strategy::kAuto);
  EXPECT_EQ(p.a.strategy, Strategy::kColumn);
  EXPECT_EQ(p.b.strategy, Strategy::kRow);
  EXPECT_EQ(p.m_unpacked, 64);
  EXPECT_EQ(p.k_unpacked, 65);
  EXPECT_EQ(p.n_unpacked, 65);
}

}  // namespace
}  // namespace imunpack

namespace imunpack {
namespace {

TEST(PlanTest, FixedBPlanAndAutoOverA) {
  std::mt19937_64 rng(4);
  for (int bits : {3, 8}) {
    for (testing::IntDist db : {testing::IntDist::kGaussian, testing::IntDist::kOutlierRows}) {
      Matrix<int32_t> a = testing::RandomInt(testing::IntDist::kOutlierColumns, 23, 31, bits, rng);
      Matrix<int32_t> b = testing::RandomInt(db, 31, 17, bits, rng);
      auto ah = CoordsOf(a, Operand::kA, bits);
      auto bh = CoordsOf(b, Operand::kB, bits);
      // Alone, AUTO takes the smallest unpacked B.
      OperandPlan alone = PlanOperandAlone(bh, 17, 31, Strategy::kAuto);
      auto size = [](const OperandPlan& p, int64_t outer, int64_t inner) {
        int64_t iu = inner;
        for (int32_t x : p.inner_extra) iu += x;
        return (outer + p.total_outer_extra) * iu;
      };
      for (Strategy s : {Strategy::kRow, Strategy::kColumn, Strategy::kBoth}) {
        EXPECT_LE(size(alone, 17, 31), size(PlanOperand(bh, 17, 31, s), 17, 31));
      }
      // With B fixed, AUTO over A is never worse than any single A strategy.
      auto work = [](const GemmPlan& p) {
        return static_cast<double>(p.m_unpacked) * p.k_unpacked * p.n_unpacked;
      };
      GemmPlan best = PlanGemmWithB(ah, alone, 23, 31, 17, Strategy::kAuto);
      EXPECT_EQ(best.b.outer_extra, alone.outer_extra);
      EXPECT_EQ(best.b.inner_extra, alone.inner_extra);
      for (Strategy s : {Strategy::kRow, Strategy::kColumn, Strategy::kBoth}) {
        EXPECT_LE(work(best), work(PlanGemmWithB(ah, alone, 23, 31, 17, s)));
      }
    }
  }
}

}  // namespace
}  // namespace imunpack
