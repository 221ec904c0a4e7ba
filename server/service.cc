#include "server/service.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <type_traits>

#include "kernels/dnnl_matmul.h"
#include "kernels/timer.h"
#include "proto/wire.h"

namespace imunpack::server {
namespace {

double Ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

std::string OverheadLine(const Overhead& ov) {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "shape=%lldx%lldx%lld bits=%d strategy=%s ratio=%.4f heavy=%lld/%lld "
                "ms[select=%.2f quant=%.2f plan=%.2f unpack=%.2f gemm=%.2f reasm=%.2f]",
                (long long)ov.m, (long long)ov.k, (long long)ov.n, ov.bits,
                ov.StrategyUsed().c_str(), ov.unpack_ratio, (long long)ov.heavy_a,
                (long long)ov.heavy_b, ov.times.select_ms, ov.times.quantize_ms,
                ov.times.plan_ms, ov.times.unpack_ms, ov.times.gemm_ms,
                ov.times.reassemble_ms);
  return buf;
}

void FillInfo(const std::string& handle, const std::string& name, const PreparedB& b,
              int64_t uses, v1::MatrixInfo* info) {
  info->set_handle(handle);
  info->set_name(name);
  info->set_rows(b.rows());
  info->set_cols(b.cols());
  info->set_bits(b.bits);
  *info->mutable_quant() = EncodeQuant(b.quant);
  info->set_heavy(static_cast<int64_t>(b.split.heavy.size()));
  info->set_bytes(b.bytes());
  info->set_uses(uses);
  info->set_strategy(ToProto(b.plan.strategy));
  info->set_cols_unpacked(b.cols() + b.plan.total_outer_extra);
}

// Parses a Gemm or IntGemm request (A is field 2, B field 3, a quantized A
// field 10): the matrices' raw bytes go to `a`, `b` and `digits`, the rest
// into `msg`. A raw length that is no whole number of T is left in the
// message, for the decoder to name.
template <typename T>
Status ParseRequest(const grpc::ByteBuffer& request, google::protobuf::MessageLite* msg,
                    Received<T>* a, Received<T>* b, Buffer<int8_t>* digits) {
  grpc::ByteBuffer bytes(request);  // shares the slices, copies nothing
  return wire::Parse(
      &bytes, msg, {2, 3, 10},
      [&](int field, size_t n) -> void* {
        if (field == 10) {
          if (digits == nullptr) return nullptr;
          digits->Resize(n);
          return digits->data();
        }
        if (n % sizeof(T) != 0) return nullptr;
        return (field == 2 ? a : b)->Resize(n / sizeof(T));
      },
      "request");
}

// The response with C (field 2) framed from C's own memory, which gRPC
// frees once sent; typed values when the request used them.
template <typename T, typename Resp>
grpc::ByteBuffer FrameResponse(Resp* head, Matrix<T> c, bool raw) {
  if (!raw) {
    if constexpr (std::is_same_v<T, float>) {
      EncodeFloat(c, false, head->mutable_c());
    } else {
      EncodeInt64(c, false, head->mutable_c());
    }
    return wire::Frame(*head, {}, nullptr);
  }
  auto owned = std::make_shared<const Matrix<T>>(std::move(c));
  return wire::Frame(*head, {{2, owned->rows(), owned->cols(), owned->data(),
                              static_cast<size_t>(owned->size()) * sizeof(T)}},
                     owned);
}

// The fields Gemm and IntGemm responses share.
template <typename Resp>
void FillResponse(const std::string& request_id, const std::string& replica_id,
                  const Overhead& ov, double queue_ms, std::chrono::steady_clock::time_point start,
                  Resp* resp) {
  resp->set_request_id(request_id);
  resp->set_replica_id(replica_id);
  EncodeOverhead(ov, resp->mutable_overhead());
  v1::PhaseTimes* t = resp->mutable_overhead()->mutable_times();
  t->set_queue_ms(queue_ms);
  t->set_server_ms(Ms(std::chrono::steady_clock::now() - start));
}

}  // namespace

GemmServiceImpl::GemmServiceImpl(const ServiceOptions& options, WorkerPool* pool,
                                 MatrixStore* store, Metrics* metrics)
    : options_(options), auth_(options.auth_tokens), pool_(pool), store_(store),
      metrics_(metrics) {}

