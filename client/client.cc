#include "client/client.h"

#include "kernels/config.h"
#include "kernels/select.h"
#include "proto/quant.h"
#include "proto/wire.h"

#include <grpcpp/generic/generic_stub.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <tuple>
#include <random>
#include <thread>

namespace imunpack::client {
namespace {

template <typename T, typename Proto>
void SetMatrix(MatrixView<T> m, bool raw, Proto* out) {
  out->set_rows(m.rows);
  out->set_cols(m.cols);
  if (raw) {
    out->set_raw(reinterpret_cast<const char*>(m.data), m.size() * sizeof(T));
  } else {
    out->mutable_values()->Add(m.data, m.data + m.size());
  }
}

// Copies a response matrix of the expected shape straight into dst.
template <typename T, typename Proto>
Status ReadInto(const Proto& p, int64_t rows, int64_t cols, T* dst, const char* what) {
  if (p.rows() != rows || p.cols() != cols) {
    return Internal(std::string(what) + ": response is " + std::to_string(p.rows()) + "x" +
                    std::to_string(p.cols()) + ", expected " + std::to_string(rows) + "x" +
                    std::to_string(cols));
  }
  const size_t n = static_cast<size_t>(rows * cols);
  if (!p.raw().empty()) {
    if (p.raw().size() != n * sizeof(T)) return Internal(std::string(what) + ": response has the wrong size");
    std::memcpy(dst, p.raw().data(), p.raw().size());
  } else {
    if (static_cast<size_t>(p.values_size()) != n) {
      return Internal(std::string(what) + ": response has the wrong size");
    }
    std::copy(p.values().begin(), p.values().end(), dst);
  }
  return Status::Ok();
}

}  // namespace

Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return Status::Ok();
  return Status(static_cast<StatusCode>(s.error_code()), s.error_message());
}

std::string ChannelTarget(const std::vector<std::string>& targets) {
  if (targets.size() == 1) return targets[0];
  // Several explicit addresses: the ipv4 resolver takes a comma list.
  std::string t = "ipv4:";
  for (size_t i = 0; i < targets.size(); ++i) t += (i ? "," : "") + targets[i];
  return t;
}

grpc::ChannelArguments ChannelArgs(const ClientOptions& options) {
  grpc::ChannelArguments args;
  const int max_msg = static_cast<int>(
      std::min<int64_t>(options.max_message_bytes, std::numeric_limits<int>::max()));
  args.SetMaxReceiveMessageSize(max_msg);
  args.SetMaxSendMessageSize(max_msg);
  args.SetLoadBalancingPolicyName("round_robin");
  // As on the server: big frames and windows for multi-megabyte matrices.
  args.SetInt(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, 16 * 1024 * 1024 - 1);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 * 1024 * 1024);
  args.SetInt(GRPC_ARG_HTTP2_WRITE_BUFFER_SIZE, 64 * 1024 * 1024);
  // Reconnect soon after a server restart (gRPC's default waits 1 s, then
  // up to 120 s): 100 ms at first, never more than 2 s.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  return args;
}

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(const ClientOptions& options) {
  if (!options.tls) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = options.tls_ca_pem;
  ssl.pem_cert_chain = options.tls_cert_pem;
  ssl.pem_private_key = options.tls_key_pem;
  return grpc::SslCredentials(ssl);
}

Status LoadTlsFiles(const std::string& ca, const std::string& cert, const std::string& key,
                    ClientOptions* options) {
  for (auto [path, out, what] : {std::tuple{&ca, &options->tls_ca_pem, "tls-ca"},
                                 std::tuple{&cert, &options->tls_cert_pem, "tls-cert"},
                                 std::tuple{&key, &options->tls_key_pem, "tls-key"}}) {
    if (path->empty()) continue;
    std::ifstream in(*path, std::ios::binary);
    if (!in) return InvalidArgument(std::string(what) + " \"" + *path + "\": cannot be read");
    std::ostringstream ss;
    ss << in.rdbuf();
    *out = ss.str();
    options->tls = true;
  }
  if (options->tls_cert_pem.empty() != options->tls_key_pem.empty()) {
    return InvalidArgument("tls-cert and tls-key go together (mutual TLS)");
  }
  return Status::Ok();
}

