// The engine of imunpack-load: prepared GEMM requests, sent over one or
// several channels in a closed loop (N calls always in flight) or an open
// loop (a fixed or Poisson arrival rate, latency measured from the intended
// send time), with every completion accounted for.
#ifndef IMUNPACK_LOAD_RUNNER_H_
#define IMUNPACK_LOAD_RUNNER_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "client/client.h"
#include "common/workload.h"
#include "imunpack/v1/imunpack.grpc.pb.h"
#include "kernels/status.h"
#include "load/histogram.h"

namespace imunpack::load {

struct Shape {
  int64_t m = 0, k = 0, n = 0;
  std::string ToString() const;
};
// "MxKxN", e.g. "1024x4096x4096".
StatusOr<Shape> ParseShape(const std::string& text);

struct WorkloadSpec {
  std::vector<Shape> shapes;  // requests cycle through them in order
  int bits = 8;
  double percentile_a = 0.999;
  double percentile_b = 1.0;
  v1::Strategy strategy = v1::STRATEGY_AUTO;
  bool registered_b = false;  // upload each B once; requests carry its handle
  Distribution dist_a = Distribution::kOutlierChannels;
  Distribution dist_b = Distribution::kGaussian;
  uint64_t seed = 1;
  bool verify = false;
  // Send A as the server's QuantizedMatrix (quantized once, when the
  // workload is built) instead of floats.
  bool quantize_on_client = false;
};

// The requests of a workload, built once and shared read-only by all calls.
struct Workload {
  struct Item {
    Shape shape;
    grpc::ByteBuffer framed;  // the GemmRequest serialized once, sent as is by every call
    int64_t request_bytes = 0;
    double flops = 0;  // 2·m·k·n
  };
  std::vector<Item> items;
};
// Generates the matrices; with registered_b uploads each B to every target
// separately (handles are content addresses, so they agree).
StatusOr<Workload> BuildWorkload(const WorkloadSpec& spec,
                                 const client::ClientOptions& client_options);

struct RunSpec {
  enum class Mode { kClosed, kOpen };
  Mode mode = Mode::kClosed;
  int concurrency = 1;      // closed loop: calls in flight
  double rate = 0;          // open loop: requests per second
  bool poisson = false;     // open loop: exponential gaps instead of constant
  double duration_s = 10;   // measured time; 0 = until `requests`
  int64_t requests = 0;     // measured requests; 0 = until `duration_s`
  double warmup_s = 0;      // sent first, not measured
  double deadline_s = 30;   // per request
  double window_s = 1;      // stability windows
  int64_t max_outstanding = 4096;  // open loop: the sender waits beyond this
  bool progress = false;    // live line on stderr
  std::string token;        // bearer token sent with every call, if any
  // Closed loop: after an UNAVAILABLE answer (no server reachable) a slot
  // waits this long before its next call, rather than spinning.
  double unavailable_backoff_s = 0.02;
};

struct Window {
  double rps = 0;
  double p99_ms = 0;
};

// Everything measured at one load level.
struct LevelResult {
  RunSpec spec;
  int64_t sent = 0;       // measured requests sent
  int64_t completed = 0;  // of those, answered (any status)
  int64_t ok = 0;
  std::map<std::string, int64_t> codes;           // status name -> count
  std::map<std::string, std::string> error_samples;  // status name -> a message
  double elapsed_s = 0;   // first measured send -> last measured completion
  double send_rate = 0;   // open loop: achieved sends per second
  double max_send_lag_ms = 0;  // open loop: how late the sender ever was
  // Longest stretch without a successful answer (from the first measured
  // send): how long a server restart or outage was felt.
  double max_gap_ms = 0;
  double rps = 0;         // completed / elapsed
  double ok_rps = 0;
  double gflops = 0;      // 2·m·k·n of OK requests per second
  double mb_sent_s = 0, mb_recv_s = 0;
  LatencyHistogram latency;  // OK requests, µs
  std::vector<Window> windows;
  bool stable = false;    // last three windows agree within 10% (rps and p99)
  // Server-side means over OK responses, milliseconds.
  std::map<std::string, double> server_ms;
  double unpack_ratio_mean = 0, unpack_ratio_max = 0;
  std::map<std::string, int64_t> replicas;
  double error_rate() const {
    return completed ? static_cast<double>(completed - ok) / completed : 0.0;
  }
};

// Runs one level against channels (calls spread over them in turn).
LevelResult RunLevel(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                     const Workload& workload, const RunSpec& spec);

// `count` channels to the options' targets, each on its own connection.
std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(
    const client::ClientOptions& options, int count);

}  // namespace imunpack::load

#endif  // IMUNPACK_LOAD_RUNNER_H_
