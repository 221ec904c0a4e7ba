#include "kernels/quantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "kernels/digits.h"
#include "kernels/reference.h"

namespace imunpack {
namespace {

Matrix<float> FromList(int64_t rows, int64_t cols, std::initializer_list<float> v) {
  Matrix<float> m(rows, cols);
  std::copy(v.begin(), v.end(), m.data());
  return m;
}

TEST(QuantizeTest, HandCheckedRoundHalfToEven) {
  // alpha = max = 4, d = 4: sigma = 0.5, so x·sigma = 0.5, -1, 1.5, 2, -2, 0.
  Matrix<float> x = FromList(1, 6, {1, -2, 3, 4, -4, 0});
  QuantConfig q{1.0, 4, Granularity::kTensor};
  StatusOr<Quantized> r = Quantize(x, q, 8, Operand::kA);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FLOAT_EQ(r->scales.alpha[0], 4.0f);
  EXPECT_FLOAT_EQ(r->scales.sigma[0], 0.5f);
  const int32_t want[] = {0, -1, 2, 2, -2, 0};  // 0.5 -> 0, 1.5 -> 2
  for (int j = 0; j < 6; ++j) EXPECT_EQ(r->values(0, j), want[j]) << j;
}

TEST(QuantizeTest, HandCheckedPercentile) {
  // 8 values, beta = 0.75: kk = floor(8·0.25) = 2, alpha = 2nd largest |x| = 7.
  // d = 7: sigma = 0.5. 8·0.5 = 4 lands above alpha·sigma = 3.5: not clipped.
  Matrix<float> x = FromList(2, 4, {1, -2, 3, -4, 5, -6, 7, -8});
  QuantConfig q{0.75, 7, Granularity::kTensor};
  StatusOr<Quantized> r = Quantize(x, q, 3, Operand::kA);
  ASSERT_TRUE(r.ok());
  EXPECT_FLOAT_EQ(r->scales.alpha[0], 7.0f);
  // 0.5->0, -1, 1.5->2, -2, 2.5->2, -3, 3.5->4, -4
  const int32_t want[] = {0, -1, 2, -2, 2, -3, 4, -4};
  for (int j = 0; j < 8; ++j) EXPECT_EQ(r->values.data()[j], want[j]) << j;
}

TEST(QuantizeTest, GivenAlphaReplacesTheSelection) {
  // alpha = 8 given (max is 4), d = 4: sigma = 0.25.
  Matrix<float> x = FromList(1, 4, {1, -2, 4, 6});
  QuantConfig q{0.5, 4, Granularity::kTensor, 8.0f};
  StatusOr<Quantized> r = Quantize(x, q, 8, Operand::kA);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->scales.alpha[0], 8.0f);
  EXPECT_EQ(r->scales.sigma[0], 0.25f);
  const int32_t want[] = {0, 0, 1, 2};  // 0.25, -0.5 -> -0 , 1, 1.5 -> 2
  for (int j = 0; j < 4; ++j) EXPECT_EQ(r->values(0, j), want[j]) << j;
  // The selected alpha, given back, reproduces the selection bit for bit.
  QuantConfig sel{0.5, 0, Granularity::kTensor};
  StatusOr<Quantized> s = Quantize(x, sel, 8, Operand::kA);
  ASSERT_TRUE(s.ok());
  sel.alpha = s->scales.alpha[0];
  StatusOr<Quantized> t = Quantize(x, sel, 8, Operand::kA);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->scales.sigma[0], s->scales.sigma[0]);
  for (int j = 0; j < 4; ++j) EXPECT_EQ(t->values(0, j), s->values(0, j)) << j;
  // NaN is still found with a given alpha.
  x(0, 1) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(Quantize(x, q, 8, Operand::kA).status().code(), StatusCode::kInvalidArgument);
}

TEST(QuantizeTest, PerChannelScales) {
  // Rows of A and columns of B get their own alpha.
  Matrix<float> x = FromList(2, 3, {1, -2, 4, 10, 20, -40});
  QuantConfig q{1.0, 0, Granularity::kChannel};
  StatusOr<Quantized> a = Quantize(x, q, 8, Operand::kA);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->scales.alpha.size(), 2u);
  EXPECT_EQ(a->scales.alpha[0], 4.0f);
  EXPECT_EQ(a->scales.alpha[1], 40.0f);
  // sigma = 127.5/4 = 31.875 exactly; 4·31.875 = 127.5 rounds to even 128,
  // one above the int8 range: the row's maximum is a heavy hitter at b = 8.
  EXPECT_EQ(a->values(0, 2), 128);
  StatusOr<Quantized> b = Quantize(x, q, 8, Operand::kB);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->scales.alpha.size(), 3u);
  EXPECT_EQ(b->scales.alpha[0], 10.0f);
  EXPECT_EQ(b->scales.alpha[1], 20.0f);
  EXPECT_EQ(b->scales.alpha[2], 40.0f);
}