Client::Client(ClientOptions options) : options_(std::move(options)) {
  channel_ = grpc::CreateCustomChannel(ChannelTarget(options_.targets),
                                       ChannelCredentials(options_), ChannelArgs(options_));
  stub_ = v1::GemmService::NewStub(channel_);
  raw_stub_ = std::make_unique<grpc::GenericStub>(channel_);
  if (options_.targets.size() > 1) {
    // Uploads and deletes go to every replica, each on its own channel.
    for (const std::string& t : options_.targets) {
      auto channel =
          grpc::CreateCustomChannel(t, ChannelCredentials(options_), ChannelArgs(options_));
      replica_stubs_.push_back(v1::GemmService::NewStub(channel));
      replica_raw_stubs_.push_back(std::make_unique<grpc::GenericStub>(channel));
    }
  }
}

template <typename Invoke>
Status Client::Retry(Invoke invoke) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  double backoff = options_.initial_backoff_s;
  grpc::Status s;
  for (int attempt = 1;; ++attempt) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::milliseconds(static_cast<int64_t>(options_.deadline_s * 1000)));
    if (!options_.token.empty()) ctx.AddMetadata("authorization", "Bearer " + options_.token);
    s = invoke(&ctx);
    // CANCELLED is retried too: this client never cancels its own calls, so
    // it comes from the server side (a call still arriving when the server
    // began to shut down), and every GEMM is a pure function of its request.
    const bool retry = s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
                       s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                       s.error_code() == grpc::StatusCode::CANCELLED;
    // Size-limit refusals are RESOURCE_EXHAUSTED too but will not change.
    const bool permanent = s.error_message().find("max_") != std::string::npos ||
                           s.error_message().find("budget is") != std::string::npos;
    if (!retry || permanent || attempt >= options_.max_attempts) break;
    std::uniform_real_distribution<double> jitter(0.5, 1.5);
    std::this_thread::sleep_for(std::chrono::duration<double>(backoff * jitter(rng)));
    backoff = std::min(backoff * 2, options_.max_backoff_s);
  }
  return FromGrpc(s);
}

template <typename Req, typename Resp, typename Fn>
Status Client::Call(const Req& req, Resp* resp, Fn method, v1::GemmService::Stub* stub) {
  if (stub == nullptr) stub = stub_.get();
  return Retry([&](grpc::ClientContext* ctx) { return (stub->*method)(ctx, req, resp); });
}

template <typename T, typename Resp>
Status Client::Exchange(const char* method, const google::protobuf::MessageLite& head,
                        const std::vector<wire::RawMatrix>& raw, grpc::GenericStub* stub,
                        Resp* resp, T* dst, int64_t rows, int64_t cols) {
  const std::string path = std::string("/imunpack.v1.GemmService/") + method;
  grpc::ByteBuffer reply;
  Status s;
  {
    std::promise<void> released;
    {
      std::shared_ptr<const void> keep(this, [&released](const void*) { released.set_value(); });
      const grpc::ByteBuffer req = wire::Frame(head, raw, std::move(keep));
      auto call = [&](grpc::GenericStub* via) {
        return Retry([&](grpc::ClientContext* ctx) {
          std::promise<grpc::Status> done;
          via->UnaryCall(ctx, path, grpc::StubOptions(), &req, &reply,
                         [&done](grpc::Status st) { done.set_value(std::move(st)); });
          return done.get_future().get();
        });
      };
      s = call(stub ? stub : raw_stub_.get());
      if (stub != nullptr && s.code() == StatusCode::kUnavailable) s = call(raw_stub_.get());
    }
    released.get_future().wait();
  }
  if (!s.ok()) return s;
  const size_t want = static_cast<size_t>(rows * cols) * sizeof(T);
  bool in_place = false;
  Status parsed = wire::Parse(
      &reply, resp, {2},  // c is field 2 of both GemmResponse and IntGemmResponse
      [&](int, size_t bytes) -> void* {
        if (in_place || bytes != want) return nullptr;
        in_place = true;
        return dst;
      },
      method);
  if (!parsed.ok()) return Internal(parsed.message());
  const bool complete = in_place && resp->c().raw().empty() && resp->c().values_size() == 0 &&
                        resp->c().rows() == rows && resp->c().cols() == cols;
  // Anything else (typed values, a wrong shape) is read or named here.
  if (!complete) IMUNPACK_RETURN_IF_ERROR(ReadInto(resp->c(), rows, cols, dst, "c"));
  resp->clear_c();
  return Status::Ok();
}

