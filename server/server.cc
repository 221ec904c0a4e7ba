#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <httplib.h>
#include <fstream>
#include <sstream>
#include <spdlog/spdlog.h>

#include "kernels/pipeline.h"

namespace imunpack::server {

ImunpackServer::ImunpackServer(ServerOptions options) : options_(std::move(options)) {}

ImunpackServer::~ImunpackServer() { Shutdown(); }

Status ImunpackServer::Start() {
  pool_ = std::make_unique<WorkerPool>(options_.pool);
  store_ = std::make_unique<MatrixStore>(options_.registered_budget_bytes);
  metrics_ = std::make_unique<Metrics>();
  service_ = std::make_unique<GemmServiceImpl>(options_.service, pool_.get(), store_.get(),
                                               metrics_.get());
  WorkerPool* pool = pool_.get();
  MatrixStore* store = store_.get();
  metrics_->AddGauge("imunpack_queue_depth", "Requests waiting for a worker.",
                     [pool] { return pool->queue_depth(); });
  metrics_->AddGauge("imunpack_in_flight", "Requests admitted and not finished.",
                     [pool] { return pool->in_flight(); });
  metrics_->AddGauge("imunpack_bytes_in_flight", "Bytes held by admitted requests.",
                     [pool] { return static_cast<double>(pool->bytes_in_flight()); });
  metrics_->AddGauge("imunpack_registered_bytes", "Bytes held by registered matrices.",
                     [store] { return static_cast<double>(store->bytes()); });
  metrics_->AddGauge("imunpack_registered_evictions", "Registered matrices evicted (LRU).",
                     [store] { return static_cast<double>(store->evictions()); });

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds = Credentials();
  if (!creds.ok()) return creds.status();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.address, *creds, &port_);
  int unix_port = 0;
  if (!options_.unix_socket.empty()) {
    builder.AddListeningPort("unix:" + options_.unix_socket, *creds, &unix_port);
  }
  const int max_msg = static_cast<int>(
      std::min<int64_t>(options_.service.max_message_bytes, std::numeric_limits<int>::max()));
  builder.SetMaxReceiveMessageSize(max_msg);
  builder.SetMaxSendMessageSize(max_msg);
  // Matrices are tens of megabytes: large HTTP/2 frames and windows cut the
  // per-frame and flow-control round trips of big messages.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, 16 * 1024 * 1024 - 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 * 1024 * 1024);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_WRITE_BUFFER_SIZE, 64 * 1024 * 1024);
  if (options_.max_connection_age_s > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, options_.max_connection_age_s * 1000);
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               static_cast<int>(options_.drain_s * 1000));
  }
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0 || (!options_.unix_socket.empty() && unix_port == 0)) {
    if (server_) server_->Shutdown();
    return Status(StatusCode::kUnavailable,
                  "cannot listen on " + options_.address +
                      (options_.unix_socket.empty() ? "" : " and unix:" + options_.unix_socket));
  }
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  health->SetServingStatus(false);

  // Warm-up: load oneDNN's kernels and the JIT before reporting SERVING.
  {
    Matrix<float> a = Matrix<float>::Zeros(8, 64), b = Matrix<float>::Zeros(64, 8);
    a(0, 0) = 1000.0f;  // a heavy hitter: exercises the unpacked path too
    b(0, 0) = 1.0f;
    GemmConfig cfg;
    cfg.a.percentile = 0.5;
    StatusOr<Matrix<float>> c = FloatGemm(a, b, cfg);
    if (!c.ok()) return c.status();
  }

  if (options_.metrics_port >= 0) {
    http_ = std::make_unique<httplib::Server>();
    Metrics* metrics = metrics_.get();
    http_->Get("/metrics", [metrics](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics->Render(), "text/plain; version=0.0.4");
    });
    if (options_.metrics_port == 0) {
      metrics_port_ = http_->bind_to_any_port(options_.metrics_address);
    } else {
      metrics_port_ = http_->bind_to_port(options_.metrics_address, options_.metrics_port)
                          ? options_.metrics_port
                          : -1;
    }
    if (metrics_port_ <= 0) {
      return Status(StatusCode::kUnavailable, "cannot listen on metrics " +
                                                  options_.metrics_address + ":" +
                                                  std::to_string(options_.metrics_port));
    }
    http_thread_ = std::thread([this] { http_->listen_after_bind(); });
  }
  health->SetServingStatus(true);
  spdlog::info("serving on {} (port {}){}, metrics port {}, {} workers x {} threads, queue {}",
               options_.address, port_,
               options_.unix_socket.empty() ? "" : " and unix:" + options_.unix_socket,
               metrics_port_, options_.pool.workers, options_.pool.threads_per_worker,
               options_.pool.queue_capacity);
  return Status::Ok();
}

namespace {

StatusOr<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(std::string(what) + " \"" + path + "\": cannot be read");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

StatusOr<std::shared_ptr<grpc::ServerCredentials>> ImunpackServer::Credentials() const {
  if (options_.tls_cert_file.empty() && options_.tls_key_file.empty()) {
    if (!options_.tls_client_ca_file.empty()) {
      return InvalidArgument("tls_client_ca needs tls_cert and tls_key");
    }
    return grpc::InsecureServerCredentials();
  }
  if (options_.tls_cert_file.empty() || options_.tls_key_file.empty()) {
    return InvalidArgument("TLS needs both tls_cert and tls_key");
  }
  StatusOr<std::string> cert = ReadFile(options_.tls_cert_file, "tls_cert");
  if (!cert.ok()) return cert.status();
  StatusOr<std::string> key = ReadFile(options_.tls_key_file, "tls_key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  if (!options_.tls_client_ca_file.empty()) {
    StatusOr<std::string> ca = ReadFile(options_.tls_client_ca_file, "tls_client_ca");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

void ImunpackServer::Shutdown() {
  if (stopped_ || !server_) return;
  stopped_ = true;
  server_->GetHealthCheckService()->SetServingStatus(false);
  spdlog::info("shutting down: draining for up to {:.1f}s", options_.drain_s);
  const auto deadline = std::chrono::system_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(options_.drain_s * 1000));
  server_->Shutdown(deadline);  // stops accepting; in-flight calls may finish
  pool_->Shutdown();            // runs anything still queued, joins workers
  if (http_) {
    http_->stop();
    if (http_thread_.joinable()) http_thread_.join();
  }
  server_->Wait();
  spdlog::info("stopped");
}

void ImunpackServer::Wait() {
  if (server_) server_->Wait();
}

}  // namespace imunpack::server
