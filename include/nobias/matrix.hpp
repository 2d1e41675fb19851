// Matrix<T>: an owning, row-major, 64-byte-aligned dense matrix, and MatrixView<T>,
// a non-owning window on a block of its rows or columns. Views are what every kernel and
// the BLAS door take, so a block of rows (a mini-batch) is never copied.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include "nobias/error.hpp"

namespace nobias {

namespace detail {
// Fresh memory of bytes at p faulted in with one call (MADV_POPULATE_WRITE, Linux 5.14) when it
// is large: one page fault at a time cost 4.0-4.7 ms for 1.6 MB on this project's VMs, one call
// 0.3-0.5 ms. Whether it was (false below kPopulateBytes, or where the kernel lacks the call:
// then only the speed differs); the data in the memory is kept, and so is errno.
// lib/core/fresh_pages.cpp.
constexpr std::size_t kPopulateBytes = std::size_t(256) << 10;
bool populate_for_writing(void* p, std::size_t bytes) noexcept;
// Memory that holds data (a mapped file's rows in the page cache) mapped into this process in
// one call (MADV_POPULATE_READ, Linux 5.14), any size; whether it was, errno kept.
bool populate_for_reading(const void* p, std::size_t bytes) noexcept;
}  // namespace detail

// "3x4": how shapes appear in every error message.
inline std::string shape_string(std::size_t rows, std::size_t cols) {
  return std::to_string(rows) + "x" + std::to_string(cols);
}

// rows * cols, or a ValueError if that does not fit in size_t.
inline std::size_t checked_size(std::size_t rows, std::size_t cols) {
  if (cols != 0 && rows > std::numeric_limits<std::size_t>::max() / cols) {
    throw ValueError("matrix of " + shape_string(rows, cols) + " elements overflows size_t");
  }
  return rows * cols;
}

// A rows x cols row-major window; T may be const for a read-only view. Consecutive rows
// are ld elements apart (ld >= cols): ld == cols for a whole matrix or a block of its rows,
// ld > cols for a block of its columns, which BLAS takes as it is.
template <class T>
class MatrixView {
 public:
  MatrixView() = default;
  MatrixView(T* data, std::size_t rows, std::size_t cols)
      : data_(data), rows_(rows), cols_(cols), ld_(cols) {}
  MatrixView(T* data, std::size_t rows, std::size_t cols, std::size_t ld)
      : data_(data), rows_(rows), cols_(cols), ld_(ld) {
    if (ld < cols) {
      throw ShapeError("MatrixView: leading dimension " + std::to_string(ld) + " < " +
                       std::to_string(cols) + " columns");
    }
  }

  // A view of T converts to a view of const T, never the other way round.
  template <class U, class = std::enable_if_t<std::is_same_v<const U, T> && !std::is_same_v<U, T>>>
  MatrixView(MatrixView<U> other)  // NOLINT(google-explicit-constructor)
      : data_(other.data()), rows_(other.rows()), cols_(other.cols()), ld_(other.ld()) {}

  T* data() const { return data_; }
  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return cols_; }
  std::size_t ld() const { return ld_; }
  std::size_t size() const { return rows_ * cols_; }
  bool empty() const { return size() == 0; }
  // No gaps between rows: the elements are data()[0, size()).
  bool contiguous() const { return ld_ == cols_ || rows_ <= 1; }

  T& operator()(std::size_t i, std::size_t j) const { return data_[i * ld_ + j]; }
  T* row(std::size_t i) const { return data_ + i * ld_; }

  // Rows [begin, begin + count) as a view; no copy.
  MatrixView row_block(std::size_t begin, std::size_t count) const {
    if (begin > rows_ || count > rows_ - begin) {
      throw ShapeError("row_block: rows [" + std::to_string(begin) + ", " +
                       std::to_string(begin + count) + ") outside a matrix of " +
                       shape_string(rows_, cols_));
    }
    return MatrixView(data_ + begin * ld_, count, cols_, ld_);
  }