StatusOr<GemmResult> Client::GemmBlocks(MatrixView<float> a, v1::GemmRequest head,
                                        MatrixView<float> b, int64_t n, int bits,
                                        const GemmParams& p) {
  // Rows per block so that request (A block + B) and response (C block)
  // stay under the limit, with headroom for framing.
  const int64_t budget = options_.max_message_bytes * 9 / 10 - 4096;
  const int64_t b_bytes = b.size() * 4;
  const int64_t row_bytes = std::max<int64_t>(a.cols, n) * 4;
  int64_t rows = a.rows;
  if (a.size() * 4 + b_bytes > budget || a.rows * n * 4 > budget) {
    if (budget - b_bytes < row_bytes) {
      return ResourceExhausted("b alone (" + std::to_string(b_bytes) +
                               " bytes) does not fit the message limit; upload it instead");
    }
    rows = std::max<int64_t>(1, std::min((budget - b_bytes) / (a.cols * 4), budget / (n * 4)));
  }
  if (p.shards > 1) rows = std::min(rows, (a.rows + p.shards - 1) / p.shards);
  if (options_.block_bytes > 0) {
    // Pipelining: smaller blocks in flight at once, so sending one block,
    // computing another and receiving a third overlap.
    rows = std::min(rows, std::max<int64_t>(1, options_.block_bytes / row_bytes));
  }
  const int64_t blocks = (a.rows + rows - 1) / rows;
  v1::QuantConfig a_quant = head.a_quant();
  // Quantized here: the whole A at once, then each block sends its rows.
  std::unique_ptr<QuantizedA> qa;
  if (p.quantize_on_client) {
    if (p.verify) {
      return InvalidArgument("verify: needs A as floats; it cannot be combined with "
                             "quantize_on_client");
    }
    StatusOr<QuantConfig> q = proto::DecodeQuant(a_quant, "a_quant");
    if (!q.ok()) return q.status();
    StatusOr<QuantizedA> quantized = QuantizeA(a, *q, bits);
    if (!quantized.ok()) return quantized.status();
    qa = std::make_unique<QuantizedA>(std::move(quantized.value()));
  } else if (blocks > 1 && a_quant.granularity() == v1::GRANULARITY_TENSOR && a_quant.alpha() == 0) {
    // One scale for the whole A, as a single call would select it; each
    // block then quantizes exactly as its rows would in the whole matrix.
    const double beta = a_quant.percentile() == 0 ? 1.0 : a_quant.percentile();
    if (beta > 0 && beta <= 1) {
      AbsRank r = KthLargestAbs(a.data, a.size(), PercentileRank(a.size(), beta));
      // Non-finite input is left for the server to name. alpha = 0 (e.g.
      // mostly zero A) is sent as kMinAlpha, the same sigma.
      if (r.finite) a_quant.set_alpha(std::max(r.kth, kMinAlpha));
    }
  }
  *head.mutable_a_quant() = a_quant;
  if (!options_.raw_encoding && b.data != nullptr) SetMatrix(b, false, head.mutable_b());
  GemmResult out;
  out.blocks = static_cast<int>(blocks);
  out.c = Matrix<float>(a.rows, n);
  auto run_block = [&](int64_t blk) -> StatusOr<v1::GemmResponse> {
    const int64_t r0 = blk * rows, r1 = std::min(a.rows, r0 + rows);
    const MatrixView<float> a_blk{a.data + r0 * a.cols, r1 - r0, a.cols};
    v1::GemmRequest one = blocks == 1 ? std::move(head) : head;
    one.set_request_id(blocks > 1 ? p.request_id + "/" + std::to_string(blk) : p.request_id);
    std::vector<wire::RawMatrix> raw;
    if (qa) {
      // The small fields in the head; rows, cols and the digits framed
      // (the receiver merges the two, as protobuf does).
      *one.mutable_a_quantized() = proto::EncodeQuantizedRows(*qa, r0, r1);
      raw.push_back({v1::GemmRequest::kAQuantizedFieldNumber, a_blk.rows, a_blk.cols,
                     qa->split.base.data() + r0 * a.cols, static_cast<size_t>(a_blk.size())});
    } else if (options_.raw_encoding) {
      raw.push_back({v1::GemmRequest::kAFieldNumber, a_blk.rows, a_blk.cols, a_blk.data,
                     static_cast<size_t>(a_blk.size()) * 4});
    } else {
      SetMatrix(a_blk, false, one.mutable_a());
    }
    if (options_.raw_encoding && b.data != nullptr) {
      raw.push_back({v1::GemmRequest::kBFieldNumber, b.rows, b.cols, b.data,
                     static_cast<size_t>(b_bytes)});
    }
    // Several targets: block i goes to target i mod R, so the blocks are
    // spread even over connections that are still warming up.
    grpc::GenericStub* stub = blocks > 1 && !replica_raw_stubs_.empty()
                                  ? replica_raw_stubs_[blk % replica_raw_stubs_.size()].get()
                                  : nullptr;
    v1::GemmResponse resp;
    IMUNPACK_RETURN_IF_ERROR(Exchange("Gemm", one, raw, stub, &resp, out.c.data() + r0 * n,
                                      r1 - r0, n));
    return resp;
  };
  std::vector<std::future<StatusOr<v1::GemmResponse>>> futures;
  for (int64_t blk = 0; blk < blocks; ++blk)
    futures.push_back(std::async(blocks > 1 ? std::launch::async : std::launch::deferred,
                                 run_block, blk));
  Status first_error;
  for (int64_t blk = 0; blk < blocks; ++blk) {
    StatusOr<v1::GemmResponse> r = futures[blk].get();
    if (!r.ok()) {
      if (first_error.ok()) first_error = r.status();
      continue;
    }
    if (blk == 0) {
      out.overhead = r->overhead();
      out.verification = r->verification();
    }
    out.replica_ids.push_back(r->replica_id());
  }
  if (!first_error.ok()) return first_error;
  return out;
}

