#include "common/workload.h"

#include <algorithm>
#include <random>
#include <vector>

namespace imunpack {

bool ParseDistribution(const std::string& name, Distribution* out) {
  for (Distribution d : {Distribution::kGaussian, Distribution::kStudentT,
                         Distribution::kOutlierChannels}) {
    if (name == DistributionName(d)) {
      *out = d;
      return true;
    }
  }
  return false;
}

const char* DistributionName(Distribution d) {
  switch (d) {
    case Distribution::kGaussian:
      return "gaussian";
    case Distribution::kStudentT:
      return "student-t";
    case Distribution::kOutlierChannels:
      return "outlier-channels";
  }
  return "unknown";
}

Matrix<float> Generate(Distribution dist, int64_t rows, int64_t cols,
                       uint64_t seed, Operand which) {
  Matrix<float> m(rows, cols);
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + (which == Operand::kA ? 1 : 2));
  float* d = m.data();
  if (dist == Distribution::kStudentT) {
    std::student_t_distribution<float> t(3.0f);
    for (int64_t i = 0; i < m.size(); ++i) d[i] = t(rng);
    return m;
  }
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (int64_t i = 0; i < m.size(); ++i) d[i] = g(rng);
  if (dist == Distribution::kOutlierChannels && which == Operand::kA) {
    // Outlier feature dimensions as seen in transformer activations: a few
    // channels carry a large magnitude of a fixed sign on every token.
    const int64_t count = std::max<int64_t>(1, cols / 200);
    std::uniform_int_distribution<int64_t> pick(0, cols - 1);
    std::uniform_real_distribution<float> offset(10.0f, 40.0f);
    for (int64_t c = 0; c < count; ++c) {
      const int64_t j = pick(rng);
      const float o = (rng() & 1) ? offset(rng) : -offset(rng);
      for (int64_t i = 0; i < rows; ++i) d[i * cols + j] += o;
    }
  }
  return m;
}

}  // namespace imunpack
