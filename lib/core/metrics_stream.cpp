// The metrics of evaluate() summed a window of predictions at a time (issue 22): a tool that
// scores a large --x holds the targets and one window, never all n x d_out predictions.
// Every sum runs in the order mean_squared_error, mean_absolute_error and r2_score run theirs
// (row-major; each column's rows in order), so the windows do not change a bit.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "nobias/error.hpp"
#include "nobias/metrics.hpp"
#include "nobias/names.hpp"

namespace nobias {
namespace {

// Why R^2 has no value for targets y: "" when it has one. A column is constant when its
// values are equal, not when its computed spread is 0: the mean of equal values may round
// away from them, leaving a spread of 1e-32 that would make any residual a huge negative score.
template <class T>
std::string r2_undefined(MatrixView<const T> y) {
  if (y.rows() < 2) return "fewer than two rows";
  for (std::size_t j = 0; j < y.cols(); ++j) {
    bool constant = true;
    for (std::size_t i = 1; i < y.rows() && constant; ++i)
      constant = y(i, j) == y(0, j);
    if (constant) {
      return "target column " + std::to_string(j) + " is constant (every row is " +
             format_number(static_cast<double>(y(0, j))) + ")";
    }
  }
  return "";
}

std::string rows_text(std::size_t first, std::size_t count) {
  return count == 0 ? "no rows at row " + std::to_string(first)
                    : "rows " + std::to_string(first) + " to " + std::to_string(first + count - 1);
}

}  // namespace

template <class T>
MetricsAccumulator<T>::MetricsAccumulator(MatrixView<const T> y, bool with_accuracy)
    : y_(y), with_accuracy_(with_accuracy), residual_(y.cols(), 0.0), spread_(y.cols(), 0.0) {
  if (y.rows() == 0 || y.cols() == 0) {
    throw ValueError("MetricsAccumulator: no targets to score against (" +
                     shape_string(y.rows(), y.cols()) + "); expected at least one row and column");
  }
  // R^2's column means and spreads need y alone: summed here, row by row within each column.
  const std::size_t n = y.rows(), d = y.cols();
  std::vector<double> mean(d, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j)
      mean[j] += static_cast<double>(y(i, j));
  for (std::size_t j = 0; j < d; ++j)
    mean[j] /= static_cast<double>(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < d; ++j) {
      const double c = static_cast<double>(y(i, j)) - mean[j];
      spread_[j] += c * c;
    }
  }
  r2_undefined_ = r2_undefined(y);
}

template <class T>
void MetricsAccumulator<T>::add(std::size_t first_row, MatrixView<const T> p) {
  const std::size_t n = y_.rows(), d = y_.cols();
  const std::string what =
      "MetricsAccumulator::add: predictions for " + rows_text(first_row, p.rows());
  if (p.cols() != d) {
    throw ShapeError(what + " have " + std::to_string(p.cols()) + " columns, but the targets (" +
                     shape_string(n, d) + ") have " + std::to_string(d));
  }
  if (first_row != added_) {
    throw ValueError(what + ", but rows are added in order, each once: expected row " +
                     std::to_string(added_) + " next");
  }
  if (p.rows() > n - added_) {
    throw ShapeError(what + ", but the targets have " + std::to_string(n) + " rows (" +
                     shape_string(n, d) + ")");
  }
  for (std::size_t i = 0; i < p.rows(); ++i) {
    const std::size_t row = first_row + i;
    for (std::size_t j = 0; j < d; ++j) {
      const double e = static_cast<double>(p(i, j)) - static_cast<double>(y_(row, j));
      const double square = e * e;
      squares_ += square;
      absolutes_ += std::fabs(e);
      // r2_score sums (y - p)^2: rounding is symmetric, so y - p is exactly -e, of equal square.
      residual_[j] += square;
      if (!first_bad_ && !std::isfinite(p(i, j))) {
        first_bad_ = Element{row, j, static_cast<double>(p(i, j))};
      }
      if (std::fabs(e) > largest_) {
        largest_ = std::fabs(e);
        largest_at_ = Element{row, j, static_cast<double>(p(i, j))};
      }
    }
  }
  if (with_accuracy_ && p.rows() != 0) {
    const std::vector<std::int64_t> predicted = argmax_rows(p);
    const std::vector<std::int64_t> labels = argmax_rows(y_.row_block(first_row, p.rows()));
    for (std::size_t i = 0; i < predicted.size(); ++i)
      if (predicted[i] == labels[i]) ++hits_;
  }
  added_ += p.rows();
}

template <class T>
Metrics MetricsAccumulator<T>::finish() const {
  const std::size_t n = y_.rows(), d = y_.cols();
  if (added_ != n) {
    throw ValueError("MetricsAccumulator::finish: predictions for " + std::to_string(added_) +
                     " of the targets' " + std::to_string(n) + " rows were added; expected all " +
                     std::to_string(n));
  }
  Metrics m;
  m.rows = n;
  const double count = static_cast<double>(n) * static_cast<double>(d);
  m.mse = squares_ / count;
  m.mae = absolutes_ / count;
  m.r2 = std::numeric_limits<double>::quiet_NaN();
  if (n >= 2) {
    double total = 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      // scikit-learn's force_finite: a constant column scores 1 when hit exactly, else 0.
      double score = 1.0;
      if (spread_[j] != 0.0 && residual_[j] != 0.0) {
        score = 1.0 - residual_[j] / spread_[j];
      } else if (spread_[j] == 0.0 && residual_[j] != 0.0) {
        score = 0.0;
      }
      total += score;
    }
    m.r2 = total / static_cast<double>(d);
  }
  m.r2_undefined = r2_undefined_;
  if (with_accuracy_) m.accuracy = static_cast<double>(hits_) / static_cast<double>(n);
  return m;
}

template class MetricsAccumulator<float>;
template class MetricsAccumulator<double>;

}  // namespace nobias
