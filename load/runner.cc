#include "load/runner.h"

#include <grpcpp/alarm.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "proto/quant.h"
#include "proto/wire.h"

namespace imunpack::load {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

const char* kPhases[] = {"decode", "queue",  "select", "quantize", "plan",   "unpack",
                         "gemm",       "reassemble", "verify", "server", "client_minus_server"};

// The state of one level, shared by the sender and the completion callbacks.
class Level {
 public:
  Level(const std::vector<std::shared_ptr<grpc::Channel>>& channels, const Workload& workload,
        const RunSpec& spec)
      : workload_(workload), spec_(spec) {
    for (const auto& ch : channels) stubs_.push_back(std::make_unique<grpc::GenericStub>(ch));
    start_ = Clock::now();
    t0_ = start_ + std::chrono::duration_cast<Clock::duration>(
                       std::chrono::duration<double>(spec.warmup_s));
    stop_at_ = spec.duration_s > 0
                   ? t0_ + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(spec.duration_s))
                   : Clock::time_point::max();
    result_.spec = spec;
    last_send_ = t0_;
    last_completion_ = t0_;
    last_ok_ = t0_;
  }

  LevelResult Run() {
    std::thread progress;
    if (spec_.progress) progress = std::thread([this] { Progress(); });
    if (spec_.mode == RunSpec::Mode::kClosed) {
      for (int i = 0; i < spec_.concurrency; ++i) {
        if (!Issue(Clock::now())) break;
      }
    } else {
      SendOpenLoop();
    }
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Nothing more is sent once no slot is held: the sender has finished
      // (open loop), and a closed-loop slot is only passed on, never opened.
      cv_.wait(lock, [this] { return outstanding_ == 0; });
      finished_ = true;
    }
    cv_.notify_all();
    if (progress.joinable()) progress.join();
    return Finish();
  }

 private:
  struct Call {
    grpc::ClientContext ctx;
    grpc::ByteBuffer reply;
    v1::GemmResponse resp;  // the reply without C's bytes (skipped, not copied)
    Clock::time_point intended;
    size_t item = 0;
    bool measured = false;
  };

  bool Stopped(Clock::time_point now) const {
    return now >= stop_at_ || (spec_.requests > 0 && measured_sent_.load() >= spec_.requests);
  }

  // Under mu_: takes a slot for a call meant to leave at `intended`; false
  // once the level is over. While a slot is held the level cannot finish.
  bool ReserveLocked(Clock::time_point intended, Clock::time_point now, bool* measured) {
    if (Stopped(now)) return false;
    *measured = intended >= t0_;
    if (*measured) {
      measured_sent_.fetch_add(1);
      last_send_ = std::max(last_send_, now);
    }
    ++outstanding_;
    return true;
  }

  bool Issue(Clock::time_point intended) {
    const Clock::time_point now = Clock::now();
    bool measured = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!ReserveLocked(intended, now, &measured)) return false;
    }
    Send(intended, measured);
    return true;
  }

  // Sends on a reserved slot; the slot is released by Done.
  void Send(Clock::time_point intended, bool measured) {
    const int64_t seq = next_.fetch_add(1);
    auto* call = new Call;
    call->intended = intended;
    call->item = static_cast<size_t>(seq) % workload_.items.size();
    call->measured = measured;
    call->ctx.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::microseconds(static_cast<int64_t>(spec_.deadline_s * 1e6)));
    if (!spec_.token.empty()) call->ctx.AddMetadata("authorization", "Bearer " + spec_.token);
    grpc::GenericStub* stub = stubs_[static_cast<size_t>(seq) % stubs_.size()].get();
    stub->UnaryCall(&call->ctx, "/imunpack.v1.GemmService/Gemm", grpc::StubOptions(),
                    &workload_.items[call->item].framed, &call->reply,
                    [this, call](grpc::Status s) { Done(call, s); });
  }

  void Done(Call* call, grpc::Status s) {
    const Clock::time_point now = Clock::now();
    if (s.ok()) {
      // Only the overhead is read; C is checked for its length and skipped.
      Status parsed = wire::Parse(
          &call->reply, &call->resp, {v1::GemmResponse::kCFieldNumber},
          [](int, size_t) { return wire::Discard(); }, "response");
      if (!parsed.ok()) s = grpc::Status(grpc::StatusCode::INTERNAL, parsed.message());
    }
    bool next = false, measured = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (call->measured) Account(*call, workload_.items[call->item], s, now);
      // Closed loop: the slot passes straight to the next call, so the
      // count never touches zero in between.
      --outstanding_;
      next = spec_.mode == RunSpec::Mode::kClosed && ReserveLocked(now, now, &measured);
      // Notified under the lock: once it is released with nothing
      // outstanding, Run may return and this object may be gone.
      cv_.notify_all();
    }
    const bool unavailable = s.error_code() == grpc::StatusCode::UNAVAILABLE;
    delete call;
    if (!next) return;
    if (unavailable && spec_.unavailable_backoff_s > 0) {
      // No server to talk to: this slot pauses before its next call instead
      // of spinning through fail-fast errors (a timer, not a blocked thread).
      auto alarm = std::make_unique<grpc::Alarm>();
      grpc::Alarm* raw = alarm.get();
      {
        std::lock_guard<std::mutex> lock(mu_);
        alarms_.push_back(std::move(alarm));
      }
      raw->Set(std::chrono::system_clock::now() +
                   std::chrono::microseconds(static_cast<int64_t>(spec_.unavailable_backoff_s * 1e6)),
               [this, measured](bool) { Send(Clock::now(), measured); });
      return;
    }
    Send(now, measured);
  }

  // Under mu_.
  void Account(const Call& call, const Workload::Item& item, const grpc::Status& s,
               Clock::time_point now) {
    ++result_.completed;
    const std::string code = StatusCodeName(static_cast<StatusCode>(s.error_code()));
    ++result_.codes[code];
    last_completion_ = std::max(last_completion_, now);
    if (!s.ok()) {
      result_.error_samples.emplace(code, s.error_message());
      return;
    }
    ++result_.ok;
    result_.max_gap_ms = std::max(result_.max_gap_ms, Seconds(now - last_ok_) * 1e3);
    last_ok_ = std::max(last_ok_, now);
    const double latency_s = Seconds(now - call.intended);
    const int64_t us = static_cast<int64_t>(latency_s * 1e6);
    result_.latency.Record(us);
    const size_t w = static_cast<size_t>(Seconds(now - t0_) / spec_.window_s);
    if (w >= windows_.size()) windows_.resize(w + 1);
    windows_[w].Record(us);
    bytes_sent_ += static_cast<double>(item.request_bytes);
    bytes_recv_ += static_cast<double>(call.reply.Length());
    flops_ += item.flops;
    const v1::PhaseTimes& t = call.resp.overhead().times();
    const double phases[] = {t.decode_ms(), t.queue_ms(), t.select_ms(), t.quantize_ms(),
                             t.plan_ms(),  t.unpack_ms(),     t.gemm_ms(),
                             t.reassemble_ms(), t.verify_ms(), t.server_ms(),
                             latency_s * 1e3 - t.server_ms()};
    for (size_t i = 0; i < std::size(kPhases); ++i) phase_sums_[i] += phases[i];
    const double ratio = call.resp.overhead().unpack_ratio();
    ratio_sum_ += ratio;
    result_.unpack_ratio_max = std::max(result_.unpack_ratio_max, ratio);
    ++result_.replicas[call.resp.replica_id().empty() ? "(none)" : call.resp.replica_id()];
  }

  void SendOpenLoop() {
    std::mt19937_64 rng(12345);
    std::exponential_distribution<double> gap(spec_.rate);
    Clock::time_point next = Clock::now();
    for (;;) {
      std::this_thread::sleep_until(std::min(next, stop_at_));
      bool measured = false;
      {
        // Beyond max_outstanding the sender waits; the calls it owes are
        // still timed from their intended send times.
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return outstanding_ < spec_.max_outstanding; });
        const Clock::time_point now = Clock::now();
        if (!ReserveLocked(next, now, &measured)) break;
        if (next >= t0_) max_lag_s_ = std::max(max_lag_s_, Seconds(now - next));
      }
      Send(next, measured);
      const double dt = spec_.poisson ? gap(rng) : 1.0 / spec_.rate;
      next += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(dt));
    }
  }

  void Progress() {
    // A line redrawn twice a second on a terminal; one line per 5 s in logs.
    const bool tty = isatty(STDERR_FILENO);
    const auto every = std::chrono::milliseconds(tty ? 500 : 5000);
    std::unique_lock<std::mutex> lock(mu_);
    while (!finished_) {
      if (cv_.wait_for(lock, every, [this] { return finished_; })) break;
      const double t = Seconds(Clock::now() - t0_);
      const int64_t sent = measured_sent_.load();
      std::fprintf(stderr, "%s[%6.1fs%s] sent %lld  ok %lld  errors %lld  %.1f req/s  p99 %.2f ms%s",
                   tty ? "\r" : "", t < 0 ? -t : t, t < 0 ? " warm-up" : "",
                   static_cast<long long>(sent), static_cast<long long>(result_.ok),
                   static_cast<long long>(result_.completed - result_.ok),
                   t > 0 ? result_.completed / t : 0.0, result_.latency.Percentile(99) / 1e3,
                   tty ? "   " : "\n");
    }
    if (tty) std::fprintf(stderr, "\n");
  }

  LevelResult Finish() {
    LevelResult& r = result_;
    r.sent = measured_sent_.load();
    r.elapsed_s = std::max(1e-9, Seconds(last_completion_ - t0_));
    const double send_span = spec_.duration_s > 0 ? spec_.duration_s : Seconds(last_send_ - t0_);
    r.send_rate = send_span > 0 ? r.sent / send_span : 0;
    r.max_send_lag_ms = max_lag_s_ * 1e3;
    r.max_gap_ms = std::max(r.max_gap_ms, Seconds(last_completion_ - last_ok_) * 1e3);
    r.rps = r.completed / r.elapsed_s;
    r.ok_rps = r.ok / r.elapsed_s;
    r.gflops = flops_ / r.elapsed_s / 1e9;
    r.mb_sent_s = bytes_sent_ / r.elapsed_s / 1e6;
    r.mb_recv_s = bytes_recv_ / r.elapsed_s / 1e6;
    if (r.ok > 0) {
      for (size_t i = 0; i < std::size(kPhases); ++i) r.server_ms[kPhases[i]] = phase_sums_[i] / r.ok;
      r.unpack_ratio_mean = ratio_sum_ / r.ok;
    }
    // Whole windows inside the sending span only: the tail after the last
    // send is a drain, not a steady state.
    const size_t whole = static_cast<size_t>(send_span / spec_.window_s);
    for (size_t w = 0; w < std::min(whole, windows_.size()); ++w) {
      r.windows.push_back({windows_[w].count() / spec_.window_s,
                           windows_[w].Percentile(99) / 1e3});
    }
    if (r.windows.size() >= 3) {
      auto agree = [&](auto field) {
        double lo = 1e300, hi = 0;
        for (size_t w = r.windows.size() - 3; w < r.windows.size(); ++w) {
          lo = std::min(lo, field(r.windows[w]));
          hi = std::max(hi, field(r.windows[w]));
        }
        return hi > 0 && (hi - lo) <= 0.10 * hi;
      };
      r.stable = agree([](const Window& w) { return w.rps; }) &&
                 agree([](const Window& w) { return w.p99_ms; });
    }
    return r;
  }

  const Workload& workload_;
  const RunSpec spec_;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs_;
  Clock::time_point start_, t0_, stop_at_;
  std::atomic<int64_t> next_{0};
  std::atomic<int64_t> measured_sent_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  int64_t outstanding_ = 0;                  // guarded by mu_
  bool finished_ = false;                    // guarded
  LevelResult result_;                       // guarded
  std::vector<LatencyHistogram> windows_;    // guarded
  std::vector<std::unique_ptr<grpc::Alarm>> alarms_;  // guarded; fired ones kept till the end
  Clock::time_point last_send_, last_completion_, last_ok_;  // guarded
  double max_lag_s_ = 0;                     // sender thread only
  double bytes_sent_ = 0, bytes_recv_ = 0, flops_ = 0, ratio_sum_ = 0;  // guarded
  double phase_sums_[std::size(kPhases)] = {};  // guarded
};

}  // namespace

