// The TLS and token options every command-line client takes (imunpack,
// imunpack-load), with their environment variables.
#ifndef IMUNPACK_CLIENT_SECURITY_FLAGS_H_
#define IMUNPACK_CLIENT_SECURITY_FLAGS_H_

#include <CLI/CLI.hpp>
#include <fstream>
#include <string>

#include "client/client.h"

namespace imunpack::client {

struct SecurityFlags {
  bool tls = false;
  std::string ca, cert, key, token, token_file;

  void Add(CLI::App& app) {
    app.add_flag("--tls", tls, "connect with TLS (server checked against the system's roots)")
        ->envname("IMUNPACK_TLS");
    app.add_option("--tls-ca", ca, "PEM CA bundle to check the server with (implies --tls)")
        ->envname("IMUNPACK_TLS_CA");
    app.add_option("--tls-cert", cert, "PEM client certificate, for mutual TLS")
        ->envname("IMUNPACK_TLS_CERT");
    app.add_option("--tls-key", key, "PEM key of --tls-cert")->envname("IMUNPACK_TLS_KEY");
    app.add_option("--token", token, "bearer token sent with every call")
        ->envname("IMUNPACK_TOKEN");
    app.add_option("--token-file", token_file, "file holding the bearer token")
        ->envname("IMUNPACK_TOKEN_FILE");
  }

  Status Apply(ClientOptions* o) const {
    o->tls = tls;
    IMUNPACK_RETURN_IF_ERROR(LoadTlsFiles(ca, cert, key, o));
    o->token = token;
    if (!token_file.empty()) {
      std::ifstream in(token_file);
      if (!in || !std::getline(in, o->token)) {
        return InvalidArgument("token-file \"" + token_file + "\": cannot be read");
      }
      while (!o->token.empty() && (o->token.back() == '\r' || o->token.back() == ' ')) {
        o->token.pop_back();
      }
    }
    return Status::Ok();
  }
};

}  // namespace imunpack::client

#endif  // IMUNPACK_CLIENT_SECURITY_FLAGS_H_
