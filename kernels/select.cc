#include "kernels/select.h"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/target.h"

namespace imunpack {
namespace {

inline uint32_t AbsBits(float v) { return std::bit_cast<uint32_t>(v) & 0x7fffffffu; }

IMUNPACK_MULTIVERSION
uint32_t MaxAbsBitsSerial(const float* x, int64_t n) {
  uint32_t m = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, x + i, sizeof(u));
    u &= 0x7fffffffu;
    m = u > m ? u : m;
  }
  return m;
}

// Splits [0, n) into one contiguous range per thread: fn(t, begin, end).
template <typename Fn>
void ParallelRanges(int64_t n, int64_t min_per_thread, Fn fn) {
  const int nt = static_cast<int>(std::clamp<int64_t>(
      n / std::max<int64_t>(min_per_thread, 1), 1, omp_get_max_threads()));
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
    fn(t, n * t / nt, n * (t + 1) / nt);
  }
}

uint32_t MaxAbsBits(const float* x, int64_t n) {
  std::vector<uint32_t> part(omp_get_max_threads(), 0);
  ParallelRanges(n, 1 << 16, [&](int t, int64_t b, int64_t e) {
    part[t] = MaxAbsBitsSerial(x + b, e - b);
  });
  return *std::max_element(part.begin(), part.end());
}

// Appends the keys >= threshold of x[0, n) to out (up to cap of them) and
// returns how many there are. Chunks are screened by a vector loop; only
// chunks holding a candidate are scanned one element at a time.
IMUNPACK_MULTIVERSION
int64_t CollectAbove(const float* x, int64_t n, uint32_t threshold, int64_t cap,
                     std::vector<uint32_t>* out) {
  constexpr int64_t kChunk = 64;
  int64_t count = 0;
  for (int64_t j0 = 0; j0 < n; j0 += kChunk) {
    const int64_t j1 = std::min(n, j0 + kChunk);
    uint32_t top = 0;
    for (int64_t j = j0; j < j1; ++j) {
      uint32_t u;
      std::memcpy(&u, x + j, sizeof(u));
      top = std::max(top, u & 0x7fffffffu);
    }
    if (top < threshold) continue;
    for (int64_t j = j0; j < j1; ++j) {
      const uint32_t key = AbsBits(x[j]);
      if (key >= threshold) {
        if (static_cast<int64_t>(out->size()) < cap) out->push_back(key);
        ++count;
      }
    }
  }
  return count;
}

constexpr uint32_t kInfBits = 0x7f800000u;

AbsRank NthOfCopy(const float* x, int64_t n, int64_t kk) {
  std::vector<uint32_t> keys(n);
  uint32_t max_key = 0;
  for (int64_t i = 0; i < n; ++i) {
    keys[i] = AbsBits(x[i]);
    max_key = std::max(max_key, keys[i]);
  }
  std::nth_element(keys.begin(), keys.begin() + (kk - 1), keys.end(),
                   std::greater<uint32_t>());
  return {std::bit_cast<float>(keys[kk - 1]), max_key < kInfBits};
}

// Counts of keys per bucket, bucket = key >> shift, for keys matching `prefix`
// above bit `prefix_shift` (prefix_shift 32 means no filter).
void Histogram(const float* x, int64_t n, int shift, uint32_t mask,
               int prefix_shift, uint32_t prefix, std::vector<int64_t>* hist) {
  int nt = omp_get_max_threads();
  std::vector<std::vector<uint32_t>> local(nt, std::vector<uint32_t>(hist->size(), 0));
  // uint32 counters per thread: flushed before they could overflow.
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num();
    std::vector<uint32_t>& h = local[t];
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      uint32_t key = AbsBits(x[i]);
      if (prefix_shift < 32 && (key >> prefix_shift) != prefix) continue;
      ++h[(key >> shift) & mask];
    }
  }
  for (auto& h : local)
    for (size_t b = 0; b < h.size(); ++b) (*hist)[b] += h[b];
}

// Walks buckets from the top; returns the bucket holding the kk-th largest and
// reduces kk to its rank inside that bucket.
uint32_t FindBucket(const std::vector<int64_t>& hist, int64_t* kk) {
  for (int64_t b = static_cast<int64_t>(hist.size()) - 1; b >= 0; --b) {
    if (hist[b] >= *kk) return static_cast<uint32_t>(b);
    *kk -= hist[b];
  }
  return 0;
}

}  // namespace

