// imunpack-server: the IM-Unpack GEMM service. Every flag has an environment
// variable (IMUNPACK_<FLAG>); --help lists them with their defaults.
#include <omp.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <thread>

#include "server/auth.h"
#include "common/malloc_tuning.h"
#include "server/server.h"

int main(int argc, char** argv) {
  imunpack::TuneMallocForLargeMessages();
  using imunpack::server::ServerOptions;
  ServerOptions o;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  o.pool.workers = 1;
  o.pool.threads_per_worker = cores;
  std::string log_level = "info", log_format = "text";
  double max_message_mib = 1024, max_in_flight_mib = 4096, registered_mib = 2048;
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  o.service.replica_id = host;

  CLI::App app{"imunpack-server: exact low bit-width integer GEMM (IM-Unpack) over gRPC"};
  app.add_option("--address", o.address, "gRPC listen address (host:port)")
      ->envname("IMUNPACK_ADDRESS")->capture_default_str();
  app.add_option("--unix-socket", o.unix_socket,
                 "also listen on this Unix socket path (clients: --target unix:PATH)")
      ->envname("IMUNPACK_UNIX_SOCKET");
  app.add_option("--workers", o.pool.workers, "worker threads running GEMMs")
      ->envname("IMUNPACK_WORKERS")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--threads-per-worker", o.pool.threads_per_worker,
                 "OpenMP threads per worker (workers x threads <= cores by default)")
      ->envname("IMUNPACK_THREADS_PER_WORKER")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--queue-capacity", o.pool.queue_capacity, "requests waiting at most")
      ->envname("IMUNPACK_QUEUE_CAPACITY")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--max-in-flight-mib", max_in_flight_mib, "memory budget of admitted requests")
      ->envname("IMUNPACK_MAX_IN_FLIGHT_MIB")->capture_default_str();
  app.add_option("--max-message-mib", max_message_mib, "largest gRPC message, both ways")
      ->envname("IMUNPACK_MAX_MESSAGE_MIB")->capture_default_str();
  app.add_option("--max-dim", o.service.limits.max_dim, "largest m, k or n")
      ->envname("IMUNPACK_MAX_DIM")->capture_default_str();
  app.add_option("--max-work", o.service.limits.max_work, "largest m*k*n per request")
      ->envname("IMUNPACK_MAX_WORK")->capture_default_str();
  app.add_option("--registered-mib", registered_mib, "budget of registered matrices (LRU)")
      ->envname("IMUNPACK_REGISTERED_MIB")->capture_default_str();
  app.add_option("--metrics-address", o.metrics_address, "Prometheus endpoint address")
      ->envname("IMUNPACK_METRICS_ADDRESS")->capture_default_str();
  app.add_option("--metrics-port", o.metrics_port, "Prometheus /metrics port (-1 off)")
      ->envname("IMUNPACK_METRICS_PORT")->capture_default_str();
  app.add_option("--max-connection-age-s", o.max_connection_age_s,
                 "close client connections after this long so they rebalance (0 never)")
      ->envname("IMUNPACK_MAX_CONNECTION_AGE_S")->capture_default_str();
  app.add_option("--drain-s", o.drain_s, "on SIGTERM, how long in-flight calls may finish")
      ->envname("IMUNPACK_DRAIN_S")->capture_default_str();
  app.add_option("--replica-id", o.service.replica_id, "reported in every response")
      ->envname("IMUNPACK_REPLICA_ID")->capture_default_str();
  std::string token_file, token_list;
  double per_client_mib = 0;
  app.add_option("--tls-cert", o.tls_cert_file, "PEM certificate chain: serve gRPC over TLS")
      ->envname("IMUNPACK_TLS_CERT");
  app.add_option("--tls-key", o.tls_key_file, "PEM private key of --tls-cert")
      ->envname("IMUNPACK_TLS_KEY");
  app.add_option("--tls-client-ca", o.tls_client_ca_file,
                 "PEM CA bundle: require client certificates it signed (mutual TLS)")
      ->envname("IMUNPACK_TLS_CLIENT_CA");
  app.add_option("--auth-token-file", token_file,
                 "bearer tokens, one per line: GemmService calls need one (health stays open)")
      ->envname("IMUNPACK_AUTH_TOKEN_FILE");
  app.add_option("--auth-tokens", token_list, "bearer tokens, comma separated (prefer the file)")
      ->envname("IMUNPACK_AUTH_TOKENS");
  app.add_option("--registered-mib-per-client", per_client_mib,
                 "registered-matrix budget of one client (token, or address) (0: none)")
      ->envname("IMUNPACK_REGISTERED_MIB_PER_CLIENT")->capture_default_str();
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")
      ->envname("IMUNPACK_LOG_LEVEL")->capture_default_str();
  app.add_option("--log-format", log_format, "text|json")
      ->envname("IMUNPACK_LOG_FORMAT")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  o.service.max_message_bytes = static_cast<int64_t>(max_message_mib * (1 << 20));
  o.pool.max_bytes_in_flight = static_cast<int64_t>(max_in_flight_mib * (1 << 20));
  o.registered_budget_bytes = static_cast<int64_t>(registered_mib * (1 << 20));
  o.service.registered_per_client_bytes = static_cast<int64_t>(per_client_mib * (1 << 20));
  imunpack::StatusOr<std::vector<std::string>> tokens =
      imunpack::server::LoadTokens(token_file, token_list);
  if (!tokens.ok()) {
    std::fprintf(stderr, "imunpack-server: %s\n", tokens.status().message().c_str());
    return 1;
  }
  o.service.auth_tokens = *tokens;
  spdlog::set_level(spdlog::level::from_str(log_level));
  if (log_format == "json") {
    spdlog::set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","msg":"%v"})", spdlog::pattern_time_type::utc);
  }

  // Block the signals before gRPC starts its threads, and take them here
  // with sigwait: a clean drain instead of a default-action kill.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  imunpack::server::ImunpackServer server(o);
  imunpack::Status s = server.Start();
  if (!s.ok()) {
    spdlog::error("cannot start: {}", s.ToString());
    return 1;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("signal {} received", sig);
  server.Shutdown();
  return 0;
}