StatusOr<GemmResult> Client::Gemm(MatrixView<float> a, MatrixView<float> b,
                                  const GemmParams& p) {
  v1::GemmRequest req;
  req.set_bits(p.bits);
  req.set_strategy(p.strategy);
  *req.mutable_a_quant() = p.a_quant;
  *req.mutable_b_quant() = p.b_quant;
  req.set_verify(p.verify);
  return GemmBlocks(a, std::move(req), b, b.cols, p.bits == 0 ? 8 : p.bits, p);
}

StatusOr<GemmResult> Client::GemmHandle(MatrixView<float> a, const std::string& server_handle,
                                        const v1::MatrixInfo& b, const GemmParams& p) {
  v1::GemmRequest req;
  req.set_b_handle(server_handle);
  req.set_strategy(p.strategy);
  *req.mutable_a_quant() = p.a_quant;
  req.set_verify(p.verify);
  return GemmBlocks(a, std::move(req), MatrixView<float>{}, b.cols(),
                    b.bits() == 0 ? 8 : b.bits(), p);
}

StatusOr<GemmResult> Client::Gemm(MatrixView<float> a, const std::string& b_handle,
                                  const GemmParams& p) {
  std::shared_ptr<Kept> kept;
  {
    std::lock_guard<std::mutex> lock(kept_mu_);
    auto it = kept_.find(b_handle);
    if (it != kept_.end()) kept = it->second;
  }
  // The output width (and bits) are the registered matrix's. A handle never
  // changes its matrix, so they are learned once (Upload or one List).
  std::optional<v1::MatrixInfo> info;
  {
    std::lock_guard<std::mutex> lock(kept_mu_);
    auto it = known_.find(b_handle);
    if (it != known_.end()) info = it->second;
  }
  if (!kept) {
    if (!info) {
      StatusOr<v1::ListMatricesResponse> list = List();
      if (!list.ok()) return list.status();
      std::lock_guard<std::mutex> lock(kept_mu_);
      for (const v1::MatrixInfo& m : list->matrices()) {
        known_[m.handle()] = m;
        if (m.handle() == b_handle) info = m;
      }
    }
    if (!info) return Status(StatusCode::kNotFound, "b_handle \"" + b_handle + "\": not registered");
    return GemmHandle(a, b_handle, *info, p);
  }
  if (!info) {
    info.emplace();
    info->set_cols(kept->b.cols());
    info->set_bits(kept->bits);
  }
  std::string current;
  {
    std::lock_guard<std::mutex> lock(kept_mu_);
    current = kept->current;
  }
  StatusOr<GemmResult> r = GemmHandle(a, current, *info, p);
  if (r.ok() || r.status().code() != StatusCode::kNotFound) return r;
  // Gone on the server: register the kept copy again, then retry once.
  StatusOr<v1::MatrixInfo> again = Upload(kept->b, kept->name, kept->bits, kept->quant, false, kept->strategy);
  if (!again.ok()) return again.status();
  {
    std::lock_guard<std::mutex> lock(kept_mu_);
    kept->current = again->handle();
  }
  return GemmHandle(a, again->handle(), *again, p);
}

