#include "server/matrix_store.h"

#include <openssl/evp.h>

#include <cstdio>

namespace imunpack::server {

std::string MatrixStore::ContentHandle(MatrixView<float> m, const QuantConfig& q, int bits,
                                       Strategy strategy) {
  char header[256];
  const int len = std::snprintf(
      header, sizeof(header), "imunpack.v1.B %lld %lld bits=%d strategy=%d beta=%a levels=%d "
      "granularity=%d alpha=%a\n",
      static_cast<long long>(m.rows), static_cast<long long>(m.cols), bits,
      static_cast<int>(strategy), q.percentile, EffectiveLevels(q, bits),
      static_cast<int>(q.granularity), static_cast<double>(q.alpha));
  unsigned char digest[32];
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, header, static_cast<size_t>(len));
  EVP_DigestUpdate(ctx, m.data, static_cast<size_t>(m.size()) * sizeof(float));
  EVP_DigestFinal_ex(ctx, digest, nullptr);
  EVP_MD_CTX_free(ctx);
  // 128 bits of the digest are plenty to name a matrix.
  std::string handle = "b-";
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) {
    handle += kHex[digest[i] >> 4];
    handle += kHex[digest[i] & 15];
  }
  return handle;
}

std::optional<StoredMatrix> MatrixStore::Find(const std::string& handle) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_handle_.find(handle);
  if (it == by_handle_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second);
  return *it->second;
}

StatusOr<StoredMatrix> MatrixStore::Add(const std::string& handle, const std::string& name,
                                        std::shared_ptr<const PreparedB> prepared,
                                        const std::string& owner, int64_t owner_budget,
                                        int64_t* evicted) {
  const int64_t size = prepared->bytes();
  *evicted = 0;
  std::lock_guard<std::mutex> lock(mu_);
  auto existing = by_handle_.find(handle);
  if (existing != by_handle_.end()) {
    // The same content arrived twice at once: keep the first.
    lru_.splice(lru_.begin(), lru_, existing->second);
    return *existing->second;
  }
  if (size > budget_) {
    return ResourceExhausted("matrix needs " + std::to_string(size) +
                             " bytes; the registered-matrix budget is " +
                             std::to_string(budget_));
  }
  if (owner_budget > 0 && owner_bytes_[owner] + size > owner_budget) {
    return ResourceExhausted("client " + owner + " holds " + std::to_string(owner_bytes_[owner]) +
                             " registered bytes; this matrix needs " + std::to_string(size) +
                             " more and the per-client budget is " + std::to_string(owner_budget));
  }
  while (bytes_ + size > budget_ && !lru_.empty()) {
    StoredMatrix& victim = lru_.back();
    bytes_ -= victim.prepared->bytes();
    owner_bytes_[victim.owner] -= victim.prepared->bytes();
    by_handle_.erase(victim.handle);
    lru_.pop_back();
    ++*evicted;
    ++evictions_;
  }
  StoredMatrix m{handle, name, std::move(prepared), 0, owner};
  lru_.push_front(m);
  by_handle_[m.handle] = lru_.begin();
  bytes_ += size;
  owner_bytes_[owner] += size;
  return m;
}

StatusOr<std::shared_ptr<const PreparedB>> MatrixStore::Use(const std::string& handle) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_handle_.find(handle);
  if (it == by_handle_.end()) {
    return Status(StatusCode::kNotFound, "b_handle \"" + handle +
                                             "\": no such registered matrix (deleted, "
                                             "evicted, or from another replica)");
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  ++it->second->uses;
  return it->second->prepared;
}

Status MatrixStore::Remove(const std::string& handle) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_handle_.find(handle);
  if (it == by_handle_.end()) {
    return Status(StatusCode::kNotFound, "handle \"" + handle + "\": no such registered matrix");
  }
  bytes_ -= it->second->prepared->bytes();
  owner_bytes_[it->second->owner] -= it->second->prepared->bytes();
  lru_.erase(it->second);
  by_handle_.erase(it);
  return Status::Ok();
}

std::vector<StoredMatrix> MatrixStore::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::vector<StoredMatrix>(lru_.begin(), lru_.end());
}

int64_t MatrixStore::owner_bytes(const std::string& owner) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = owner_bytes_.find(owner);
  return it == owner_bytes_.end() ? 0 : it->second;
}

int64_t MatrixStore::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

int64_t MatrixStore::evictions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return evictions_;
}

}  // namespace imunpack::server
