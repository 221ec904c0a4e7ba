// The IM-Unpack GEMM entry points: quantize -> unpack -> int8 GEMM ->
// reassemble, with the overhead a researcher needs to judge a configuration.
//
// Validation happens here, once ("an important watershed"): every stage
// below receives plain, checked parameters. Errors are values; nothing in
// this library throws or aborts on bad input.
#ifndef IMUNPACK_KERNELS_PIPELINE_H_
#define IMUNPACK_KERNELS_PIPELINE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/config.h"
#include "kernels/dnnl_matmul.h"
#include "kernels/matrix.h"
#include "kernels/plan.h"
#include "kernels/quantize.h"
#include "kernels/status.h"

namespace imunpack {

// Wall time of each phase, milliseconds.
struct PhaseTimes {
  double select_ms = 0;      // alpha (percentile select) of both operands
  double quantize_ms = 0;    // scale, round, write digit 0, list heavy hitters
  double plan_ms = 0;        // unpack plan (strategy search for AUTO)
  double unpack_ms = 0;      // write the extra int8 pieces
  double gemm_ms = 0;        // oneDNN int8 GEMM calls
  double reassemble_ms = 0;  // exact int64 combination + dequantize
  double total_ms = 0;       // the whole pipeline (excludes verify_ms)
  double verify_ms = 0;      // fp32 GEMM and error, when requested
};

struct Overhead {
  int64_t m = 0, k = 0, n = 0;
  int64_t m_unpacked = 0, k_unpacked = 0, n_unpacked = 0;
  double unpack_ratio = 1.0;  // m'·k'·n' / (m·k·n)
  int bits = 8;
  Strategy strategy = Strategy::kAuto;  // as requested
  Strategy strategy_a = Strategy::kRow;  // as used for A
  Strategy strategy_b = Strategy::kRow;  // as used for B
  int64_t heavy_a = 0, heavy_b = 0;      // entries with |x| >= 2^(b-1)
  int max_digits_a = 1, max_digits_b = 1;
  int64_t clipped_a = 0, clipped_b = 0;  // clipped at ±(2^31-1)
  int gemm_calls = 0;                    // oneDNN int8 matmul calls
  int inner_groups = 1;                  // exponent groups of the inner dim
  int accumulator_bits = 32;             // reassembly width: 32, 64 or 128
  // Per-tensor alpha and sigma (first channel's under channel granularity).
  float alpha_a = 0, alpha_b = 0, sigma_a = 0, sigma_b = 0;
  PhaseTimes times;
  // When verify is set: error of C against oneDNN fp32 on the same inputs.
  bool verified = false;
  double max_abs_error = 0;
  double rel_fro_error = 0;  // ||C - C_fp32||_F / ||C_fp32||_F

