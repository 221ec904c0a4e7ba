#include "kernels/select.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <vector>

namespace imunpack {
namespace {

float SortedKth(const std::vector<float>& x, int64_t kk) {
  std::vector<float> a(x.size());
  for (size_t i = 0; i < x.size(); ++i) a[i] = std::fabs(x[i]);
  std::sort(a.begin(), a.end(), std::greater<float>());
  return a[kk - 1];
}

std::vector<float> Gaussian(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> x(n);
  for (float& v : x) v = g(rng);
  return x;
}

TEST(SelectTest, MatchesSortOnEveryPath) {
  // n <= 16384 uses nth_element; larger n the sample filter or radix.
  for (int64_t n : {1, 2, 63, 65, 1000, 16384, 16385, 100003, 1 << 20}) {
    std::vector<float> x = Gaussian(n, n);
    for (int64_t kk : {int64_t{1}, int64_t{2}, n / 1000 + 1, n / 100 + 1, n / 17 + 1,
                       n / 2 + 1, n}) {
      kk = std::clamp<int64_t>(kk, 1, n);
      AbsRank r = KthLargestAbs(x.data(), n, kk);
      EXPECT_TRUE(r.finite);
      EXPECT_EQ(r.kth, SortedKth(x, kk)) << "n=" << n << " kk=" << kk;
      EXPECT_EQ(KthLargestAbsRadix(x.data(), n, kk).kth, SortedKth(x, kk))
          << "radix n=" << n << " kk=" << kk;
    }
  }
}

TEST(SelectTest, AdversarialValues) {
  const int64_t n = 200000;
  // Ties everywhere, signed zeros, denormals, and a periodic pattern whose
  // large values the strided sample misses entirely.
  std::vector<std::vector<float>> cases;
  cases.emplace_back(n, 1.0f);
  std::vector<float> zeros(n, 0.0f);
  for (int64_t i = 0; i < n; i += 2) zeros[i] = -0.0f;
  cases.push_back(zeros);
  std::vector<float> denorm(n);
  for (int64_t i = 0; i < n; ++i) denorm[i] = std::numeric_limits<float>::denorm_min() * (i % 97);
  cases.push_back(denorm);
  std::vector<float> periodic(n, 0.5f);
  for (int64_t i = 3; i < n; i += 6) periodic[i] = -1000.0f + i;  // stride-aligned spikes
  cases.push_back(periodic);
  std::vector<float> huge = Gaussian(n, 7);
  huge[12345] = std::numeric_limits<float>::max();
  huge[54321] = -std::numeric_limits<float>::max();
  cases.push_back(huge);
  for (size_t c = 0; c < cases.size(); ++c) {
    for (int64_t kk : {1, 2, 7, 200, 5000, 20000, 100000}) {
      AbsRank r = KthLargestAbs(cases[c].data(), n, kk);
      EXPECT_EQ(r.kth, SortedKth(cases[c], kk)) << "case " << c << " kk=" << kk;
    }
  }
}

TEST(SelectTest, ReportsNonFiniteOnEveryPath) {
  for (int64_t n : {10, 100000}) {
    for (float bad : {std::numeric_limits<float>::quiet_NaN(),
                      std::numeric_limits<float>::infinity(),
                      -std::numeric_limits<float>::infinity()}) {
      std::vector<float> x = Gaussian(n, 3);
      x[n / 3] = bad;
      for (int64_t kk : {int64_t{1}, int64_t{5}, n / 10 + 1, n / 2}) {
        EXPECT_FALSE(KthLargestAbs(x.data(), n, kk).finite) << n << " " << kk << " " << bad;
      }
      EXPECT_FALSE(KthLargestAbsRadix(x.data(), n, 3).finite);
    }
  }
}

TEST(SelectTest, PercentileRank) {
  EXPECT_EQ(PercentileRank(100, 1.0), 1);   // max
  EXPECT_EQ(PercentileRank(100, 0.5), 50);
  EXPECT_EQ(PercentileRank(8, 0.75), 2);
  EXPECT_EQ(PercentileRank(10, 0.99), 1);   // floor(0.1) -> at least 1
  EXPECT_EQ(PercentileRank(4194304, 0.999), 4194);
  EXPECT_EQ(PercentileRank(3, 1e-9), 2);    // floor(2.999...) = 2
}

}  // namespace
}  // namespace imunpack