int64_t PercentileRank(int64_t n, double percentile) {
  double r = std::floor(static_cast<double>(n) * (1.0 - percentile));
  int64_t kk = static_cast<int64_t>(r);
  return std::clamp<int64_t>(kk, 1, std::max<int64_t>(n, 1));
}

AbsRank KthLargestAbsRadix(const float* x, int64_t n, int64_t kk) {
  // Keys have 31 significant bits: 15 high bits, then 16 low bits.
  std::vector<int64_t> hi(1 << 15, 0);
  Histogram(x, n, 16, (1u << 15) - 1, 32, 0, &hi);
  bool finite = true;
  for (uint32_t b = kInfBits >> 16; b < hi.size(); ++b) finite &= hi[b] == 0;
  if (!finite) return {0.0f, false};
  uint32_t hb = FindBucket(hi, &kk);
  std::vector<int64_t> lo(1 << 16, 0);
  Histogram(x, n, 0, (1u << 16) - 1, 16, hb, &lo);
  uint32_t lb = FindBucket(lo, &kk);
  return {std::bit_cast<float>((hb << 16) | lb), true};
}

AbsRank KthLargestAbs(const float* x, int64_t n, int64_t kk) {
  if (kk <= 1) {
    uint32_t m = MaxAbsBits(x, n);
    return {std::bit_cast<float>(m), m < kInfBits};
  }
  if (n <= 16384) return NthOfCopy(x, n, kk);
  // Too many candidates to be worth filtering: go straight to radix.
  if (kk > n / 16) return KthLargestAbsRadix(x, n, kk);

  // Sample: 16-float blocks (one cache line each) at pseudo-random block
  // positions, so the sample costs ~2k cache misses rather than one per
  // value, and no row/column structure of the matrix aliases with it. The
  // expected rank of the threshold is inflated by a few standard deviations
  // so the filter keeps >= kk elements w.h.p.; the fallback keeps it exact.
  constexpr int64_t kBlock = 16, kBlocks = 2048;
  const int64_t nblocks = n / kBlock;
  std::vector<uint32_t> sample;
  sample.reserve(kBlocks * kBlock);
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (int64_t b = 0; b < kBlocks; ++b) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const int64_t start = static_cast<int64_t>((state >> 17) % static_cast<uint64_t>(nblocks)) * kBlock;
    for (int64_t j = 0; j < kBlock; ++j) sample.push_back(AbsBits(x[start + j]));
  }
  const int64_t sample_n = static_cast<int64_t>(sample.size());
  double expected = static_cast<double>(kk) * sample_n / n;
  int64_t rank = static_cast<int64_t>(expected + 4.0 * std::sqrt(expected) + 8.0);
  if (rank >= sample_n) return KthLargestAbsRadix(x, n, kk);
  std::nth_element(sample.begin(), sample.begin() + rank, sample.end(),
                   std::greater<uint32_t>());
  const uint32_t threshold = sample[rank];

  // Filter: collect every key >= threshold, giving up if far more than
  // expected (a sample fooled by structured data).
  const int64_t cap = 4 * kk + 4096;
  std::vector<std::vector<uint32_t>> found(omp_get_max_threads());
  std::vector<int64_t> counts(omp_get_max_threads(), 0);
  ParallelRanges(n, 1 << 16, [&](int t, int64_t b, int64_t e) {
    counts[t] = CollectAbove(x + b, e - b, threshold, cap, &found[t]);
  });
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  if (total < kk || total > cap) return KthLargestAbsRadix(x, n, kk);
  std::vector<uint32_t> cand;
  cand.reserve(total);
  for (auto& f : found) cand.insert(cand.end(), f.begin(), f.end());
  std::nth_element(cand.begin(), cand.begin() + (kk - 1), cand.end(),
                   std::greater<uint32_t>());
  // The largest key is among the candidates: it is >= the threshold.
  uint32_t max_key = *std::max_element(cand.begin(), cand.end());
  return {std::bit_cast<float>(cand[kk - 1]), max_key < kInfBits};
}

}  // namespace imunpack