  // Columns [begin, begin + count) as a view; no copy.
  MatrixView col_block(std::size_t begin, std::size_t count) const {
    if (begin > cols_ || count > cols_ - begin) {
      throw ShapeError("col_block: columns [" + std::to_string(begin) + ", " +
                       std::to_string(begin + count) + ") outside a matrix of " +
                       shape_string(rows_, cols_));
    }
    return MatrixView(data_ + begin, rows_, count, ld_);
  }

 private:
  T* data_ = nullptr;
  std::size_t rows_ = 0;
  std::size_t cols_ = 0;
  std::size_t ld_ = 0;
};

template <class T>
class Matrix {
 public:
  static constexpr std::size_t kAlignment = 64;

  Matrix() = default;
  // A rows x cols matrix of zeros.
  Matrix(std::size_t rows, std::size_t cols)
      : data_(allocate(checked_size(rows, cols))), rows_(rows), cols_(cols) {}

  Matrix(const Matrix& other) : Matrix(other.rows_, other.cols_) {
    std::copy(other.data(), other.data() + size(), data());
  }
  Matrix& operator=(const Matrix& other) {
    if (this != &other) *this = Matrix(other);
    return *this;
  }
  // A moved-from matrix is empty (0x0), never a shape without storage.
  Matrix(Matrix&& other) noexcept
      : data_(std::move(other.data_)),
        rows_(std::exchange(other.rows_, 0)),
        cols_(std::exchange(other.cols_, 0)) {}
  Matrix& operator=(Matrix&& other) noexcept {
    data_ = std::move(other.data_);
    rows_ = std::exchange(other.rows_, 0);
    cols_ = std::exchange(other.cols_, 0);
    return *this;
  }

  // A deep copy of a view's elements.
  static Matrix copy_of(MatrixView<const T> view) {
    Matrix m(view.rows(), view.cols());
    for (std::size_t i = 0; i < view.rows(); ++i)
      std::copy(view.row(i), view.row(i) + view.cols(), m.data() + i * view.cols());
    return m;
  }

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return cols_; }
  std::size_t size() const { return rows_ * cols_; }
  bool empty() const { return size() == 0; }

  T& operator()(std::size_t i, std::size_t j) { return data_[i * cols_ + j]; }
  const T& operator()(std::size_t i, std::size_t j) const { return data_[i * cols_ + j]; }

  MatrixView<T> view() { return {data(), rows_, cols_}; }
  MatrixView<const T> view() const { return {data(), rows_, cols_}; }
  operator MatrixView<T>() { return view(); }              // NOLINT(google-explicit-constructor)
  operator MatrixView<const T>() const { return view(); }  // NOLINT(google-explicit-constructor)

  MatrixView<T> row_block(std::size_t begin, std::size_t count) {
    return view().row_block(begin, count);
  }
  MatrixView<const T> row_block(std::size_t begin, std::size_t count) const {
    return view().row_block(begin, count);
  }
  MatrixView<T> col_block(std::size_t begin, std::size_t count) {
    return view().col_block(begin, count);
  }
  MatrixView<const T> col_block(std::size_t begin, std::size_t count) const {
    return view().col_block(begin, count);
  }

 private:
  struct AlignedFree {
    void operator()(T* p) const { ::operator delete[](p, std::align_val_t(kAlignment)); }
  };

  static T* allocate(std::size_t count) {
    if (count == 0) return nullptr;
    if (count > std::numeric_limits<std::size_t>::max() / sizeof(T)) {
      throw ValueError("matrix of " + std::to_string(count) + " elements overflows size_t bytes");
    }
    T* p = static_cast<T*>(::operator new[](count * sizeof(T), std::align_val_t(kAlignment)));
    detail::populate_for_writing(p, count * sizeof(T));
    std::fill(p, p + count, T{});
    return p;
  }

  std::unique_ptr<T[], AlignedFree> data_;
  std::size_t rows_ = 0;
  std::size_t cols_ = 0;
};

}  // namespace nobias
