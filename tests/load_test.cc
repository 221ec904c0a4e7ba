// imunpack-load's histogram against exact percentiles, and its engine
// against a real server on 127.0.0.1: every request accounted for, the open
// loop's rate kept, overload reported rather than hidden.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "client/client.h"
#include "load/histogram.h"
#include "load/runner.h"
#include "server/server.h"

namespace imunpack::load {
namespace {

TEST(LatencyHistogramTest, BucketsCoverEveryValueWithinOnePart128) {
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{255}, int64_t{256}, int64_t{257},
                    int64_t{511}, int64_t{512}, int64_t{1000003}, int64_t{1} << 39}) {
    const int i = LatencyHistogram::Index(v);
    EXPECT_LE(LatencyHistogram::Lowest(i), v) << v;
    EXPECT_GE(LatencyHistogram::Highest(i), v) << v;
    EXPECT_LE(LatencyHistogram::Highest(i) - LatencyHistogram::Lowest(i),
              std::max<int64_t>(0, LatencyHistogram::Lowest(i) / 128))
        << v;
    if (i > 0) {
      EXPECT_EQ(LatencyHistogram::Highest(i - 1) + 1, LatencyHistogram::Lowest(i)) << v;
    }
  }
}

TEST(LatencyHistogramTest, PercentilesMatchTheSortedValues) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(7.0, 1.5);  // ~1 ms, long tail
  LatencyHistogram h, half1, half2;
  std::vector<int64_t> values;
  for (int i = 0; i < 200000; ++i) {
    const int64_t v = static_cast<int64_t>(dist(rng));
    values.push_back(v);
    h.Record(v);
    (i % 2 ? half1 : half2).Record(v);
  }
  std::sort(values.begin(), values.end());
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
    const int64_t exact = values[static_cast<size_t>(std::ceil(p / 100 * values.size())) - 1];
    EXPECT_NEAR(static_cast<double>(h.Percentile(p)), static_cast<double>(exact),
                std::max(1.0, exact / 128.0))
        << "p" << p;
  }
  EXPECT_EQ(h.Percentile(100), values.back());
  EXPECT_EQ(h.min(), values.front());
  EXPECT_EQ(h.count(), 200000);
  half1.Merge(half2);
  for (double p : {50.0, 99.0}) EXPECT_EQ(half1.Percentile(p), h.Percentile(p));
  EXPECT_DOUBLE_EQ(half1.mean(), h.mean());
  int64_t coarse = 0;
  for (auto& [edge, n] : h.Coarse(8)) coarse += n;
  EXPECT_EQ(coarse, h.count());
}

class LoadTest : public ::testing::Test {
 protected:
  void Start(int workers, int queue) {
    server::ServerOptions o;
    o.address = "127.0.0.1:0";
    o.pool.workers = workers;
    o.pool.threads_per_worker = 1;
    o.pool.queue_capacity = queue;
    o.service.replica_id = "load-test";
    server_ = std::make_unique<server::ImunpackServer>(o);
    ASSERT_TRUE(server_->Start().ok());
    options_.targets = {"127.0.0.1:" + std::to_string(server_->port())};
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  Workload Build(const std::string& shape, bool registered) {
    WorkloadSpec spec;
    StatusOr<Shape> parsed = ParseShape(shape);
    EXPECT_TRUE(parsed.ok());
    spec.shapes = {parsed.value()};
    spec.registered_b = registered;
    StatusOr<Workload> wl = BuildWorkload(spec, options_);
    EXPECT_TRUE(wl.ok()) << wl.status().ToString();
    return std::move(*wl);
  }
  static int64_t SumCodes(const LevelResult& r) {
    int64_t n = 0;
    for (auto& [code, count] : r.codes) n += count;
    return n;
  }
  std::unique_ptr<server::ImunpackServer> server_;
  client::ClientOptions options_;
};

TEST_F(LoadTest, ClosedLoopAccountsForEveryRequest) {
  Start(2, 64);
  Workload wl = Build("48x64x32", true);
  RunSpec spec;
  spec.concurrency = 4;
  spec.duration_s = 0;
  spec.requests = 300;
  LevelResult r = RunLevel(MakeChannels(options_, 2), wl, spec);
  EXPECT_EQ(r.sent, 300);
  EXPECT_EQ(r.completed, 300);
  EXPECT_EQ(SumCodes(r), r.completed);
  EXPECT_EQ(r.ok, 300) << r.codes.begin()->first;
  EXPECT_EQ(r.latency.count(), r.ok);
  EXPECT_EQ(r.replicas["load-test"], 300);
  EXPECT_GT(r.unpack_ratio_mean, 0.99);
  EXPECT_GT(r.server_ms["server"], 0);
  EXPECT_GT(r.gflops, 0);
}

TEST_F(LoadTest, OpenLoopKeepsItsRate) {
  Start(2, 64);
  Workload wl = Build("32x32x32", false);
  for (bool poisson : {false, true}) {
    RunSpec spec;
    spec.mode = RunSpec::Mode::kOpen;
    spec.rate = 200;
    spec.poisson = poisson;
    spec.duration_s = 2;
    spec.warmup_s = 0.2;
    LevelResult r = RunLevel(MakeChannels(options_, 1), wl, spec);
    EXPECT_NEAR(r.send_rate, 200, 20) << "poisson=" << poisson;
    EXPECT_NEAR(r.rps, 200, 20) << "poisson=" << poisson;
    EXPECT_EQ(r.completed, r.sent);
    EXPECT_EQ(r.ok, r.sent);
  }
}

TEST_F(LoadTest, OverloadIsReportedAsResourceExhausted) {
  Start(1, 1);
  Workload wl = Build("192x192x192", false);
  RunSpec spec;
  spec.concurrency = 16;
  spec.duration_s = 1;
  LevelResult r = RunLevel(MakeChannels(options_, 4), wl, spec);
  EXPECT_EQ(SumCodes(r), r.completed);
  EXPECT_EQ(r.completed, r.sent);
  EXPECT_GT(r.codes["RESOURCE_EXHAUSTED"], 0);
  EXPECT_GT(r.codes["OK"], 0);
  EXPECT_EQ(r.codes["OK"] + r.codes["RESOURCE_EXHAUSTED"], r.completed);
  EXPECT_NE(r.error_samples["RESOURCE_EXHAUSTED"].find("queue"), std::string::npos)
      << r.error_samples["RESOURCE_EXHAUSTED"];
  // Both sides are fine afterwards.
  client::Client c(options_);
  StatusOr<std::string> health = c.Health();
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(*health, "SERVING");
}

TEST_F(LoadTest, DeadlinesShowUpAsDeadlineExceeded) {
  // One single-threaded worker and six callers: the last of each wave waits
  // behind five 1024^3 GEMMs, far longer than 2 ms on any CPU.
  Start(1, 64);
  Workload wl = Build("1024x1024x1024", false);
  RunSpec spec;
  spec.concurrency = 6;
  spec.duration_s = 0;
  spec.requests = 12;
  spec.deadline_s = 0.002;
  LevelResult r = RunLevel(MakeChannels(options_, 1), wl, spec);
  EXPECT_EQ(r.completed, 12);
  EXPECT_GT(r.codes["DEADLINE_EXCEEDED"], 0);
  EXPECT_EQ(SumCodes(r), 12);
}

}  // namespace
}  // namespace imunpack::load
