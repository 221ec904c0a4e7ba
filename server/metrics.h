// Prometheus text metrics: request counts by RPC and status code, histograms
// of latency, queue wait and unpack ratio, and gauges read at scrape time.
// No request data is exposed. Thread-safe.
#ifndef IMUNPACK_SERVER_METRICS_H_
#define IMUNPACK_SERVER_METRICS_H_

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace imunpack::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  // Appends the _bucket/_sum/_count lines of `name` with `labels` ("" or
  // "rpc=\"Gemm\"").
  void Render(const std::string& name, const std::string& labels, std::string* out) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // one per bound, plus +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  void Record(const std::string& rpc, const std::string& code, double latency_s);
  void ObserveQueueWait(double seconds);
  void ObserveUnpackRatio(double ratio);
  // A gauge whose value is read when rendering.
  void AddGauge(const std::string& name, const std::string& help, std::function<double()> read);
  std::string Render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> requests_;  // guarded by mu_
  std::map<std::string, Histogram> latency_;                          // guarded by mu_
  Histogram queue_wait_;                                              // guarded by mu_
  Histogram unpack_ratio_;                                            // guarded by mu_
  std::vector<std::tuple<std::string, std::string, std::function<double()>>> gauges_;
};

}  // namespace imunpack::server

#endif  // IMUNPACK_SERVER_METRICS_H_
