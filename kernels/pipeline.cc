#include "kernels/pipeline.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/digits.h"
#include "kernels/dnnl_matmul.h"
#include "kernels/int8_gemm.h"
#include "kernels/plan.h"
#include "kernels/quantize.h"
#include "kernels/reassemble.h"
#include "kernels/timer.h"
#include "kernels/unpack.h"

namespace imunpack {
namespace {

// Sets the calling thread's OpenMP width for the duration of a call.
class ThreadScope {
 public:
  explicit ThreadScope(int threads) : prev_(omp_get_max_threads()) {
    if (threads > 0) omp_set_num_threads(threads);
  }
  ~ThreadScope() { omp_set_num_threads(prev_); }

 private:
  int prev_;
};

// The stages shared by FloatGemm and IntGemm after both operands are split:
// plan, unpack, int8 GEMMs. Fills the plan-related fields of `ov`.
struct Core {
  UnpackedGemm unpacked;
  Products products;
  AccumulatorWidth width = AccumulatorWidth::k64;
};

Status Continue(const GemmConfig& cfg) {
  return cfg.check_continue ? cfg.check_continue() : Status::Ok();
}

// b_coords: B's heavy list in outer/inner coordinates, when already known;
// b_plan: B's fixed unpack plan, if any (then only A is planned).
Status RunCore(const SplitOperand& a, const SplitOperand& b,
               const std::vector<HeavyCoord>* b_coords, const OperandPlan* b_plan,
               const PackedInt8Weights* b_packed, const GemmConfig& cfg, Stopwatch* sw,
               Overhead* ov, Core* core) {
  const int64_t m = a.rows, k = a.cols, n = b.cols;
  IMUNPACK_RETURN_IF_ERROR(Continue(cfg));
  std::vector<HeavyCoord> ah = ToCoords(a, Operand::kA, cfg.bits);
  std::vector<HeavyCoord> own_bh;
  if (b_coords == nullptr) {
    own_bh = ToCoords(b, Operand::kB, cfg.bits);
    b_coords = &own_bh;
  }
  const std::vector<HeavyCoord>& bh = *b_coords;
  GemmPlan plan = b_plan ? PlanGemmWithB(ah, *b_plan, m, k, n, cfg.strategy)
                         : PlanGemm(ah, bh, m, k, n, cfg.strategy);
  ov->times.plan_ms = sw->Lap();

  IMUNPACK_RETURN_IF_ERROR(Continue(cfg));
  Unpack(a, ah, b, bh, plan, cfg.bits, &core->unpacked);
  if (b_packed && b_packed->source() == core->unpacked.b_base) {
    core->unpacked.b_packed = b_packed;
  }
  ov->times.unpack_ms = sw->Lap();

  IMUNPACK_RETURN_IF_ERROR(Continue(cfg));
  IMUNPACK_RETURN_IF_ERROR(RunInt8Gemms(core->unpacked, cfg.max_k_per_call,
                                        cfg.fused_max_k, &core->products));
  ov->times.gemm_ms = sw->Lap();

  core->width = ChooseAccumulator(a.max_abs, b.max_abs, k);
  ov->m = m;
  ov->k = k;
  ov->n = n;
  ov->m_unpacked = plan.m_unpacked;
  ov->k_unpacked = plan.k_unpacked;
  ov->n_unpacked = plan.n_unpacked;
  ov->unpack_ratio = plan.unpack_ratio();
  ov->bits = cfg.bits;
  ov->strategy = cfg.strategy;
  ov->strategy_a = plan.a.strategy;
  ov->strategy_b = plan.b.strategy;
  ov->heavy_a = static_cast<int64_t>(a.heavy.size());
  ov->heavy_b = static_cast<int64_t>(b.heavy.size());
  ov->max_digits_a = a.max_digits;
  ov->max_digits_b = b.max_digits;
  ov->clipped_a = a.clipped;
  ov->clipped_b = b.clipped;
  ov->gemm_calls = static_cast<int>(core->products.parts.size());
  ov->inner_groups = 1 + static_cast<int>(core->unpacked.groups.size());
  ov->accumulator_bits = static_cast<int>(core->width);
  return Continue(cfg);
}

void FillScales(const Scales& a, const Scales& b, Overhead* ov) {
  ov->alpha_a = a.alpha[0];
  ov->alpha_b = b.alpha[0];
  ov->sigma_a = a.sigma[0];
  ov->sigma_b = b.sigma[0];
}

std::vector<double> Inverses(const std::vector<float>& sigma) {
  std::vector<double> inv(sigma.size());
  for (size_t i = 0; i < sigma.size(); ++i) inv[i] = 1.0 / static_cast<double>(sigma[i]);
  return inv;
}

void Verify(MatrixView<float> a, MatrixView<float> b, const Matrix<float>& c,
            Overhead* ov) {
  Stopwatch sw;
  StatusOr<Matrix<float>> ref = Fp32Gemm(a, b);
  if (!ref.ok()) return;
  const ErrorStats e = CompareToReference(c.data(), ref->data(), c.size());
  ov->verified = true;
  ov->max_abs_error = e.max_abs;
  ov->rel_fro_error = e.rel_fro;
  ov->times.verify_ms = sw.Lap();
}

}  // namespace

ErrorStats CompareToReference(const float* x, const float* ref, int64_t n) {
  double max_abs = 0, diff2 = 0, ref2 = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - ref[i];
    max_abs = std::max(max_abs, std::fabs(d));
    diff2 += d * d;
    ref2 += static_cast<double>(ref[i]) * ref[i];
  }
  return {max_abs, ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2)};
}

