// Registered B operands: quantized and split once at upload, shared by every
// Gemm that names their handle. Bounded by a byte budget; when an upload does
// not fit, the least recently used matrices are evicted (and counted).
// Thread-safe; a matrix in use stays alive after deletion or eviction until
// its last user finishes (shared ownership).
#ifndef IMUNPACK_SERVER_MATRIX_STORE_H_
#define IMUNPACK_SERVER_MATRIX_STORE_H_

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/pipeline.h"
#include "kernels/status.h"

namespace imunpack::server {

struct StoredMatrix {
  std::string handle;
  std::string name;
  std::shared_ptr<const PreparedB> prepared;
  int64_t uses = 0;
  std::string owner;  // the client that uploaded it first (charged its bytes)
};

class MatrixStore {
 public:
  explicit MatrixStore(int64_t budget_bytes) : budget_(budget_bytes) {}

  // The handle of a matrix: a SHA-256 over its shape, bytes and everything
  // that shapes its preparation (bits, quantization, strategy). The same
  // upload gives the same handle on every replica and after a restart.
  static std::string ContentHandle(MatrixView<float> m, const QuantConfig& q, int bits,
                                   Strategy strategy);
  // The matrix registered under handle, if any (marked recently used).
  std::optional<StoredMatrix> Find(const std::string& handle);
  // Registers under handle (a registered one is kept as it is), charged to
  // owner. RESOURCE_EXHAUSTED if it alone exceeds the budget, or if owner
  // would hold more than owner_budget bytes (0: no per-client limit).
  StatusOr<StoredMatrix> Add(const std::string& handle, const std::string& name,
                             std::shared_ptr<const PreparedB> prepared,
                             const std::string& owner, int64_t owner_budget,
                             int64_t* evicted);
  int64_t owner_bytes(const std::string& owner) const;
  // NOT_FOUND for unknown handles; marks the matrix used.
  StatusOr<std::shared_ptr<const PreparedB>> Use(const std::string& handle);
  Status Remove(const std::string& handle);
  std::vector<StoredMatrix> List() const;
  int64_t bytes() const;
  int64_t budget() const { return budget_; }
  int64_t evictions() const;

 private:
  using Lru = std::list<StoredMatrix>;  // front = most recently used
  const int64_t budget_;
  mutable std::mutex mu_;
  Lru lru_;                                           // guarded by mu_
  std::unordered_map<std::string, Lru::iterator> by_handle_;  // guarded by mu_
  int64_t bytes_ = 0;                                 // guarded by mu_
  std::unordered_map<std::string, int64_t> owner_bytes_;      // guarded by mu_
  int64_t evictions_ = 0;                             // guarded by mu_
};

}  // namespace imunpack::server

#endif  // IMUNPACK_SERVER_MATRIX_STORE_H_
