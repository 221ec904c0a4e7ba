// The C++ client of imunpack.v1.GemmService.
//
// Thread-safe; one Client shares one channel (HTTP/2 connection per target)
// among all calls. Calls retry RESOURCE_EXHAUSTED, UNAVAILABLE and
// server-side CANCELLED (a call caught by a server shutdown) with jittered
// exponential backoff, each attempt bounded by the deadline. A Gemm
// whose request would exceed the message limit is split into row blocks of
// A, sent concurrently (spread over the targets by round_robin) and stitched
// in order: the result is the same as one call's, bit for bit.
#ifndef IMUNPACK_CLIENT_CLIENT_H_
#define IMUNPACK_CLIENT_CLIENT_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "imunpack/v1/imunpack.grpc.pb.h"
#include "kernels/matrix.h"
#include "kernels/status.h"
#include "proto/wire.h"

namespace imunpack::client {

struct ClientOptions {
  // "host:port" entries; several are balanced with round_robin. A single
  // "dns:///name:port" target resolves to every address of name.
  std::vector<std::string> targets = {"127.0.0.1:50051"};
  int64_t max_message_bytes = int64_t{1} << 30;  // match the server's limit
  double deadline_s = 120;                       // per attempt
  // Backoff 0.05, 0.1, ... capped at max_backoff_s: 8 attempts span about
  // 5 s, enough to ride out a server restart.
  int max_attempts = 8;
  double initial_backoff_s = 0.05;
  double max_backoff_s = 2.0;
  bool raw_encoding = true;  // raw bytes (fast) or typed repeated fields
  // > 0: a Gemm whose A is larger than this is sent as concurrent row
  // blocks of about this many bytes, so the transfer of one block overlaps
  // the computation of another. 0: split only at the message limit.
  int64_t block_bytes = 0;
  // TLS when set (or when tls_ca_pem is set): server verified against
  // tls_ca_pem (empty: the system's roots); with cert and key, the client
  // presents them (mutual TLS). PEM contents, see LoadTlsFiles.
  bool tls = false;
  std::string tls_ca_pem, tls_cert_pem, tls_key_pem;
  // Non-empty: sent as "authorization: Bearer <token>" with every call.
  std::string token;
};

// Reads PEM files into options (empty paths are skipped) and turns TLS on
// when any is given; INVALID_ARGUMENT naming the file that cannot be read.
Status LoadTlsFiles(const std::string& ca, const std::string& cert, const std::string& key,
                    ClientOptions* options);

struct GemmParams {
  int bits = 8;
  v1::Strategy strategy = v1::STRATEGY_AUTO;
  v1::QuantConfig a_quant;
  v1::QuantConfig b_quant;
  bool verify = false;
  std::string request_id;
  // > 1: A is split into this many row blocks sent concurrently, which
  // round_robin spreads over the targets: one GEMM sharded across replicas.
  // The bits are those of one call.
  int shards = 1;
  // Quantize A here, with the server's own kernels, and send its int8
  // digits and heavy hitters (QuantizedMatrix) instead of floats: about a
  // quarter of the request bytes, bit-identical C. Not with verify.
  bool quantize_on_client = false;
};

struct GemmResult {
  Matrix<float> c;
  v1::Overhead overhead;  // of the first block when split (blocks > 1)
  v1::Verification verification;
  std::vector<std::string> replica_ids;  // one per block
  int blocks = 1;
};

struct IntGemmResult {
  Matrix<int64_t> c;
  v1::Overhead overhead;
  std::string replica_id;
};

class Client {
 public:
  explicit Client(ClientOptions options);

  StatusOr<GemmResult> Gemm(MatrixView<float> a, MatrixView<float> b, const GemmParams& p);
  // With a registered B. NOT_FOUND when the handle is unknown to the server.
  StatusOr<GemmResult> Gemm(MatrixView<float> a, const std::string& b_handle,
                            const GemmParams& p);
  // The same, running on a thread of its own.
  std::future<StatusOr<GemmResult>> GemmAsync(Matrix<float> a, Matrix<float> b, GemmParams p);

