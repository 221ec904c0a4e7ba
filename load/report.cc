#include "load/report.h"

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace imunpack::load {
namespace {

double Ms(int64_t us) { return us / 1e3; }

const double kPercentiles[] = {50, 90, 95, 99, 99.9};
const char* kPercentileNames[] = {"p50", "p90", "p95", "p99", "p99.9"};

}  // namespace

std::string LevelName(const RunSpec& spec) {
  char buf[96];
  if (spec.mode == RunSpec::Mode::kClosed) {
    std::snprintf(buf, sizeof(buf), "concurrency %d", spec.concurrency);
  } else {
    std::snprintf(buf, sizeof(buf), "rate %g/s (%s)", spec.rate,
                  spec.poisson ? "poisson" : "constant");
  }
  return buf;
}

void PrintSummary(std::FILE* out, const LevelResult& r) {
  std::fprintf(out, "load        %s, %.2f s measured\n", LevelName(r.spec).c_str(), r.elapsed_s);
  std::fprintf(out, "requests    %lld sent, %lld answered, %lld ok, %lld errors (%.2f%%)\n",
               static_cast<long long>(r.sent), static_cast<long long>(r.completed),
               static_cast<long long>(r.ok), static_cast<long long>(r.completed - r.ok),
               100 * r.error_rate());
  std::fprintf(out, "throughput  %.1f req/s (ok %.1f), %.2f GFLOP/s, %.1f MB/s sent, %.1f MB/s received\n",
               r.rps, r.ok_rps, r.gflops, r.mb_sent_s, r.mb_recv_s);
  if (r.spec.mode == RunSpec::Mode::kOpen) {
    std::fprintf(out, "sender      %.1f req/s achieved of %g, at most %.2f ms late\n", r.send_rate,
                 r.spec.rate, r.max_send_lag_ms);
  }
  const LatencyHistogram& h = r.latency;
  std::fprintf(out, "latency ms  min %.3f  mean %.3f", Ms(h.min()), h.mean() / 1e3);
  for (size_t i = 0; i < std::size(kPercentiles); ++i) {
    std::fprintf(out, "  %s %.3f", kPercentileNames[i], Ms(h.Percentile(kPercentiles[i])));
  }
  std::fprintf(out, "  max %.3f\n", Ms(h.max()));
  if (h.count() > 0) {
    int64_t peak = 1;
    auto rows = h.Coarse(8);
    for (auto& [edge, n] : rows) peak = std::max(peak, n);
    for (auto& [edge, n] : rows) {
      std::fprintf(out, "  <= %9.3f ms %8lld  %s\n", Ms(edge), static_cast<long long>(n),
                   std::string(static_cast<size_t>(40 * n / peak), '#').c_str());
    }
  }
  std::fprintf(out, "codes      ");
  for (auto& [code, n] : r.codes) std::fprintf(out, " %s %lld", code.c_str(), static_cast<long long>(n));
  std::fprintf(out, "\n");
  for (auto& [code, msg] : r.error_samples) {
    std::fprintf(out, "  e.g. %s: %s\n", code.c_str(), msg.c_str());
  }
  if (r.ok > 0) {
    auto ms = [&](const char* k) { return r.server_ms.at(k); };
    std::fprintf(out,
                 "server ms   decode %.3f  queue %.3f  select %.3f  quantize %.3f  plan %.3f  unpack %.3f  gemm %.3f  "
                 "reassemble %.3f  total %.3f  (client and network %.3f)\n",
                 ms("decode"), ms("queue"), ms("select"), ms("quantize"), ms("plan"), ms("unpack"), ms("gemm"),
                 ms("reassemble"), ms("server"), ms("client_minus_server"));
    std::fprintf(out, "unpack      ratio mean %.4f, max %.4f\n", r.unpack_ratio_mean,
                 r.unpack_ratio_max);
    std::fprintf(out, "replicas   ");
    for (auto& [id, n] : r.replicas) {
      std::fprintf(out, " %s %lld (%.1f%%)", id.c_str(), static_cast<long long>(n), 100.0 * n / r.ok);
    }
    std::fprintf(out, "\n");
  }
  std::fprintf(out, "gaps        longest stretch without a successful answer: %.1f ms\n",
               r.max_gap_ms);
  std::fprintf(out, "stability   %s over %zu windows of %g s\n",
               r.windows.size() < 3 ? "unknown (fewer than 3 windows)"
               : r.stable          ? "stable (last 3 windows within 10%)"
                                   : "NOT stable (last 3 windows differ by more than 10%)",
               r.windows.size(), r.spec.window_s);
}

void PrintSweepHeader(std::FILE* out) {
  std::fprintf(out, "%-28s %9s %9s %9s %9s %9s %9s %9s %7s %7s\n", "level", "req/s", "GFLOP/s",
               "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "ratio", "stable");
}

void PrintSweepRow(std::FILE* out, const LevelResult& r) {
  std::fprintf(out, "%-28s %9.1f %9.2f %9.3f %9.3f %9.3f %9.3f %9lld %7.4f %7s\n",
               LevelName(r.spec).c_str(), r.rps, r.gflops, Ms(r.latency.Percentile(50)),
               Ms(r.latency.Percentile(90)), Ms(r.latency.Percentile(99)), Ms(r.latency.max()),
               static_cast<long long>(r.completed - r.ok), r.unpack_ratio_mean,
               r.stable ? "yes" : "no");
}

nlohmann::json ToJson(const LevelResult& r) {
  nlohmann::json lat = {{"count", r.latency.count()},
                        {"min_ms", Ms(r.latency.min())},
                        {"mean_ms", r.latency.mean() / 1e3},
                        {"max_ms", Ms(r.latency.max())}};
  for (size_t i = 0; i < std::size(kPercentiles); ++i) {
    lat[std::string(kPercentileNames[i]) + "_ms"] = Ms(r.latency.Percentile(kPercentiles[i]));
  }
  nlohmann::json hist = nlohmann::json::array();
  for (auto& [edge, n] : r.latency.Coarse(8)) hist.push_back({{"le_ms", Ms(edge)}, {"count", n}});
  lat["histogram"] = hist;
  nlohmann::json windows = nlohmann::json::array();
  for (const Window& w : r.windows) windows.push_back({{"rps", w.rps}, {"p99_ms", w.p99_ms}});
  return {
      {"mode", r.spec.mode == RunSpec::Mode::kClosed ? "closed" : "open"},
      {"concurrency", r.spec.concurrency},
      {"rate", r.spec.rate},
      {"arrivals", r.spec.poisson ? "poisson" : "constant"},
      {"duration_s", r.spec.duration_s},
      {"warmup_s", r.spec.warmup_s},
      {"sent", r.sent},
      {"completed", r.completed},
      {"ok", r.ok},
      {"errors", r.completed - r.ok},
      {"error_rate", r.error_rate()},
      {"codes", r.codes},
      {"error_samples", r.error_samples},
      {"elapsed_s", r.elapsed_s},
      {"rps", r.rps},
      {"ok_rps", r.ok_rps},
      {"send_rate", r.send_rate},
      {"max_send_lag_ms", r.max_send_lag_ms},
      {"max_gap_ms", r.max_gap_ms},
      {"gflops", r.gflops},
      {"mb_sent_per_s", r.mb_sent_s},
      {"mb_received_per_s", r.mb_recv_s},
      {"latency", lat},
      {"windows", windows},
      {"stable", r.stable},
      {"server_ms", r.server_ms},
      {"unpack_ratio_mean", r.unpack_ratio_mean},
      {"unpack_ratio_max", r.unpack_ratio_max},
      {"replicas", r.replicas},
  };
}

std::string CsvHeader() {
  return "mode,concurrency,rate,sent,completed,ok,errors,rps,gflops,p50_ms,p90_ms,p95_ms,"
         "p99_ms,p999_ms,max_ms,unpack_ratio,stable\n";
}

std::string CsvRow(const LevelResult& r) {
  std::ostringstream os;
  os << (r.spec.mode == RunSpec::Mode::kClosed ? "closed" : "open") << ','
     << r.spec.concurrency << ',' << r.spec.rate << ',' << r.sent << ',' << r.completed << ','
     << r.ok << ',' << (r.completed - r.ok) << ',' << r.rps << ',' << r.gflops;
  for (double p : kPercentiles) os << ',' << Ms(r.latency.Percentile(p));
  os << ',' << Ms(r.latency.max()) << ',' << r.unpack_ratio_mean << ',' << (r.stable ? 1 : 0)
     << '\n';
  return os.str();
}

Status PlotSweep(const std::vector<LevelResult>& levels, const std::string& png_path,
                 const std::string& title) {
  // Data inline (gnuplot's $DATA heredoc), so no temporary file is needed.
  std::ostringstream script;
  script << "set terminal pngcairo size 900,560 noenhanced\n"
         << "set output '" << png_path << "'\n"
         << "set title '" << title << "'\n"
         << "set xlabel 'throughput (requests/s)'\nset ylabel 'latency (ms)'\n"
         << "set grid\nset key top left\n"
         << "$DATA << EOD\n";
  for (const LevelResult& r : levels) {
    script << r.rps << ' ' << Ms(r.latency.Percentile(50)) << ' '
           << Ms(r.latency.Percentile(90)) << ' ' << Ms(r.latency.Percentile(99)) << ' '
           << (r.spec.mode == RunSpec::Mode::kClosed ? "c" : "r")
           << (r.spec.mode == RunSpec::Mode::kClosed ? r.spec.concurrency : r.spec.rate) << '\n';
  }
  script << "EOD\n"
         << "plot $DATA using 1:2 with linespoints title 'p50', "
         << "$DATA using 1:3 with linespoints title 'p90', "
         << "$DATA using 1:4 with linespoints title 'p99', "
         << "$DATA using 1:4:5 with labels offset 0,1 font ',9' notitle\n";
  std::FILE* gp = popen("gnuplot", "w");
  if (!gp) return Internal("cannot start gnuplot (install gnuplot-nox)");
  const std::string text = script.str();
  std::fwrite(text.data(), 1, text.size(), gp);
  const int rc = pclose(gp);
  if (rc != 0) {
    return Internal("gnuplot failed (exit " + std::to_string(WIFEXITED(rc) ? WEXITSTATUS(rc) : rc) +
                    "); is gnuplot-nox installed?");
  }
  return Status::Ok();
}

}  // namespace imunpack::load