  // "A:column,B:row".
  std::string StrategyUsed() const;
};

// A float B operand quantized and split once, for reuse across GEMMs (e.g.
// registered weights). Immutable once built; share it between threads freely.
struct PreparedB {
  int bits = 8;
  QuantConfig quant;
  Scales scales;
  SplitOperand split;               // k x n
  std::vector<HeavyCoord> coords;   // split's heavy list, outer = column
  OperandPlan plan;                 // B's unpacking, fixed for every GEMM
  // split.base reordered for oneDNN once (nullptr: oneDNN uses it as is).
  std::shared_ptr<const PackedInt8Weights> packed;
  double select_ms = 0, quantize_ms = 0;
  int64_t rows() const { return split.rows; }
  int64_t cols() const { return split.cols; }
  // Memory held (int8 pieces, heavy list, scales).
  int64_t bytes() const;
};

// Validates and prepares B (k x n) at `bits` with `quant`; its unpack plan
// is chosen now with `strategy` (kAuto: the smallest unpacked B) and every
// GEMM with it plans only A.
StatusOr<std::shared_ptr<const PreparedB>> PrepareB(MatrixView<float> b,
                                                    const QuantConfig& quant, int bits,
                                                    Strategy strategy = Strategy::kAuto);

// A quantized and split ahead of the GEMM, e.g. by a client that sends its
// int8 digits instead of floats (a quarter of the bytes). FloatGemm on it is
// bit-identical to FloatGemm on the float A with the same config.
struct QuantizedA {
  int bits = 8;
  Scales scales;       // one alpha/sigma for the tensor, or one per row
  SplitOperand split;  // m x k
};

// A's select, quantize and split exactly as FloatGemm does them.
StatusOr<QuantizedA> QuantizeA(MatrixView<float> a, const QuantConfig& quant, int bits);

// Checks a QuantizedA assembled from outside (bits, scales, split's rows,
// cols, base and heavy set) and derives the rest of the split (max_abs,
// max_digits, clipped). INVALID_ARGUMENT names `field` and the first bad
// value: a digit out of [-(2^(b-1)-1), 2^(b-1)-1], a heavy position out of
// range or not ascending, a heavy value that fits one digit or is INT32_MIN,
// a digit 0 that is not its heavy value's, a scale count other than 1 or
// rows, a sigma that is not finite and positive.
Status FinishQuantizedA(QuantizedA* a, const std::string& field);

// C ≈ A·B for float A (m x k) and B (k x n) through b-bit integer GEMMs.
// The integer product of the quantized operands is exact; the only error is
// quantization's. Equals Dequantize(IntGemm(Quantize(A), Quantize(B))).
StatusOr<Matrix<float>> FloatGemm(MatrixView<float> a, MatrixView<float> b,
                                  const GemmConfig& config,
                                  Overhead* overhead = nullptr);

// The same with a prepared B; config.bits and config.b are ignored (B keeps
// those it was prepared with, and its plan), config.strategy applies to A,
// and B's select/quantize times are not charged.
StatusOr<Matrix<float>> FloatGemm(MatrixView<float> a, const PreparedB& b,
                                  const GemmConfig& config,
                                  Overhead* overhead = nullptr);

// The same with A already quantized (QuantizeA or FinishQuantizedA). A's bits
// must be the GEMM's (config.bits; a prepared B's own), and config.verify is
// refused: there is no float A to compare against.
StatusOr<Matrix<float>> FloatGemm(const QuantizedA& a, MatrixView<float> b,
                                  const GemmConfig& config, Overhead* overhead = nullptr);
// What those refuse: a's bits other than gemm_bits, and verify.
Status CheckQuantizedA(const QuantizedA& a, int gemm_bits, bool verify);
StatusOr<Matrix<float>> FloatGemm(const QuantizedA& a, const PreparedB& b,
                                  const GemmConfig& config, Overhead* overhead = nullptr);

// The exact int64 product of int32 A and B through b-bit GEMMs. Uses
// config.bits, strategy, threads and max_k_per_call. OUT_OF_RANGE if an
// element of the product does not fit in int64.
StatusOr<Matrix<int64_t>> IntGemm(MatrixView<int32_t> a, MatrixView<int32_t> b,
                                  const GemmConfig& config,
                                  Overhead* overhead = nullptr);

// Checks shapes (positive, a.cols == b.rows, each dim < 2^31) and config.
Status ValidateGemm(int64_t a_rows, int64_t a_cols, int64_t b_rows,
                    int64_t b_cols, const GemmConfig& config);

// Error of x against ref over n values: max |x - ref| and
// ||x - ref||_F / ||ref||_F (the plain norm when ref is all zero).
struct ErrorStats {
  double max_abs = 0;
  double rel_fro = 0;
};
ErrorStats CompareToReference(const float* x, const float* ref, int64_t n);

// oneDNN fp32 GEMM (the reference the error is measured against).
StatusOr<Matrix<float>> Fp32Gemm(MatrixView<float> a, MatrixView<float> b);

}  // namespace imunpack

#endif  // IMUNPACK_KERNELS_PIPELINE_H_