  StatusOr<IntGemmResult> IntGemm(MatrixView<int32_t> a, MatrixView<int32_t> b, int bits,
                                  v1::Strategy strategy);
  // With several targets the matrix is uploaded to each (and Delete removes
  // it from each). keep_data: the client keeps a copy of b, and a Gemm that finds the
  // handle gone (server restarted, matrix evicted, another replica) uploads
  // it again and retries; the original handle stays valid for this client.
  StatusOr<v1::MatrixInfo> Upload(MatrixView<float> b, const std::string& name, int bits,
                                  const v1::QuantConfig& quant, bool keep_data = false,
                                  v1::Strategy strategy = v1::STRATEGY_AUTO);
  Status Delete(const std::string& handle);
  StatusOr<v1::ListMatricesResponse> List();
  StatusOr<v1::ServerInfo> Info();
  // grpc.health.v1 status of the server ("" = whole server): "SERVING", ...
  StatusOr<std::string> Health();

 private:
  // One unary call with retries.
  template <typename Req, typename Resp, typename Fn>
  Status Call(const Req& req, Resp* resp, Fn method, v1::GemmService::Stub* stub = nullptr);
  // Runs invoke(context) with this client's deadline, token and retries.
  template <typename Invoke>
  Status Retry(Invoke invoke);
  // One call of `method` ("Gemm", "IntGemm") without copies of the
  // matrices (proto/wire.h): `head` and the `raw` matrices, read from the
  // caller's memory, go out; this returns once gRPC holds no reference to
  // them. The reply's c (rows x cols of T) is copied once, straight to
  // `dst`; the rest is parsed into `resp`. With `stub` (one replica) a
  // target that is down is retried through the round_robin channel.
  template <typename T, typename Resp>
  Status Exchange(const char* method, const google::protobuf::MessageLite& head,
                  const std::vector<wire::RawMatrix>& raw, grpc::GenericStub* stub,
                  Resp* resp, T* dst, int64_t rows, int64_t cols);
  // `head` holds the config (and b_handle); `b` is inline B, or empty; n and
  // bits are the GEMM's (a registered B's own).
  StatusOr<GemmResult> GemmBlocks(MatrixView<float> a, v1::GemmRequest head,
                                  MatrixView<float> b, int64_t n, int bits,
                                  const GemmParams& p);

  struct Kept {
    Matrix<float> b;
    std::string name;
    int bits;
    v1::QuantConfig quant;
    v1::Strategy strategy;
    std::string current;  // the handle the server knows now
  };
  StatusOr<GemmResult> GemmHandle(MatrixView<float> a, const std::string& server_handle,
                                  const v1::MatrixInfo& b, const GemmParams& p);

  ClientOptions options_;
  std::mutex kept_mu_;
  std::map<std::string, std::shared_ptr<Kept>> kept_;  // by original handle; guarded
  std::map<std::string, v1::MatrixInfo> known_;  // shape and bits of each handle; guarded
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::GemmService::Stub> stub_;
  // With several targets: one stub per target, for uploads and deletes.
  std::vector<std::unique_ptr<v1::GemmService::Stub>> replica_stubs_;
  // The same channels for raw (framed) Gemm calls.
  std::unique_ptr<grpc::GenericStub> raw_stub_;
  std::vector<std::unique_ptr<grpc::GenericStub>> replica_raw_stubs_;
};

// The channel the client opens: target string for one or several
// addresses, and arguments (message limits, round_robin, large HTTP/2
// frames and windows). Shared with tools that drive the stub directly.
std::string ChannelTarget(const std::vector<std::string>& targets);
grpc::ChannelArguments ChannelArgs(const ClientOptions& options);
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(const ClientOptions& options);

// Converts a gRPC status to the project's Status (same codes).
Status FromGrpc(const grpc::Status& s);

}  // namespace imunpack::client

#endif  // IMUNPACK_CLIENT_CLIENT_H_
