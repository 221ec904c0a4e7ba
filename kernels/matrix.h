// Row-major matrices: an owning Matrix<T> over an uninitialized, 64-byte
// aligned buffer, and a non-owning MatrixView<T>.
//
// Buffers are deliberately not zero-filled on allocation: every kernel writes
// each element it later reads, and a value-initializing std::vector would add
// a full pass over memory to every pipeline stage.
#ifndef IMUNPACK_KERNELS_MATRIX_H_
#define IMUNPACK_KERNELS_MATRIX_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

namespace imunpack {

template <typename T>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t size) { Resize(size); }

  // Discards the contents; the new elements are uninitialized.
  void Resize(size_t size) {
    size_ = size;
    if (size == 0) {
      data_.reset();
      return;
    }
    size_t bytes = (size * sizeof(T) + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, bytes);
    if (p == nullptr) throw std::bad_alloc();
    data_.reset(static_cast<T*>(p));
  }
  void Zero() {
    if (size_) std::memset(data_.get(), 0, size_ * sizeof(T));
  }

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_.get()[i]; }
  const T& operator[](size_t i) const { return data_.get()[i]; }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> data_;
  size_t size_ = 0;
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
