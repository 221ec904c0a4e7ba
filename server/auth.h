// Bearer-token authentication of GemmService calls. Tokens come from a file
// (one per line, '#' comments) and/or an environment variable (comma
// separated); a call must carry "authorization: Bearer <token>". Tokens are
// compared as SHA-256 digests with a constant-time comparison, against every
// configured token, so neither timing nor length says how close a guess was.
// grpc.health.v1 and reflection are not checked: probes need no secret.
#ifndef IMUNPACK_SERVER_AUTH_H_
#define IMUNPACK_SERVER_AUTH_H_

#include <grpcpp/grpcpp.h>

#include <array>
#include <string>
#include <vector>

#include "kernels/status.h"

namespace imunpack::server {

class TokenAuth {
 public:
  TokenAuth() = default;
  explicit TokenAuth(const std::vector<std::string>& tokens);

  bool enabled() const { return !digests_.empty(); }
  // OK when auth is off or the call carries a configured token; else
  // UNAUTHENTICATED. *client names the caller for per-client limits and
  // logs: "token:<8 hex digits of its digest>", or the peer's address
  // without the port when auth is off.
  Status Check(const grpc::CallbackServerContext& ctx, std::string* client) const;

 private:
  std::vector<std::array<unsigned char, 32>> digests_;
};

// Tokens from a file and/or a comma-separated list; empty entries skipped.
StatusOr<std::vector<std::string>> LoadTokens(const std::string& file, const std::string& list);

}  // namespace imunpack::server

#endif  // IMUNPACK_SERVER_AUTH_H_
