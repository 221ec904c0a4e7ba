#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "common/workload.h"
#include "kernels/pipeline.h"
#include "kernels/quantize.h"
#include "kernels/reference.h"

namespace imunpack {
namespace {

// FloatGemm == Dequantize(exact int64 product of the quantized operands),
// bit for bit, with the integer product from the plain reference GEMM.
void ExpectEqualsQuantizedProduct(const Matrix<float>& a, const Matrix<float>& b,
                                  const GemmConfig& cfg, const std::string& where) {
  Overhead ov;
  StatusOr<Matrix<float>> c = FloatGemm(a, b, cfg, &ov);
  ASSERT_TRUE(c.ok()) << where << ": " << c.status().ToString();
  Quantized qa = reference::Quantize(a, cfg.a, cfg.bits, Operand::kA);
  Quantized qb = reference::Quantize(b, cfg.b, cfg.bits, Operand::kB);
  Matrix<float> want = reference::Dequantize(reference::IntGemm(qa.values, qb.values),
                                             qa.scales.sigma, qb.scales.sigma);
  for (int64_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(c->data()[i], want.data()[i]) << where << " at " << i;
  }
  // Also through the public IntGemm on the kernels' own Quantize.
  StatusOr<Quantized> fa = Quantize(a, cfg.a, cfg.bits, Operand::kA);
  StatusOr<Quantized> fb = Quantize(b, cfg.b, cfg.bits, Operand::kB);
  ASSERT_TRUE(fa.ok() && fb.ok());
  StatusOr<Matrix<int64_t>> ci = IntGemm(fa->values, fb->values, cfg);
  ASSERT_TRUE(ci.ok());
  Matrix<float> via_int = reference::Dequantize(*ci, fa->scales.sigma, fb->scales.sigma);
  for (int64_t i = 0; i < want.size(); ++i) ASSERT_EQ(via_int.data()[i], want.data()[i]);
  EXPECT_EQ(ov.heavy_a + ov.heavy_b > 0, ov.unpack_ratio > 1.0 || ov.heavy_a + ov.heavy_b == 0);
}

TEST(FloatGemmTest, EqualsDequantizedExactIntegerProduct) {
  int seed = 0;
  for (auto [m, k, n] : {std::tuple{1, 1, 1}, {5, 3, 7}, {63, 129, 65}, {130, 200, 61}}) {
    for (Distribution d : {Distribution::kGaussian, Distribution::kStudentT,
                           Distribution::kOutlierChannels}) {
      Matrix<float> a = Generate(d, m, k, ++seed, Operand::kA);
      Matrix<float> b = Generate(d, k, n, ++seed, Operand::kB);
      for (int bits : {2, 4, 8}) {
        for (Granularity g : {Granularity::kTensor, Granularity::kChannel}) {
          for (Strategy s : {Strategy::kAuto, Strategy::kRow, Strategy::kColumn,
                             Strategy::kBoth}) {
            GemmConfig cfg;
            cfg.bits = bits;
            cfg.strategy = s;
            cfg.a = {0.99, 0, g};
            cfg.b = {1.0, bits == 2 ? 15 : 0, g};  // finer than the hardware width
            ExpectEqualsQuantizedProduct(
                a, b, cfg,
                std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n) +
                    " " + DistributionName(d) + " b" + std::to_string(bits) + " " +
                    GranularityName(g) + " " + StrategyName(s));
          }
        }
      }
    }
  }
}

TEST(FloatGemmTest, VerifyReportsErrorAgainstFp32) {
  Matrix<float> a = Generate(Distribution::kGaussian, 64, 256, 1, Operand::kA);
  Matrix<float> b = Generate(Distribution::kGaussian, 256, 48, 2, Operand::kB);
  GemmConfig cfg;
  cfg.verify = true;
  Overhead ov8, ov4;
  ASSERT_TRUE(FloatGemm(a, b, cfg, &ov8).ok());
  EXPECT_TRUE(ov8.verified);
  EXPECT_GT(ov8.rel_fro_error, 0.0);
  EXPECT_LT(ov8.rel_fro_error, 0.02);
  cfg.bits = 4;
  cfg.a.levels = cfg.b.levels = 15;
  ASSERT_TRUE(FloatGemm(a, b, cfg, &ov4).ok());
  // Fewer levels, more error; exactness of the integer part is unaffected.
  EXPECT_GT(ov4.rel_fro_error, ov8.rel_fro_error);
}

TEST(FloatGemmTest, HeavyHittersAreKeptNotClipped) {
  // One huge activation: clipping it would wreck its output row.
  Matrix<float> a = Generate(Distribution::kGaussian, 8, 64, 3, Operand::kA);
  Matrix<float> b = Generate(Distribution::kGaussian, 64, 8, 4, Operand::kB);
  a(2, 10) = 500.0f;
  GemmConfig cfg;
  cfg.a.percentile = 0.99;
  cfg.verify = true;
  Overhead ov;
  ASSERT_TRUE(FloatGemm(a, b, cfg, &ov).ok());
  EXPECT_GE(ov.heavy_a, 1);
  EXPECT_GE(ov.max_digits_a, 2);
  EXPECT_GT(ov.unpack_ratio, 1.0);
  EXPECT_LT(ov.rel_fro_error, 0.05);
}

TEST(FloatGemmTest, ErrorsNameTheFieldAndValue) {
  Matrix<float> a = Generate(Distribution::kGaussian, 4, 5, 1, Operand::kA);
  Matrix<float> b = Generate(Distribution::kGaussian, 5, 3, 2, Operand::kB);
  Matrix<float> bad_b = Generate(Distribution::kGaussian, 6, 3, 2, Operand::kB);
  GemmConfig cfg;
  auto expect_error = [&](const Matrix<float>& x, const Matrix<float>& y,
                          const GemmConfig& c, const std::string& needle) {
    StatusOr<Matrix<float>> r = FloatGemm(x, y, c);
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(needle), std::string::npos)
        << r.status().message();
  };
  expect_error(a, bad_b, cfg, "a is 4x5, b is 6x3");
  expect_error(Matrix<float>(), b, cfg, "a.rows = 0");
  GemmConfig c2 = cfg;
  c2.bits = 9;
  expect_error(a, b, c2, "bits = 9");
  c2 = cfg;
  c2.b.percentile = 0;
  expect_error(a, b, c2, "b.percentile = 0");
  c2 = cfg;
  c2.a.levels = 1;
  expect_error(a, b, c2, "a.levels = 1");
  Matrix<float> nan_a = Generate(Distribution::kGaussian, 4, 5, 1, Operand::kA);
  nan_a(3, 4) = std::numeric_limits<float>::quiet_NaN();
  expect_error(nan_a, b, cfg, "a[3][4] = nan");
  Matrix<float> inf_b = Generate(Distribution::kGaussian, 5, 3, 2, Operand::kB);
  inf_b(0, 2) = std::numeric_limits<float>::infinity();
  expect_error(a, inf_b, cfg, "b[0][2] = inf");
}

