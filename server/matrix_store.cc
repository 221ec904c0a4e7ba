#include "server/matrix_store.h"

#include <chrono>
#include <cstdio>

namespace imunpack::server {

StatusOr<StoredMatrix> MatrixStore::Add(const std::string& name,
                                        std::shared_ptr<const PreparedB> prepared,
                                        int64_t* evicted) {
  const int64_t size = prepared->bytes();
  *evicted = 0;
  std::lock_guard<std::mutex> lock(mu_);
  if (size > budget_) {
    return ResourceExhausted("matrix needs " + std::to_string(size) +
                             " bytes; the registered-matrix budget is " +
                             std::to_string(budget_));
  }
  while (bytes_ + size > budget_ && !lru_.empty()) {
    StoredMatrix& victim = lru_.back();
    bytes_ -= victim.prepared->bytes();
    by_handle_.erase(victim.handle);
    lru_.pop_back();
    ++*evicted;
    ++evictions_;
  }
  // Handles are unique per process start: a counter plus the start time, so
  // a handle from before a restart is never mistaken for a new matrix.
  static const uint64_t epoch = static_cast<uint64_t>(
      std::chrono::system_clock::now().time_since_epoch().count());
  char buf[48];
  std::snprintf(buf, sizeof(buf), "m-%llx-%llu", static_cast<unsigned long long>(epoch % 0xFFFFFFFFull),
                static_cast<unsigned long long>(next_id_++));
  StoredMatrix m{buf, name, std::move(prepared), 0};
  lru_.push_front(m);
  by_handle_[m.handle] = lru_.begin();
  bytes_ += size;
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
  lru_.erase(it->second);
  by_handle_.erase(it);
  return Status::Ok();
}

std::vector<StoredMatrix> MatrixStore::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::vector<StoredMatrix>(lru_.begin(), lru_.end());
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
