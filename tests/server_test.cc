// The service end to end: a real server on 127.0.0.1 (port chosen by the
// kernel), the real client library, no mocks.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <future>
#include <limits>
#include <memory>
#include <random>
#include <thread>

#include "client/client.h"
#include "common/workload.h"
#include "imunpack/v1/imunpack.grpc.pb.h"
#include "kernels/pipeline.h"
#include "kernels/reference.h"
#include "proto/quant.h"
#include "server/server.h"
#include "tests/test_util.h"

namespace imunpack {
namespace {

using server::ImunpackServer;
using server::ServerOptions;

ServerOptions SmallServer() {
  ServerOptions o;
  o.address = "127.0.0.1:0";
  o.pool.workers = 1;
  o.pool.threads_per_worker = 1;
  o.pool.queue_capacity = 16;
  o.service.replica_id = "test-replica";
  o.drain_s = 5;
  return o;
}

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions o = SmallServer()) {
    server_ = std::make_unique<ImunpackServer>(o);
    Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    target_ = "127.0.0.1:" + std::to_string(server_->port());
    client::ClientOptions co;
    co.targets = {target_};
    co.deadline_s = 60;
    client_ = std::make_unique<client::Client>(co);
    channel_ = grpc::CreateChannel(target_, grpc::InsecureChannelCredentials());
    stub_ = v1::GemmService::NewStub(channel_);
  }
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);  // one line per request is noise here
    StartServer();
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  void ExpectServing() {
    StatusOr<std::string> h = client_->Health();
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    EXPECT_EQ(*h, "SERVING");
  }

  std::unique_ptr<ImunpackServer> server_;
  std::string target_;
  std::unique_ptr<client::Client> client_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::GemmService::Stub> stub_;
};

GemmConfig LocalConfig(const client::GemmParams& p) {
  GemmConfig cfg;
  cfg.bits = p.bits;
  cfg.strategy = static_cast<Strategy>(p.strategy);
  auto q = [](const v1::QuantConfig& v) {
    return QuantConfig{v.percentile() == 0 ? 1.0 : v.percentile(), v.levels(),
                       v.granularity() == v1::GRANULARITY_CHANNEL ? Granularity::kChannel
                                                                  : Granularity::kTensor,
                       v.alpha()};
  };
  cfg.a = q(p.a_quant);
  cfg.b = q(p.b_quant);
  return cfg;
}

void ExpectSameBits(const Matrix<float>& x, const Matrix<float>& y, const std::string& where) {
  ASSERT_EQ(x.rows(), y.rows()) << where;
  ASSERT_EQ(x.cols(), y.cols()) << where;
  for (int64_t i = 0; i < x.size(); ++i) ASSERT_EQ(x.data()[i], y.data()[i]) << where << " at " << i;
}

TEST_F(ServerTest, GemmOverTheWireIsBitIdenticalToTheKernels) {
  int seed = 0;
  for (auto [m, k, n] : {std::tuple{1, 1, 1}, {63, 129, 65}, {130, 200, 61}}) {
    Matrix<float> a = Generate(Distribution::kOutlierChannels, m, k, ++seed, Operand::kA);
    Matrix<float> b = Generate(Distribution::kStudentT, k, n, ++seed, Operand::kB);
    for (v1::Strategy st : {v1::STRATEGY_AUTO, v1::STRATEGY_ROW, v1::STRATEGY_COLUMN,
                            v1::STRATEGY_BOTH}) {
      for (bool raw : {true, false}) {
        client::ClientOptions co;
        co.targets = {target_};
        co.raw_encoding = raw;
        client::Client c(co);
        client::GemmParams p;
        p.bits = 6;
        p.strategy = st;
        p.a_quant.set_percentile(0.99);
        p.b_quant.set_granularity(v1::GRANULARITY_CHANNEL);
        p.verify = true;
        StatusOr<client::GemmResult> r = c.Gemm(a, b, p);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        StatusOr<Matrix<float>> local = FloatGemm(a, b, LocalConfig(p));
        ASSERT_TRUE(local.ok());
        ExpectSameBits(r->c, *local, std::to_string(m) + " raw=" + std::to_string(raw));
        EXPECT_EQ(r->overhead.m(), m);
        EXPECT_GE(r->overhead.unpack_ratio(), 1.0);
        EXPECT_EQ(r->replica_ids, std::vector<std::string>{"test-replica"});
        EXPECT_GT(r->overhead.times().server_ms(), 0.0);
        EXPECT_GE(r->verification.rel_fro_error(), 0.0);
        if (st != v1::STRATEGY_AUTO) {
          EXPECT_EQ(r->overhead.strategy_a(), st);
        }
      }
    }
  }
}

TEST_F(ServerTest, UnixSocketServesTheSameGemm) {
  server_->Shutdown();
  ServerOptions o = SmallServer();
  o.unix_socket = ::testing::TempDir() + "imunpack-test-" + std::to_string(getpid()) + ".sock";
  StartServer(o);
  client::ClientOptions co;
  co.targets = {"unix:" + o.unix_socket};
  client::Client over_unix(co);
  Matrix<float> a = Generate(Distribution::kOutlierChannels, 70, 300, 1, Operand::kA);
  Matrix<float> b = Generate(Distribution::kGaussian, 300, 90, 2, Operand::kB);
  client::GemmParams p;
  p.a_quant.set_percentile(0.99);
  StatusOr<client::GemmResult> r = over_unix.Gemm(a, b, p);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  StatusOr<Matrix<float>> local = FloatGemm(a, b, LocalConfig(p));
  ASSERT_TRUE(local.ok());
  ExpectSameBits(r->c, *local, "unix socket");
  ExpectServing();  // TCP still answers too
  server_->Shutdown();
  // A path that cannot be bound is refused at start, naming it.
  o.unix_socket = "/nonexistent-dir/x.sock";
  ImunpackServer bad(o);
  Status s = bad.Start();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("unix:/nonexistent-dir/x.sock"), std::string::npos) << s.message();
}