TEST(QuantizeTest, ClipsAndCountsAbsurdRange) {
  // beta 0.5 of 4 values: kk = 2, alpha = 1; d = 100: sigma = 50, so the
  // ones land at 50 and -1e12·50 is far beyond int32.
  Matrix<float> x = FromList(1, 4, {1, 1, -1e12f, 1});
  QuantConfig q{0.5, 100, Granularity::kTensor};
  StatusOr<Quantized> r = Quantize(x, q, 8, Operand::kA);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->clipped, 1);
  EXPECT_EQ(r->values(0, 2), -2147483647);
  SplitOperand s;
  QuantizeSplit(x, r->scales, 8, Operand::kA, &s);
  EXPECT_EQ(s.clipped, 1);
  ASSERT_EQ(s.heavy.size(), 1u);
  EXPECT_EQ(s.heavy[0].value, -2147483647);
}

TEST(QuantizeTest, MatchesReferenceAndSplitReconstructs) {
  std::mt19937_64 rng(42);
  std::student_t_distribution<float> t(3.0f);
  for (int64_t rows : {1, 7, 65, 130}) {
    for (int64_t cols : {1, 3, 63, 129, 300}) {
      Matrix<float> x(rows, cols);
      for (int64_t i = 0; i < x.size(); ++i) x.data()[i] = t(rng);
      for (Operand which : {Operand::kA, Operand::kB}) {
        for (Granularity g : {Granularity::kTensor, Granularity::kChannel}) {
          for (double beta : {1.0, 0.999, 0.95, 0.5}) {
            for (int bits : {2, 4, 8}) {
              QuantConfig q{beta, 0, g};
              StatusOr<Quantized> fast = Quantize(x, q, bits, which);
              ASSERT_TRUE(fast.ok());
              Quantized ref = reference::Quantize(x, q, bits, which);
              ASSERT_EQ(fast->scales.alpha, ref.scales.alpha);
              ASSERT_EQ(fast->scales.sigma, ref.scales.sigma);
              for (int64_t i = 0; i < x.size(); ++i)
                ASSERT_EQ(fast->values.data()[i], ref.values.data()[i]);
              // Digit 0 plus the heavy list gives the same integers back.
              SplitOperand s;
              QuantizeSplit(x, fast->scales, bits, which, &s);
              const uint32_t smax = (1u << (bits - 1)) - 1;
              size_t h = 0;
              for (int64_t i = 0; i < x.size(); ++i) {
                int32_t v = fast->values.data()[i];
                ASSERT_EQ(s.base[i], Digit(Magnitude(v), v < 0, 0, bits));
                if (Magnitude(v) > smax) {
                  ASSERT_LT(h, s.heavy.size());
                  ASSERT_EQ(s.heavy[h].index, i);
                  ASSERT_EQ(s.heavy[h].value, v);
                  ++h;
                }
              }
              ASSERT_EQ(h, s.heavy.size());
            }
          }
        }
      }
    }
  }
}

TEST(QuantizeTest, NonFiniteIsAnErrorNamingTheElement) {
  Matrix<float> x = FromList(2, 2, {1, 2, 3, 4});
  x(1, 0) = std::numeric_limits<float>::quiet_NaN();
  for (Granularity g : {Granularity::kTensor, Granularity::kChannel}) {
    for (double beta : {1.0, 0.5}) {
      StatusOr<Quantized> r = Quantize(x, {beta, 0, g}, 8, Operand::kB);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
      EXPECT_NE(r.status().message().find("b[1][0] = nan"), std::string::npos)
          << r.status().message();
    }
  }
  x(1, 0) = -std::numeric_limits<float>::infinity();
  StatusOr<Quantized> r = Quantize(x, {}, 8, Operand::kA);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("a[1][0] = -inf"), std::string::npos);
}

TEST(QuantizeTest, ConfigErrors) {
  Matrix<float> x = FromList(1, 2, {1, 2});
  struct Case {
    int bits;
    QuantConfig q;
    const char* needle;
  } cases[] = {
      {1, {}, "bits = 1"},
      {9, {}, "bits = 9"},
      {8, {0.0, 0, Granularity::kTensor}, "a.percentile = 0"},
      {8, {1.5, 0, Granularity::kTensor}, "a.percentile = 1.5"},
      {8, {-0.1, 0, Granularity::kTensor}, "a.percentile = -0.1"},
      {8, {1.0, 2, Granularity::kTensor}, "a.levels = 2"},
      {8, {1.0, 0, static_cast<Granularity>(7)}, "a.granularity = 7"},
      {8, {1.0, 0, Granularity::kTensor, -1.0f}, "a.alpha = -1"},
      {8, {1.0, 0, Granularity::kTensor, std::numeric_limits<float>::infinity()}, "a.alpha = inf"},
      {8, {1.0, 0, Granularity::kChannel, 2.0f}, "a.alpha is set"},
  };
  for (const Case& c : cases) {
    StatusOr<Quantized> r = Quantize(x, c.q, c.bits, Operand::kA);
    ASSERT_FALSE(r.ok()) << c.needle;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos)
        << r.status().message();
  }
}

}  // namespace
}  // namespace imunpack
