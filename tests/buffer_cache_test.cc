#include "kernels/buffer_cache.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "kernels/matrix.h"

namespace imunpack {
namespace {

TEST(BufferCacheTest, ReusesReleasedBlocksWithinTheLimit) {
  buffer_cache::Trim();
  size_t cap = 0;
  void* p = buffer_cache::Allocate(1000000, &cap);
  EXPECT_GE(cap, 1000000u);
  EXPECT_LE(cap, 1250000u);  // size classes waste at most 25%
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
  buffer_cache::Release(p, cap);
  EXPECT_EQ(buffer_cache::IdleBytes(), cap);
  size_t cap2 = 0;
  void* q = buffer_cache::Allocate(999000, &cap2);  // same class: same block
  EXPECT_EQ(q, p);
  EXPECT_EQ(cap2, cap);
  EXPECT_EQ(buffer_cache::IdleBytes(), 0u);
  buffer_cache::Release(q, cap2);
  buffer_cache::Trim();
  EXPECT_EQ(buffer_cache::IdleBytes(), 0u);
}

TEST(BufferCacheTest, LimitBoundsIdleMemory) {
  const size_t old = buffer_cache::Limit();
  buffer_cache::Trim();
  buffer_cache::SetLimit(3 << 20);
  size_t c1 = 0, c2 = 0;
  void* a = buffer_cache::Allocate(2 << 20, &c1);
  void* b = buffer_cache::Allocate(2 << 20, &c2);
  buffer_cache::Release(a, c1);
  buffer_cache::Release(b, c2);  // would exceed the limit: freed instead
  EXPECT_EQ(buffer_cache::IdleBytes(), c1);
  buffer_cache::SetLimit(0);  // disabling drops what is idle
  EXPECT_EQ(buffer_cache::IdleBytes(), 0u);
  buffer_cache::SetLimit(old);
}

TEST(BufferCacheTest, SmallBlocksBypassTheCache) {
  buffer_cache::Trim();
  size_t cap = 0;
  void* p = buffer_cache::Allocate(100, &cap);
  EXPECT_GE(cap, 100u);
  buffer_cache::Release(p, cap);
  EXPECT_EQ(buffer_cache::IdleBytes(), 0u);
}

TEST(BufferTest, MoveAndResizeKeepOwnershipStraight) {
  Buffer<int32_t> a(1 << 20);
  a[0] = 7;
  int32_t* block = a.data();
  Buffer<int32_t> b(std::move(a));
  EXPECT_EQ(b.data(), block);
  EXPECT_EQ(b[0], 7);
  EXPECT_EQ(a.data(), nullptr);
  b.Resize(1000);  // fits: keeps the block
  EXPECT_EQ(b.data(), block);
  EXPECT_EQ(b.size(), 1000u);
  Buffer<int32_t> c;
  c = std::move(b);
  EXPECT_EQ(c.data(), block);
  c.Resize(0);
  EXPECT_EQ(c.size(), 0u);
}

}  // namespace
}  // namespace imunpack
