#include "nobias/targets.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "nobias/error.hpp"
#include "nobias/fit.hpp"
#include "nobias/kernels.hpp"
#include "nobias/names.hpp"

namespace nobias {
namespace {

std::string element(std::size_t i) {
  return "element " + std::to_string(i);
}

// Per-column mean and population standard deviation of m's rows (those listed, in that order,
// or all), two passes in double. A constant column (one row, or every value the same) has mean
// its value and scale 1, so that it standardizes to exactly 0: its sum divided by n is not
// always its value (0.7 thirty times sums to a mean of 0.6999999999999996), and the spread of
// that rounding, 3e-16, made a scale that mapped the column to -1 and a new value of 0.8 to
// 3e14.
template <class T>
void column_statistics(MatrixView<const T> m, const std::vector<std::size_t>* rows,
                       std::vector<double>& mean, std::vector<double>& scale, const char* what) {
  const std::size_t n = rows != nullptr ? rows->size() : m.rows(), d = m.cols();
  const auto at = [&](std::size_t i, std::size_t j) {
    return static_cast<double>(m(rows != nullptr ? (*rows)[i] : i, j));
  };
  mean.assign(d, 0.0);
  scale.assign(d, 0.0);
  std::vector<bool> constant(d, true);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < d; ++j) {
      mean[j] += at(i, j);
      if (at(i, j) != at(0, j)) constant[j] = false;
    }
  }
  for (std::size_t j = 0; j < d; ++j)
    mean[j] /= static_cast<double>(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < d; ++j) {
      const double centred = at(i, j) - mean[j];
      scale[j] += centred * centred;
    }
  }
  for (std::size_t j = 0; j < d; ++j) {
    // A constant column: every value maps to 0, and back to itself (1e308 too, whose sum
    // overflows).
    if (constant[j]) {
      mean[j] = at(0, j);
      scale[j] = 1.0;
      continue;
    }
    scale[j] = std::sqrt(scale[j] / static_cast<double>(n));
    if (!std::isfinite(mean[j]) || !std::isfinite(scale[j])) {
      throw ValueError(std::string("fit_standardization: ") + what + " column " +
                       std::to_string(j) + ": its mean or spread overflows double");
    }
  }
}

void check_statistics(const std::vector<double>& mean, const std::vector<double>& scale,
                      std::size_t width, const std::string& what, const char* which) {
  const std::string name = which;
  if (mean.empty() && scale.empty()) return;
  if (mean.empty() || scale.empty()) {
    const std::string given = name + (mean.empty() ? "_scale" : "_mean"),
                      missing = name + (mean.empty() ? "_mean" : "_scale");
    throw ValueError(what + ": " + given + " given without " + missing +
                     "; expected both or neither");
  }
  if (mean.size() != scale.size()) {
    throw ValueError(what + ": " + name + "_mean has " + std::to_string(mean.size()) +
                     " values but " + name + "_scale has " + std::to_string(scale.size()));
  }
  if (mean.size() != width) {
    throw ValueError(what + ": " + name + "_mean has " + std::to_string(mean.size()) +
                     " values, expected " + std::to_string(width) + " (one per column of " + name +
                     ")");
  }
  for (std::size_t j = 0; j < width; ++j) {
    if (!std::isfinite(mean[j])) {
      throw ValueError(what + ": " + name + "_mean " + element(j) + " is " +
                       format_number(mean[j]) + "; it must be finite");
    }
    if (!std::isfinite(scale[j]) || !(scale[j] > 0.0)) {
      throw ValueError(what + ": " + name + "_scale " + element(j) + " is " +
                       format_number(scale[j]) + "; it must be finite and > 0");
    }
  }
}

template <class T>
void check_columns(const char* where, std::size_t cols, const std::vector<double>& stats,
                   const char* which) {
  if (cols != stats.size()) {
    throw ShapeError(std::string(where) + ": " + which + " has " + std::to_string(cols) +
                     " columns but the standardization has " + std::to_string(stats.size()));
  }
}

// The facts of values (row order), each finite.
TargetValues describe_values(std::vector<double> values) {
  TargetValues v;
  v.rows = values.size();
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double value = values[i];
    if (v.whole && value != std::floor(value)) {
      v.whole = false;
      v.first_not_whole = i;
    }
    v.negative = v.negative || value < 0.0;
  }
  std::sort(values.begin(), values.end());
  v.smallest = values.front();
  v.largest = values.back();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0 && values[i] == values[i - 1]) continue;
    ++v.distinct;
    if (v.least_values.size() < 5) v.least_values.push_back(values[i]);
  }
  return v;
}

template <class T>
void require_one_column(MatrixView<const T> column, const char* where) {
  if (column.cols() != 1) {
    throw ShapeError(std::string(where) + ": expected one column of targets, got " +
                     shape_string(column.rows(), column.cols()));
  }
}

