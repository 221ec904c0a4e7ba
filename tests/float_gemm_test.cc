#include <gtest/gtest.h>

#include <cmath>
#include <functional>
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

void ExpectSameBits(const Matrix<float>& x, const Matrix<float>& y, const std::string& where) {
  ASSERT_EQ(x.rows(), y.rows()) << where;
  ASSERT_EQ(x.cols(), y.cols()) << where;
  for (int64_t i = 0; i < x.size(); ++i) ASSERT_EQ(x.data()[i], y.data()[i]) << where << " at " << i;
}

// A copy of q as a receiver would assemble it from the wire: the fields a
// sender transmits, the derived ones left for FinishQuantizedA.
QuantizedA Reassembled(const QuantizedA& q) {
  QuantizedA r;
  r.bits = q.bits;
  r.scales = q.scales;
  r.split.rows = q.split.rows;
  r.split.cols = q.split.cols;
  r.split.base.Resize(q.split.base.size());
  std::copy(q.split.base.data(), q.split.base.data() + q.split.base.size(), r.split.base.data());
  r.split.heavy = q.split.heavy;
  return r;
}

TEST(FloatGemmTest, QuantizedAGivesTheSameBitsAsFloatA) {
  int seed = 100;
  for (auto [m, k, n] : {std::tuple{1, 1, 1}, {63, 129, 65}, {130, 200, 61}}) {
    Matrix<float> a = Generate(Distribution::kOutlierChannels, m, k, ++seed, Operand::kA);
    a(0, 0) = 3e12f;  // clipped at 2^31-1 after scaling
    Matrix<float> b = Generate(Distribution::kStudentT, k, n, ++seed, Operand::kB);
    for (int bits : {2, 5, 8}) {
      for (Granularity g : {Granularity::kTensor, Granularity::kChannel}) {
        GemmConfig cfg;
        cfg.bits = bits;
        cfg.a = {0.9, 0, g};
        const std::string where = std::to_string(m) + " b" + std::to_string(bits) + " " +
                                  GranularityName(g);
        StatusOr<QuantizedA> q = QuantizeA(a, cfg.a, bits);
        ASSERT_TRUE(q.ok()) << q.status().ToString();
        QuantizedA r = Reassembled(*q);
        ASSERT_TRUE(FinishQuantizedA(&r, "a_quantized").ok()) << where;
        EXPECT_EQ(r.split.max_abs, q->split.max_abs) << where;
        EXPECT_EQ(r.split.max_digits, q->split.max_digits) << where;
        EXPECT_EQ(r.split.clipped, q->split.clipped) << where;
        StatusOr<Matrix<float>> want = FloatGemm(a, b, cfg);
        StatusOr<Matrix<float>> got = FloatGemm(r, b, cfg);
        ASSERT_TRUE(want.ok() && got.ok()) << got.status().ToString();
        ExpectSameBits(*got, *want, where + " inline B");
        StatusOr<std::shared_ptr<const PreparedB>> pb = PrepareB(b, cfg.b, bits);
        ASSERT_TRUE(pb.ok());
        StatusOr<Matrix<float>> want_p = FloatGemm(a, **pb, cfg);
        StatusOr<Matrix<float>> got_p = FloatGemm(r, **pb, cfg);
        ASSERT_TRUE(want_p.ok() && got_p.ok()) << got_p.status().ToString();
        ExpectSameBits(*got_p, *want_p, where + " prepared B");
      }
    }
  }
}

TEST(FloatGemmTest, QuantizedAFromOutsideIsChecked) {
  Matrix<float> a = Generate(Distribution::kOutlierChannels, 6, 40, 7, Operand::kA);
  a(1, 3) = 500.0f;
  a(4, 0) = -900.0f;
  StatusOr<QuantizedA> q = QuantizeA(a, {0.9, 0, Granularity::kTensor}, 4);
  ASSERT_TRUE(q.ok());
  ASSERT_GE(q->split.heavy.size(), 2u);
  struct Case {
    const char* name;
    std::function<void(QuantizedA*)> mutate;
    const char* needle;
  };
  const int64_t h0 = q->split.heavy[0].index;
  const Case cases[] = {
      {"digit out of range", [](QuantizedA* x) { x->split.base[5] = 8; }, "digits[5] = 8"},
      {"digit -8", [](QuantizedA* x) { x->split.base[0] = -8; }, "digits[0] = -8"},
      {"bits", [](QuantizedA* x) { x->bits = 9; }, "bits"},
      {"digit count", [](QuantizedA* x) { x->split.base.Resize(239); }, "239 digits"},
      {"no sigma", [](QuantizedA* x) { x->scales.sigma.clear(); }, "0 sigma"},
      {"sigma per column", [](QuantizedA* x) {
         x->scales.sigma.assign(40, 1.0f);
         x->scales.alpha.assign(40, 1.0f);
       }, "rows = 6"},
      {"alpha count", [](QuantizedA* x) { x->scales.alpha.push_back(1); }, "2 alpha"},
      {"sigma zero", [](QuantizedA* x) { x->scales.sigma[0] = 0; }, "sigma[0]"},
      {"sigma nan", [](QuantizedA* x) { x->scales.sigma[0] = std::nanf(""); }, "sigma[0] = nan"},
      {"heavy out of range", [](QuantizedA* x) { x->split.heavy.back().index = 240; },
       "below rows·cols = 240"},
      {"heavy negative", [](QuantizedA* x) { x->split.heavy[0].index = -1; }, "position -1"},
      {"heavy not ascending", [](QuantizedA* x) {
         std::swap(x->split.heavy[0], x->split.heavy[1]);
       }, "ascending"},
      {"heavy repeated", [](QuantizedA* x) { x->split.heavy[1] = x->split.heavy[0]; },
       "heavy[1]"},
      {"heavy fits a digit", [](QuantizedA* x) { x->split.heavy[0].value = 7; }, "value 7"},
      {"heavy INT32_MIN", [](QuantizedA* x) {
         x->split.heavy[0].value = std::numeric_limits<int32_t>::min();
       }, "2^31-1"},
      {"digit 0 inconsistent", [h0](QuantizedA* x) {
         x->split.base[h0] = static_cast<int8_t>(x->split.base[h0] == 1 ? 2 : 1);
       }, "not the value's digit 0"},
  };
  for (const Case& c : cases) {
    QuantizedA r = Reassembled(*q);
    c.mutate(&r);
    Status s = FinishQuantizedA(&r, "a_quantized");
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(s.message().find(c.needle), std::string::npos) << c.name << ": " << s.message();
  }
  // The GEMM refuses another bit width than A's, and verify.
  QuantizedA r = Reassembled(*q);
  ASSERT_TRUE(FinishQuantizedA(&r, "a_quantized").ok());
  Matrix<float> b = Generate(Distribution::kGaussian, 40, 3, 8, Operand::kB);
  GemmConfig cfg;
  cfg.bits = 8;
  Status s = FloatGemm(r, b, cfg).status();
  EXPECT_NE(s.message().find("a_quantized.bits = 4"), std::string::npos) << s.message();
  cfg.bits = 4;
  cfg.verify = true;
  s = FloatGemm(r, b, cfg).status();
  EXPECT_NE(s.message().find("verify"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace imunpack