bool GemmServiceImpl::Authorized(const grpc::CallbackServerContext& ctx,
                                 grpc::ServerUnaryReactor* reactor, const char* rpc,
                                 const std::string& id, Clock::time_point start,
                                 std::string* client) {
  Status s = auth_.Check(ctx, client);
  if (!s.ok()) Finish(reactor, rpc, id, start, s, "");
  return s.ok();
}

Status GemmServiceImpl::Interrupted(grpc::CallbackServerContext* ctx) {
  if (ctx->IsCancelled()) return Status(StatusCode::kCancelled, "call cancelled by the client");
  if (ctx->deadline() < std::chrono::system_clock::now()) {
    return Status(StatusCode::kDeadlineExceeded, "deadline passed before the GEMM finished");
  }
  return Status::Ok();
}

void GemmServiceImpl::Finish(grpc::ServerUnaryReactor* reactor, const char* rpc,
                             const std::string& id, Clock::time_point start,
                             const Status& status, const std::string& detail) {
  const double ms = Ms(Clock::now() - start);
  metrics_->Record(rpc, StatusCodeName(status.code()), ms / 1000.0);
  if (status.ok()) {
    spdlog::info("rpc={} id={} status=OK server_ms={:.2f} {}", rpc, id, ms, detail);
  } else {
    spdlog::info("rpc={} id={} status={} server_ms={:.2f} error=\"{}\"", rpc, id,
                 StatusCodeName(status.code()), ms, status.message());
  }
  reactor->Finish(ToGrpc(status));
}

StatusOr<Matrix<float>> GemmServiceImpl::ComputeGemm(const v1::GemmRequest& req,
                                                     MatrixView<float> a, const QuantizedA* qa,
                                                     MatrixView<float> b,
                                                     const GemmConfig& cfg, Overhead* ov) {
  if (req.b_source_case() != v1::GemmRequest::kBHandle) {
    return qa ? FloatGemm(*qa, b, cfg, ov) : FloatGemm(a, b, cfg, ov);
  }
  StatusOr<std::shared_ptr<const PreparedB>> pb = store_->Use(req.b_handle());
  if (!pb.ok()) return pb.status();
  IMUNPACK_RETURN_IF_ERROR(ValidateGemm(a.rows, a.cols, (*pb)->rows(), (*pb)->cols(), cfg));
  IMUNPACK_RETURN_IF_ERROR(CheckWork(a.rows, a.cols, (*pb)->cols(), options_.limits));
  // The shared pointer keeps B alive even if it is deleted meanwhile.
  return qa ? FloatGemm(*qa, **pb, cfg, ov) : FloatGemm(a, **pb, cfg, ov);
}

