// Predictions and metrics that came out NaN or infinite: refused with the row, the output and
// the likely cause, so that no front door prints such a number or writes it to a file.
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "nobias/error.hpp"
#include "nobias/metrics.hpp"
#include "nobias/names.hpp"

namespace nobias {
namespace {

template <class T>
const char* type_name() {
  return std::is_same_v<T, float> ? "float32" : "float64";
}

// A value of T as the shortest text that reads back to it as a T: a float32 3e38 prints as
// 3e+38, not as the double it widens to (3.0000000054977558e+38), which the user never wrote.
template <class T>
std::string format_value(T value) {
  if constexpr (std::is_same_v<T, float>) {
    if (std::isfinite(value)) {
      char text[32];
      const std::to_chars_result result = std::to_chars(text, text + sizeof text, value);
      return std::string(text, result.ptr);
    }
  }
  return format_number(static_cast<double>(value));
}

std::string largest_double() {
  return format_number(std::numeric_limits<double>::max());
}

// Why row i of the predictions is not finite, read from row i of x: the message's tail.
template <class T>
std::string prediction_cause(MatrixView<const T> x, std::size_t i, std::size_t shown) {
  std::size_t largest = 0;
  for (std::size_t c = 0; c < x.cols(); ++c) {
    if (!std::isfinite(x(i, c))) {
      return ": x row " + std::to_string(shown) + ", column " + std::to_string(c) + " is " +
             format_value(x(i, c)) + "; predictions need finite inputs";
    }
    if (std::fabs(x(i, c)) > std::fabs(x(i, largest))) largest = c;
  }
  const std::string type = type_name<T>();
  std::string cause = ", from finite inputs: the network's values passed " + type + "'s range (" +
                      format_value(std::numeric_limits<T>::max()) + ")";
  if (x.cols() != 0) {
    cause += "; the largest |x| in row " + std::to_string(shown) + " is " +
             format_value(std::fabs(x(i, largest))) + " (column " + std::to_string(largest) + ")";
  }
  return cause + ": the inputs, or the weights, are too large for " + type;
}

// Why a metric is not finite: a NaN or an infinity among p or y, or else errors past
// double's range (shown at the largest |p - y|).
template <class T>
std::string metric_cause(const std::string& metric, MatrixView<const T> p, MatrixView<const T> y) {
  if (const std::optional<Element> bad = first_non_finite(p)) {
    return "prediction row " + std::to_string(bad->row) + ", output " + std::to_string(bad->col) +
           " is " + format_number(bad->value);
  }
  if (const std::optional<Element> bad = first_non_finite(y)) {
    return "target row " + std::to_string(bad->row) + ", column " + std::to_string(bad->col) +
           " is " + format_number(bad->value);
  }
  std::size_t row = 0, col = 0;
  double largest = -1.0;
  for (std::size_t i = 0; i < p.rows(); ++i) {
    for (std::size_t j = 0; j < p.cols(); ++j) {
      const double e = std::fabs(static_cast<double>(p(i, j)) - static_cast<double>(y(i, j)));
      if (e > largest) std::tie(largest, row, col) = std::make_tuple(e, i, j);
    }
  }
  const char* how = metric == "mae"   ? "the sum of the errors passes"
                    : metric == "mse" ? "the squared errors pass"
                                      : "the sum of the squared errors passes";
  std::string cause = "the errors are too large for double: " + std::string(how) +
                      " double's largest, " + largest_double();
  if (largest >= 0.0) {
    cause += "; the largest |prediction - target| is at row " + std::to_string(row) + ", output " +
             std::to_string(col) + " (prediction " + format_value(p(row, col)) + ", target " +
             format_value(y(row, col)) + ")";
  }
  return cause;
}

}  // namespace

template <class T>
std::optional<Element> first_non_finite(MatrixView<const T> m) {
  for (std::size_t i = 0; i < m.rows(); ++i)
    for (std::size_t j = 0; j < m.cols(); ++j)
      if (!std::isfinite(m(i, j))) return Element{i, j, static_cast<double>(m(i, j))};
  return std::nullopt;
}

template <class T>
void require_finite_predictions(const std::string& where, MatrixView<const T> p,
                                MatrixView<const T> x) {
  require_finite_predictions<T>(where, p, x, 0, p.rows());
}

template <class T>
void require_finite_predictions(const std::string& where, MatrixView<const T> p,
                                MatrixView<const T> x, std::size_t first_row,
                                std::size_t total_rows) {
  if (p.rows() != x.rows()) {
    throw ShapeError(where + ": predictions are " + shape_string(p.rows(), p.cols()) +
                     " but x is " + shape_string(x.rows(), x.cols()) +
                     "; expected one row of predictions per row of x");
  }
  const std::optional<Element> bad = first_non_finite(p);
  if (!bad) return;
  const std::size_t row = first_row + bad->row;
  throw ValueError(where + ": prediction row " + std::to_string(row) + " of " +
                   std::to_string(total_rows) + ", output " + std::to_string(bad->col) + " is " +
                   format_number(bad->value) + prediction_cause(x, bad->row, row));
}

template <class T>
void require_finite_metrics(const std::string& where, const Metrics& m, MatrixView<const T> p,
                            MatrixView<const T> y) {
  if (p.rows() != y.rows() || p.cols() != y.cols()) {
    throw ShapeError(where + ": predictions are " + shape_string(p.rows(), p.cols()) +
                     " but targets are " + shape_string(y.rows(), y.cols()));
  }
  std::vector<std::pair<const char*, double>> values = {{"mse", m.mse}, {"mae", m.mae}};
  if (m.r2_undefined.empty()) values.emplace_back("r2", m.r2);
  if (m.accuracy) values.emplace_back("accuracy", *m.accuracy);
  for (const auto& [name, value] : values) {
    if (std::isfinite(value)) continue;
    throw ValueError(where + ": " + name + " is " + format_number(value) + ": " +
                     metric_cause(name, p, y));
  }
}

#define NOBIAS_METRIC_CHECKS(T)                                                                    \
  template std::optional<Element> first_non_finite<T>(MatrixView<const T>);                        \
  template void require_finite_predictions<T>(const std::string&, MatrixView<const T>,             \
                                              MatrixView<const T>);                                \
  template void require_finite_predictions<T>(const std::string&, MatrixView<const T>,             \
                                              MatrixView<const T>, std::size_t, std::size_t);      \
  template void require_finite_metrics<T>(const std::string&, const Metrics&, MatrixView<const T>, \
                                          MatrixView<const T>);
NOBIAS_METRIC_CHECKS(float)
NOBIAS_METRIC_CHECKS(double)
#undef NOBIAS_METRIC_CHECKS

}  // namespace nobias
