// imunpack-bench-service: what the network costs. In one process, on the
// same matrices, median of several repetitions: the local pipeline, a Gemm
// call over 127.0.0.1 with B inline, a Gemm call with B registered, and
// local oneDNN fp32. The server runs in-process on 127.0.0.1 (one worker
// with every core), the client is the project's C++ client.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <thread>

#include "client/client.h"
#include "common/workload.h"
#include "kernels/dnnl_matmul.h"
#include "kernels/pipeline.h"
#include "kernels/timer.h"
#include "common/malloc_tuning.h"
#include "server/server.h"

int main(int argc, char** argv) {
  imunpack::TuneMallocForLargeMessages();
  using namespace imunpack;
  int64_t m = 1024, k = 4096, n = 4096;
  int reps = 5, threads = 0;
  double percentile_a = 0.999;
  bool json = false;
  int64_t load_shape = 0;
  int load_clients = 8, load_requests = 40;
  double block_mib = 0;
  CLI::App app{"imunpack-bench-service: local pipeline vs the same GEMM over gRPC on 127.0.0.1"};
  app.add_option("--m", m, "rows of A (activations)")->capture_default_str();
  app.add_option("--k", k, "inner dimension")->capture_default_str();
  app.add_option("--n", n, "cols of B (weights)")->capture_default_str();
  app.add_option("--percentile-a", percentile_a, "beta of A")->capture_default_str();
  app.add_option("--reps", reps, "timed repetitions")->capture_default_str();
  app.add_option("--threads", threads, "threads (0: all cores)")->capture_default_str();
  app.add_flag("--json", json, "print one JSON object");
  app.add_option("--block-mib", block_mib,
                 "client block_bytes in MiB: A sent as concurrent row blocks so transfer "
                 "overlaps compute (0: one call)")->capture_default_str();
  app.add_option("--load-shape", load_shape,
                 "instead: throughput of s x s x s GEMMs from --load-clients concurrent "
                 "clients, one worker with every thread vs one worker per thread");
  app.add_option("--load-clients", load_clients, "concurrent clients")->capture_default_str();
  app.add_option("--load-requests", load_requests, "requests per client")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  omp_set_num_threads(threads);

  if (load_shape > 0) {
    // Closed loop: each client sends its requests back to back.
    spdlog::set_level(spdlog::level::warn);
    Matrix<float> la = Generate(Distribution::kOutlierChannels, load_shape, load_shape, 1, Operand::kA);
    Matrix<float> lb = Generate(Distribution::kGaussian, load_shape, load_shape, 1, Operand::kB);
    std::printf("closed-loop load: %lld^3 GEMMs, %d clients x %d requests, %d cores\n",
                (long long)load_shape, load_clients, load_requests, threads);
    for (auto [workers, per] : {std::pair{1, threads}, std::pair{threads, 1}}) {
      server::ServerOptions lo;
      lo.address = "127.0.0.1:0";
      lo.pool.workers = workers;
      lo.pool.threads_per_worker = per;
      lo.pool.queue_capacity = 4 * load_clients;
      server::ImunpackServer ls(lo);
      if (!ls.Start().ok()) return 1;
      client::ClientOptions lco;
      lco.targets = {"127.0.0.1:" + std::to_string(ls.port())};
      client::Client lc(lco);
      std::vector<std::vector<double>> lat(load_clients);
      std::atomic<int> failures{0};
      Stopwatch wall;
      std::vector<std::thread> ts;
      for (int c = 0; c < load_clients; ++c) {
        ts.emplace_back([&, c] {
          for (int r = 0; r < load_requests; ++r) {
            Stopwatch one;
            if (!lc.Gemm(la, lb, client::GemmParams()).ok()) failures++;
            lat[c].push_back(one.Lap());
          }
        });
      }
      for (auto& t : ts) t.join();
      const double secs = wall.Total() / 1000;
      std::vector<double> all;
      for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
      std::sort(all.begin(), all.end());
      std::printf("  %d worker%s x %d thread%s: %7.1f req/s, p50 %6.2f ms, p99 %6.2f ms, %d failed\n",
                  workers, workers == 1 ? " " : "s", per, per == 1 ? " " : "s",
                  all.size() / secs, all[all.size() / 2], all[all.size() * 99 / 100],
                  failures.load());
      ls.Shutdown();
    }
    return 0;
  }

  server::ServerOptions so;
  so.address = "127.0.0.1:0";
  // The same server on a Unix socket too: the same-host transport.
  so.unix_socket = "/tmp/imunpack-bench-" + std::to_string(getpid()) + ".sock";
  so.pool.workers = 1;
  so.pool.threads_per_worker = threads;
  so.pool.max_bytes_in_flight = int64_t{8} << 30;
  spdlog::set_level(std::getenv("IMUNPACK_BENCH_LOG") ? spdlog::level::info : spdlog::level::warn);
  server::ImunpackServer srv(so);
  Status s = srv.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
    return 1;
  }
  client::ClientOptions co;
  co.targets = {"127.0.0.1:" + std::to_string(srv.port())};
  co.block_bytes = static_cast<int64_t>(block_mib * (1 << 20));
  client::Client cl(co);
  client::ClientOptions uo = co;
  uo.targets = {"unix:" + so.unix_socket};
  client::Client cl_unix(uo);

  Matrix<float> a = Generate(Distribution::kOutlierChannels, m, k, 1, Operand::kA);
  Matrix<float> b = Generate(Distribution::kGaussian, k, n, 1, Operand::kB);
  GemmConfig cfg;
  cfg.a.percentile = percentile_a;
  client::GemmParams p;
  p.a_quant.set_percentile(percentile_a);
  StatusOr<v1::MatrixInfo> handle = cl.Upload(b, "weights", 8, v1::QuantConfig());
  if (!handle.ok()) {
    std::fprintf(stderr, "error: %s\n", handle.status().ToString().c_str());
    return 1;
  }
  StatusOr<std::shared_ptr<const PreparedB>> prepared = PrepareB(b, cfg.b, cfg.bits);

  std::vector<double> t_local, t_local_prep, t_inline, t_reg, t_unix, t_reg_q, t_unix_q, t_fp32,
      t_server_reg;
  client::GemmParams pq = p;  // A quantized by the client: int8 digits on the wire
  pq.quantize_on_client = true;
  Matrix<float> c32(m, n);
  bool same = true;
  for (int r = 0; r < reps + 1; ++r) {
    Stopwatch sw;
    StatusOr<Matrix<float>> local = FloatGemm(a, b, cfg);
    const double ms_local = sw.Lap();
    StatusOr<Matrix<float>> local_prep = FloatGemm(a, **prepared, cfg);
    const double ms_local_prep = sw.Lap();
    StatusOr<client::GemmResult> inline_r = cl.Gemm(a, b, p);
    const double ms_inline = sw.Lap();
    StatusOr<client::GemmResult> reg_r = cl.Gemm(a, handle->handle(), p);
    const double ms_reg = sw.Lap();
    StatusOr<client::GemmResult> unix_r = cl_unix.Gemm(a, handle->handle(), p);
    const double ms_unix = sw.Lap();
    StatusOr<client::GemmResult> reg_q = cl.Gemm(a, handle->handle(), pq);
    const double ms_reg_q = sw.Lap();
    StatusOr<client::GemmResult> unix_q = cl_unix.Gemm(a, handle->handle(), pq);
    const double ms_unix_q = sw.Lap();
    Status f = DnnlMatmul(MatmulType::kF32, a.data(), b.data(), c32.data(), m, k, n, k, n, n);
    const double ms_fp32 = sw.Lap();
    if (!local.ok() || !local_prep.ok() || !inline_r.ok() || !reg_r.ok() || !unix_r.ok() ||
        !reg_q.ok() || !unix_q.ok() || !f.ok()) {
      std::fprintf(stderr, "error: a call failed: %s %s\n", inline_r.status().ToString().c_str(),
                   reg_r.status().ToString().c_str());
      return 1;
    }
    for (int64_t i = 0; i < local->size(); ++i) {
      same &= local->data()[i] == inline_r->c.data()[i] &&
              local->data()[i] == reg_r->c.data()[i] && local->data()[i] == unix_r->c.data()[i] &&
              local->data()[i] == reg_q->c.data()[i] && local->data()[i] == unix_q->c.data()[i];
    }
    if (r == 0) continue;  // warm-up
    t_local.push_back(ms_local);
    t_local_prep.push_back(ms_local_prep);
    t_inline.push_back(ms_inline);
    t_reg.push_back(ms_reg);
    t_unix.push_back(ms_unix);
    t_reg_q.push_back(ms_reg_q);
    t_unix_q.push_back(ms_unix_q);
    t_fp32.push_back(ms_fp32);
    t_server_reg.push_back(reg_r->overhead.times().server_ms());
  }
  auto med = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double local_ms = med(t_local), prep_ms = med(t_local_prep), inline_ms = med(t_inline),
               reg_ms = med(t_reg), unix_ms = med(t_unix), reg_q_ms = med(t_reg_q),
               unix_q_ms = med(t_unix_q), fp32_ms = med(t_fp32);
  nlohmann::json j = {{"m", m}, {"k", k}, {"n", n}, {"threads", threads}, {"reps", reps},
                      {"identical", same}, {"local_pipeline_ms", local_ms},
                      {"local_pipeline_prepared_b_ms", prep_ms}, {"grpc_inline_b_ms", inline_ms},
                      {"grpc_registered_b_ms", reg_ms}, {"grpc_unix_registered_b_ms", unix_ms},
                      {"grpc_registered_b_client_quantized_ms", reg_q_ms},
                      {"grpc_unix_registered_b_client_quantized_ms", unix_q_ms},
                      {"fp32_ms", fp32_ms},
                      {"server_ms_registered", med(t_server_reg)},
                      {"registered_vs_fp32_speedup", fp32_ms / reg_ms},
                      {"transport_overhead_inline", inline_ms / local_ms - 1},
                      {"transport_overhead_registered", reg_ms / prep_ms - 1},
                      {"transport_overhead_unix_registered", unix_ms / prep_ms - 1},
                      {"transport_overhead_registered_client_quantized", reg_q_ms / prep_ms - 1},
                      {"transport_overhead_unix_registered_client_quantized",
                       unix_q_ms / prep_ms - 1}};
  if (json) {
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("GEMM %lldx%lldx%lld (A outlier channels, beta %.4g; B gaussian), %d threads, median of %d\n",
                (long long)m, (long long)k, (long long)n, percentile_a, threads, reps);
    std::printf("  results bit-identical local vs gRPC: %s\n", same ? "yes" : "NO");
    std::printf("  local oneDNN fp32                 %8.2f ms\n", fp32_ms);
    std::printf("  local pipeline, B inline          %8.2f ms\n", local_ms);
    std::printf("  local pipeline, B prepared        %8.2f ms\n", prep_ms);
    std::printf("  gRPC 127.0.0.1, B inline          %8.2f ms  (+%.0f%% over local)\n", inline_ms,
                100 * (inline_ms / local_ms - 1));
    std::printf("  gRPC 127.0.0.1, B registered      %8.2f ms  (+%.0f%% over local prepared; %.2fx fp32)\n",
                reg_ms, 100 * (reg_ms / prep_ms - 1), fp32_ms / reg_ms);
    std::printf("  gRPC unix socket, B registered    %8.2f ms  (+%.0f%% over local prepared; %.2fx fp32)\n",
                unix_ms, 100 * (unix_ms / prep_ms - 1), fp32_ms / unix_ms);
    std::printf("  A quantized on the client (int8 digits + heavy hitters on the wire):\n");
    std::printf("  gRPC 127.0.0.1, B registered      %8.2f ms  (+%.0f%% over local prepared; %.2fx fp32)\n",
                reg_q_ms, 100 * (reg_q_ms / prep_ms - 1), fp32_ms / reg_q_ms);
    std::printf("  gRPC unix socket, B registered    %8.2f ms  (+%.0f%% over local prepared; %.2fx fp32)\n",
                unix_q_ms, 100 * (unix_q_ms / prep_ms - 1), fp32_ms / unix_q_ms);
  }
  srv.Shutdown();
  return same ? 0 : 1;
}