grpc::ServerUnaryReactor* GemmServiceImpl::Gemm(grpc::CallbackServerContext* ctx,
                                                const grpc::ByteBuffer* request,
                                                grpc::ByteBuffer* response) {
  const Clock::time_point start = Clock::now();
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::string client;
  if (!Authorized(*ctx, reactor, "Gemm", "", start, &client)) return reactor;
  // Parsed here: the matrices' bytes are copied once, from gRPC's buffers
  // into buffers of their own (wire::Parse), the rest into the message. All
  // of it stays alive until the worker is done with the views into it.
  auto in = std::make_shared<ReceivedGemm>();
  std::shared_ptr<const v1::GemmRequest> req(in, &in->req);
  if (Status parsed = ParseRequest(*request, &in->req, &in->a, &in->b, &in->digits);
      !parsed.ok()) {
    Finish(reactor, "Gemm", "", start, parsed, "");
    return reactor;
  }
  // Cheap checks on the handler thread: shapes, limits, config. A quantized
  // by the client is checked entry by entry here too (one pass over bytes
  // that just arrived), so a bad one never takes a worker.
  std::shared_ptr<const QuantizedA> qa;
  StatusOr<MatrixView<float>> a = MatrixView<float>{};
  if (req->a_source_case() == v1::GemmRequest::kAQuantized) {
    StatusOr<QuantizedA> q =
        DecodeQuantizedA(req->a_quantized(), "a_quantized", options_.limits, &in->digits);
    if (!q.ok()) {
      Finish(reactor, "Gemm", req->request_id(), start, q.status(), "");
      return reactor;
    }
    qa = std::make_shared<const QuantizedA>(std::move(q.value()));
    a = MatrixView<float>{nullptr, qa->split.rows, qa->split.cols};  // the shape only
  } else {
    a = DecodeFloat(req->a(), "a", options_.limits, in->a.bytes());
  }
  if (!a.ok()) {
    Finish(reactor, "Gemm", req->request_id(), start, a.status(), "");
    return reactor;
  }
  const bool has_handle = req->b_source_case() == v1::GemmRequest::kBHandle;
  if (req->b_source_case() == v1::GemmRequest::B_SOURCE_NOT_SET) {
    Finish(reactor, "Gemm", req->request_id(), start,
           InvalidArgument("b: set either b or b_handle"), "");
    return reactor;
  }
  StatusOr<MatrixView<float>> b = MatrixView<float>{};
  if (!has_handle) {
    b = DecodeFloat(req->b(), "b", options_.limits, in->b.bytes());
    if (!b.ok()) {
      Finish(reactor, "Gemm", req->request_id(), start, b.status(), "");
      return reactor;
    }
  }
  StatusOr<GemmConfig> cfg = DecodeConfig(req->bits(), req->strategy(), req->a_quant(),
                                          req->b_quant(), req->verify());
  Status early = cfg.status();
  if (early.ok() && !has_handle) {
    early = ValidateGemm(a->rows, a->cols, b->rows, b->cols, *cfg);
    if (early.ok()) early = CheckWork(a->rows, a->cols, b->cols, options_.limits);
  }
  if (early.ok() && qa) {
    // A registered B's bits are checked when it is looked up.
    early = CheckQuantizedA(*qa, has_handle ? qa->bits : cfg->bits, cfg->verify);
  }
  if (!early.ok()) {
    Finish(reactor, "Gemm", req->request_id(), start, early, "");
    return reactor;
  }
  // Bytes held while the request waits and runs: its operands, the result,
  // and the unpacked pieces (bounded by a small multiple of the inputs).
  const int64_t n_out = has_handle ? 0 : b->cols;
  const int64_t bytes = 4 * (a->size() + b->size() + a->rows * n_out) * 3;
  const bool raw = qa || in->a.size > 0 || !req->a().raw().empty();
  const Clock::time_point decoded = Clock::now();
  Status admitted = pool_->Submit(bytes, [=, this, a = *a, b = *b, cfg = *cfg]() mutable {
    const double queue_ms = Ms(Clock::now() - decoded);
    metrics_->ObserveQueueWait(queue_ms / 1000.0);
    Status s = Interrupted(ctx);  // expired in the queue: never computed
    Overhead ov;
    if (s.ok()) {
      cfg.check_continue = [ctx] { return Interrupted(ctx); };
      StatusOr<Matrix<float>> c = ComputeGemm(*req, a, qa.get(), b, cfg, &ov);
      s = c.status();
      if (s.ok()) {
        v1::GemmResponse head;
        FillResponse(req->request_id(), options_.replica_id, ov, queue_ms, start, &head);
        head.mutable_overhead()->mutable_times()->set_decode_ms(Ms(decoded - start));
        if (ov.verified) {
          head.mutable_verification()->set_max_abs_error(ov.max_abs_error);
          head.mutable_verification()->set_rel_fro_error(ov.rel_fro_error);
        }
        *response = FrameResponse(&head, std::move(*c), raw);
        metrics_->ObserveUnpackRatio(ov.unpack_ratio);
      }
    }
    Finish(reactor, "Gemm", req->request_id(), start, s,
           s.ok() ? OverheadLine(ov) + " queue_ms=" + std::to_string(queue_ms) : "");
  });
  if (!admitted.ok()) Finish(reactor, "Gemm", req->request_id(), start, admitted, "");
  return reactor;
}

