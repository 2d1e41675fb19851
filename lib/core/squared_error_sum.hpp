// Internal: squared_error's sum (nobias/kernels.hpp) over a matrix handed in parts of rows, in
// order, with the bits of one call on the whole: a pass that predicts a window of rows at a
// time never holds every prediction (core/row_chunks.cpp).
//
// squared_error adds each (yhat - y)^2, in double, to one of eight accumulators: element i of
// the flattened matrices when both are contiguous, else element j of each row (the count
// restarting at every row). A part says which of the two the whole is.
#pragma once

#include <cstddef>

#include "nobias/matrix.hpp"

namespace nobias::detail {

template <class T>
class SquaredErrorSum {
 public:
  static constexpr std::size_t kLanes = 8;

  // Rows of the whole whose flattened elements start at index `first`; yhat and y contiguous
  // (ShapeError otherwise, or when their shapes differ).
  void add_flat(MatrixView<const T> yhat, MatrixView<const T> y, std::size_t first);
  // Rows of a whole that is not contiguous, each counted from its own first element.
  void add_rows(MatrixView<const T> yhat, MatrixView<const T> y);
  // The sum so far: the lanes added up in a fixed order.
  double total() const;

 private:
  double lanes_[kLanes] = {};
};

}  // namespace nobias::detail
