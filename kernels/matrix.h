// Row-major matrices: an owning Matrix<T> over an uninitialized, 64-byte
// aligned buffer, and a non-owning MatrixView<T>.
//
// Buffers are deliberately not zero-filled on allocation: every kernel writes
// each element it later reads, and a value-initializing std::vector would add
// a full pass over memory to every pipeline stage. Large blocks come from and
// return to the process-wide buffer cache (buffer_cache.h).
#ifndef IMUNPACK_KERNELS_MATRIX_H_
#define IMUNPACK_KERNELS_MATRIX_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

#include "kernels/buffer_cache.h"

namespace imunpack {

template <typename T>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t size) { Resize(size); }
  Buffer(Buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        capacity_(std::exchange(o.capacity_, 0)) {}
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      Reset();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      capacity_ = std::exchange(o.capacity_, 0);
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { Reset(); }

  // Discards the contents; the new elements are uninitialized. Keeps the
  // block when it is large enough.
  void Resize(size_t size) {
    size_ = size;
    const size_t bytes = size * sizeof(T);
    if (bytes <= capacity_ && data_ != nullptr) return;
    Reset();
    size_ = size;
    if (size == 0) return;
    data_ = static_cast<T*>(buffer_cache::Allocate(bytes, &capacity_));
  }
  void Zero() {
    if (size_) std::memset(data_, 0, size_ * sizeof(T));
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  void Reset() {
    buffer_cache::Release(data_, capacity_);
    data_ = nullptr;
    size_ = 0;
    capacity_ = 0;
  }
  T* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;  // bytes
};

template <typename T>
struct MatrixView {
  const T* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;

  const T& operator()(int64_t i, int64_t j) const { return data[i * cols + j]; }
  int64_t size() const { return rows * cols; }
};

template <typename T>
class Matrix {
 public:
  Matrix() = default;
  Matrix(int64_t rows, int64_t cols)
      : rows_(rows), cols_(cols), buf_(static_cast<size_t>(rows * cols)) {}

  static Matrix Zeros(int64_t rows, int64_t cols) {
    Matrix m(rows, cols);
    m.buf_.Zero();
    return m;
  }

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t size() const { return rows_ * cols_; }
  T* data() { return buf_.data(); }
  const T* data() const { return buf_.data(); }
  T& operator()(int64_t i, int64_t j) { return buf_[i * cols_ + j]; }
  const T& operator()(int64_t i, int64_t j) const { return buf_[i * cols_ + j]; }
  MatrixView<T> view() const { return {buf_.data(), rows_, cols_}; }
  operator MatrixView<T>() const { return view(); }  // NOLINT

 private:
  int64_t rows_ = 0;
  int64_t cols_ = 0;
  Buffer<T> buf_;
};

}  // namespace imunpack

#endif  // IMUNPACK_KERNELS_MATRIX_H_
