// fit()'s checks of its data and options, made once before any step.
#include "train/fit_checks.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "nobias/error.hpp"
#include "nobias/kernels.hpp"
#include "nobias/names.hpp"

namespace nobias::detail {
namespace {

template <class T>
bool same_array(MatrixView<const T> a, MatrixView<const T> b) {
  return a.data() == b.data() && a.rows() == b.rows() && a.cols() == b.cols() && a.ld() == b.ld();
}

// A bias-free network maps 0 to 0 whatever its weights: on training rows whose x reads as 0
// (as training reads it, standardized) every output, the loss and every gradient stay as they
// are, and a run would end "successfully" with its starting weights. Standardized x reads as 0
// when every column is constant over the training rows, one row above all. ValueError saying
// so; found at the first nonzero value, which is the first row's in any other data.
template <class T>
void require_some_input(const RowSource<T>& source, bool standardized) {
  Matrix<T> row(1, source.x_cols());
  for (std::size_t p = 0; p < source.rows(); ++p) {
    source.gather_x(row.row_block(0, 1), nullptr, p);
    for (std::size_t j = 0; j < row.cols(); ++j)
      if (row(0, j) != T(0)) return;
  }
  const std::string rows = counted(source.rows(), "training row");
  const std::string why =
      "; a bias-free network maps 0 to 0 whatever its weights, so no step can change its "
      "outputs or the loss: nothing would be learned. Expected ";
  if (standardized) {
    throw ValueError("fit: every column of x is constant over the " + rows +
                     ", so x standardized (centred on its mean) is 0 in every one" + why +
                     "training rows whose x differ (or x not standardized)");
  }
  throw ValueError("fit: x is 0 in every one of the " + rows + why +
                   "a training row whose x is not 0");
}

}  // namespace

template <class T>
void check_fit(const Network<T>& net, const FitData<T>& data, const FitOptions& options) {
  const MatrixView<const T> x = data.x, y = data.y, val_x = data.val_x, val_y = data.val_y;
  if (options.epochs == 0) throw ValueError("fit: epochs must be >= 1, got 0");
  if (options.first_epoch == 0 || options.first_epoch > options.epochs) {
    throw ValueError("fit: first_epoch must be in [1, epochs = " + std::to_string(options.epochs) +
                     "], got " + std::to_string(options.first_epoch));
  }
  if (options.checkpoint.every == 0) throw ValueError("fit: checkpoint.every must be >= 1, got 0");
  if (!(options.early_stopping.tolerance >= 0.0) ||
      !std::isfinite(options.early_stopping.tolerance)) {
    throw ValueError("fit: early_stopping.tolerance must be finite and >= 0, got " +
                     format_number(options.early_stopping.tolerance));
  }
  if (x.rows() == 0) throw ShapeError("fit: x has no rows");
  if (x.rows() != y.rows()) {
    throw ShapeError("fit: x has " + std::to_string(x.rows()) + " rows but y has " +
                     std::to_string(y.rows()));
  }
  if (x.cols() != net.input_width() || y.cols() != net.output_width()) {
    throw ShapeError("fit: x is " + shape_string(x.rows(), x.cols()) + " and y is " +
                     shape_string(y.rows(), y.cols()) + ", the network maps " +
                     std::to_string(net.input_width()) + " columns to " +
                     std::to_string(net.output_width()));
  }
  if (data.validation != nullptr && (!val_x.empty() || !val_y.empty())) {
    throw ValueError("fit: a validation set in val_x and val_y and in validation; expected one");
  }
  const bool validation = data.validation != nullptr || !val_x.empty() || !val_y.empty();
  const RowSource<T>* v = data.validation;  // its shapes, or val_x's and val_y's
  const std::size_t val_rows = v ? v->rows() : val_x.rows(),
                    val_y_rows = v ? v->rows() : val_y.rows();
  const std::size_t val_x_cols = v ? v->x_cols() : val_x.cols(),
                    val_y_cols = v ? v->y_cols() : val_y.cols();
  if (validation && (val_rows != val_y_rows || val_x_cols != x.cols() || val_y_cols != y.cols() ||
                     val_rows == 0)) {
    throw ShapeError("fit: validation x is " + shape_string(val_rows, val_x_cols) +
                     " and validation y is " + shape_string(val_y_rows, val_y_cols) +
                     "; expected the same row count and " + std::to_string(x.cols()) + " and " +
                     std::to_string(y.cols()) + " columns");
  }
  if (data.rows != nullptr && data.rows->empty()) throw ShapeError("fit: rows lists no row");
  if (data.rows != nullptr) {  // as fit's own, before RowSource's
    const std::vector<std::size_t>& rows = *data.rows;
    for (std::size_t p = 0; p < rows.size(); ++p) {
      if (rows[p] >= x.rows()) {
        throw ValueError("fit: rows position " + std::to_string(p) + " names row " +
                         std::to_string(rows[p]) + ", but x has " + std::to_string(x.rows()) +
                         " rows");
      }
    }
  }
  if (data.standardization != nullptr) {
    check_standardization(*data.standardization, x.cols(), y.cols(), "fit");
  }
  const RowSource<T> source = data.training_rows();
  if (options.early_stopping.patience > 0 && !validation) {
    throw ValueError("fit: early stopping (patience " +
                     std::to_string(options.early_stopping.patience) +
                     ") needs a validation set; got none");
  }
  // fit may step on views of x and y, and validates on val_x and val_y: none may be the
  // network's own memory, which the steps change.
  net.require_apart("fit", "x", x);
  net.require_apart("fit", "y", y);
  const RowSource<T> val = data.validation_rows();
  net.require_apart("fit", "validation x", val.x());
  net.require_apart("fit", "validation y", val.y());
  // Once, before any step: a NaN in the data would otherwise read as a diverged loss. All of
  // x and y, also rows that do not train: finite values standardize to finite ones. Validation
  // rows held out of x and y were checked with them.
  require_finite(x, "fit: x");
  require_finite(y, "fit: y");
  if (!same_array(val.x(), x)) require_finite(val.x(), "fit: validation x");
  if (!same_array(val.y(), y)) require_finite(val.y(), "fit: validation y");
  // And what they standardize to, in T: a step would see an infinity in the data the user gave
  // finite, and a validation pass a loss that reads as divergence. Rows held out of x are
  // named as rows of x.
  source.require_finite_standardized("fit: x", "fit: y");
  val.require_finite_standardized(same_array(val.x(), x) ? "fit: x" : "fit: validation x",
                                  same_array(val.y(), y) ? "fit: y" : "fit: validation y");
  require_some_input(source, data.standardization != nullptr && data.standardization->has_x());
}

template void check_fit<float>(const Network<float>&, const FitData<float>&, const FitOptions&);
template void check_fit<double>(const Network<double>&, const FitData<double>&, const FitOptions&);

}  // namespace nobias::detail
