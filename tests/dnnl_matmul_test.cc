#include "kernels/dnnl_matmul.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

namespace imunpack {
namespace {

TEST(DnnlMatmulTest, S8MatchesNaiveWithStrides) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> v(-127, 127);
  for (auto [M, K, N] : {std::tuple{1, 1, 1}, {3, 5, 7}, {65, 129, 63}, {17, 1000, 9}}) {
    const int64_t lda = K + 3, ldb = N + 5, ldc = N + 1;
    std::vector<int8_t> a(M * lda), b(K * ldb);
    for (auto& x : a) x = static_cast<int8_t>(v(rng));
    for (auto& x : b) x = static_cast<int8_t>(v(rng));
    std::vector<int32_t> c(M * ldc, -1);
    ASSERT_TRUE(DnnlMatmul(MatmulType::kS8S8S32, a.data(), b.data(), c.data(), M, K,
                           N, lda, ldb, ldc).ok());
    for (int64_t i = 0; i < M; ++i) {
      for (int64_t j = 0; j < N; ++j) {
        int32_t s = 0;
        for (int64_t t = 0; t < K; ++t) s += a[i * lda + t] * b[t * ldb + j];
        ASSERT_EQ(c[i * ldc + j], s) << M << "x" << K << "x" << N;
      }
    }
  }
  EXPECT_GT(DnnlCachedPrimitives(), 0);
}

// Packed B gives exactly the plain product, for awkward shapes, strided A
// and C, extreme values (-128 included: the s8 compensation must hold), and
// several M against one packing (the layout must not depend on M).
TEST(DnnlMatmulTest, PackedWeightsMatchThePlainProduct) {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> v(-128, 127);
  int packed_shapes = 0;
  for (auto [K, N] : {std::pair{1, 1}, {5, 7}, {129, 63}, {1000, 9}, {64, 256}, {300, 301}}) {
    std::vector<int8_t> b(K * N);
    for (auto& x : b) x = static_cast<int8_t>(v(rng));
    b[0] = -128;
    std::shared_ptr<const PackedInt8Weights> packed = PackedInt8Weights::Pack(b.data(), K, N);
    if (!packed) continue;  // oneDNN keeps this B plain: nothing to compare
    ++packed_shapes;
    EXPECT_EQ(packed->source(), b.data());
    EXPECT_GE(packed->bytes(), static_cast<size_t>(K * N));
    for (int64_t M : {1, 3, 64, 130}) {
      const int64_t lda = K + 2, ldc = N + 3;
      std::vector<int8_t> a(M * lda);
      for (auto& x : a) x = static_cast<int8_t>(v(rng));
      a[0] = -128;
      std::vector<int32_t> c(M * ldc, -1), want(M * ldc, -1);
      ASSERT_TRUE(DnnlMatmulPacked(a.data(), *packed, c.data(), M, lda, ldc).ok());
      ASSERT_TRUE(DnnlMatmul(MatmulType::kS8S8S32, a.data(), b.data(), want.data(), M, K, N,
                             lda, N, ldc).ok());
      for (int64_t i = 0; i < M; ++i) {
        for (int64_t j = 0; j < N; ++j) {
          ASSERT_EQ(c[i * ldc + j], want[i * ldc + j]) << M << "x" << K << "x" << N;
        }
      }
    }
  }
  // On an ISA with int8 dot products (any x86-64-v3 or later) oneDNN packs.
  if (DnnlIsa() != "sse41" && DnnlIsa() != "other") {
    EXPECT_GT(packed_shapes, 0);
  }
}

TEST(DnnlMatmulTest, F32AndBf16AreCloseToNaive) {
  const int64_t M = 33, K = 70, N = 21;
  std::mt19937 rng(6);
  std::uniform_real_distribution<float> v(-1, 1);
  std::vector<float> a(M * K), b(K * N), c(M * N), c16(M * N);
  for (auto& x : a) x = v(rng);
  for (auto& x : b) x = v(rng);
  ASSERT_TRUE(DnnlMatmul(MatmulType::kF32, a.data(), b.data(), c.data(), M, K, N, K, N, N).ok());
  auto to_bf16 = [](float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return static_cast<uint16_t>((u + 0x7fff + ((u >> 16) & 1)) >> 16);
  };
  std::vector<uint16_t> a16(a.size()), b16(b.size());
  for (size_t i = 0; i < a.size(); ++i) a16[i] = to_bf16(a[i]);
  for (size_t i = 0; i < b.size(); ++i) b16[i] = to_bf16(b[i]);
  ASSERT_TRUE(DnnlMatmul(MatmulType::kBF16, a16.data(), b16.data(), c16.data(), M, K, N, K, N, N).ok());
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t t = 0; t < K; ++t) s += static_cast<double>(a[i * K + t]) * b[t * N + j];
      EXPECT_NEAR(c[i * N + j], s, 1e-4);
      EXPECT_NEAR(c16[i * N + j], s, 0.1);
    }
  }
}

TEST(DnnlMatmulTest, BadDimsAreAnError) {
  int8_t x = 0;
  int32_t y = 0;
  Status s = DnnlMatmul(MatmulType::kS8S8S32, &x, &x, &y, 0, 1, 1, 1, 1, 1);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST(DnnlMatmulTest, ReportsVersionAndIsa) {
  EXPECT_FALSE(DnnlVersion().empty());
  EXPECT_FALSE(DnnlIsa().empty());
}

}  // namespace
}  // namespace imunpack