TEST_F(ServerTest, IntGemmOverTheWireIsExact) {
  std::mt19937_64 rng(9);
  for (int bits : {2, 5, 8}) {
    for (v1::Strategy st : {v1::STRATEGY_AUTO, v1::STRATEGY_ROW, v1::STRATEGY_COLUMN,
                            v1::STRATEGY_BOTH}) {
      Matrix<int32_t> a = testing::RandomInt(testing::IntDist::kStudentT, 37, 65, bits, rng);
      Matrix<int32_t> b = testing::RandomInt(testing::IntDist::kEdges, 65, 29, bits, rng);
      Matrix<int64_t> want = reference::IntGemm(a, b);
      for (bool raw : {true, false}) {
        client::ClientOptions co;
        co.targets = {target_};
        co.raw_encoding = raw;
        StatusOr<client::IntGemmResult> r = client::Client(co).IntGemm(a, b, bits, st);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        for (int64_t i = 0; i < want.size(); ++i) {
          ASSERT_EQ(r->c.data()[i], want.data()[i]) << "raw " << raw;
        }
        EXPECT_GT(r->overhead.times().server_ms(), 0.0);
      }
    }
  }
}

// Sends req through the raw stub (so malformed messages can be made).
grpc::Status RawGemm(v1::GemmService::Stub* stub, const v1::GemmRequest& req) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::GemmResponse resp;
  return stub->Gemm(&ctx, req, &resp);
}

v1::GemmRequest GoodRequest() {
  v1::GemmRequest r;
  for (auto [m, rows, cols] : {std::tuple{r.mutable_a(), 2, 3}, {r.mutable_b(), 3, 4}}) {
    m->set_rows(rows);
    m->set_cols(cols);
    for (int i = 0; i < rows * cols; ++i) m->add_values(0.5f * i - 1);
  }
  return r;
}

// GoodRequest's A sent as a QuantizedMatrix instead (8 bits, sigma 1: the
// digits are the integers 10..15, none heavy).
v1::QuantizedMatrix* Quantized(v1::GemmRequest* r) {
  v1::QuantizedMatrix* q = r->mutable_a_quantized();  // replaces a (oneof)
  q->set_rows(2);
  q->set_cols(3);
  q->set_bits(8);
  q->set_digits(std::string{10, 11, 12, 13, 14, 15});
  q->add_sigma(1);
  q->add_alpha(127);
  return q;
}

// Declares entry `at` heavy with `value` (bytes as the wire has them).
void AddHeavy(v1::QuantizedMatrix* q, int64_t at, int32_t value) {
  q->mutable_heavy_index()->append(reinterpret_cast<const char*>(&at), sizeof(at));
  q->mutable_heavy_value()->append(reinterpret_cast<const char*>(&value), sizeof(value));
}

