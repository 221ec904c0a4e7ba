// A latency histogram in the manner of HdrHistogram: log-linear buckets of
// microseconds, 128 per power of two above 256 µs and exact below, so every
// recorded value is known to within 1/128 (0.8%) at any magnitude, in a
// fixed 34 KiB regardless of how many values are recorded.
#ifndef IMUNPACK_LOAD_HISTOGRAM_H_
#define IMUNPACK_LOAD_HISTOGRAM_H_

#include <cstdint>
#include <vector>

namespace imunpack::load {

class LatencyHistogram {
 public:
  LatencyHistogram();

  // Values are microseconds; negative is recorded as 0, above ~12 days as
  // the largest bucket.
  void Record(int64_t us);
  void Merge(const LatencyHistogram& other);

  int64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }
  // The value at percentile p in [0, 100]: the smallest bucket value with at
  // least p% of the values at or below it (the bucket's midpoint, clamped to
  // [min, max]). 0 when empty.
  int64_t Percentile(double p) const;

  // (upper bound in µs, count) for `rows` log-spaced ranges between min and
  // max, for a small text histogram.
  std::vector<std::pair<int64_t, int64_t>> Coarse(int rows) const;

  // Bucket mapping, exposed for tests.
  static int Index(int64_t us);
  static int64_t Lowest(int index);   // smallest value in the bucket
  static int64_t Highest(int index);  // largest value in the bucket

 private:
  std::vector<int64_t> counts_;
  int64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  int64_t sum_ = 0;
};

}  // namespace imunpack::load

#endif  // IMUNPACK_LOAD_HISTOGRAM_H_