grpc::ServerUnaryReactor* GemmServiceImpl::IntGemm(grpc::CallbackServerContext* ctx,
                                                   const grpc::ByteBuffer* request,
                                                   grpc::ByteBuffer* response) {
  const Clock::time_point start = Clock::now();
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::string client;
  if (!Authorized(*ctx, reactor, "IntGemm", "", start, &client)) return reactor;
  auto in = std::make_shared<ReceivedIntGemm>();
  std::shared_ptr<const v1::IntGemmRequest> req(in, &in->req);
  if (Status parsed = ParseRequest(*request, &in->req, &in->a, &in->b, nullptr); !parsed.ok()) {
    Finish(reactor, "IntGemm", "", start, parsed, "");
    return reactor;
  }
  StatusOr<MatrixView<int32_t>> a = DecodeInt32(req->a(), "a", options_.limits, in->a.bytes());
  StatusOr<MatrixView<int32_t>> b =
      a.ok() ? DecodeInt32(req->b(), "b", options_.limits, in->b.bytes())
             : StatusOr<MatrixView<int32_t>>(a.status());
  StatusOr<GemmConfig> cfg = DecodeConfig(req->bits(), req->strategy(), v1::QuantConfig(),
                                          v1::QuantConfig(), false);
  Status early = !b.ok() ? b.status() : cfg.status();
  if (early.ok()) early = ValidateGemm(a->rows, a->cols, b->rows, b->cols, *cfg);
  if (early.ok()) early = CheckWork(a->rows, a->cols, b->cols, options_.limits);
  if (!early.ok()) {
    Finish(reactor, "IntGemm", req->request_id(), start, early, "");
    return reactor;
  }
  const int64_t bytes = (4 * (a->size() + b->size()) + 8 * a->rows * b->cols) * 3;
  const bool raw = in->a.size > 0 || !req->a().raw().empty();
  const Clock::time_point decoded = Clock::now();
  Status admitted = pool_->Submit(bytes, [=, this, a = *a, b = *b, cfg = *cfg]() mutable {
    const double queue_ms = Ms(Clock::now() - decoded);
    metrics_->ObserveQueueWait(queue_ms / 1000.0);
    Status s = Interrupted(ctx);
    Overhead ov;
    if (s.ok()) {
      cfg.check_continue = [ctx] { return Interrupted(ctx); };
      StatusOr<Matrix<int64_t>> c = imunpack::IntGemm(a, b, cfg, &ov);
      s = c.status();
      if (s.ok()) {
        v1::IntGemmResponse head;
        FillResponse(req->request_id(), options_.replica_id, ov, queue_ms, start, &head);
        head.mutable_overhead()->mutable_times()->set_decode_ms(Ms(decoded - start));
        *response = FrameResponse(&head, std::move(*c), raw);
        metrics_->ObserveUnpackRatio(ov.unpack_ratio);
      }
    }
    Finish(reactor, "IntGemm", req->request_id(), start, s, s.ok() ? OverheadLine(ov) : "");
  });
  if (!admitted.ok()) Finish(reactor, "IntGemm", req->request_id(), start, admitted, "");
  return reactor;
}

