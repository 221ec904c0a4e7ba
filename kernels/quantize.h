// Quantize: round-to-nearest onto an unclipped integer grid (DESIGN 1.1), and
// the split of the integers into digit 0 plus the rare heavy hitters.
//
// The hot path never materializes the int32 matrix: QuantizeSplit scales,
// rounds and writes digit 0 of every entry as int8 in one streaming pass, and
// lists the entries that need more digits (|x| >= s = 2^(b-1)). Those are rare
// by construction of alpha, so everything after this pass touches only them.
#ifndef IMUNPACK_KERNELS_QUANTIZE_H_
#define IMUNPACK_KERNELS_QUANTIZE_H_

#include <cstdint>
#include <vector>

#include "kernels/config.h"
#include "kernels/matrix.h"
#include "kernels/status.h"

namespace imunpack {

// Which GEMM operand a matrix is; it fixes what a "channel" is (a row of A,
// a column of B) and the outer/inner orientation used by unpacking.
enum class Operand { kA, kB };

// Per-operand scales: one value (tensor) or one per channel.
struct Scales {
  std::vector<float> alpha;  // clip point(s) chosen by the percentile
  std::vector<float> sigma;  // X_int = round(X·sigma)
};

// alpha and sigma for x. INVALID_ARGUMENT if x holds NaN or Inf (the message
// names the first such element, e.g. "a[3][7] = nan").
StatusOr<Scales> ComputeScales(MatrixView<float> x, const QuantConfig& q,
                               int bits, Operand which);

struct HeavyEntry {
  int64_t index;  // row-major position in the operand
  int32_t value;  // the full integer, |value| >= 2^(b-1)
};

// An integer operand split into digit 0 (every entry) and the heavy list.
struct SplitOperand {
  int64_t rows = 0;
  int64_t cols = 0;
  Buffer<int8_t> base;             // rows x cols: digit 0 of every entry
  std::vector<HeavyEntry> heavy;   // ascending index
  int64_t clipped = 0;             // entries clipped to ±(2^31-1)
  uint32_t max_abs = 0;            // bound on |X_int|: max heavy, else s-1
  int max_digits = 0;              // most digits of any entry (1 if no heavy)
};

// One pass: X_int = round_half_even(x·sigma), split. `scales` from
// ComputeScales with the same `which`.
void QuantizeSplit(MatrixView<float> x, const Scales& scales, int bits,
                   Operand which, SplitOperand* out);

// Split of an integer matrix (IntGemm's path; no scaling).
void SplitInt(MatrixView<int32_t> x, int bits, SplitOperand* out);

// The int32 quantized matrix itself, for callers that want it (IntGemm
// clients, tests). Same arithmetic as QuantizeSplit.
struct Quantized {
  Matrix<int32_t> values;
  Scales scales;
  int64_t clipped = 0;
};
StatusOr<Quantized> Quantize(MatrixView<float> x, const QuantConfig& q,
                             int bits, Operand which);

}  // namespace imunpack

#endif  // IMUNPACK_KERNELS_QUANTIZE_H_
