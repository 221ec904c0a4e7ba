// A bounded, process-wide cache of large aligned memory blocks.
//
// Every request of the pipeline needs tens of megabytes of scratch (int8
// pieces, int32 partial products, the output). Fresh allocations of that
// size come from mmap and are page-faulted and zeroed by the kernel on first
// touch, which measured here costs as much as a quarter of a 2048^3 GEMM.
// Buffers therefore take blocks from this cache and give them back when
// destroyed, so steady-state requests reuse warm pages. Blocks are binned in
// size classes of 1/4 of a power of two (at most 25% waste); the cache holds
// at most Limit() bytes of idle blocks and frees the rest. Thread-safe.
#ifndef IMUNPACK_KERNELS_BUFFER_CACHE_H_
#define IMUNPACK_KERNELS_BUFFER_CACHE_H_

#include <cstddef>
#include <cstdint>

namespace imunpack::buffer_cache {

// Blocks below this size bypass the cache (plain aligned_alloc/free).
constexpr size_t kMinCachedBytes = size_t{1} << 16;

// A block of at least `bytes`, 64-byte aligned; *capacity receives its size.
// Throws std::bad_alloc when memory is exhausted.
void* Allocate(size_t bytes, size_t* capacity);
// Returns a block obtained from Allocate with its capacity.
void Release(void* p, size_t capacity);

// Idle bytes kept at most (default 1 GiB; 0 disables caching).
void SetLimit(size_t bytes);
size_t Limit();
// Bytes currently idle in the cache.
size_t IdleBytes();
// Frees every idle block.
void Trim();

}  // namespace imunpack::buffer_cache

#endif  // IMUNPACK_KERNELS_BUFFER_CACHE_H_