grpc::ServerUnaryReactor* GemmServiceImpl::UploadMatrix(grpc::CallbackServerContext* ctx,
                                                        const v1::UploadMatrixRequest* req,
                                                        v1::UploadMatrixResponse* resp) {
  const Clock::time_point start = Clock::now();
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::string client;
  if (!Authorized(*ctx, reactor, "UploadMatrix", req->name(), start, &client)) return reactor;
  StatusOr<MatrixView<float>> m = DecodeFloat(req->matrix(), "matrix", options_.limits);
  StatusOr<QuantConfig> q = DecodeQuant(req->quant(), "quant");
  const int bits = req->bits() == 0 ? 8 : req->bits();
  Status early = !m.ok() ? m.status() : q.status();
  if (!early.ok()) {
    Finish(reactor, "UploadMatrix", req->name(), start, early, "");
    return reactor;
  }
  StatusOr<GemmConfig> st_cfg = DecodeConfig(bits, req->strategy(), v1::QuantConfig(),
                                             v1::QuantConfig(), false);
  if (!st_cfg.ok()) {
    Finish(reactor, "UploadMatrix", req->name(), start, st_cfg.status(), "");
    return reactor;
  }
  const Strategy strategy = st_cfg->strategy;
  Status admitted = pool_->Submit(m->size() * 6, [=, this, m = *m, q = *q]() {
    // Content-addressed: an upload of a matrix already registered (by any
    // client, or before on another replica) gets the same handle at once.
    const std::string handle = MatrixStore::ContentHandle(m, q, bits, strategy);
    if (std::optional<StoredMatrix> known = store_->Find(handle)) {
      FillInfo(known->handle, known->name, *known->prepared, known->uses, resp->mutable_info());
      Finish(reactor, "UploadMatrix", req->name(), start, Status::Ok(),
             "handle=" + handle + " (already registered)");
      return;
    }
    StatusOr<std::shared_ptr<const PreparedB>> pb = PrepareB(m, q, bits, strategy);
    Status s = pb.status();
    if (s.ok()) {
      int64_t evicted = 0;
      StatusOr<StoredMatrix> st = store_->Add(handle, req->name(), *pb, client,
                                              options_.registered_per_client_bytes, &evicted);
      s = st.status();
      if (s.ok()) {
        FillInfo(st->handle, st->name, **pb, 0, resp->mutable_info());
        resp->set_evicted(evicted);
      }
    }
    Finish(reactor, "UploadMatrix", req->name(), start, s,
           s.ok() ? "handle=" + resp->info().handle() : "");
  });
  if (!admitted.ok()) Finish(reactor, "UploadMatrix", req->name(), start, admitted, "");
  return reactor;
}

grpc::ServerUnaryReactor* GemmServiceImpl::DeleteMatrix(grpc::CallbackServerContext* ctx,
                                                        const v1::DeleteMatrixRequest* req,
                                                        v1::DeleteMatrixResponse*) {
  const Clock::time_point start = Clock::now();
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::string client;
  if (!Authorized(*ctx, reactor, "DeleteMatrix", req->handle(), start, &client)) return reactor;
  Finish(reactor, "DeleteMatrix", req->handle(), start, store_->Remove(req->handle()), "");
  return reactor;
}

grpc::ServerUnaryReactor* GemmServiceImpl::ListMatrices(grpc::CallbackServerContext* ctx,
                                                        const v1::ListMatricesRequest*,
                                                        v1::ListMatricesResponse* resp) {
  const Clock::time_point start = Clock::now();
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::string client;
  if (!Authorized(*ctx, reactor, "ListMatrices", "", start, &client)) return reactor;
  for (const StoredMatrix& m : store_->List()) {
    FillInfo(m.handle, m.name, *m.prepared, m.uses, resp->add_matrices());
  }
  resp->set_total_bytes(store_->bytes());
  resp->set_budget_bytes(store_->budget());
  Finish(reactor, "ListMatrices", "", start, Status::Ok(), "");
  return reactor;
}

grpc::ServerUnaryReactor* GemmServiceImpl::GetServerInfo(grpc::CallbackServerContext* ctx,
                                                         const v1::GetServerInfoRequest*,
                                                         v1::ServerInfo* resp) {
  const Clock::time_point start = Clock::now();
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::string client;
  if (!Authorized(*ctx, reactor, "GetServerInfo", "", start, &client)) return reactor;
  const WorkerPool::Options& po = pool_->options();
  resp->set_version(IMUNPACK_VERSION);
  resp->set_onednn_version(DnnlVersion());
  resp->set_isa(DnnlIsa());
  resp->set_workers(po.workers);
  resp->set_threads_per_worker(po.threads_per_worker);
  resp->set_queue_capacity(po.queue_capacity);
  resp->set_queue_depth(pool_->queue_depth());
  resp->set_in_flight(pool_->in_flight());
  resp->set_max_message_bytes(options_.max_message_bytes);
  resp->set_max_dim(options_.limits.max_dim);
  resp->set_max_work(options_.limits.max_work);
  resp->set_max_bytes_in_flight(po.max_bytes_in_flight);
  resp->set_registered_bytes(store_->bytes());
  resp->set_registered_budget_bytes(store_->budget());
  resp->set_uptime_s(std::chrono::duration<double>(Clock::now() - started_).count());
  resp->set_replica_id(options_.replica_id);
  Finish(reactor, "GetServerInfo", "", start, Status::Ok(), "");
  return reactor;
}

}  // namespace imunpack::server