TEST_F(ServerTest, BadRequestsGetTheRightCodeAndTheServerStaysHealthy) {
  ASSERT_TRUE(RawGemm(stub_.get(), GoodRequest()).ok());
  {
    v1::GemmRequest q = GoodRequest();
    Quantized(&q);
    grpc::Status s = RawGemm(stub_.get(), q);
    ASSERT_TRUE(s.ok()) << s.error_message();  // the base of the quantized cases is valid
  }
  struct Case {
    const char* name;
    std::function<void(v1::GemmRequest*)> mutate;
    grpc::StatusCode code;
    const char* needle;
  };
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Case cases[] = {
      {"shape mismatch", [](auto* r) { r->mutable_b()->set_rows(4); r->mutable_b()->add_values(1); r->mutable_b()->add_values(1); r->mutable_b()->add_values(1); r->mutable_b()->add_values(1); },
       grpc::StatusCode::INVALID_ARGUMENT, "a.cols must equal b.rows"},
      {"length", [](auto* r) { r->mutable_a()->add_values(1); }, grpc::StatusCode::INVALID_ARGUMENT, "a.values has 7"},
      {"raw length", [](auto* r) { r->mutable_a()->clear_values(); r->mutable_a()->set_raw("abc"); }, grpc::StatusCode::INVALID_ARGUMENT, "a.raw has 3 bytes"},
      {"both encodings", [](auto* r) { r->mutable_a()->set_raw(std::string(24, '\0')); }, grpc::StatusCode::INVALID_ARGUMENT, "both are set"},
      {"no data", [](auto* r) { r->mutable_b()->clear_values(); }, grpc::StatusCode::INVALID_ARGUMENT, "neither is set"},
      {"zero rows", [](auto* r) { r->mutable_a()->set_rows(0); }, grpc::StatusCode::INVALID_ARGUMENT, "a.rows = 0"},
      {"negative cols", [](auto* r) { r->mutable_b()->set_cols(-4); }, grpc::StatusCode::INVALID_ARGUMENT, "b.cols = -4"},
      {"nan", [nan](auto* r) { r->mutable_a()->set_values(4, nan); }, grpc::StatusCode::INVALID_ARGUMENT, "a[1][1] = nan"},
      {"inf", [](auto* r) { r->mutable_b()->set_values(0, INFINITY); }, grpc::StatusCode::INVALID_ARGUMENT, "b[0][0] = inf"},
      {"bits", [](auto* r) { r->set_bits(9); }, grpc::StatusCode::INVALID_ARGUMENT, "bits = 9"},
      {"percentile", [](auto* r) { r->mutable_a_quant()->set_percentile(1.5); }, grpc::StatusCode::INVALID_ARGUMENT, "a_quant.percentile = 1.5"},
      {"levels", [](auto* r) { r->mutable_b_quant()->set_levels(2); }, grpc::StatusCode::INVALID_ARGUMENT, "b_quant.levels = 2"},
      {"strategy enum", [](auto* r) { r->set_strategy(static_cast<v1::Strategy>(7)); }, grpc::StatusCode::INVALID_ARGUMENT, "strategy = 7"},
      {"alpha nan", [](auto* r) { r->mutable_b_quant()->set_alpha(std::nanf("")); }, grpc::StatusCode::INVALID_ARGUMENT, "b_quant.alpha = nan"},
      {"alpha negative", [](auto* r) { r->mutable_a_quant()->set_alpha(-2); }, grpc::StatusCode::INVALID_ARGUMENT, "a_quant.alpha = -2"},
      {"alpha per channel", [](auto* r) { r->mutable_a_quant()->set_alpha(1); r->mutable_a_quant()->set_granularity(v1::GRANULARITY_CHANNEL); }, grpc::StatusCode::INVALID_ARGUMENT, "a_quant.alpha is set"},
      {"granularity enum", [](auto* r) { r->mutable_a_quant()->set_granularity(static_cast<v1::Granularity>(5)); }, grpc::StatusCode::INVALID_ARGUMENT, "a_quant.granularity = 5"},
      {"no b", [](auto* r) { r->clear_b(); }, grpc::StatusCode::INVALID_ARGUMENT, "set either b or b_handle"},
      {"unknown handle", [](auto* r) { r->set_b_handle("m-0-999"); }, grpc::StatusCode::NOT_FOUND, "m-0-999"},
      {"huge claimed dims", [](auto* r) { r->mutable_a()->set_rows(int64_t{1} << 40); }, grpc::StatusCode::RESOURCE_EXHAUSTED, "max_dim"},
      {"huge dims, tiny raw data", [](auto* r) { r->mutable_a()->clear_values(); r->mutable_a()->set_rows(60000); r->mutable_a()->set_cols(60000); r->mutable_a()->set_raw(std::string(24, 'x')); }, grpc::StatusCode::INVALID_ARGUMENT, "a.raw has 24 bytes; 60000x60000 needs"},
      {"empty request", [](auto* r) { r->Clear(); }, grpc::StatusCode::INVALID_ARGUMENT, "a.rows = 0"},
      {"negative bits", [](auto* r) { r->set_bits(-1); }, grpc::StatusCode::INVALID_ARGUMENT, "bits = -1"},
      {"one bit", [](auto* r) { r->set_bits(1); }, grpc::StatusCode::INVALID_ARGUMENT, "bits = 1"},
      {"negative levels", [](auto* r) { r->mutable_a_quant()->set_levels(-5); }, grpc::StatusCode::INVALID_ARGUMENT, "a_quant.levels = -5"},
      {"negative percentile", [](auto* r) { r->mutable_b_quant()->set_percentile(-0.5); }, grpc::StatusCode::INVALID_ARGUMENT, "b_quant.percentile = -0.5"},
      {"empty handle", [](auto* r) { r->set_b_handle(""); }, grpc::StatusCode::NOT_FOUND, "b_handle \"\""},
      {"raw not a whole float", [](auto* r) { r->mutable_b()->clear_values(); r->mutable_b()->set_raw(std::string(47, '\0')); }, grpc::StatusCode::INVALID_ARGUMENT, "b.raw has 47 bytes"},
      // A quantized by the client (QuantizedMatrix): every field checked.
      {"quantized: digits short", [&](auto* r) { Quantized(r)->set_digits(std::string(5, 1)); }, grpc::StatusCode::INVALID_ARGUMENT, "a_quantized is 2x3 with 5 digits"},
      {"quantized: digit out of range", [&](auto* r) { (*Quantized(r)->mutable_digits())[4] = -128; }, grpc::StatusCode::INVALID_ARGUMENT, "a_quantized.digits[4] = -128"},
      {"quantized: heavy fits a digit", [&](auto* r) { AddHeavy(Quantized(r), 2, 100); }, grpc::StatusCode::INVALID_ARGUMENT, "value 100"},
      {"quantized: heavy past the end", [&](auto* r) { AddHeavy(Quantized(r), 6, 300); }, grpc::StatusCode::INVALID_ARGUMENT, "below rows·cols = 6"},
      {"quantized: digit 0 not the heavy's", [&](auto* r) { AddHeavy(Quantized(r), 1, 300); }, grpc::StatusCode::INVALID_ARGUMENT, "not the value's digit 0"},
      {"quantized: heavy bytes", [&](auto* r) { Quantized(r)->set_heavy_index(std::string(8, 0)); }, grpc::StatusCode::INVALID_ARGUMENT, "heavy_index has 8 bytes and heavy_value 0"},
      {"quantized: sigma per column", [&](auto* r) { auto* q = Quantized(r); q->add_sigma(1); q->add_sigma(1); q->add_alpha(1); q->add_alpha(1); }, grpc::StatusCode::INVALID_ARGUMENT, "3 sigma"},
      {"quantized: sigma zero", [&](auto* r) { Quantized(r)->set_sigma(0, 0); }, grpc::StatusCode::INVALID_ARGUMENT, "a_quantized.sigma[0] = 0"},
      {"quantized: bits", [&](auto* r) { Quantized(r)->set_bits(4); }, grpc::StatusCode::INVALID_ARGUMENT, "a_quantized.digits[0] = 10: outside [-7, 7]"},
      {"quantized: other bits than the GEMM's", [&](auto* r) { Quantized(r); r->set_bits(6); }, grpc::StatusCode::INVALID_ARGUMENT, "a_quantized.bits = 8"},
      {"quantized: verify", [&](auto* r) { Quantized(r); r->set_verify(true); }, grpc::StatusCode::INVALID_ARGUMENT, "verify: needs A as floats"},
      {"quantized: huge dims", [&](auto* r) { Quantized(r)->set_rows(int64_t{1} << 40); }, grpc::StatusCode::RESOURCE_EXHAUSTED, "a_quantized.rows"},
  };
  for (const Case& c : cases) {
    v1::GemmRequest req = GoodRequest();
    c.mutate(&req);
    grpc::Status s = RawGemm(stub_.get(), req);
    EXPECT_EQ(s.error_code(), c.code) << c.name << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(c.needle), std::string::npos)
        << c.name << ": " << s.error_message();
    ExpectServing();
  }
  ASSERT_TRUE(RawGemm(stub_.get(), GoodRequest()).ok());
}

