// imunpack-load: the load-test client of imunpack.v1.GemmService. It knows
// GEMM shapes, bit widths, registered weights and the server's overhead
// metrics. Closed loop (--concurrency), open loop (--rate, latency from the
// intended send time), and sweeps over either, stopping at a latency
// threshold. Bounded: it targets only the addresses given (127.0.0.1 by
// default) and always stops at its duration or request count.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "client/client.h"
#include "client/security_flags.h"
#include "kernels/config.h"
#include "load/report.h"
#include "common/malloc_tuning.h"
#include "load/runner.h"

namespace {

using namespace imunpack;
using namespace imunpack::load;

struct Range {
  double start = 0, end = 0, step = 0;
};

bool ParseRange(const std::string& text, Range* out) {
  char tail = 0;
  return std::sscanf(text.c_str(), "%lf:%lf:%lf%c", &out->start, &out->end, &out->step, &tail) == 3 &&
         out->start > 0 && out->end >= out->start && out->step > 0;
}

}  // namespace

int main(int argc, char** argv) {
  imunpack::TuneMallocForLargeMessages();
  CLI::App app{"imunpack-load: load test for the imunpack GEMM service"};
  app.set_version_flag("--version", "imunpack-load " IMUNPACK_VERSION);
  client::ClientOptions co;
  std::vector<std::string> targets = {"127.0.0.1:50051"};
  int connections = 1;
  RunSpec spec;
  std::string arrivals = "constant";
  double deadline_ms = 30000;
  std::string concurrency_range, rate_range;
  double latency_threshold_ms = 0;
  std::vector<std::string> shape_texts = {"256x256x256"};
  WorkloadSpec wl;
  std::string strategy = "auto", dist = "outlier-channels";
  std::string json_path, csv_path, plot_path;
  bool quiet = false;
  double max_error_rate = -1, max_p99_ms = -1;
  spec.duration_s = 10;
  spec.warmup_s = 1;

  app.add_option("--target", targets, "server address host:port; repeat for round_robin over several")
      ->capture_default_str();
  app.add_option("--connections", connections, "channels (HTTP/2 connections per target)")
      ->capture_default_str();
  app.add_option("--concurrency", spec.concurrency, "closed loop: calls in flight")
      ->capture_default_str();
  app.add_option("--rate", spec.rate, "open loop: requests per second (0: closed loop)");
  app.add_option("--arrivals", arrivals, "open loop: constant or poisson")
      ->check(CLI::IsMember({"constant", "poisson"}))
      ->capture_default_str();
  app.add_option("--duration", spec.duration_s, "measured seconds per level (0: use --requests)")
      ->capture_default_str();
  app.add_option("--requests", spec.requests, "measured requests per level (0: use --duration)");
  app.add_option("--warmup", spec.warmup_s, "seconds sent first and not measured")
      ->capture_default_str();
  app.add_option("--window", spec.window_s, "seconds per stability window")->capture_default_str();
  app.add_option("--max-outstanding", spec.max_outstanding,
                 "open loop: calls in flight before the sender waits")
      ->capture_default_str();
  app.add_option("--concurrency-range", concurrency_range,
                 "sweep START:END:STEP of closed-loop concurrency");
  app.add_option("--rate-range", rate_range, "sweep START:END:STEP of open-loop rates");
  app.add_option("--latency-threshold-ms", latency_threshold_ms,
                 "sweep: stop after the first level whose p99 exceeds this");
  app.add_option("--shape", shape_texts, "GEMM MxKxN; repeat to mix shapes")->capture_default_str();
  app.add_option("--bits", wl.bits, "bit width b in [2, 8]")->capture_default_str();
  app.add_option("--percentile-a", wl.percentile_a, "beta of A")->capture_default_str();
  app.add_option("--percentile-b", wl.percentile_b, "beta of B")->capture_default_str();
  app.add_option("--strategy", strategy, "auto, row, column or both")->capture_default_str();
  app.add_flag("--registered-b", wl.registered_b,
               "upload each B once to every target; requests carry its handle");
  app.add_option("--dist", dist, "A's values: gaussian, student-t or outlier-channels")
      ->capture_default_str();
  app.add_option("--seed", wl.seed, "data seed")->capture_default_str();
  app.add_flag("--verify", wl.verify, "ask the server for the error against fp32 too");
  app.add_flag("--quantize-on-client", wl.quantize_on_client,
               "send A as int8 digits + heavy hitters (QuantizedMatrix), quantized once up "
               "front, instead of floats");
  app.add_option("--deadline-ms", deadline_ms, "deadline of each request")->capture_default_str();
  double unavailable_backoff_ms = 20;
  app.add_option("--unavailable-backoff-ms", unavailable_backoff_ms,
                 "closed loop: pause of a slot after an UNAVAILABLE answer (0: none)")
      ->capture_default_str();
  app.add_option("--max-message-mib", co.max_message_bytes, "client message limit, MiB")
      ->transform([](std::string v) { return std::to_string(std::stoll(v) << 20); });
  app.add_option("--json", json_path, "write every measurement as JSON to this file");
  app.add_option("--csv", csv_path, "write one CSV row per level to this file");
  app.add_option("--plot", plot_path, "draw latency percentiles vs throughput (PNG, gnuplot)");
  app.add_flag("--quiet", quiet, "no live progress line");
  app.add_option("--max-error-rate", max_error_rate,
                 "exit 2 when any level's error fraction exceeds this");
  app.add_option("--max-p99-ms", max_p99_ms, "exit 2 when any level's p99 exceeds this");
  client::SecurityFlags security;
  security.Add(app);
  CLI11_PARSE(app, argc, argv);

  auto fail = [](const std::string& msg) {
    std::fprintf(stderr, "imunpack-load: %s\n", msg.c_str());
    return 1;
  };
  Strategy st;
  if (!ParseStrategy(strategy, &st)) return fail("--strategy \"" + strategy + "\": unknown");
  wl.strategy = static_cast<v1::Strategy>(st);
  if (!ParseDistribution(dist, &wl.dist_a)) return fail("--dist \"" + dist + "\": unknown");
  for (const std::string& t : shape_texts) {
    StatusOr<Shape> s = ParseShape(t);
    if (!s.ok()) return fail(s.status().message());
    wl.shapes.push_back(*s);
  }
  if (spec.duration_s <= 0 && spec.requests <= 0) {
    return fail("--duration and --requests are both 0: the run would never stop");
  }
  if (spec.window_s <= 0) return fail("--window must be positive");
  spec.deadline_s = deadline_ms / 1e3;
  spec.unavailable_backoff_s = unavailable_backoff_ms / 1e3;
  spec.poisson = arrivals == "poisson";
  spec.progress = !quiet;
  co.targets = targets;
  if (Status sec = security.Apply(&co); !sec.ok()) return fail(sec.ToString());
  spec.token = co.token;

  // The levels to run.
  std::vector<RunSpec> levels;
  Range range;
  if (!concurrency_range.empty()) {
    if (!ParseRange(concurrency_range, &range)) {
      return fail("--concurrency-range \"" + concurrency_range + "\": expected START:END:STEP");
    }
    for (double c = range.start; c <= range.end + 1e-9; c += range.step) {
      RunSpec s = spec;
      s.mode = RunSpec::Mode::kClosed;
      s.concurrency = static_cast<int>(c);
      levels.push_back(s);
    }
  } else if (!rate_range.empty()) {
    if (!ParseRange(rate_range, &range)) {
      return fail("--rate-range \"" + rate_range + "\": expected START:END:STEP");
    }
    for (double r = range.start; r <= range.end + 1e-9; r += range.step) {
      RunSpec s = spec;
      s.mode = RunSpec::Mode::kOpen;
      s.rate = r;
      levels.push_back(s);
    }
  } else {
    spec.mode = spec.rate > 0 ? RunSpec::Mode::kOpen : RunSpec::Mode::kClosed;
    if (spec.mode == RunSpec::Mode::kClosed && spec.concurrency < 1) {
      return fail("--concurrency must be at least 1");
    }
    levels.push_back(spec);
  }
  const bool sweep = levels.size() > 1 || !concurrency_range.empty() || !rate_range.empty();

  StatusOr<Workload> workload = BuildWorkload(wl, co);
  if (!workload.ok()) return fail(workload.status().ToString());
  auto channels = MakeChannels(co, connections);
  std::string shapes_text;
  for (const Shape& s : wl.shapes) shapes_text += (shapes_text.empty() ? "" : ", ") + s.ToString();
  std::printf("imunpack-load: %s -> %zu target(s) over %d connection(s); shapes %s, %d bits, %s B\n",
              sweep ? "sweep" : LevelName(levels[0]).c_str(), targets.size(), connections,
              shapes_text.c_str(), wl.bits, wl.registered_b ? "registered" : "inline");

  std::vector<LevelResult> results;
  if (sweep) PrintSweepHeader(stdout);
  for (const RunSpec& level : levels) {
    LevelResult r = RunLevel(channels, *workload, level);
    results.push_back(r);
    if (sweep) {
      PrintSweepRow(stdout, r);
      std::fflush(stdout);
      if (latency_threshold_ms > 0 && r.latency.Percentile(99) / 1e3 > latency_threshold_ms) {
        std::printf("stopped: p99 %.3f ms is above --latency-threshold-ms %g\n",
                    r.latency.Percentile(99) / 1e3, latency_threshold_ms);
        break;
      }
    } else {
      PrintSummary(stdout, r);
    }
  }

  int rc = 0;
  if (!json_path.empty()) {
    nlohmann::json j;
    j["targets"] = targets;
    j["connections"] = connections;
    j["shapes"] = shape_texts;
    j["bits"] = wl.bits;
    j["strategy"] = strategy;
    j["registered_b"] = wl.registered_b;
    j["levels"] = nlohmann::json::array();
    for (const LevelResult& r : results) j["levels"].push_back(ToJson(r));
    std::ofstream(json_path) << j.dump(2) << "\n";
  }
  if (!csv_path.empty()) {
    std::ofstream csv(csv_path);
    csv << CsvHeader();
    for (const LevelResult& r : results) csv << CsvRow(r);
  }
  if (!plot_path.empty()) {
    Status s = PlotSweep(results, plot_path, "imunpack-load: " + shapes_text);
    if (!s.ok()) {
      std::fprintf(stderr, "imunpack-load: --plot: %s\n", s.message().c_str());
      rc = 1;
    } else {
      std::printf("chart: %s\n", plot_path.c_str());
    }
  }
  int64_t total_ok = 0;
  for (const LevelResult& r : results) total_ok += r.ok;
  if (total_ok == 0) {
    std::fprintf(stderr, "imunpack-load: no request succeeded\n");
    rc = std::max(rc, 1);
  }
  for (const LevelResult& r : results) {
    if (max_error_rate >= 0 && r.error_rate() > max_error_rate) {
      std::fprintf(stderr, "imunpack-load: %s: error rate %.4f is above --max-error-rate %g\n",
                   LevelName(r.spec).c_str(), r.error_rate(), max_error_rate);
      rc = 2;
    }
    if (max_p99_ms >= 0 && r.latency.Percentile(99) / 1e3 > max_p99_ms) {
      std::fprintf(stderr, "imunpack-load: %s: p99 %.3f ms is above --max-p99-ms %g\n",
                   LevelName(r.spec).c_str(), r.latency.Percentile(99) / 1e3, max_p99_ms);
      rc = 2;
    }
  }
  return rc;
}
