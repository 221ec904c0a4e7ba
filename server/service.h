// imunpack.v1.GemmService on gRPC's callback API. Handlers validate what is
// cheap, admit the request to the WorkerPool and return at once; a worker
// runs the kernels and finishes the call. Reactors never block.
#ifndef IMUNPACK_SERVER_SERVICE_H_
#define IMUNPACK_SERVER_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "imunpack/v1/imunpack.grpc.pb.h"
#include "server/auth.h"
#include "server/convert.h"
#include "server/matrix_store.h"
#include "server/metrics.h"
#include "server/worker_pool.h"

namespace imunpack::server {

struct ServiceOptions {
  Limits limits;
  int64_t max_message_bytes = int64_t{1} << 30;
  std::string replica_id;
  // Non-empty: every GemmService call needs "authorization: Bearer <one of these>".
  std::vector<std::string> auth_tokens;
  // > 0: registered bytes one client (token, or address without auth) may hold.
  int64_t registered_per_client_bytes = 0;
};

// A matrix's raw bytes received apart from its message (wire::Parse), on
// the heap as protobuf's own bytes would be (malloc reuses them).
template <typename T>
struct Received {
  std::unique_ptr<T[]> data;
  size_t size = 0;
  T* Resize(size_t n) {
    data.reset(new T[n]);  // not zeroed: wire::Parse fills it
    size = n;
    return data.get();
  }
  std::string_view bytes() const {
    return {reinterpret_cast<const char*>(data.get()), size * sizeof(T)};
  }
};

// Requests as received: the message without its matrices' raw bytes.
struct ReceivedGemm {
  v1::GemmRequest req;
  Received<float> a, b;
  Buffer<int8_t> digits;  // a_quantized's, which becomes the QuantizedA's
};
struct ReceivedIntGemm {
  v1::IntGemmRequest req;
  Received<int32_t> a, b;
};

// Gemm and IntGemm are raw methods: their handlers parse the request
// themselves and frame the response so that the matrices are not copied
// more than once (proto/wire.h). The bytes on the wire are the same
// messages as for any generated stub.
class GemmServiceImpl final
    : public v1::GemmService::WithRawCallbackMethod_Gemm<
          v1::GemmService::WithRawCallbackMethod_IntGemm<v1::GemmService::CallbackService>> {
 public:
  GemmServiceImpl(const ServiceOptions& options, WorkerPool* pool,
                  MatrixStore* store, Metrics* metrics);

  grpc::ServerUnaryReactor* Gemm(grpc::CallbackServerContext* ctx,
                                 const grpc::ByteBuffer* request,
                                 grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* IntGemm(grpc::CallbackServerContext* ctx,
                                    const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* UploadMatrix(grpc::CallbackServerContext* ctx,
                                         const v1::UploadMatrixRequest* req,
                                         v1::UploadMatrixResponse* resp) override;
  grpc::ServerUnaryReactor* DeleteMatrix(grpc::CallbackServerContext* ctx,
                                         const v1::DeleteMatrixRequest* req,
                                         v1::DeleteMatrixResponse* resp) override;
  grpc::ServerUnaryReactor* ListMatrices(grpc::CallbackServerContext* ctx,
                                         const v1::ListMatricesRequest* req,
                                         v1::ListMatricesResponse* resp) override;
  grpc::ServerUnaryReactor* GetServerInfo(grpc::CallbackServerContext* ctx,
                                          const v1::GetServerInfoRequest* req,
                                          v1::ServerInfo* resp) override;

 private:
  using Clock = std::chrono::steady_clock;
  // Records metrics and a log line, then finishes the call.
  void Finish(grpc::ServerUnaryReactor* reactor, const char* rpc, const std::string& id,
              Clock::time_point start, const Status& status, const std::string& detail);
  // The kernels' part of Gemm, with B inline or registered, and A as floats
  // or, when `qa` is set, quantized by the client.
  StatusOr<Matrix<float>> ComputeGemm(const v1::GemmRequest& req, MatrixView<float> a,
                                      const QuantizedA* qa, MatrixView<float> b,
                                      const GemmConfig& cfg, Overhead* ov);
  // Checks the caller's token; on failure finishes the call and returns false.
  bool Authorized(const grpc::CallbackServerContext& ctx, grpc::ServerUnaryReactor* reactor,
                  const char* rpc, const std::string& id, Clock::time_point start,
                  std::string* client);
  // Deadline passed or client gone: the status to stop with, else OK.
  static Status Interrupted(grpc::CallbackServerContext* ctx);

  const ServiceOptions options_;
  const TokenAuth auth_;
  WorkerPool* pool_;
  MatrixStore* store_;
  Metrics* metrics_;
  const Clock::time_point started_ = Clock::now();
};

}  // namespace imunpack::server

#endif  // IMUNPACK_SERVER_SERVICE_H_