std::string Overhead::StrategyUsed() const {
  return std::string("A:") + StrategyName(strategy_a) + ",B:" + StrategyName(strategy_b);
}

Status ValidateGemm(int64_t a_rows, int64_t a_cols, int64_t b_rows,
                    int64_t b_cols, const GemmConfig& config) {
  const struct {
    const char* name;
    int64_t v;
  } dims[] = {{"a.rows", a_rows}, {"a.cols", a_cols}, {"b.rows", b_rows}, {"b.cols", b_cols}};
  for (const auto& d : dims) {
    if (d.v <= 0) {
      return InvalidArgument(std::string(d.name) + " = " + std::to_string(d.v) +
                             ": must be positive");
    }
    if (d.v > std::numeric_limits<int32_t>::max()) {
      return InvalidArgument(std::string(d.name) + " = " + std::to_string(d.v) +
                             ": must be below 2^31");
    }
  }
  if (a_cols != b_rows) {
    return InvalidArgument("shape mismatch: a is " + std::to_string(a_rows) + "x" +
                           std::to_string(a_cols) + ", b is " + std::to_string(b_rows) +
                           "x" + std::to_string(b_cols) + " (a.cols must equal b.rows)");
  }
  IMUNPACK_RETURN_IF_ERROR(ValidateBits(config.bits));
  if (config.strategy != Strategy::kAuto && config.strategy != Strategy::kRow &&
      config.strategy != Strategy::kColumn && config.strategy != Strategy::kBoth) {
    return InvalidArgument("strategy = " +
                           std::to_string(static_cast<int>(config.strategy)) +
                           ": unknown value");
  }
  if (config.threads < 0) {
    return InvalidArgument("threads = " + std::to_string(config.threads) +
                           ": must be >= 0");
  }
  return Status::Ok();
}

int64_t PreparedB::bytes() const {
  return static_cast<int64_t>(split.base.size()) +
         static_cast<int64_t>((plan.outer_extra.size() + plan.inner_extra.size()) *
                              sizeof(int32_t)) +
         static_cast<int64_t>(split.heavy.size() * sizeof(HeavyEntry)) +
         static_cast<int64_t>(coords.size() * sizeof(HeavyCoord)) +
         static_cast<int64_t>((scales.alpha.size() + scales.sigma.size()) * sizeof(float)) +
         static_cast<int64_t>(packed ? packed->bytes() : 0);
}

