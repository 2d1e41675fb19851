// Training rows read where they lie: some rows of x and y (all of them, or those a list names,
// in its order), standardized as they are read. A validation split or standardized data then
// need no copy of x, which may be a read-only mapped file (nobias::map_npy): a batch, a block of
// a full pass, is gathered from it when it is used.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "nobias/matrix.hpp"
#include "nobias/targets.hpp"

namespace nobias {

template <class T>
class RowSource {
 public:
  RowSource() = default;
  // The rows of x and y at rows' positions (each < x.rows()), or all rows (nullptr), their
  // values standardized by s (standardize_x's and standardize_y's bits: (v - mean) / scale in
  // double, rounded once to T), or as they are (nullptr). rows and s must outlive the source.
  // ShapeError for x and y of other row counts, or statistics of other widths; ValueError for
  // a position past x's rows.
  RowSource(MatrixView<const T> x, MatrixView<const T> y,
            const std::vector<std::size_t>* rows = nullptr, const Standardization* s = nullptr);

  std::size_t rows() const { return rows_ != nullptr ? rows_->size() : x_.rows(); }
  std::size_t x_cols() const { return x_.cols(); }
  std::size_t y_cols() const { return y_.cols(); }
  // No list and no statistics: the rows are x's and y's own, views of them serve.
  bool in_place() const { return rows_ == nullptr && !standardizes(); }
  bool standardizes() const { return s_ != nullptr && !s_->empty(); }
  // The arrays the rows are read from (all their rows, as they are).
  MatrixView<const T> x() const { return x_; }
  MatrixView<const T> y() const { return y_; }
  // Where the source's row p lies in x and y.
  std::size_t row_of(std::size_t p) const { return rows_ != nullptr ? (*rows_)[p] : p; }

  // Refuses statistics that take a finite value past T's range (a tiny scale, a far mean),
  // which would otherwise surface as an infinity inside a step or a diverged validation loss:
  // ValueError naming the row of x (or y) where the value lies, its column and the statistics,
  // "fit: x row 7, column 2 is 3.5, which standardizes to 3.5e+40 (x_mean 0, x_scale 1e-40),
  // past float32's range". x_what and y_what start the messages. One pass over the rows read;
  // nothing without statistics. x and y must be finite (require_finite).
  void require_finite_standardized(const std::string& x_what, const std::string& y_what) const;

  // The source's rows order[first], order[first + 1], ... (order nullptr: first, first + 1, ...)
  // into the rows of to_x (x's columns) and to_y (y's), as many as to_x has; allocates nothing.
  void gather(MatrixView<T> to_x, MatrixView<T> to_y, const std::size_t* order,
              std::size_t first) const;
  void gather_x(MatrixView<T> to, const std::size_t* order, std::size_t first) const;
  void gather_y(MatrixView<T> to, const std::size_t* order, std::size_t first) const;

 private:
  MatrixView<const T> x_, y_;
  const std::vector<std::size_t>* rows_ = nullptr;
  const Standardization* s_ = nullptr;
};

}  // namespace nobias
