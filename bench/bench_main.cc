// imunpack-bench: the IM-Unpack pipeline against oneDNN fp32, bf16 and raw
// int8 on the same matrices, in one process, side by side.
//
// Each repetition runs all four contenders back to back (so machine noise
// hits them alike); the report gives medians after warm-up. "int8_raw" is the
// oneDNN s8 GEMM of the original-size quantized matrices clipped to int8: the
// floor any int8 method pays, and a wrong answer whenever heavy hitters exist
// (its error is reported too). The pipeline's result is checked bit for bit
// on sampled elements against an exact int64 dot product of the quantized
// operands, dequantized by the same formula.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "common/npy.h"
#include "common/workload.h"
#include "kernels/dnnl_matmul.h"
#include "kernels/pipeline.h"
#include "kernels/quantize.h"
#include "kernels/timer.h"

namespace imunpack {
namespace {

struct Options {
  std::string a_path, b_path;
  int64_t m = 2048, k = 2048, n = 2048;
  std::string dist = "outlier-channels";
  uint64_t seed = 1;
  int bits = 8;
  double percentile = -1, percentile_a = 0.999, percentile_b = 1.0;
  int levels = 0, levels_a = -1, levels_b = -1;
  std::string granularity = "tensor";
  std::string strategy = "auto";
  int threads = 0;
  int reps = 5;
  int warmup = 1;
  int check_samples = 256;
  int64_t fused_max_k = -1;
  bool json = false;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

uint16_t ToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

int Run(const Options& o) {
  Distribution dist;
  if (!ParseDistribution(o.dist, &dist)) {
    std::cerr << "error: --dist " << o.dist << ": expected gaussian, student-t or outlier-channels\n";
    return 2;
  }
  GemmConfig cfg;
  cfg.bits = o.bits;
  if (!ParseStrategy(o.strategy, &cfg.strategy)) {
    std::cerr << "error: --strategy " << o.strategy << ": expected auto, row, column or both\n";
    return 2;
  }
  Granularity gran;
  if (!ParseGranularity(o.granularity, &gran)) {
    std::cerr << "error: --granularity " << o.granularity << ": expected tensor or channel\n";
    return 2;
  }
  cfg.a = {o.percentile >= 0 ? o.percentile : o.percentile_a,
           o.levels_a >= 0 ? o.levels_a : o.levels, gran};
  cfg.b = {o.percentile >= 0 ? o.percentile : o.percentile_b,
           o.levels_b >= 0 ? o.levels_b : o.levels, gran};
  cfg.fused_max_k = o.fused_max_k;
  if (o.threads > 0) omp_set_num_threads(o.threads);
  const int threads = omp_get_max_threads();

  Matrix<float> a, b;
  if (!o.a_path.empty() || !o.b_path.empty()) {
    if (o.a_path.empty() || o.b_path.empty()) {
      std::cerr << "error: --a and --b go together\n";
      return 2;
    }
    StatusOr<Matrix<float>> ra = ReadNpyFloat(o.a_path);
    StatusOr<Matrix<float>> rb = ReadNpyFloat(o.b_path);
    if (!ra.ok() || !rb.ok()) {
      std::cerr << "error: " << (!ra.ok() ? ra.status() : rb.status()).ToString() << "\n";
      return 2;
    }
    a = std::move(ra.value());
    b = std::move(rb.value());
  } else {
    a = Generate(dist, o.m, o.k, o.seed, Operand::kA);
    b = Generate(dist, o.k, o.n, o.seed, Operand::kB);
  }
  const int64_t m = a.rows(), k = a.cols(), n = b.cols();
  Status valid = ValidateGemm(m, k, b.rows(), n, cfg);
  if (!valid.ok()) {
    std::cerr << "error: " << valid.ToString() << "\n";
    return 2;
  }

  // Inputs of the baselines, prepared outside the timed region.
  std::vector<uint16_t> a16(a.size()), b16(b.size());
  for (int64_t i = 0; i < a.size(); ++i) a16[i] = ToBf16(a.data()[i]);
  for (int64_t i = 0; i < b.size(); ++i) b16[i] = ToBf16(b.data()[i]);
  StatusOr<Quantized> qa = Quantize(a, cfg.a, cfg.bits, Operand::kA);
  StatusOr<Quantized> qb = Quantize(b, cfg.b, cfg.bits, Operand::kB);
  if (!qa.ok() || !qb.ok()) {
    std::cerr << "error: " << (!qa.ok() ? qa.status() : qb.status()).ToString() << "\n";
    return 2;
  }
  std::vector<int8_t> a8(a.size()), b8(b.size());
  auto clip8 = [](int32_t v) { return static_cast<int8_t>(std::clamp(v, -127, 127)); };
  for (int64_t i = 0; i < a.size(); ++i) a8[i] = clip8(qa->values.data()[i]);
  for (int64_t i = 0; i < b.size(); ++i) b8[i] = clip8(qb->values.data()[i]);

  Matrix<float> c32(m, n), c16(m, n);
  std::vector<int32_t> c8(m * n);
  Matrix<float> c;
  Overhead ov;
  std::vector<double> t32, t16, t8, tp, tsel, tq, tpl, tun, tg, tre;
  for (int rep = 0; rep < o.warmup + o.reps; ++rep) {
    Stopwatch sw;
    Status s1 = DnnlMatmul(MatmulType::kF32, a.data(), b.data(), c32.data(), m, k, n, k, n, n);
    double ms32 = sw.Lap();
    Status s2 = DnnlMatmul(MatmulType::kBF16, a16.data(), b16.data(), c16.data(), m, k, n, k, n, n);
    double ms16 = sw.Lap();
    Status s3 = DnnlMatmul(MatmulType::kS8S8S32, a8.data(), b8.data(), c8.data(), m, k, n, k, n, n);
    double ms8 = sw.Lap();
    StatusOr<Matrix<float>> r = FloatGemm(a, b, cfg, &ov);
    if (!s1.ok() || !s2.ok() || !s3.ok() || !r.ok()) {
      std::cerr << "error: " << (!r.ok() ? r.status() : !s1.ok() ? s1 : !s2.ok() ? s2 : s3).ToString() << "\n";
      return 1;
    }
    c = std::move(r.value());
    if (rep < o.warmup) continue;
    t32.push_back(ms32);
    t16.push_back(ms16);
    t8.push_back(ms8);
    tp.push_back(ov.times.total_ms);
    tsel.push_back(ov.times.select_ms);
    tq.push_back(ov.times.quantize_ms);
    tpl.push_back(ov.times.plan_ms);
    tun.push_back(ov.times.unpack_ms);
    tg.push_back(ov.times.gemm_ms);
    tre.push_back(ov.times.reassemble_ms);
  }

  // Exactness on sampled elements: int64 dot product of the quantized
  // operands, dequantized exactly as the pipeline specifies.
  std::mt19937_64 rng(o.seed + 99);
  const int64_t samples = std::min<int64_t>(o.check_samples, m * n);
  int64_t mismatches = 0;
  for (int64_t s = 0; s < samples; ++s) {
    const int64_t idx = samples == m * n ? s : static_cast<int64_t>(rng() % (m * n));
    const int64_t i = idx / n, j = idx % n;
    __int128 acc = 0;
    for (int64_t t = 0; t < k; ++t)
      acc += static_cast<__int128>(qa->values(i, t)) * qb->values(t, j);
    const auto& sa = qa->scales.sigma;
    const auto& sb = qb->scales.sigma;
    const double ia = 1.0 / static_cast<double>(sa.size() > 1 ? sa[i] : sa[0]);
    const double ib = 1.0 / static_cast<double>(sb.size() > 1 ? sb[j] : sb[0]);
    const float want = static_cast<float>(static_cast<double>(acc) * (ia * ib));
    if (want != c(i, j)) ++mismatches;
  }
  // Accuracy against fp32, of the pipeline and of clipped int8.
  const ErrorStats err = CompareToReference(c.data(), c32.data(), m * n);
  Matrix<float> c8f(m, n);
  {
    const auto& sa = qa->scales.sigma;
    const auto& sb = qb->scales.sigma;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        c8f(i, j) = static_cast<float>(
            c8[i * n + j] * (1.0 / static_cast<double>(sa.size() > 1 ? sa[i] : sa[0])) *
            (1.0 / static_cast<double>(sb.size() > 1 ? sb[j] : sb[0])));
  }
  const ErrorStats err8 = CompareToReference(c8f.data(), c32.data(), m * n);

  const double fp32_ms = Median(t32), bf16_ms = Median(t16), int8_ms = Median(t8);
  const double pipe_ms = Median(tp);
  const double outside = Median(tsel) + Median(tq) + Median(tpl) + Median(tun) + Median(tre);
  nlohmann::json j = {
      {"m", m}, {"k", k}, {"n", n}, {"threads", threads}, {"reps", o.reps},
      {"dist", o.a_path.empty() ? o.dist : "npy"}, {"seed", o.seed},
      {"bits", cfg.bits}, {"percentile", cfg.a.percentile},
      {"percentile_a", cfg.a.percentile}, {"percentile_b", cfg.b.percentile},
      {"levels_a", EffectiveLevels(cfg.a, cfg.bits)},
      {"levels_b", EffectiveLevels(cfg.b, cfg.bits)},
      {"granularity", GranularityName(gran)},
      {"strategy", StrategyName(cfg.strategy)}, {"strategy_used", ov.StrategyUsed()},
      {"unpack_ratio", ov.unpack_ratio}, {"m_unpacked", ov.m_unpacked},
      {"k_unpacked", ov.k_unpacked}, {"n_unpacked", ov.n_unpacked},
      {"heavy_a", ov.heavy_a}, {"heavy_b", ov.heavy_b},
      {"max_digits_a", ov.max_digits_a}, {"max_digits_b", ov.max_digits_b},
      {"clipped_a", ov.clipped_a}, {"clipped_b", ov.clipped_b},
      {"gemm_calls", ov.gemm_calls}, {"inner_groups", ov.inner_groups},
      {"accumulator_bits", ov.accumulator_bits},
      {"fp32_ms", fp32_ms}, {"bf16_ms", bf16_ms}, {"int8_raw_ms", int8_ms},
      {"pipeline_ms", pipe_ms}, {"select_ms", Median(tsel)},
      {"quantize_ms", Median(tq)}, {"plan_ms", Median(tpl)},
      {"unpack_ms", Median(tun)}, {"gemm_ms", Median(tg)},
      {"reassemble_ms", Median(tre)},
      {"speedup_vs_fp32", fp32_ms / pipe_ms}, {"speedup_vs_bf16", bf16_ms / pipe_ms},
      {"pipeline_over_int8_raw", pipe_ms / int8_ms},
      {"non_gemm_fraction", outside / pipe_ms},
      {"exact_checked", samples}, {"exact_mismatches", mismatches},
      {"max_abs_error", err.max_abs}, {"rel_fro_error", err.rel_fro},
      {"int8_clipped_max_abs_error", err8.max_abs},
      {"int8_clipped_rel_fro_error", err8.rel_fro},
      {"onednn", DnnlVersion()}, {"isa", DnnlIsa()}};
  if (o.json) {
    std::cout << j.dump() << "\n";
  } else {
    std::printf("IM-Unpack GEMM %lldx%lldx%lld, b=%d, %s, percentile A %.4g / B %.4g, %d threads, median of %d\n",
                (long long)m, (long long)k, (long long)n, cfg.bits, j["dist"].get<std::string>().c_str(),
                cfg.a.percentile, cfg.b.percentile, threads, o.reps);
    std::printf("  exactness      %lld/%lld sampled elements bit-identical to the int64 reference%s\n",
                (long long)(samples - mismatches), (long long)samples, mismatches ? "  <-- MISMATCH" : "");
    std::printf("  accuracy       vs fp32: rel. Frobenius %.3e, max abs %.3e (clipped int8: %.3e, %.3e)\n",
                err.rel_fro, err.max_abs, err8.rel_fro, err8.max_abs);
    std::printf("  overhead       unpack ratio %.4f (m' %lld, k' %lld, n' %lld), strategy %s\n",
                ov.unpack_ratio, (long long)ov.m_unpacked, (long long)ov.k_unpacked,
                (long long)ov.n_unpacked, ov.StrategyUsed().c_str());
    std::printf("                 heavy hitters A %lld, B %lld; max digits %d/%d; clipped %lld/%lld; %d int8 GEMM calls\n",
                (long long)ov.heavy_a, (long long)ov.heavy_b, ov.max_digits_a, ov.max_digits_b,
                (long long)ov.clipped_a, (long long)ov.clipped_b, ov.gemm_calls);
    std::printf("  time (ms)      fp32 %.2f | bf16 %.2f | int8 raw %.2f | IM-Unpack %.2f\n",
                fp32_ms, bf16_ms, int8_ms, pipe_ms);
    std::printf("  phases (ms)    select %.2f, quantize %.2f, plan %.2f, unpack %.2f, gemm %.2f, reassemble %.2f (non-GEMM %.1f%%)\n",
                Median(tsel), Median(tq), Median(tpl), Median(tun), Median(tg), Median(tre),
                100 * outside / pipe_ms);
    std::printf("  speed          %.2fx fp32, %.2fx bf16, %.2fx the time of raw int8\n",
                fp32_ms / pipe_ms, bf16_ms / pipe_ms, pipe_ms / int8_ms);
  }
  return mismatches == 0 ? 0 : 1;
}

}  // namespace
}  // namespace imunpack

int main(int argc, char** argv) {
  imunpack::Options o;
  CLI::App app{"imunpack-bench: IM-Unpack int8 GEMM vs oneDNN fp32/bf16/int8, side by side"};
  app.add_option("--a", o.a_path, "A (m x k) as a float32 .npy file");
  app.add_option("--b", o.b_path, "B (k x n) as a float32 .npy file");
  app.add_option("--m", o.m, "rows of A (generated)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--k", o.k, "cols of A / rows of B (generated)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--n", o.n, "cols of B (generated)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--dist", o.dist, "gaussian | student-t | outlier-channels")->capture_default_str();
  app.add_option("--seed", o.seed, "generator seed")->capture_default_str();
  app.add_option("--bits", o.bits, "bit width b in [2, 8]")->capture_default_str();
  app.add_option("--percentile", o.percentile, "percentile beta for both operands (overrides -a/-b)");
  app.add_option("--percentile-a", o.percentile_a, "percentile beta of A")->capture_default_str();
  app.add_option("--percentile-b", o.percentile_b, "percentile beta of B")->capture_default_str();
  app.add_option("--levels", o.levels, "levels d for both operands (0: 2^b - 1)")->capture_default_str();
  app.add_option("--levels-a", o.levels_a, "levels d of A");
  app.add_option("--levels-b", o.levels_b, "levels d of B");
  app.add_option("--granularity", o.granularity, "tensor | channel")->capture_default_str();
  app.add_option("--strategy", o.strategy, "auto | row | column | both")->capture_default_str();
  app.add_option("--threads", o.threads, "threads (0: OpenMP default)")->capture_default_str();
  app.add_option("--reps", o.reps, "timed repetitions")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--warmup", o.warmup, "untimed repetitions first")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--check-samples", o.check_samples, "output elements checked bit for bit")->capture_default_str();
  app.add_option("--fused-max-k", o.fused_max_k,
                 "widest inner group computed in the reassembly pass (-1 default, 0 none)")
      ->capture_default_str();
  app.add_flag("--json", o.json, "print one JSON object");
  CLI11_PARSE(app, argc, argv);
  return imunpack::Run(o);
}