namespace {

// Quantizes and splits B; plans it alone only when `plan` is set (registered
// B). Inline B is planned together with A, so a standalone plan is waste.
StatusOr<std::shared_ptr<PreparedB>> PrepareBImpl(MatrixView<float> b,
                                                  const QuantConfig& quant, int bits,
                                                  const Strategy* plan) {
  IMUNPACK_RETURN_IF_ERROR(ValidateBits(bits));
  IMUNPACK_RETURN_IF_ERROR(ValidateQuantConfig(quant, bits, "b"));
  if (b.rows <= 0 || b.cols <= 0) {
    return InvalidArgument("b is " + std::to_string(b.rows) + "x" +
                           std::to_string(b.cols) + ": dims must be positive");
  }
  auto p = std::make_shared<PreparedB>();
  p->bits = bits;
  p->quant = quant;
  Stopwatch sw;
  StatusOr<Scales> scales = ComputeScales(b, quant, bits, Operand::kB);
  if (!scales.ok()) return scales.status();
  p->scales = std::move(scales.value());
  p->select_ms = sw.Lap();
  QuantizeSplit(b, p->scales, bits, Operand::kB, &p->split);
  p->coords = ToCoords(p->split, Operand::kB, bits);
  if (plan) {
    // Registered: planned alone, and packed for oneDNN once for every GEMM.
    p->plan = PlanOperandAlone(p->coords, b.cols, b.rows, *plan);
    p->packed = PackedInt8Weights::Pack(p->split.base.data(), b.rows, b.cols);
  }
  p->quantize_ms = sw.Lap();
  return p;
}

}  // namespace

StatusOr<std::shared_ptr<const PreparedB>> PrepareB(MatrixView<float> b,
                                                    const QuantConfig& quant, int bits,
                                                    Strategy strategy) {
  StatusOr<std::shared_ptr<PreparedB>> p = PrepareBImpl(b, quant, bits, &strategy);
  if (!p.ok()) return p.status();
  return std::shared_ptr<const PreparedB>(std::move(p.value()));
}

namespace {

// The float pipeline after B is prepared: A's select and quantize, the core,
// the dequantizing reassembly.
// fixed_b_plan: use B's own plan (registered B) rather than plan both.
// The float pipeline once A is quantized and B prepared: the core and the
// dequantizing reassembly.
StatusOr<Matrix<float>> QuantizedGemmImpl(const Scales& sa, const SplitOperand& qa,
                                          const PreparedB& b, bool fixed_b_plan,
                                          const GemmConfig& cfg, Stopwatch* sw, Overhead* ov) {
  Core core;
  IMUNPACK_RETURN_IF_ERROR(RunCore(qa, b.split, &b.coords, fixed_b_plan ? &b.plan : nullptr,
                                   fixed_b_plan ? b.packed.get() : nullptr,
                                   cfg, sw, ov, &core));
  Matrix<float> c = ReassembleFloat(core.unpacked, core.products, core.width,
                                    Inverses(sa.sigma), Inverses(b.scales.sigma));
  ov->times.reassemble_ms = sw->Lap();
  ov->times.total_ms = sw->Total();
  FillScales(sa, b.scales, ov);
  return c;
}

StatusOr<Matrix<float>> FloatGemmImpl(MatrixView<float> a, MatrixView<float> b_for_verify,
                                      const PreparedB& b, bool fixed_b_plan, GemmConfig cfg,
                                      Stopwatch* sw, Overhead* ov) {
  cfg.bits = b.bits;
  IMUNPACK_RETURN_IF_ERROR(Continue(cfg));
  StatusOr<Scales> sa = ComputeScales(a, cfg.a, cfg.bits, Operand::kA);
  if (!sa.ok()) return sa.status();
  ov->times.select_ms += sw->Lap();

  IMUNPACK_RETURN_IF_ERROR(Continue(cfg));
  SplitOperand qa;
  QuantizeSplit(a, *sa, cfg.bits, Operand::kA, &qa);
  ov->times.quantize_ms += sw->Lap();

  StatusOr<Matrix<float>> c = QuantizedGemmImpl(*sa, qa, b, fixed_b_plan, cfg, sw, ov);
  if (c.ok() && cfg.verify && b_for_verify.data != nullptr) Verify(a, b_for_verify, *c, ov);
  return c;
}

}  // namespace

