#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fstream>
#include <sstream>

namespace imunpack::server {
namespace {

std::array<unsigned char, 32> Sha256(const char* data, size_t size) {
  std::array<unsigned char, 32> d{};
  unsigned int len = 0;
  EVP_Digest(data, size, d.data(), &len, EVP_sha256(), nullptr);
  return d;
}

std::string Hex(const unsigned char* p, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += kHex[p[i] >> 4];
    s += kHex[p[i] & 15];
  }
  return s;
}

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

}  // namespace

TokenAuth::TokenAuth(const std::vector<std::string>& tokens) {
  for (const std::string& t : tokens) digests_.push_back(Sha256(t.data(), t.size()));
}

Status TokenAuth::Check(const grpc::CallbackServerContext& ctx, std::string* client) const {
  if (!enabled()) {
    // "ipv4:127.0.0.1:54321" -> "ipv4:127.0.0.1"
    const std::string peer = ctx.peer();
    const size_t colon = peer.rfind(':');
    *client = colon != std::string::npos && colon > 5 ? peer.substr(0, colon) : peer;
    return Status::Ok();
  }
  const auto& md = ctx.client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) {
    return Status(StatusCode::kUnauthenticated,
                  "missing \"authorization: Bearer <token>\" metadata");
  }
  const std::string value(it->second.data(), it->second.size());
  static const std::string kBearer = "Bearer ";
  if (value.compare(0, kBearer.size(), kBearer) != 0) {
    return Status(StatusCode::kUnauthenticated, "authorization metadata is not \"Bearer <token>\"");
  }
  const auto got = Sha256(value.data() + kBearer.size(), value.size() - kBearer.size());
  int match = 0;
  for (const auto& d : digests_) match |= CRYPTO_memcmp(d.data(), got.data(), d.size()) == 0;
  if (!match) return Status(StatusCode::kUnauthenticated, "invalid bearer token");
  *client = "token:" + Hex(got.data(), 4);
  return Status::Ok();
}

StatusOr<std::vector<std::string>> LoadTokens(const std::string& file, const std::string& list) {
  std::vector<std::string> out;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) return InvalidArgument("auth token file \"" + file + "\": cannot be read");
    std::string line;
    while (std::getline(in, line)) {
      line = Trim(line);
      if (!line.empty() && line[0] != '#') out.push_back(line);
    }
  }
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = Trim(item);
    if (!item.empty()) out.push_back(item);
  }
  for (const std::string& t : out) {
    if (t.size() < 16) {
      return InvalidArgument("an auth token has " + std::to_string(t.size()) +
                             " characters: use at least 16");
    }
  }
  return out;
}

}  // namespace imunpack::server
