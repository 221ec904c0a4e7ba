#include "load/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace imunpack::load {
namespace {

constexpr int kSubBits = 8;              // exact below 2^8
constexpr int kSub = 1 << kSubBits;      // 256
constexpr int kHalf = kSub / 2;          // buckets per octave above
constexpr int kMaxExp = 40;              // 2^40 µs ~ 12.7 days
constexpr int kBuckets = kSub + (kMaxExp - kSubBits) * kHalf;
constexpr int64_t kMaxValue = (int64_t{1} << kMaxExp) - 1;

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kBuckets, 0) {}

int LatencyHistogram::Index(int64_t us) {
  us = std::clamp<int64_t>(us, 0, kMaxValue);
  if (us < kSub) return static_cast<int>(us);
  const int e = 63 - std::countl_zero(static_cast<uint64_t>(us));  // >= kSubBits
  const int shift = e - (kSubBits - 1);
  return kSub + (e - kSubBits) * kHalf + static_cast<int>((us >> shift) - kHalf);
}

int64_t LatencyHistogram::Lowest(int index) {
  if (index < kSub) return index;
  const int e = kSubBits + (index - kSub) / kHalf;
  const int64_t mantissa = kHalf + (index - kSub) % kHalf;
  return mantissa << (e - (kSubBits - 1));
}

int64_t LatencyHistogram::Highest(int index) {
  if (index < kSub) return index;
  const int e = kSubBits + (index - kSub) / kHalf;
  return Lowest(index) + (int64_t{1} << (e - (kSubBits - 1))) - 1;
}

void LatencyHistogram::Record(int64_t us) {
  us = std::clamp<int64_t>(us, 0, kMaxValue);
  ++counts_[Index(us)];
  min_ = count_ == 0 ? us : std::min(min_, us);
  max_ = std::max(max_, us);
  sum_ += us;
  ++count_;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
  count_ += other.count_;
}

int64_t LatencyHistogram::Percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  const int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(p / 100 * count_)));
  if (rank >= count_) return max_;  // the top is known exactly
  int64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const int64_t mid = Lowest(i) + (Highest(i) - Lowest(i)) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

std::vector<std::pair<int64_t, int64_t>> LatencyHistogram::Coarse(int rows) const {
  std::vector<std::pair<int64_t, int64_t>> out;
  if (count_ == 0 || rows <= 0) return out;
  const double lo = std::max<double>(1, min_), hi = std::max<double>(lo + 1, max_ + 1);
  const double step = std::pow(hi / lo, 1.0 / rows);
  double edge = lo;
  int bucket = 0;
  for (int r = 0; r < rows; ++r) {
    edge = r + 1 == rows ? hi : edge * step;
    int64_t n = 0;
    while (bucket < kBuckets && Lowest(bucket) < edge) n += counts_[bucket++];
    out.push_back({static_cast<int64_t>(std::ceil(edge)), n});
  }
  // Anything left (values at the very top) joins the last row.
  while (bucket < kBuckets) out.back().second += counts_[bucket++];
  return out;
}

}  // namespace imunpack::load