Status CheckQuantizedA(const QuantizedA& a, int gemm_bits, bool verify) {
  if (a.bits != gemm_bits) {
    return InvalidArgument("a_quantized.bits = " + std::to_string(a.bits) +
                           ": A was quantized for another bit width than the GEMM's " +
                           std::to_string(gemm_bits));
  }
  if (verify) {
    return InvalidArgument("verify: needs A as floats (it compares against an fp32 GEMM)");
  }
  return Status::Ok();
}

namespace {

// Inline B quantized and split for one GEMM, its times charged to `ov`.
StatusOr<std::shared_ptr<PreparedB>> PrepareInlineB(MatrixView<float> b, const GemmConfig& cfg,
                                                    Stopwatch* sw, Overhead* ov) {
  IMUNPACK_RETURN_IF_ERROR(Continue(cfg));
  StatusOr<std::shared_ptr<PreparedB>> pb = PrepareBImpl(b, cfg.b, cfg.bits, nullptr);
  if (!pb.ok()) return pb.status();
  ov->times.select_ms = (*pb)->select_ms;
  ov->times.quantize_ms = (*pb)->quantize_ms;
  sw->Lap();
  return pb;
}

}  // namespace

StatusOr<Matrix<float>> FloatGemm(MatrixView<float> a, MatrixView<float> b,
                                  const GemmConfig& cfg, Overhead* overhead) {
  IMUNPACK_RETURN_IF_ERROR(ValidateGemm(a.rows, a.cols, b.rows, b.cols, cfg));
  IMUNPACK_RETURN_IF_ERROR(ValidateQuantConfig(cfg.a, cfg.bits, "a"));
  IMUNPACK_RETURN_IF_ERROR(ValidateQuantConfig(cfg.b, cfg.bits, "b"));
  Overhead local;
  Overhead* ov = overhead ? overhead : &local;
  *ov = Overhead();
  ThreadScope threads(cfg.threads);
  Stopwatch sw;
  StatusOr<std::shared_ptr<PreparedB>> pb = PrepareInlineB(b, cfg, &sw, ov);
  if (!pb.ok()) return pb.status();
  return FloatGemmImpl(a, b, **pb, /*fixed_b_plan=*/false, cfg, &sw, ov);
}

StatusOr<Matrix<float>> FloatGemm(MatrixView<float> a, const PreparedB& b,
                                  const GemmConfig& cfg, Overhead* overhead) {
  GemmConfig c = cfg;
  c.bits = b.bits;
  IMUNPACK_RETURN_IF_ERROR(ValidateGemm(a.rows, a.cols, b.rows(), b.cols(), c));
  IMUNPACK_RETURN_IF_ERROR(ValidateQuantConfig(cfg.a, c.bits, "a"));
  Overhead local;
  Overhead* ov = overhead ? overhead : &local;
  *ov = Overhead();
  ThreadScope threads(cfg.threads);
  Stopwatch sw;
  // No float B to verify against: verification needs the inline form.
  return FloatGemmImpl(a, MatrixView<float>{}, b, /*fixed_b_plan=*/true, c, &sw, ov);
}