std::future<StatusOr<GemmResult>> Client::GemmAsync(Matrix<float> a, Matrix<float> b,
                                                    GemmParams p) {
  return std::async(std::launch::async,
                    [this, a = std::move(a), b = std::move(b), p = std::move(p)] {
                      return Gemm(a.view(), b.view(), p);
                    });
}

StatusOr<IntGemmResult> Client::IntGemm(MatrixView<int32_t> a, MatrixView<int32_t> b,
                                        int bits, v1::Strategy strategy) {
  v1::IntGemmRequest req;
  req.set_bits(bits);
  req.set_strategy(strategy);
  std::vector<wire::RawMatrix> raw;
  if (options_.raw_encoding) {
    raw.push_back({v1::IntGemmRequest::kAFieldNumber, a.rows, a.cols, a.data,
                   static_cast<size_t>(a.size()) * sizeof(int32_t)});
    raw.push_back({v1::IntGemmRequest::kBFieldNumber, b.rows, b.cols, b.data,
                   static_cast<size_t>(b.size()) * sizeof(int32_t)});
  } else {
    SetMatrix(a, false, req.mutable_a());
    SetMatrix(b, false, req.mutable_b());
  }
  IntGemmResult out;
  out.c = Matrix<int64_t>(a.rows, b.cols);
  v1::IntGemmResponse resp;
  IMUNPACK_RETURN_IF_ERROR(
      Exchange("IntGemm", req, raw, nullptr, &resp, out.c.data(), a.rows, b.cols));
  out.overhead = resp.overhead();
  out.replica_id = resp.replica_id();
  return out;
}