// The first row of y that is not one-hot, or y.rows().
template <class T>
std::size_t first_not_one_hot(MatrixView<const T> y) {
  for (std::size_t i = 0; i < y.rows(); ++i) {
    std::size_t ones = 0;
    for (std::size_t j = 0; j < y.cols(); ++j) {
      if (y(i, j) == T(1)) {
        ++ones;
      } else if (y(i, j) != T(0)) {
        ones = 2;  // neither 0 nor 1: not one-hot, whatever the rest
        break;
      }
    }
    if (ones != 1) return i;
  }
  return y.rows();
}

}  // namespace

std::size_t TargetValues::classes() const {
  if (!whole || negative || rows == 0) return 0;
  // Beyond 2^53 a double no longer holds every whole number: as many classes as can be.
  if (largest >= 9007199254740992.0) return std::numeric_limits<std::size_t>::max();
  return static_cast<std::size_t>(largest) + 1;
}

TargetValues describe_targets(const std::vector<std::int64_t>& labels) {
  if (labels.empty()) throw ValueError("describe_targets: no labels");
  return describe_values(std::vector<double>(labels.begin(), labels.end()));
}

template <class T>
TargetValues describe_targets(MatrixView<const T> column) {
  require_one_column(column, "describe_targets");
  if (column.rows() == 0) throw ValueError("describe_targets: no rows");
  std::vector<double> values(column.rows());
  for (std::size_t i = 0; i < column.rows(); ++i) {
    values[i] = static_cast<double>(column(i, 0));
    if (!std::isfinite(values[i])) {
      throw ValueError("describe_targets: row " + std::to_string(i) + " is " +
                       format_number(values[i]) + "; values must be finite");
    }
  }
  return describe_values(std::move(values));
}

bool looks_like_classes(const TargetValues& v) {
  const std::size_t classes = v.classes();
  if (classes == 0 || classes > kMaxGuessedClasses) return false;
  return v.distinct <= kFewValues || 2 * v.distinct <= v.rows;
}

bool looks_like_few_classes(const TargetValues& v) {
  return looks_like_classes(v) && v.distinct >= 2 && v.distinct <= kFewValues;
}

template <class T>
std::vector<std::int64_t> labels_from_values(MatrixView<const T> column) {
  require_one_column(column, "labels_from_values");
  std::vector<std::int64_t> labels(column.rows());
  for (std::size_t i = 0; i < column.rows(); ++i) {
    const double value = static_cast<double>(column(i, 0));
    // 2^62: far beyond any class count, and exact in int64.
    if (!(value >= 0.0 && value == std::floor(value) && value < 4611686018427387904.0)) {
      throw ValueError("labels_from_values: row " + std::to_string(i) + " is " +
                       format_number(value) +
                       (value < 0.0 ? ", a negative number" : ", not a whole number") +
                       " (class labels are 0, 1, ...)");
    }
    labels[i] = static_cast<std::int64_t>(value);
  }
  return labels;
}

std::size_t class_count(const std::vector<std::int64_t>& labels) {
  if (labels.empty()) throw ValueError("class_count: no labels");
  std::int64_t largest = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) {
      throw ValueError("class_count: label " + std::to_string(labels[i]) + " at " + element(i) +
                       " is negative (labels are 0, 1, ...)");
    }
    largest = std::max(largest, labels[i]);
  }
  return static_cast<std::size_t>(largest) + 1;
}

template <class T>
bool is_one_hot(MatrixView<const T> y) {
  return y.cols() >= 2 && y.rows() > 0 && first_not_one_hot(y) == y.rows();
}

template <class T>
void require_one_hot(MatrixView<const T> y) {
  if (y.cols() < 2) {
    throw ShapeError(
        "require_one_hot: one-hot targets have a column per class, at least two; got " +
        shape_string(y.rows(), y.cols()));
  }
  if (y.rows() == 0) throw ValueError("require_one_hot: no rows");
  const std::size_t i = first_not_one_hot(y);
  if (i == y.rows()) return;
  constexpr std::size_t kShown = 6;
  std::string row;
  for (std::size_t j = 0; j < y.cols() && j < kShown; ++j)
    row += (j > 0 ? ", " : "") + format_number(static_cast<double>(y(i, j)));
  if (y.cols() > kShown) row += ", ... (" + std::to_string(y.cols()) + " columns)";
  throw ValueError("require_one_hot: row " + std::to_string(i) + " is (" + row +
                   "), not one-hot (a one-hot row is a single 1 with 0 in every other column)");
}

template <class T>
Matrix<T> one_hot(const std::vector<std::int64_t>& labels, std::size_t classes) {
  if (labels.empty()) throw ValueError("one_hot: no labels");
  if (classes == 0) classes = class_count(labels);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) {
      throw ValueError("one_hot: label " + std::to_string(labels[i]) + " at " + element(i) +
                       " is negative (labels are 0.." + std::to_string(classes - 1) + ")");
    }
    if (static_cast<std::uint64_t>(labels[i]) >= classes) {
      throw ValueError("one_hot: label " + std::to_string(labels[i]) + " at " + element(i) +
                       " is >= the " + std::to_string(classes) + " classes (labels are 0.." +
                       std::to_string(classes - 1) + ")");
    }
  }
  Matrix<T> m(labels.size(), classes);
  for (std::size_t i = 0; i < labels.size(); ++i)
    m(i, static_cast<std::size_t>(labels[i])) = T(1);
  return m;
}