TEST(FloatGemmTest, AllZeroOperandsGiveZeros) {
  Matrix<float> a = Matrix<float>::Zeros(3, 4), b = Matrix<float>::Zeros(4, 2);
  StatusOr<Matrix<float>> c = FloatGemm(a, b, GemmConfig());
  ASSERT_TRUE(c.ok());
  for (int64_t i = 0; i < c->size(); ++i) EXPECT_EQ(c->data()[i], 0.0f);
}

}  // namespace
}  // namespace imunpack

namespace imunpack {
namespace {

TEST(FloatGemmTest, PreparedBGivesTheSameResult) {
  Matrix<float> a = Generate(Distribution::kOutlierChannels, 33, 70, 5, Operand::kA);
  Matrix<float> b = Generate(Distribution::kStudentT, 70, 19, 6, Operand::kB);
  for (int bits : {3, 8}) {
    GemmConfig cfg;
    cfg.bits = bits;
    cfg.a.percentile = 0.99;
    cfg.b = {0.999, 0, Granularity::kChannel};
    StatusOr<std::shared_ptr<const PreparedB>> pb = PrepareB(b, cfg.b, bits);
    ASSERT_TRUE(pb.ok());
    EXPECT_GT((*pb)->bytes(), 70 * 19);
    StatusOr<Matrix<float>> inline_c = FloatGemm(a, b, cfg);
    GemmConfig other = cfg;
    other.bits = 5;  // ignored: B keeps the width it was prepared with
    StatusOr<Matrix<float>> prepared_c = FloatGemm(a, **pb, other);
    ASSERT_TRUE(inline_c.ok() && prepared_c.ok());
    for (int64_t i = 0; i < inline_c->size(); ++i)
      ASSERT_EQ(inline_c->data()[i], prepared_c->data()[i]);
  }
  Matrix<float> wrong = Generate(Distribution::kGaussian, 33, 71, 5, Operand::kA);
  StatusOr<std::shared_ptr<const PreparedB>> pb = PrepareB(b, {}, 8);
  ASSERT_TRUE(pb.ok());
  EXPECT_FALSE(FloatGemm(wrong, **pb, GemmConfig()).ok());
}

TEST(FloatGemmTest, CheckContinueStopsBetweenPhases) {
  Matrix<float> a = Generate(Distribution::kGaussian, 16, 16, 1, Operand::kA);
  Matrix<float> b = Generate(Distribution::kGaussian, 16, 16, 2, Operand::kB);
  for (int stop_at = 1; stop_at <= 6; ++stop_at) {
    int calls = 0;
    GemmConfig cfg;
    cfg.check_continue = [&]() {
      return ++calls == stop_at ? Status(StatusCode::kCancelled, "stop") : Status::Ok();
    };
    StatusOr<Matrix<float>> c = FloatGemm(a, b, cfg);
    ASSERT_FALSE(c.ok()) << stop_at;
    EXPECT_EQ(c.status().code(), StatusCode::kCancelled);
    EXPECT_EQ(calls, stop_at);
  }
}

}  // namespace
}  // namespace imunpack

