// Configuration of one IM-Unpack GEMM: bit width, unpacking strategy and the
// per-operand quantization (percentile beta, levels d, granularity).
#ifndef IMUNPACK_KERNELS_CONFIG_H_
#define IMUNPACK_KERNELS_CONFIG_H_

#include <cstdint>
#include <functional>
#include <string>

#include "kernels/status.h"

namespace imunpack {

// Unpacking strategy (paper names in brackets). For an operand seen as an
// outer x inner matrix (A: m x k; B: B^T, n x k):
//   kRow    [UnpackRow]    split outer lines: A grows in m, B in n.
//   kColumn [UnpackColumn] split inner lines: k grows.
//   kBoth   [UnpackBoth]   greedy, the line holding most out-of-range entries.
//   kAuto   search every per-operand combination of the three, take the
//           smallest unpacked work m'·k'·n'.
enum class Strategy { kAuto = 0, kRow = 1, kColumn = 2, kBoth = 3 };

const char* StrategyName(Strategy s);  // "auto", "row", "column", "both"
bool ParseStrategy(const std::string& name, Strategy* out);

// kTensor: one scale for the whole operand. kChannel: one scale per output
// channel, i.e. per row of A and per column of B; exact reassembly survives
// because every output element sees exactly one scale of each operand.
enum class Granularity { kTensor = 0, kChannel = 1 };

const char* GranularityName(Granularity g);  // "tensor", "channel"
bool ParseGranularity(const std::string& name, Granularity* out);

// Round-to-nearest quantization of one float operand (DESIGN 1.1):
//   alpha = max|X|                                   if percentile == 1
//         = kk-th largest |x|, kk = max(1, floor(numel·(1 - percentile)))
//   sigma = 0.5·d / max(alpha, 1e-20)       (computed in double, kept as float)
//   X_int = round_half_to_even(X·sigma)     (float product), no clipping
//           except |X_int| >= 2^31, which is clipped to ±(2^31-1) and counted.
// Smallest alpha used in sigma (an all-zero operand has alpha 0).
inline constexpr float kMinAlpha = 1e-20f;

struct QuantConfig {
  double percentile = 1.0;  // beta in (0, 1]
  int levels = 0;           // d >= 3; 0 means 2^bits - 1
  Granularity granularity = Granularity::kTensor;
  // > 0: use this alpha instead of selecting one (percentile is then
  // ignored); only with kTensor. Lets row blocks of one A, quantized on
  // different calls or servers, share the scale the whole A would get.
  float alpha = 0;
};

struct GemmConfig {
  int bits = 8;  // b in [2, 8]; every unpacked entry lies in [-(2^(b-1)-1), 2^(b-1)-1]
  Strategy strategy = Strategy::kAuto;
  QuantConfig a;  // activations are typically quantized at percentile 0.999
  QuantConfig b;  // weights typically at percentile 1
  // Threads for the passes and oneDNN; 0 keeps the caller's OpenMP setting.
  int threads = 0;
  // Largest inner dimension per int8 GEMM call; 0 derives it from the int32
  // accumulator bound. Tests set it small to exercise the split.
  int64_t max_k_per_call = 0;
  // Inner groups at most this wide are computed inside the reassembly pass
  // instead of by oneDNN; -1 uses the default (32), 0 sends all to oneDNN.
  int64_t fused_max_k = -1;
  // Also run the fp32 GEMM of the same inputs and report the error.
  bool verify = false;
  // Called before each phase; a non-OK status (e.g. CANCELLED or
  // DEADLINE_EXCEEDED from a server) stops the GEMM and is returned as is.
  std::function<Status()> check_continue;
};

// Levels actually used: config value, or 2^bits - 1 when 0.
int EffectiveLevels(const QuantConfig& q, int bits);

// Checks bits, strategy, and each operand's percentile/levels/granularity;
// `operand` names the field in messages ("a" or "b").
Status ValidateBits(int bits);
Status ValidateQuantConfig(const QuantConfig& q, int bits, const char* operand);

}  // namespace imunpack

#endif  // IMUNPACK_KERNELS_CONFIG_H_
