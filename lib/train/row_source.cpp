#include "nobias/row_source.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "core/row_chunks.hpp"
#include "nobias/error.hpp"
#include "nobias/full_pass.hpp"
#include "nobias/kernels.hpp"
#include "nobias/names.hpp"

namespace nobias {
namespace {

// Row `from` into `to`, each value (v - mean[j]) / scale[j] in double rounded once to T (as
// standardize_x), or copied without statistics.
template <class T>
void read_row(T* to, const T* from, std::size_t cols, const std::vector<double>& mean,
              const std::vector<double>& scale) {
  if (mean.empty()) {
    std::copy(from, from + cols, to);
    return;
  }
  for (std::size_t j = 0; j < cols; ++j)
    to[j] = static_cast<T>((static_cast<double>(from[j]) - mean[j]) / scale[j]);
}

template <class T>
void gather_rows(MatrixView<T> to, MatrixView<const T> from, const std::vector<std::size_t>* rows,
                 const std::size_t* order, std::size_t first, const std::vector<double>& mean,
                 const std::vector<double>& scale) {
  if (to.cols() != from.cols()) {
    throw ShapeError("RowSource::gather: a buffer of " + std::to_string(to.cols()) +
                     " columns for rows of " + std::to_string(from.cols()));
  }
  for (std::size_t i = 0; i < to.rows(); ++i) {
    const std::size_t p = order != nullptr ? order[first + i] : first + i;
    read_row(to.row(i), from.row(rows != nullptr ? (*rows)[p] : p), from.cols(), mean, scale);
  }
}

const std::vector<double> kNone;

template <class T>
T standardized(T v, double mean, double scale) {
  return static_cast<T>((static_cast<double>(v) - mean) / scale);
}

// (v - mean) / scale rounds monotonically in v (scale > 0): a column whose least and greatest
// values read standardize to finite values has no other. Only a refusal looks for the row.
template <class T>
void require_finite_standardized(MatrixView<const T> from, const std::vector<std::size_t>* rows,
                                 std::size_t n, const std::vector<double>& mean,
                                 const std::vector<double>& scale, const std::string& what,
                                 const char* which) {
  if (mean.empty() || n == 0) return;
  const std::size_t cols = from.cols();
  const auto row = [&](std::size_t p) { return from.row(rows != nullptr ? (*rows)[p] : p); };
  std::vector<T> least(row(0), row(0) + cols), greatest(least);
  for (std::size_t p = 1; p < n; ++p) {
    const T* r = row(p);
    for (std::size_t j = 0; j < cols; ++j) {
      least[j] = std::min(least[j], r[j]);
      greatest[j] = std::max(greatest[j], r[j]);
    }
  }
  for (std::size_t j = 0; j < cols; ++j) {
    if (std::isfinite(standardized(least[j], mean[j], scale[j])) &&
        std::isfinite(standardized(greatest[j], mean[j], scale[j]))) {
      continue;
    }
    for (std::size_t p = 0; p < n; ++p) {
      const T v = row(p)[j];
      if (std::isfinite(standardized(v, mean[j], scale[j]))) continue;
      const std::string w = which;
      throw ValueError(
          what + " row " + std::to_string(rows != nullptr ? (*rows)[p] : p) + ", column " +
          std::to_string(j) + " is " + format_number(v) + ", which standardizes to " +
          format_number((static_cast<double>(v) - mean[j]) / scale[j]) + " (" + w + "_mean " +
          format_number(mean[j]) + ", " + w + "_scale " + format_number(scale[j]) + "), past " +
          (std::is_same_v<T, float> ? "float32" : "float64") +
          "'s range; expected statistics under which every value stays finite");
    }
  }
}

}  // namespace

template <class T>
RowSource<T>::RowSource(MatrixView<const T> x, MatrixView<const T> y,
                        const std::vector<std::size_t>* rows, const Standardization* s)
    : x_(x), y_(y), rows_(rows), s_(s) {
  if (x.rows() != y.rows()) {
    throw ShapeError("RowSource: x is " + shape_string(x.rows(), x.cols()) + " but y is " +
                     shape_string(y.rows(), y.cols()) + "; expected as many rows");
  }
  if (rows != nullptr) {
    const auto past =
        std::find_if(rows->begin(), rows->end(), [&](std::size_t r) { return r >= x.rows(); });
    if (past != rows->end()) {
      throw ValueError("RowSource: position " + std::to_string(past - rows->begin()) +
                       " names row " + std::to_string(*past) + ", but x has " +
                       std::to_string(x.rows()) + " rows");
    }
  }
  if (s != nullptr) check_standardization(*s, x.cols(), y.cols(), "RowSource");
}

template <class T>
void RowSource<T>::require_finite_standardized(const std::string& x_what,
                                               const std::string& y_what) const {
  if (s_ == nullptr) return;
  nobias::require_finite_standardized<T>(x_, rows_, rows(), s_->x_mean, s_->x_scale, x_what, "x");
  nobias::require_finite_standardized<T>(y_, rows_, rows(), s_->y_mean, s_->y_scale, y_what, "y");
}

template <class T>
void RowSource<T>::gather_x(MatrixView<T> to, const std::size_t* order, std::size_t first) const {
  const bool has = s_ != nullptr && s_->has_x();
  gather_rows<T>(to, x_, rows_, order, first, has ? s_->x_mean : kNone, has ? s_->x_scale : kNone);
}

template <class T>
void RowSource<T>::gather_y(MatrixView<T> to, const std::size_t* order, std::size_t first) const {
  const bool has = s_ != nullptr && s_->has_y();
  gather_rows<T>(to, y_, rows_, order, first, has ? s_->y_mean : kNone, has ? s_->y_scale : kNone);
}

template <class T>
void RowSource<T>::gather(MatrixView<T> to_x, MatrixView<T> to_y, const std::size_t* order,
                          std::size_t first) const {
  gather_x(to_x, order, first);
  gather_y(to_y, order, first);
}

template <class T>
double full_loss(Network<T>& net, const RowSource<T>& rows, Reduction reduction) {
  if (rows.in_place()) return detail::loss_in_blocks<T>(net, rows.x(), rows.y(), reduction);
  // Network's own refusals of shapes that do not fit.
  if (rows.x_cols() != net.input_width() || rows.y_cols() != net.output_width()) {
    return net.loss(rows.x(), rows.y(), reduction);
  }
  const std::size_t n = rows.rows();
  // As loss_in_blocks: what fits one block goes through Network's own path.
  const std::size_t block = detail::block_rows<T>(net.widths());
  if (n <= block) {
    Matrix<T> x(n, rows.x_cols()), y(n, rows.y_cols());
    rows.gather(x.view(), y.view(), nullptr, 0);
    return net.loss(x.view(), y.view(), reduction);
  }
  // Each window's targets gathered beside its predictions, summed as against a gathered copy
  // of every row (contiguous).
  Matrix<T> targets;
  const double loss = detail::squared_error_streamed<T>(
      net, n, [&](std::size_t begin, MatrixView<T> to) { rows.gather_x(to, nullptr, begin); }, {},
      block, detail::block_per_thread_window(block), true,
      [&](std::size_t first, std::size_t count) {
        if (targets.rows() < count) targets = Matrix<T>(count, rows.y_cols());
        const MatrixView<T> window = targets.view().row_block(0, count);
        rows.gather_y(window, nullptr, first);
        return MatrixView<const T>(window);
      });
  if (!std::isfinite(loss)) {  // bad data, as net.loss words it; else diverged weights
    require_finite(rows.x(), "loss: x");
    for (std::size_t first = 0; first < n; first += block) {  // the targets as gathered
      const std::size_t count = std::min(block, n - first);
      if (targets.rows() < count) targets = Matrix<T>(count, rows.y_cols());
      const MatrixView<T> window = targets.view().row_block(0, count);
      rows.gather_y(window, nullptr, first);
      require_finite(MatrixView<const T>(window), "loss: y", first);
    }
  }
  if (reduction == Reduction::Sum) return loss;
  return loss * (1.0 / (static_cast<double>(n) * static_cast<double>(net.output_width())));
}

template <class T>
Matrix<T> full_predict(const Network<T>& net, const RowSource<T>& rows) {
  const std::size_t n = rows.rows(), block = detail::block_rows<T>(net.widths());
  // Network's own path (and refusals) for what fits one block, as predict_with.
  if (n <= block || rows.x_cols() != net.input_width()) {
    if (rows.in_place()) return net.predict(rows.x());
    Matrix<T> x(n, rows.x_cols());
    rows.gather_x(x.view(), nullptr, 0);
    return net.predict(x.view());
  }
  Matrix<T> p(n, net.output_width());
  if (rows.in_place()) {
    detail::predict_in_blocks<T>(net, rows.x(), p.view(), block, {});
  } else {
    detail::predict_in_blocks<T>(
        net, n, [&](std::size_t begin, MatrixView<T> to) { rows.gather_x(to, nullptr, begin); },
        p.view(), block);
  }
  return p;
}

template <class T>
void predict_windows(const Network<T>& net, const RowSource<T>& rows,
                     const std::function<void(std::size_t, MatrixView<T>)>& sink) {
  if (!sink) throw ValueError("predict_windows: no sink to hand the predictions to");
  const std::size_t n = rows.rows(), block = detail::block_rows<T>(net.widths());
  if (n <= block || rows.x_cols() != net.input_width()) {  // as full_predict
    Matrix<T> p = full_predict<T>(net, rows);
    if (n > 0) sink(0, p.view());
    return;
  }
  detail::RowFill<T> fill;
  if (!rows.in_place()) {
    fill = [&](std::size_t begin, MatrixView<T> to) { rows.gather_x(to, nullptr, begin); };
  }
  // A block per thread a window: a sink that scores them is quick (row_chunks.hpp).
  detail::predict_streamed<T>(
      net, n, fill, rows.in_place() ? rows.x() : MatrixView<const T>{}, block,
      detail::block_per_thread_window(block),
      [&](std::size_t first, MatrixView<T> p, bool /*hidden_finite*/) { sink(first, p); });
}

template double full_loss<float>(Network<float>&, const RowSource<float>&, Reduction);
template double full_loss<double>(Network<double>&, const RowSource<double>&, Reduction);
template Matrix<float> full_predict<float>(const Network<float>&, const RowSource<float>&);
template Matrix<double> full_predict<double>(const Network<double>&, const RowSource<double>&);
template void predict_windows<float>(const Network<float>&, const RowSource<float>&,
                                     const std::function<void(std::size_t, MatrixView<float>)>&);
template void predict_windows<double>(const Network<double>&, const RowSource<double>&,
                                      const std::function<void(std::size_t, MatrixView<double>)>&);
template class RowSource<float>;
template class RowSource<double>;

}  // namespace nobias