std::string Shape::ToString() const {
  return std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n);
}

StatusOr<Shape> ParseShape(const std::string& text) {
  Shape s;
  long long m = 0, k = 0, n = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%lldx%lldx%lld%c", &m, &k, &n, &tail) != 3 || m <= 0 ||
      k <= 0 || n <= 0) {
    return InvalidArgument("--shape \"" + text + "\": expected MxKxN with positive integers");
  }
  s.m = m;
  s.k = k;
  s.n = n;
  return s;
}

StatusOr<Workload> BuildWorkload(const WorkloadSpec& spec,
                                 const client::ClientOptions& client_options) {
  if (spec.shapes.empty()) return InvalidArgument("no --shape given");
  Workload wl;
  for (size_t i = 0; i < spec.shapes.size(); ++i) {
    const Shape& sh = spec.shapes[i];
    Matrix<float> a = Generate(spec.dist_a, sh.m, sh.k, spec.seed + i, Operand::kA);
    Matrix<float> b = Generate(spec.dist_b, sh.k, sh.n, spec.seed + 1000 + i, Operand::kB);
    Workload::Item item;
    item.shape = sh;
    v1::GemmRequest req;
    req.set_bits(spec.bits);
    req.set_strategy(spec.strategy);
    req.mutable_a_quant()->set_percentile(spec.percentile_a);
    if (spec.quantize_on_client) {
      if (spec.verify) return InvalidArgument("--verify needs A as floats, not --quantize-on-client");
      StatusOr<QuantConfig> q = proto::DecodeQuant(req.a_quant(), "--percentile-a");
      if (!q.ok()) return q.status();
      StatusOr<QuantizedA> qa = QuantizeA(a, *q, spec.bits);
      if (!qa.ok()) return qa.status();
      v1::QuantizedMatrix* out = req.mutable_a_quantized();
      *out = proto::EncodeQuantizedRows(*qa, 0, sh.m);
      out->set_rows(sh.m);
      out->set_cols(sh.k);
      out->set_digits(qa->split.base.data(), a.size());
    } else {
      req.mutable_a()->set_rows(sh.m);
      req.mutable_a()->set_cols(sh.k);
      req.mutable_a()->set_raw(a.data(), a.size() * sizeof(float));
    }
    req.mutable_b_quant()->set_percentile(spec.percentile_b);
    req.set_verify(spec.verify);
    if (spec.registered_b) {
      // With several targets the client uploads to each (handles agree).
      StatusOr<v1::MatrixInfo> info =
          client::Client(client_options)
              .Upload(b, "load-" + std::to_string(sh.k) + "x" + std::to_string(sh.n), spec.bits,
                      req.b_quant());
      if (!info.ok()) return Status(info.status().code(), "upload of B: " + info.status().message());
      req.set_b_handle(info->handle());
    } else {
      req.mutable_b()->set_rows(sh.k);
      req.mutable_b()->set_cols(sh.n);
      req.mutable_b()->set_raw(b.data(), b.size() * sizeof(float));
    }
    item.framed = wire::Frame(req, {}, nullptr);
    item.request_bytes = static_cast<int64_t>(item.framed.Length());
    item.flops = 2.0 * sh.m * sh.k * sh.n;
    wl.items.push_back(std::move(item));
  }
  return wl;
}

std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(const client::ClientOptions& options,
                                                         int count) {
  std::vector<std::shared_ptr<grpc::Channel>> out;
  for (int i = 0; i < std::max(1, count); ++i) {
    grpc::ChannelArguments args = client::ChannelArgs(options);
    // A subchannel pool per channel: each channel opens its own connections.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("imunpack.load.channel", i);
    out.push_back(grpc::CreateCustomChannel(client::ChannelTarget(options.targets),
                                            client::ChannelCredentials(options), args));
  }
  for (auto& ch : out) {
    ch->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }
  return out;
}

LevelResult RunLevel(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                     const Workload& workload, const RunSpec& spec) {
  Level level(channels, workload, spec);
  return level.Run();
}

}  // namespace imunpack::load