StatusOr<v1::MatrixInfo> Client::Upload(MatrixView<float> b, const std::string& name,
                                        int bits, const v1::QuantConfig& quant,
                                        bool keep_data, v1::Strategy strategy) {
  v1::UploadMatrixRequest req;
  req.set_name(name);
  SetMatrix(b, options_.raw_encoding, req.mutable_matrix());
  req.set_bits(bits);
  *req.mutable_quant() = quant;
  req.set_strategy(strategy);
  v1::UploadMatrixResponse resp;
  if (replica_stubs_.empty()) {
    IMUNPACK_RETURN_IF_ERROR(Call(req, &resp, &v1::GemmService::Stub::UploadMatrix));
  }
  for (size_t i = 0; i < replica_stubs_.size(); ++i) {
    // Every replica gets the matrix; content-addressed handles agree.
    v1::UploadMatrixResponse one;
    Status s = Call(req, &one, &v1::GemmService::Stub::UploadMatrix, replica_stubs_[i].get());
    if (!s.ok()) return Status(s.code(), options_.targets[i] + ": " + s.message());
    if (i > 0 && one.info().handle() != resp.info().handle()) {
      return Internal("replicas disagree on the handle: " + resp.info().handle() + " vs " +
                      one.info().handle());
    }
    if (i == 0) resp = std::move(one);
  }
  {
    std::lock_guard<std::mutex> lock(kept_mu_);
    known_[resp.info().handle()] = resp.info();
  }
  if (keep_data) {
    auto kept = std::make_shared<Kept>();
    kept->b = Matrix<float>(b.rows, b.cols);
    std::copy(b.data, b.data + b.size(), kept->b.data());
    kept->name = name;
    kept->bits = bits;
    kept->quant = quant;
    kept->strategy = strategy;
    kept->current = resp.info().handle();
    std::lock_guard<std::mutex> lock(kept_mu_);
    kept_[resp.info().handle()] = std::move(kept);
  }
  return resp.info();
}

Status Client::Delete(const std::string& handle) {
  std::string server_handle = handle;
  {
    std::lock_guard<std::mutex> lock(kept_mu_);
    auto it = kept_.find(handle);
    if (it != kept_.end()) {
      server_handle = it->second->current;
      kept_.erase(it);
    }
    known_.erase(handle);
  }
  v1::DeleteMatrixRequest req;
  req.set_handle(server_handle);
  v1::DeleteMatrixResponse resp;
  if (replica_stubs_.empty()) return Call(req, &resp, &v1::GemmService::Stub::DeleteMatrix);
  // From every replica; NOT_FOUND only when no replica had it.
  int found = 0;
  for (size_t i = 0; i < replica_stubs_.size(); ++i) {
    Status s = Call(req, &resp, &v1::GemmService::Stub::DeleteMatrix, replica_stubs_[i].get());
    if (s.ok()) {
      ++found;
    } else if (s.code() != StatusCode::kNotFound) {
      return Status(s.code(), options_.targets[i] + ": " + s.message());
    }
  }
  if (found == 0) return Status(StatusCode::kNotFound, "handle \"" + server_handle + "\": on no replica");
  return Status::Ok();
}

StatusOr<v1::ListMatricesResponse> Client::List() {
  v1::ListMatricesResponse resp;
  IMUNPACK_RETURN_IF_ERROR(
      Call(v1::ListMatricesRequest(), &resp, &v1::GemmService::Stub::ListMatrices));
  return resp;
}

StatusOr<v1::ServerInfo> Client::Info() {
  v1::ServerInfo resp;
  IMUNPACK_RETURN_IF_ERROR(
      Call(v1::GetServerInfoRequest(), &resp, &v1::GemmService::Stub::GetServerInfo));
  return resp;
}

StatusOr<std::string> Client::Health() {
  // grpc.health.v1.Health/Check by its method path: no health .proto is
  // installed with Debian's gRPC, and the message is tiny. Request field 1
  // (service) empty = the whole server; response field 1 = enum status.
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::GenericStub generic(channel_);
  grpc::ByteBuffer request_buf, response_buf;
  grpc::Slice empty("", 0);
  request_buf = grpc::ByteBuffer(&empty, 1);
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request_buf,
                    &response_buf, [&done](grpc::Status s) { done.set_value(s); });
  grpc::Status s = done.get_future().get();
  if (!s.ok()) return FromGrpc(s);
  std::vector<grpc::Slice> slices;
  response_buf.Dump(&slices);
  std::string bytes;
  for (const grpc::Slice& sl : slices)
    bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
  int status = 0;  // UNKNOWN; field 1 varint: tag 0x08
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x08) status = bytes[1];
  static const char* kNames[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};
  return std::string(status >= 0 && status <= 3 ? kNames[status] : "UNKNOWN");
}

}  // namespace imunpack::client
