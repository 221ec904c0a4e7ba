// imunpack-bench-unpack: time to unpack one int32 operand with a given
// fraction of heavy hitters, per strategy: split (digit 0 + heavy list),
// plan, and writing the int8 pieces. Optionally the paper's floor/modulo
// UnpackRow loop (reference.h) on the same matrix, for scale.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

#include "kernels/plan.h"
#include "kernels/quantize.h"
#include "kernels/reference.h"
#include "kernels/timer.h"
#include "kernels/unpack.h"

namespace imunpack {
namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace
}  // namespace imunpack

int main(int argc, char** argv) {
  using namespace imunpack;
  int64_t size = 4096;
  double heavy = 0.01;
  int bits = 8, reps = 5, threads = 0;
  uint64_t seed = 1;
  bool with_reference = false;
  CLI::App app{"imunpack-bench-unpack: unpack one int32 operand per strategy"};
  app.add_option("--size", size, "the matrix is size x size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--heavy", heavy, "fraction of entries out of range")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--bits", bits, "bit width b")->check(CLI::Range(2, 8))->capture_default_str();
  app.add_option("--reps", reps, "repetitions (median)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--threads", threads, "threads (0: OpenMP default)")->capture_default_str();
  app.add_option("--seed", seed, "generator seed")->capture_default_str();
  app.add_flag("--with-reference", with_reference, "also time the paper's UnpackRow loop once");
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) omp_set_num_threads(threads);

  // In-range values, then `heavy` of the entries at random positions set to
  // 1-3 digit magnitudes.
  const int32_t s = 1 << (bits - 1);
  Matrix<int32_t> a(size, size);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> small(-(s - 1), s - 1);
  std::uniform_int_distribution<int32_t> big(s, s * s * s - 1);
  std::uniform_real_distribution<double> u01(0, 1);
  int64_t placed = 0;
  for (int64_t i = 0; i < a.size(); ++i) {
    if (u01(rng) < heavy) {
      a.data()[i] = (rng() & 1) ? big(rng) : -big(rng);
      ++placed;
    } else {
      a.data()[i] = small(rng);
    }
  }
  // A trivial B (size x 1, in range) so the GEMM-level plan is well formed.
  Matrix<int32_t> b = Matrix<int32_t>::Zeros(size, 1);
  SplitOperand sb;
  SplitInt(b, bits, &sb);
  std::vector<HeavyCoord> bh = ToCoords(sb, Operand::kB, bits);

  std::printf("unpack %lldx%lld int32, %lld heavy hitters (%.2f%%), b=%d, %d threads, median of %d\n",
              (long long)size, (long long)size, (long long)placed, 100.0 * placed / a.size(), bits,
              omp_get_max_threads(), reps);
  std::printf("%-8s %10s %10s %10s %10s %10s %10s\n", "strategy", "m'", "k'", "split_ms",
              "plan_ms", "write_ms", "total_ms");
  for (Strategy st : {Strategy::kRow, Strategy::kColumn, Strategy::kBoth, Strategy::kAuto}) {
    std::vector<double> ts, tp, tw;
    GemmPlan plan;
    for (int r = 0; r < reps; ++r) {
      Stopwatch sw;
      SplitOperand sa;
      SplitInt(a, bits, &sa);
      ts.push_back(sw.Lap());
      std::vector<HeavyCoord> ah = ToCoords(sa, Operand::kA, bits);
      plan = PlanGemm(ah, bh, size, size, 1, st);
      tp.push_back(sw.Lap());
      UnpackedGemm un;
      Unpack(sa, ah, sb, bh, plan, bits, &un);
      tw.push_back(sw.Lap());
    }
    const double total = Median(ts) + Median(tp) + Median(tw);
    std::printf("%-8s %10lld %10lld %10.2f %10.2f %10.2f %10.2f\n", StrategyName(st),
                (long long)plan.m_unpacked, (long long)plan.k_unpacked, Median(ts), Median(tp),
                Median(tw), total);
  }
  if (with_reference) {
    Matrix<int64_t> wide(size, size);
    for (int64_t i = 0; i < a.size(); ++i) wide.data()[i] = a.data()[i];
    Stopwatch sw;
    reference::PaperUnpacked r = reference::PaperUnpackRows(wide, bits);
    std::printf("%-8s %10lld %10lld %43.2f  (the paper's floor/modulo UnpackRow loop, once)\n",
                "paper", (long long)r.values.rows(), (long long)size, sw.Lap());
  }
  return 0;
}