// The other methods, raw bytes that are no protobuf at all, and a method
// that does not exist: each refused with its code, the server healthy after.
TEST_F(ServerTest, MalformedCallsToEveryMethod) {
  auto deadline = [] { return std::chrono::system_clock::now() + std::chrono::seconds(30); };
  auto expect = [&](const char* name, const grpc::Status& s, grpc::StatusCode code,
                    const std::string& needle) {
    EXPECT_EQ(s.error_code(), code) << name << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(needle), std::string::npos) << name << ": " << s.error_message();
    ExpectServing();
  };
  auto int_gemm = [&](std::function<void(v1::IntGemmRequest*)> mutate) {
    v1::IntGemmRequest r;
    for (auto [m, rows, cols] : {std::tuple{r.mutable_a(), 2, 2}, {r.mutable_b(), 2, 2}}) {
      m->set_rows(rows);
      m->set_cols(cols);
      for (int i = 0; i < rows * cols; ++i) m->add_values(i + 1);
    }
    mutate(&r);
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    v1::IntGemmResponse resp;
    return stub_->IntGemm(&ctx, r, &resp);
  };
  expect("int_gemm overflow", int_gemm([](auto* r) {
           for (int i = 0; i < 4; ++i) {
             r->mutable_a()->set_values(i, INT32_MIN);
             r->mutable_b()->set_values(i, INT32_MIN);
           }
         }), grpc::StatusCode::OUT_OF_RANGE, "int64");
  expect("int_gemm raw length", int_gemm([](auto* r) {
           r->mutable_b()->clear_values();
           r->mutable_b()->set_raw(std::string(15, '\0'));
         }), grpc::StatusCode::INVALID_ARGUMENT, "b.raw has 15 bytes");
  expect("int_gemm shapes", int_gemm([](auto* r) { r->mutable_b()->set_rows(4); r->mutable_b()->set_cols(1); }),
         grpc::StatusCode::INVALID_ARGUMENT, "a.cols must equal b.rows");
  auto upload = [&](std::function<void(v1::UploadMatrixRequest*)> mutate) {
    v1::UploadMatrixRequest r;
    r.mutable_matrix()->set_rows(2);
    r.mutable_matrix()->set_cols(2);
    for (int i = 0; i < 4; ++i) r.mutable_matrix()->add_values(i);
    mutate(&r);
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    v1::UploadMatrixResponse resp;
    return stub_->UploadMatrix(&ctx, r, &resp);
  };
  expect("upload nan", upload([](auto* r) { r->mutable_matrix()->set_values(3, std::nanf("")); }),
         grpc::StatusCode::INVALID_ARGUMENT, "[1][1] = nan");
  expect("upload strategy", upload([](auto* r) { r->set_strategy(static_cast<v1::Strategy>(9)); }),
         grpc::StatusCode::INVALID_ARGUMENT, "strategy = 9");
  expect("upload bits", upload([](auto* r) { r->set_bits(12); }), grpc::StatusCode::INVALID_ARGUMENT,
         "bits = 12");
  expect("upload no matrix", upload([](auto* r) { r->clear_matrix(); }),
         grpc::StatusCode::INVALID_ARGUMENT, "matrix.rows = 0");
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    v1::DeleteMatrixRequest r;
    r.set_handle("b-nothing");
    v1::DeleteMatrixResponse resp;
    expect("delete unknown", stub_->DeleteMatrix(&ctx, r, &resp), grpc::StatusCode::NOT_FOUND,
           "b-nothing");
  }
  // Bytes that do not parse as the request message, and an unknown method.
  grpc::GenericStub generic(channel_);
  auto raw_call = [&](const std::string& method, const std::string& bytes) {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    grpc::Slice slice(bytes.data(), bytes.size());
    grpc::ByteBuffer request(&slice, 1), response;
    std::promise<grpc::Status> done;
    generic.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                      [&done](grpc::Status s) { done.set_value(s); });
    return done.get_future().get();
  };
  std::string good;
  GoodRequest().SerializeToString(&good);
  {
    // The same path with a well-formed message works: the path is right.
    grpc::Status s = raw_call("/imunpack.v1.GemmService/Gemm", good);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  const std::string good_prefix = good.substr(0, good.size() / 2);
  const std::string garbage = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x12\x99";
  // Gemm and IntGemm parse their own requests (zero-copy framing) and say so.
  expect("Gemm: bytes that are no GemmRequest", raw_call("/imunpack.v1.GemmService/Gemm", garbage),
         grpc::StatusCode::INVALID_ARGUMENT, "not a valid imunpack.v1.GemmRequest");
  expect("IntGemm: bytes that are no IntGemmRequest",
         raw_call("/imunpack.v1.GemmService/IntGemm", garbage), grpc::StatusCode::INVALID_ARGUMENT,
         "not a valid imunpack.v1.IntGemmRequest");
  // A matrix whose raw bytes claim more than the message holds.
  expect("Gemm: truncated a.raw", raw_call("/imunpack.v1.GemmService/Gemm", good_prefix),
         grpc::StatusCode::INVALID_ARGUMENT, "not a valid imunpack.v1.GemmRequest");
  for (const char* method : {"/imunpack.v1.GemmService/UploadMatrix"}) {
    // gRPC itself refuses a request that fails to parse, before any handler
    // runs (1.51's callback server answers UNIMPLEMENTED); never OK.
    grpc::Status s = raw_call(method, garbage);
    EXPECT_FALSE(s.ok()) << method;
    ExpectServing();
  }
  expect("unknown method", raw_call("/imunpack.v1.GemmService/Nope", "x"),
         grpc::StatusCode::UNIMPLEMENTED, "");
  ASSERT_TRUE(RawGemm(stub_.get(), GoodRequest()).ok());
}