StatusOr<QuantizedA> QuantizeA(MatrixView<float> a, const QuantConfig& quant, int bits) {
  IMUNPACK_RETURN_IF_ERROR(ValidateBits(bits));
  IMUNPACK_RETURN_IF_ERROR(ValidateQuantConfig(quant, bits, "a"));
  if (a.rows <= 0 || a.cols <= 0) {
    return InvalidArgument("a is " + std::to_string(a.rows) + "x" + std::to_string(a.cols) +
                           ": dims must be positive");
  }
  QuantizedA q;
  q.bits = bits;
  StatusOr<Scales> scales = ComputeScales(a, quant, bits, Operand::kA);
  if (!scales.ok()) return scales.status();
  q.scales = std::move(scales.value());
  QuantizeSplit(a, q.scales, bits, Operand::kA, &q.split);
  return q;
}

Status FinishQuantizedA(QuantizedA* a, const std::string& field) {
  IMUNPACK_RETURN_IF_ERROR(ValidateBits(a->bits));
  SplitOperand& s = a->split;
  const int64_t n = s.rows * s.cols;
  if (s.rows <= 0 || s.cols <= 0 || static_cast<int64_t>(s.base.size()) != n) {
    return InvalidArgument(field + ": " + std::to_string(s.rows) + "x" + std::to_string(s.cols) +
                           " with " + std::to_string(s.base.size()) + " digits");
  }
  const size_t count = a->scales.sigma.size();
  if ((count != 1 && count != static_cast<size_t>(s.rows)) || a->scales.alpha.size() != count) {
    return InvalidArgument(field + ": " + std::to_string(count) + " sigma and " +
                           std::to_string(a->scales.alpha.size()) +
                           " alpha values; need 1 (per tensor) or rows = " +
                           std::to_string(s.rows) + " (per row) of each");
  }
  for (size_t i = 0; i < count; ++i) {
    const float sg = a->scales.sigma[i], al = a->scales.alpha[i];
    if (!std::isfinite(sg) || sg <= 0 || !std::isfinite(al) || al < 0) {
      return InvalidArgument(field + ".sigma[" + std::to_string(i) + "] = " + std::to_string(sg) +
                             ", alpha = " + std::to_string(al) +
                             ": sigma must be finite and > 0, alpha finite and >= 0");
    }
  }
  const int dmax = (1 << (a->bits - 1)) - 1;
  const int8_t* d = s.base.data();
  int bad = 0;
  for (int64_t i = 0; i < n; ++i) bad |= (d[i] > dmax) | (d[i] < -dmax);
  if (bad) {
    const int64_t i = std::find_if(d, d + n, [&](int8_t v) { return v > dmax || v < -dmax; }) - d;
    return InvalidArgument(field + ".digits[" + std::to_string(i) + "] = " +
                           std::to_string(d[i]) + ": outside [-" + std::to_string(dmax) + ", " +
                           std::to_string(dmax) + "] for " + std::to_string(a->bits) + " bits");
  }
  uint32_t max_abs = static_cast<uint32_t>(dmax);
  s.clipped = 0;
  for (size_t h = 0; h < s.heavy.size(); ++h) {
    const HeavyEntry& e = s.heavy[h];
    auto at = [&] {
      return field + ".heavy[" + std::to_string(h) + "] (position " + std::to_string(e.index) +
             ", value " + std::to_string(e.value) + ")";
    };
    if (e.index < 0 || e.index >= n || (h > 0 && e.index <= s.heavy[h - 1].index)) {
      return InvalidArgument(at() + ": positions must be ascending and below rows·cols = " +
                             std::to_string(n));
    }
    const uint32_t mag = Magnitude(e.value);
    if (e.value == std::numeric_limits<int32_t>::min() || mag <= static_cast<uint32_t>(dmax)) {
      return InvalidArgument(at() + ": a heavy value needs |value| in [" +
                             std::to_string(dmax + 1) + ", 2^31-1]");
    }
    if (d[e.index] != Digit(mag, e.value < 0, 0, a->bits)) {
      return InvalidArgument(at() + ": digits[" + std::to_string(e.index) + "] = " +
                             std::to_string(d[e.index]) + " is not the value's digit 0");
    }
    max_abs = std::max(max_abs, mag);
    s.clipped += mag == static_cast<uint32_t>(std::numeric_limits<int32_t>::max());
  }
  s.max_abs = max_abs;
  s.max_digits = std::max(1, NumDigits(max_abs, a->bits));
  return Status::Ok();
}