namespace imunpack {
namespace {

TEST(FloatGemmTest, PreparedBKeepsItsPlan) {
  Matrix<float> a = Generate(Distribution::kOutlierChannels, 24, 80, 7, Operand::kA);
  Matrix<float> b = Generate(Distribution::kStudentT, 80, 12, 8, Operand::kB);
  QuantConfig qb{0.99, 0, Granularity::kTensor};
  for (Strategy sb : {Strategy::kRow, Strategy::kColumn, Strategy::kBoth}) {
    StatusOr<std::shared_ptr<const PreparedB>> pb = PrepareB(b, qb, 8, sb);
    ASSERT_TRUE(pb.ok());
    for (Strategy sa : {Strategy::kAuto, Strategy::kRow, Strategy::kColumn}) {
      GemmConfig cfg;
      cfg.strategy = sa;
      cfg.a.percentile = 0.99;
      cfg.b = qb;
      Overhead ov;
      StatusOr<Matrix<float>> c = FloatGemm(a, **pb, cfg, &ov);
      ASSERT_TRUE(c.ok());
      EXPECT_EQ(ov.strategy_b, sb);
      if (sa != Strategy::kAuto) {
        EXPECT_EQ(ov.strategy_a, sa);
      }
      // Whatever the plans, the integer product is exact: same bits.
      StatusOr<Matrix<float>> inline_c = FloatGemm(a, b, cfg);
      ASSERT_TRUE(inline_c.ok());
      for (int64_t i = 0; i < c->size(); ++i) ASSERT_EQ(c->data()[i], inline_c->data()[i]);
    }
  }
}

}  // namespace
}  // namespace imunpack