template <class T>
Standardization fit_standardization(MatrixView<const T> x, MatrixView<const T> y,
                                    const std::vector<std::size_t>* rows) {
  if (x.rows() == 0) throw ValueError("fit_standardization: x has no rows");
  if (rows != nullptr) {
    if (rows->empty()) throw ValueError("fit_standardization: no rows listed");
    for (const std::size_t r : *rows) {
      if (r >= x.rows()) {
        throw ValueError("fit_standardization: row " + std::to_string(r) + " listed, but x has " +
                         std::to_string(x.rows()) + " rows");
      }
    }
  }
  require_finite(x, "fit_standardization: x");
  Standardization s;
  column_statistics(x, rows, s.x_mean, s.x_scale, "x");
  if (!y.empty()) {
    if (y.rows() != x.rows()) {
      throw ShapeError("fit_standardization: x has " + std::to_string(x.rows()) +
                       " rows but y has " + std::to_string(y.rows()));
    }
    require_finite(y, "fit_standardization: y");
    column_statistics(y, rows, s.y_mean, s.y_scale, "y");
  }
  return s;
}

template <class T>
Standardization fit_standardization(MatrixView<const T> x, MatrixView<const T> y) {
  return fit_standardization<T>(x, y, nullptr);
}

void check_standardization(const Standardization& s, std::size_t d_in, std::size_t d_out,
                           const std::string& what) {
  check_statistics(s.x_mean, s.x_scale, d_in, what, "x");
  check_statistics(s.y_mean, s.y_scale, d_out, what, "y");
}

template <class T>
void standardize_x(const Standardization& s, MatrixView<T> x) {
  if (!s.has_x()) return;
  check_columns<T>("standardize_x", x.cols(), s.x_mean, "x");
  for (std::size_t i = 0; i < x.rows(); ++i)
    for (std::size_t j = 0; j < x.cols(); ++j)
      x(i, j) = static_cast<T>((static_cast<double>(x(i, j)) - s.x_mean[j]) / s.x_scale[j]);
}

template <class T>
void standardize_y(const Standardization& s, MatrixView<T> y) {
  if (!s.has_y()) return;
  check_columns<T>("standardize_y", y.cols(), s.y_mean, "y");
  for (std::size_t i = 0; i < y.rows(); ++i)
    for (std::size_t j = 0; j < y.cols(); ++j)
      y(i, j) = static_cast<T>((static_cast<double>(y(i, j)) - s.y_mean[j]) / s.y_scale[j]);
}

template <class T>
void unstandardize_y(const Standardization& s, MatrixView<T> p) {
  if (!s.has_y()) return;
  check_columns<T>("unstandardize_y", p.cols(), s.y_mean, "predictions");
  for (std::size_t i = 0; i < p.rows(); ++i)
    for (std::size_t j = 0; j < p.cols(); ++j)
      p(i, j) = static_cast<T>(static_cast<double>(p(i, j)) * s.y_scale[j] + s.y_mean[j]);
}

#define NOBIAS_TARGETS(T)                                                                    \
  template Matrix<T> one_hot<T>(const std::vector<std::int64_t>&, std::size_t);              \
  template bool is_one_hot<T>(MatrixView<const T>);                                          \
  template void require_one_hot<T>(MatrixView<const T>);                                     \
  template Standardization fit_standardization<T>(MatrixView<const T>, MatrixView<const T>); \
  template Standardization fit_standardization<T>(MatrixView<const T>, MatrixView<const T>,  \
                                                  const std::vector<std::size_t>*);          \
  template void standardize_x<T>(const Standardization&, MatrixView<T>);                     \
  template void standardize_y<T>(const Standardization&, MatrixView<T>);                     \
  template void unstandardize_y<T>(const Standardization&, MatrixView<T>);                   \
  template TargetValues describe_targets<T>(MatrixView<const T>);                            \
  template std::vector<std::int64_t> labels_from_values<T>(MatrixView<const T>);
NOBIAS_TARGETS(float)
NOBIAS_TARGETS(double)
#undef NOBIAS_TARGETS

std::size_t validation_rows(std::size_t rows, double fraction) {
  if (!(fraction >= 0.0 && fraction <= 1.0)) {
    throw ValueError("validation_rows: fraction must be in [0, 1], got " + format_number(fraction));
  }
  return static_cast<std::size_t>(std::round(fraction * static_cast<double>(rows)));
}

RowSplit split_rows(std::size_t rows, std::size_t held, std::uint64_t seed) {
  if (held > rows) {
    throw ValueError("split_rows: cannot hold out " + std::to_string(held) + " of " +
                     std::to_string(rows) + " rows");
  }
  const std::vector<std::size_t> order = shuffled_order(rows, seed, 0);
  std::vector<bool> validate(rows, false);
  for (std::size_t i = 0; i < held; ++i)
    validate[order[i]] = true;
  RowSplit split;
  split.train.reserve(rows - held);
  split.validation.reserve(held);
  for (std::size_t i = 0; i < rows; ++i)
    (validate[i] ? split.validation : split.train).push_back(i);
  return split;
}

}  // namespace nobias