StatusOr<Matrix<float>> FloatGemm(const QuantizedA& a, MatrixView<float> b,
                                  const GemmConfig& cfg, Overhead* overhead) {
  IMUNPACK_RETURN_IF_ERROR(ValidateGemm(a.split.rows, a.split.cols, b.rows, b.cols, cfg));
  IMUNPACK_RETURN_IF_ERROR(ValidateQuantConfig(cfg.b, cfg.bits, "b"));
  IMUNPACK_RETURN_IF_ERROR(CheckQuantizedA(a, cfg.bits, cfg.verify));
  Overhead local;
  Overhead* ov = overhead ? overhead : &local;
  *ov = Overhead();
  ThreadScope threads(cfg.threads);
  Stopwatch sw;
  StatusOr<std::shared_ptr<PreparedB>> pb = PrepareInlineB(b, cfg, &sw, ov);
  if (!pb.ok()) return pb.status();
  return QuantizedGemmImpl(a.scales, a.split, **pb, /*fixed_b_plan=*/false, cfg, &sw, ov);
}

StatusOr<Matrix<float>> FloatGemm(const QuantizedA& a, const PreparedB& b,
                                  const GemmConfig& cfg, Overhead* overhead) {
  GemmConfig c = cfg;
  c.bits = b.bits;
  IMUNPACK_RETURN_IF_ERROR(ValidateGemm(a.split.rows, a.split.cols, b.rows(), b.cols(), c));
  IMUNPACK_RETURN_IF_ERROR(CheckQuantizedA(a, b.bits, cfg.verify));
  Overhead local;
  Overhead* ov = overhead ? overhead : &local;
  *ov = Overhead();
  ThreadScope threads(cfg.threads);
  Stopwatch sw;
  IMUNPACK_RETURN_IF_ERROR(Continue(c));
  return QuantizedGemmImpl(a.scales, a.split, b, /*fixed_b_plan=*/true, c, &sw, ov);
}

StatusOr<Matrix<int64_t>> IntGemm(MatrixView<int32_t> a, MatrixView<int32_t> b,
                                  const GemmConfig& cfg, Overhead* overhead) {
  IMUNPACK_RETURN_IF_ERROR(ValidateGemm(a.rows, a.cols, b.rows, b.cols, cfg));
  Overhead local;
  Overhead* ov = overhead ? overhead : &local;
  *ov = Overhead();
  ThreadScope threads(cfg.threads);
  Stopwatch sw;

  SplitOperand qa, qb;
  SplitInt(a, cfg.bits, &qa);
  SplitInt(b, cfg.bits, &qb);
  ov->times.quantize_ms = sw.Lap();

  Core core;
  IMUNPACK_RETURN_IF_ERROR(RunCore(qa, qb, nullptr, nullptr, nullptr, cfg, &sw, ov, &core));
  StatusOr<Matrix<int64_t>> c = ReassembleInt(core.unpacked, core.products, core.width);
  ov->times.reassemble_ms = sw.Lap();
  ov->times.total_ms = sw.Total();
  return c;
}

StatusOr<Matrix<float>> Fp32Gemm(MatrixView<float> a, MatrixView<float> b) {
  if (a.cols != b.rows || a.rows <= 0 || a.cols <= 0 || b.cols <= 0) {
    return InvalidArgument("Fp32Gemm: bad shapes");
  }
  Matrix<float> c(a.rows, b.cols);
  IMUNPACK_RETURN_IF_ERROR(DnnlMatmul(MatmulType::kF32, a.data, b.data, c.data(),
                                      a.rows, a.cols, b.cols, a.cols, b.cols,
                                      b.cols));
  return c;
}

}  // namespace imunpack
