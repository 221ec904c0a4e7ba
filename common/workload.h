// Synthetic GEMM operands with the value distributions that matter for
// IM-Unpack: light tails (gaussian), heavy tails (Student-t, 3 degrees of
// freedom), and activations with a few outlier channels, the pattern that
// real transformer layers show and that makes heavy hitters cluster in a few
// columns of A.
#ifndef IMUNPACK_COMMON_WORKLOAD_H_
#define IMUNPACK_COMMON_WORKLOAD_H_

#include <cstdint>
#include <string>

#include "kernels/matrix.h"
#include "kernels/quantize.h"

namespace imunpack {

enum class Distribution { kGaussian, kStudentT, kOutlierChannels };

bool ParseDistribution(const std::string& name, Distribution* out);
const char* DistributionName(Distribution d);

// rows x cols, deterministic in seed. For kOutlierChannels, operand A gets
// ~0.5% of its columns (at least one) offset by ±10-40 (a fixed sign per
// channel, i.e. 10-40 standard deviations); B stays gaussian.
Matrix<float> Generate(Distribution dist, int64_t rows, int64_t cols,
                       uint64_t seed, Operand which);

}  // namespace imunpack

#endif  // IMUNPACK_COMMON_WORKLOAD_H_
