#include "kernels/buffer_cache.h"

#include <bit>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

namespace imunpack::buffer_cache {
namespace {

// Rounds up to the next size class: 4 classes per power of two.
size_t ClassSize(size_t bytes) {
  if (bytes < kMinCachedBytes) return (bytes + 63) / 64 * 64;
  const int top = std::bit_width(bytes - 1) - 1;  // floor(log2(bytes - 1))
  const size_t quarter = size_t{1} << (top - 2);
  return (bytes + quarter - 1) / quarter * quarter;
}

struct Cache {
  std::mutex mu;
  std::map<size_t, std::vector<void*>> idle;  // by class size; guarded by mu
  size_t idle_bytes = 0;                      // guarded by mu
  size_t limit = size_t{1} << 30;             // guarded by mu
};

Cache& Get() {
  static Cache* c = new Cache();  // never destroyed: Buffers may outlive main
  return *c;
}

void* RawAlloc(size_t bytes) {
  void* p = std::aligned_alloc(64, bytes);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void* Allocate(size_t bytes, size_t* capacity) {
  const size_t cls = ClassSize(bytes);
  *capacity = cls;
  if (cls < kMinCachedBytes) return RawAlloc(cls);
  Cache& c = Get();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.idle.find(cls);
    if (it != c.idle.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.idle_bytes -= cls;
      return p;
    }
  }
  return RawAlloc(cls);
}

void Release(void* p, size_t capacity) {
  if (p == nullptr) return;
  if (capacity >= kMinCachedBytes) {
    Cache& c = Get();
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.idle_bytes + capacity <= c.limit) {
      c.idle[capacity].push_back(p);
      c.idle_bytes += capacity;
      return;
    }
  }
  std::free(p);
}

void SetLimit(size_t bytes) {
  Cache& c = Get();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    c.limit = bytes;
  }
  if (IdleBytes() > bytes) Trim();
}

size_t Limit() {
  Cache& c = Get();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.limit;
}

size_t IdleBytes() {
  Cache& c = Get();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.idle_bytes;
}

void Trim() {
  std::map<size_t, std::vector<void*>> drop;
  {
    Cache& c = Get();
    std::lock_guard<std::mutex> lock(c.mu);
    drop.swap(c.idle);
    c.idle_bytes = 0;
  }
  for (auto& [cls, blocks] : drop)
    for (void* p : blocks) std::free(p);
}

}  // namespace imunpack::buffer_cache
