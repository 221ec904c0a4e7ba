// Exact k-th largest |x| of a float array: the quantization clip point alpha.
//
// Must be exact (alpha fixes every quantized value) and cheap (it is on the
// hot path of every request). Strategy:
//   kk == 1      one vectorized max pass;
//   small n      copy the magnitudes and nth_element;
//   otherwise    sample-then-filter: a strided sample gives a threshold that
//                a little more than kk elements exceed, one pass collects
//                them, nth_element over the few candidates. If the sample
//                misjudged (too few or too many candidates) it falls back to
//                a two-pass radix select on the float bits. Always exact.
// Magnitudes of finite floats compare like their bit patterns with the sign
// bit cleared, which is what both paths rely on.
#ifndef IMUNPACK_KERNELS_SELECT_H_
#define IMUNPACK_KERNELS_SELECT_H_

#include <cstdint>

namespace imunpack {

struct AbsRank {
  float kth = 0;        // the kk-th largest |x|; meaningless unless finite
  bool finite = true;   // false when x holds a NaN or an infinity
};

// The kk-th largest of |x[0..n)|, 1 <= kk <= n. Detecting non-finite input
// comes free with every path (NaN and Inf have the largest magnitude bits).
AbsRank KthLargestAbs(const float* x, int64_t n, int64_t kk);

// Two-pass radix select alone (exposed for tests and benchmarks).
AbsRank KthLargestAbsRadix(const float* x, int64_t n, int64_t kk);

// kk for a percentile: max(1, floor(n·(1 - percentile))), computed in double.
int64_t PercentileRank(int64_t n, double percentile);

}  // namespace imunpack

#endif  // IMUNPACK_KERNELS_SELECT_H_
