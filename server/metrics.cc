#include "server/metrics.h"

#include <cstdio>
#include <tuple>

namespace imunpack::server {
namespace {

std::vector<double> LatencyBounds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::Render(const std::string& name, const std::string& labels,
                       std::string* out) const {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < bounds_.size() ? Num(bounds_[i]) : "+Inf";
    *out += name + "_bucket{" + labels + sep + "le=\"" + le + "\"} " +
            std::to_string(cumulative) + "\n";
  }
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  *out += name + "_sum" + braces + " " + Num(sum_) + "\n";
  *out += name + "_count" + braces + " " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : queue_wait_(LatencyBounds()),
      unpack_ratio_({1.0, 1.001, 1.01, 1.05, 1.1, 1.25, 1.5, 2, 3, 5, 10}) {}

void Metrics::Record(const std::string& rpc, const std::string& code, double latency_s) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{rpc, code}];
  auto it = latency_.find(rpc);
  if (it == latency_.end()) it = latency_.emplace(rpc, Histogram(LatencyBounds())).first;
  it->second.Observe(latency_s);
}

void Metrics::ObserveQueueWait(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_wait_.Observe(seconds);
}

void Metrics::ObserveUnpackRatio(double ratio) {
  std::lock_guard<std::mutex> lock(mu_);
  unpack_ratio_.Observe(ratio);
}

void Metrics::AddGauge(const std::string& name, const std::string& help,
                       std::function<double()> read) {
  std::lock_guard<std::mutex> lock(mu_);
  gauges_.emplace_back(name, help, std::move(read));
}

std::string Metrics::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  out += "# HELP imunpack_requests_total Finished requests by RPC and gRPC status code.\n";
  out += "# TYPE imunpack_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    out += "imunpack_requests_total{rpc=\"" + key.first + "\",code=\"" + key.second + "\"} " +
           std::to_string(n) + "\n";
  }
  out += "# HELP imunpack_request_duration_seconds Server time per request.\n";
  out += "# TYPE imunpack_request_duration_seconds histogram\n";
  for (const auto& [rpc, h] : latency_) {
    h.Render("imunpack_request_duration_seconds", "rpc=\"" + rpc + "\"", &out);
  }
  out += "# HELP imunpack_queue_wait_seconds Time from admission to a worker.\n";
  out += "# TYPE imunpack_queue_wait_seconds histogram\n";
  queue_wait_.Render("imunpack_queue_wait_seconds", "", &out);
  out += "# HELP imunpack_unpack_ratio Unpacked over original multiply-accumulates.\n";
  out += "# TYPE imunpack_unpack_ratio histogram\n";
  unpack_ratio_.Render("imunpack_unpack_ratio", "", &out);
  for (const auto& [name, help, read] : gauges_) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n";
    out += name + " " + Num(read()) + "\n";
  }
  return out;
}

}  // namespace imunpack::server