TEST_F(ServerTest, WorkLimitIsResourceExhausted) {
  server_->Shutdown();
  ServerOptions o = SmallServer();
  o.service.limits.max_work = 1000;
  StartServer(o);
  Matrix<float> a = Generate(Distribution::kGaussian, 10, 11, 1, Operand::kA);
  Matrix<float> b = Generate(Distribution::kGaussian, 11, 10, 2, Operand::kB);
  StatusOr<client::GemmResult> r = client_->Gemm(a, b, client::GemmParams());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(r.status().message().find("max_work"), std::string::npos);
  ExpectServing();
}

TEST_F(ServerTest, ManyClientsAgainstASmallQueueGetExactOrResourceExhausted) {
  server_->Shutdown();
  ServerOptions o = SmallServer();
  o.pool.queue_capacity = 2;
  StartServer(o);
  Matrix<float> a = Generate(Distribution::kOutlierChannels, 256, 1024, 3, Operand::kA);
  Matrix<float> b = Generate(Distribution::kGaussian, 1024, 256, 4, Operand::kB);
  client::GemmParams p;
  p.a_quant.set_percentile(0.99);
  StatusOr<Matrix<float>> local = FloatGemm(a, b, LocalConfig(p));
  ASSERT_TRUE(local.ok());
  std::atomic<int> ok{0}, exhausted{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t) {
    threads.emplace_back([&] {
      client::ClientOptions co;
      co.targets = {target_};
      co.max_attempts = 1;  // see the refusals instead of retrying them
      co.deadline_s = 60;
      client::Client c(co);
      for (int i = 0; i < 4; ++i) {
        StatusOr<client::GemmResult> r = c.Gemm(a, b, p);
        if (r.ok()) {
          bool same = r->c.size() == local->size();
          for (int64_t j = 0; same && j < local->size(); ++j) same = r->c.data()[j] == local->data()[j];
          (same ? ok : other)++;
        } else if (r.status().code() == StatusCode::kResourceExhausted) {
          exhausted++;
        } else {
          other++;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ok + exhausted, 48);
  EXPECT_GT(ok.load(), 0);
  EXPECT_GT(exhausted.load(), 0);
  ExpectServing();
}

TEST_F(ServerTest, PastDeadlineAndCancelledCallsAreNotComputed) {
  grpc::ClientContext past;
  past.set_deadline(std::chrono::system_clock::now() - std::chrono::seconds(1));
  v1::GemmResponse resp;
  grpc::Status s = stub_->Gemm(&past, GoodRequest(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  grpc::ClientContext cancelled;
  cancelled.TryCancel();
  s = stub_->Gemm(&cancelled, GoodRequest(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::CANCELLED);
  // A deadline that expires while queued behind a long GEMM.
  Matrix<float> big_a = Generate(Distribution::kGaussian, 1024, 2048, 1, Operand::kA);
  Matrix<float> big_b = Generate(Distribution::kGaussian, 2048, 1024, 2, Operand::kB);
  client::GemmParams p;
  p.verify = true;  // adds an fp32 GEMM: keeps the one worker busy longer
  auto busy = std::async(std::launch::async, [&] { return client_->Gemm(big_a, big_b, p); });
  // Wait until the big call holds the worker (Info is answered on the
  // handler thread, not queued), bounded at 10 s.
  for (int i = 0; i < 1000; ++i) {
    StatusOr<v1::ServerInfo> info = client_->Info();
    if (info.ok() && info->in_flight() > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  grpc::ClientContext soon;
  soon.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(5));
  s = stub_->Gemm(&soon, GoodRequest(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(busy.get().ok());
  ExpectServing();
}

TEST_F(ServerTest, RegisteredMatrixLifecycle) {
  Matrix<float> a = Generate(Distribution::kOutlierChannels, 40, 64, 5, Operand::kA);
  Matrix<float> b = Generate(Distribution::kStudentT, 64, 24, 6, Operand::kB);
  v1::QuantConfig q;
  q.set_percentile(0.999);
  StatusOr<v1::MatrixInfo> info =
      client_->Upload(b, "weights", 7, q, false, v1::STRATEGY_ROW);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->rows(), 64);
  EXPECT_EQ(info->cols(), 24);
  EXPECT_EQ(info->strategy(), v1::STRATEGY_ROW);
  EXPECT_GE(info->cols_unpacked(), 24);
  client::GemmParams p;
  p.bits = 7;
  p.a_quant.set_percentile(0.99);
  p.b_quant = q;
  StatusOr<client::GemmResult> by_handle = client_->Gemm(a, info->handle(), p);
  ASSERT_TRUE(by_handle.ok()) << by_handle.status().ToString();
  EXPECT_EQ(by_handle->overhead.strategy_b(), v1::STRATEGY_ROW);  // fixed at upload
  StatusOr<client::GemmResult> inline_b = client_->Gemm(a, b, p);
  ASSERT_TRUE(inline_b.ok());
  ExpectSameBits(by_handle->c, inline_b->c, "registered vs inline");
  StatusOr<v1::ListMatricesResponse> list = client_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->matrices_size(), 1);
  EXPECT_EQ(list->matrices(0).uses(), 1);
  EXPECT_EQ(list->matrices(0).name(), "weights");
  ASSERT_TRUE(client_->Delete(info->handle()).ok());
  StatusOr<client::GemmResult> gone = client_->Gemm(a, info->handle(), p);
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(client_->Delete(info->handle()).code(), StatusCode::kNotFound);
}

TEST_F(ServerTest, HandlesAreContentAddressed) {
  Matrix<float> b = Generate(Distribution::kGaussian, 64, 24, 6, Operand::kB);
  StatusOr<v1::MatrixInfo> first = client_->Upload(b, "w", 8, {});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // The same content and config, under another name: the same handle, once.
  StatusOr<v1::MatrixInfo> again = client_->Upload(b, "other name", 8, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->handle(), first->handle());
  StatusOr<v1::ListMatricesResponse> list = client_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->matrices_size(), 1);
  // Anything that changes the prepared matrix changes the handle.
  v1::QuantConfig q;
  q.set_percentile(0.99);
  Matrix<float> b2 = Generate(Distribution::kGaussian, 64, 24, 6, Operand::kB);
  b2(63, 23) = std::nextafter(b2(63, 23), 10.0f);
  for (StatusOr<v1::MatrixInfo> other :
       {client_->Upload(b, "w", 7, {}), client_->Upload(b, "w", 8, q),
        client_->Upload(b, "w", 8, {}, false, v1::STRATEGY_COLUMN), client_->Upload(b2, "w", 8, {})}) {
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    EXPECT_NE(other->handle(), first->handle());
  }
  // Another replica (or this one after a restart) names it the same.
  ImunpackServer second(SmallServer());
  ASSERT_TRUE(second.Start().ok());
  client::ClientOptions co;
  co.targets = {"127.0.0.1:" + std::to_string(second.port())};
  client::Client c2(co);
  StatusOr<v1::MatrixInfo> there = c2.Upload(b, "w", 8, {});
  ASSERT_TRUE(there.ok());
  EXPECT_EQ(there->handle(), first->handle());
  second.Shutdown();
}

TEST_F(ServerTest, RegisteredMatricesAreEvictedLeastRecentlyUsedFirst) {
  server_->Shutdown();
  ServerOptions o = SmallServer();
  // Room for three 100x100 (digits, packed copy, heavy list, scales), not four.
  StatusOr<std::shared_ptr<const PreparedB>> one =
      PrepareB(Generate(Distribution::kGaussian, 100, 100, 10, Operand::kB), QuantConfig{}, 8);
  ASSERT_TRUE(one.ok());
  o.registered_budget_bytes = 3 * (*one)->bytes() + (*one)->bytes() / 2;
  StartServer(o);
  std::vector<std::string> handles;
  for (int i = 0; i < 3; ++i) {
    Matrix<float> b = Generate(Distribution::kGaussian, 100, 100, 10 + i, Operand::kB);
    StatusOr<v1::MatrixInfo> info = client_->Upload(b, "w" + std::to_string(i), 8, {});
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    handles.push_back(info->handle());
  }
  Matrix<float> a = Generate(Distribution::kGaussian, 4, 100, 1, Operand::kA);
  ASSERT_TRUE(client_->Gemm(a, handles[0], {}).ok());  // w1 is now the LRU
  Matrix<float> b = Generate(Distribution::kGaussian, 100, 100, 20, Operand::kB);
  StatusOr<v1::MatrixInfo> fourth = client_->Upload(b, "w3", 8, {});
  ASSERT_TRUE(fourth.ok());
  StatusOr<v1::ListMatricesResponse> list = client_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->matrices_size(), 3);
  EXPECT_LE(list->total_bytes(), list->budget_bytes());
  EXPECT_EQ(client_->Gemm(a, handles[1], {}).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(client_->Gemm(a, handles[0], {}).ok());
  // One matrix larger than the whole budget is refused outright.
  Matrix<float> huge = Generate(Distribution::kGaussian, 200, 200, 30, Operand::kB);
  EXPECT_EQ(client_->Upload(huge, "huge", 8, {}).status().code(), StatusCode::kResourceExhausted);
}

// GemmParams.quantize_on_client: A's digits and heavy hitters go instead of
// floats, and C is bit-identical to the float request, for inline and
// registered B, per tensor and per row, in one call or in row blocks (each
// block's heavy positions re-based to its rows).
TEST_F(ServerTest, QuantizedOnTheClientGivesTheSameBits) {
  Matrix<float> a = Generate(Distribution::kOutlierChannels, 150, 96, 21, Operand::kA);
  Matrix<float> b = Generate(Distribution::kStudentT, 96, 40, 22, Operand::kB);
  client::ClientOptions blocks_opt;
  blocks_opt.targets = {target_};
  blocks_opt.block_bytes = 32 * 96 * 4;  // 5 blocks of <= 32 rows
  client::Client blocked(blocks_opt);
  for (int bits : {3, 8}) {
    StatusOr<v1::MatrixInfo> h = client_->Upload(b, "b", bits, {});
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    for (auto granularity : {v1::GRANULARITY_TENSOR, v1::GRANULARITY_CHANNEL}) {
      client::GemmParams p;
      p.bits = bits;
      p.a_quant.set_percentile(0.95);
      p.a_quant.set_granularity(granularity);
      StatusOr<Matrix<float>> local = FloatGemm(a, b, LocalConfig(p));
      ASSERT_TRUE(local.ok());
      p.quantize_on_client = true;
      const std::string where = "bits " + std::to_string(bits) + " granularity " +
                                std::to_string(granularity);
      for (client::Client* c : {client_.get(), &blocked}) {
        StatusOr<client::GemmResult> inline_b = c->Gemm(a, b, p);
        ASSERT_TRUE(inline_b.ok()) << inline_b.status().ToString();
        ExpectSameBits(inline_b->c, *local, where + " inline B");
        EXPECT_GT(inline_b->overhead.heavy_a(), 0) << where;
        StatusOr<client::GemmResult> reg = c->Gemm(a, h->handle(), p);
        ASSERT_TRUE(reg.ok()) << reg.status().ToString();
        ExpectSameBits(reg->c, *local, where + " registered B");
        EXPECT_EQ(reg->blocks, c == &blocked ? 5 : 1);
      }
    }
  }
  // A registered at 8 bits with A quantized for 4: refused by the server.
  StatusOr<v1::MatrixInfo> h8 = client_->Upload(b, "b8", 8, {});
  ASSERT_TRUE(h8.ok());
  StatusOr<QuantizedA> q4 = QuantizeA(a, QuantConfig{}, 4);
  ASSERT_TRUE(q4.ok());
  v1::GemmRequest req;
  req.set_b_handle(h8->handle());
  *req.mutable_a_quantized() = proto::EncodeQuantizedRows(*q4, 0, a.rows());
  req.mutable_a_quantized()->set_rows(a.rows());
  req.mutable_a_quantized()->set_cols(a.cols());
  req.mutable_a_quantized()->set_digits(
      std::string(reinterpret_cast<const char*>(q4->split.base.data()), a.size()));
  grpc::Status s = RawGemm(stub_.get(), req);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("a_quantized.bits = 4"), std::string::npos) << s.error_message();
  // The client refuses verify with it.
  client::GemmParams p;
  p.quantize_on_client = true;
  p.verify = true;
  EXPECT_EQ(client_->Gemm(a, b, p).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ServerTest, ClientSplitsRequestsLargerThanTheMessageLimit) {
  server_->Shutdown();
  ServerOptions o = SmallServer();
  o.service.max_message_bytes = 64 << 10;
  StartServer(o);
  client::ClientOptions co;
  co.targets = {target_};
  co.max_message_bytes = 64 << 10;
  client::Client c(co);
  Matrix<float> a = Generate(Distribution::kOutlierChannels, 300, 100, 7, Operand::kA);
  Matrix<float> b = Generate(Distribution::kGaussian, 100, 50, 8, Operand::kB);
  for (auto granularity : {v1::GRANULARITY_TENSOR, v1::GRANULARITY_CHANNEL}) {
    // Per tensor, the client sends the whole A's alpha with every block.
    client::GemmParams p;
    p.a_quant.set_percentile(0.99);
    p.a_quant.set_granularity(granularity);
    StatusOr<client::GemmResult> r = c.Gemm(a, b, p);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_GT(r->blocks, 1);
    StatusOr<Matrix<float>> local = FloatGemm(a, b, LocalConfig(p));
    ASSERT_TRUE(local.ok());
    ExpectSameBits(r->c, *local, "split");
  }
  {
    // Pipelined blocks (block_bytes) are exact too, registered B included.
    client::ClientOptions po;
    po.targets = {target_};
    po.block_bytes = 40 * 100 * 4;
    client::Client pc(po);
    client::GemmParams p;
    p.a_quant.set_percentile(0.99);
    StatusOr<v1::MatrixInfo> h = pc.Upload(b, "b", 8, {});
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    StatusOr<client::GemmResult> r = pc.Gemm(a, h->handle(), p);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->blocks, 8);
    StatusOr<Matrix<float>> local = FloatGemm(a, b, LocalConfig(p));
    ASSERT_TRUE(local.ok());
    ExpectSameBits(r->c, *local, "pipelined");
  }
  // Without the client's splitting the server refuses the message.
  v1::GemmRequest big;
  big.mutable_a()->set_rows(300);
  big.mutable_a()->set_cols(100);
  big.mutable_a()->set_raw(std::string(300 * 100 * 4, '\0'));
  *big.mutable_b() = GoodRequest().b();
  EXPECT_EQ(RawGemm(stub_.get(), big).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(ServerTest, InfoReportsLimitsAndLoad) {
  StatusOr<v1::ServerInfo> info = client_->Info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->replica_id(), "test-replica");
  EXPECT_EQ(info->workers(), 1);
  EXPECT_EQ(info->queue_capacity(), 16);
  EXPECT_FALSE(info->onednn_version().empty());
  EXPECT_GE(info->uptime_s(), 0.0);
}

}  // namespace
}  // namespace imunpack

namespace imunpack {
namespace {

TEST_F(ServerTest, KeptMatrixIsUploadedAgainWhenTheServerLostIt) {
  Matrix<float> a = Generate(Distribution::kGaussian, 8, 32, 1, Operand::kA);
  Matrix<float> b = Generate(Distribution::kGaussian, 32, 6, 2, Operand::kB);
  StatusOr<v1::MatrixInfo> info = client_->Upload(b, "kept", 8, {}, /*keep_data=*/true);
  ASSERT_TRUE(info.ok());
  StatusOr<client::GemmResult> before = client_->Gemm(a, info->handle(), {});
  ASSERT_TRUE(before.ok());
  // Another client removes it, as a restart or an eviction would.
  client::ClientOptions co;
  co.targets = {target_};
  ASSERT_TRUE(client::Client(co).Delete(info->handle()).ok());
  StatusOr<client::GemmResult> after = client_->Gemm(a, info->handle(), {});
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  ExpectSameBits(after->c, before->c, "after re-upload");
  // Deleting through the original handle removes the new registration.
  ASSERT_TRUE(client_->Delete(info->handle()).ok());
  StatusOr<v1::ListMatricesResponse> list = client_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->matrices_size(), 0);
}

TEST_F(ServerTest, ClientRecoversFromAServerRestartOnItsOwn) {
  // A server restarted on the same port (registered matrices gone): the
  // same Client object reconnects, uploads its kept matrix again, and gets
  // the same bits, with no help from the caller.
  Matrix<float> a = Generate(Distribution::kGaussian, 8, 32, 1, Operand::kA);
  Matrix<float> b = Generate(Distribution::kGaussian, 32, 6, 2, Operand::kB);
  StatusOr<v1::MatrixInfo> info = client_->Upload(b, "kept", 8, {}, /*keep_data=*/true);
  ASSERT_TRUE(info.ok());
  StatusOr<client::GemmResult> before = client_->Gemm(a, info->handle(), {});
  ASSERT_TRUE(before.ok());
  const int port = server_->port();
  server_->Shutdown();
  server_.reset();
  ServerOptions o = SmallServer();
  o.address = "127.0.0.1:" + std::to_string(port);
  // Back after a pause, as a real restart would be; the client's retries
  // with backoff bridge it.
  std::thread restart([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    server_ = std::make_unique<ImunpackServer>(o);
    ASSERT_TRUE(server_->Start().ok());
  });
  StatusOr<client::GemmResult> after = client_->Gemm(a, info->handle(), {});
  restart.join();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  ExpectSameBits(after->c, before->c, "after the restart");
  StatusOr<v1::ListMatricesResponse> list = client_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->matrices_size(), 1);  // uploaded again, under the same content handle
  EXPECT_EQ(list->matrices(0).handle(), info->handle());
}

TEST_F(ServerTest, AsyncCallsAndMetrics) {
  server_->Shutdown();
  ServerOptions o = SmallServer();
  o.metrics_port = 0;
  StartServer(o);
  std::vector<std::future<StatusOr<client::GemmResult>>> futures;
  for (int i = 0; i < 4; ++i) {
    futures.push_back(client_->GemmAsync(
        Generate(Distribution::kGaussian, 16, 32, i, Operand::kA),
        Generate(Distribution::kGaussian, 32, 8, i, Operand::kB), client::GemmParams()));
  }
  for (auto& f : futures) EXPECT_TRUE(f.get().ok());
  httplib::Client http("127.0.0.1", server_->metrics_port());
  httplib::Result res = http.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("imunpack_requests_total{rpc=\"Gemm\",code=\"OK\"} 4"), std::string::npos)
      << res->body;
  EXPECT_NE(res->body.find("imunpack_queue_wait_seconds_count 4"), std::string::npos);
  EXPECT_NE(res->body.find("imunpack_unpack_ratio_bucket"), std::string::npos);
  EXPECT_NE(res->body.find("imunpack_registered_bytes 0"), std::string::npos);
}

}  // namespace
}  // namespace imunpack
