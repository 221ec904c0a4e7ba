// The imunpack gRPC server as an object: what the binary runs and what tests
// embed on 127.0.0.1.
//
// Start: bind, warm up oneDNN (health stays NOT_SERVING until then), serve
// GemmService, grpc.health.v1 and reflection, and Prometheus text on the
// metrics port. Shutdown: NOT_SERVING first, stop accepting, let in-flight
// calls finish up to the drain deadline, drain the worker queue.
#ifndef IMUNPACK_SERVER_SERVER_H_
#define IMUNPACK_SERVER_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <thread>

#include "kernels/status.h"
#include "server/matrix_store.h"
#include "server/metrics.h"
#include "server/service.h"
#include "server/worker_pool.h"

namespace httplib {
class Server;
}

namespace imunpack::server {

struct ServerOptions {
  std::string address = "127.0.0.1:50051";  // port 0 picks a free one
  // Non-empty: also listen on this Unix socket path (same credentials).
  // Same-host clients reach it as unix:PATH, about twice the bandwidth of
  // 127.0.0.1 TCP for big matrices.
  std::string unix_socket;
  WorkerPool::Options pool;
  ServiceOptions service;
  int64_t registered_budget_bytes = int64_t{2} << 30;
  std::string metrics_address = "127.0.0.1";
  int metrics_port = -1;        // -1: off, 0: pick a free one
  int max_connection_age_s = 0;  // 0: unlimited; else clients reconnect (rebalance)
  double drain_s = 10;           // in-flight calls get this long on shutdown
  // TLS on the gRPC port when set (PEM files); with a client CA, clients
  // must present a certificate it signed (mutual TLS).
  std::string tls_cert_file, tls_key_file, tls_client_ca_file;
};

class ImunpackServer {
 public:
  explicit ImunpackServer(ServerOptions options);
  ~ImunpackServer();

  Status Start();
  void Shutdown();
  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  void Wait();

 private:
  StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials() const;
  ServerOptions options_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<MatrixStore> store_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<GemmServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<httplib::Server> http_;
  std::thread http_thread_;
  int port_ = 0;
  int metrics_port_ = 0;
  bool stopped_ = false;
};

}  // namespace imunpack::server

#endif  // IMUNPACK_SERVER_SERVER_H_
