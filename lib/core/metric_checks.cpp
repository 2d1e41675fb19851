// Predictions and metrics that came out NaN or infinite: refused with the row, the output and
// the likely cause, so that no front door prints such a number or writes it to a file.
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
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

// Why a metric is not finite: a NaN or an infinity among the predictions or the targets, or
// else errors past double's range (shown at the largest |p - y|): the facts a
// MetricsAccumulator tracked (none for no values).
template <class T>
std::string metric_cause(const std::string& metric, const std::optional<Element>& bad_prediction,
                         MatrixView<const T> y, const std::optional<Element>& largest) {
  if (const std::optional<Element>& bad = bad_prediction) {
    return "prediction row " + std::to_string(bad->row) + ", output " + std::to_string(bad->col) +
           " is " + format_number(bad->value);
  }
  if (const std::optional<Element> bad = first_non_finite(y)) {
    return "target row " + std::to_string(bad->row) + ", column " + std::to_string(bad->col) +
           " is " + format_number(bad->value);
  }
  const char* how = metric == "mae"   ? "the sum of the errors passes"
                    : metric == "mse" ? "the squared errors pass"
                                      : "the sum of the squared errors passes";
  std::string cause = "the errors are too large for double: " + std::string(how) +
                      " double's largest, " + largest_double();
  if (const std::optional<Element>& at = largest) {
    // The value is the prediction, a T widened to double: narrowing it back is exact.
    cause += "; the largest |prediction - target| is at row " + std::to_string(at->row) +
             ", output " + std::to_string(at->col) + " (prediction " +
             format_value(static_cast<T>(at->value)) + ", target " +
             format_value(y(at->row, at->col)) + ")";
  }
  return cause;
}

// The first metric of m that is not finite (an undefined R^2 is not checked), or none.
std::optional<std::pair<const char*, double>> first_non_finite_metric(const Metrics& m) {
  std::vector<std::pair<const char*, double>> values = {{"mse", m.mse}, {"mae", m.mae}};
  if (m.r2_undefined.empty()) values.emplace_back("r2", m.r2);
  if (m.accuracy) values.emplace_back("accuracy", *m.accuracy);
  for (const auto& value : values)
    if (!std::isfinite(value.second)) return value;
  return std::nullopt;
}

std::string metric_is(const std::string& where, const std::pair<const char*, double>& bad) {
  return where + ": " + bad.first + " is " + format_number(bad.second) + ": ";
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
  const auto bad = first_non_finite_metric(m);
  if (!bad) return;
  if (y.rows() == 0 || y.cols() == 0) {  // no values, nothing to track (nor to accumulate)
    throw ValueError(metric_is(where, *bad) + metric_cause<T>(bad->first, {}, y, {}));
  }
  MetricsAccumulator<T> scored(y, false);
  scored.add(0, p);
  require_finite_metrics<T>(where, m, scored);
}

template <class T>
void require_finite_metrics(const std::string& where, const Metrics& m,
                            const MetricsAccumulator<T>& scored) {
  const MatrixView<const T> y = scored.targets();
  if (scored.rows_added() != y.rows()) {
    throw ValueError(where + ": predictions for " + std::to_string(scored.rows_added()) +
                     " of the targets' " + std::to_string(y.rows()) +
                     " rows were added; expected all " + std::to_string(y.rows()));
  }
  const auto bad = first_non_finite_metric(m);
  if (!bad) return;
  throw ValueError(metric_is(where, *bad) + metric_cause<T>(bad->first,
                                                            scored.first_non_finite_prediction(), y,
                                                            scored.largest_error()));
}

#define NOBIAS_METRIC_CHECKS(T)                                                                    \
  template std::optional<Element> first_non_finite<T>(MatrixView<const T>);                        \
  template void require_finite_predictions<T>(const std::string&, MatrixView<const T>,             \
                                              MatrixView<const T>);                                \
  template void require_finite_predictions<T>(const std::string&, MatrixView<const T>,             \
                                              MatrixView<const T>, std::size_t, std::size_t);      \
  template void require_finite_metrics<T>(const std::string&, const Metrics&, MatrixView<const T>, \
                                          MatrixView<const T>);                                    \
  template void require_finite_metrics<T>(const std::string&, const Metrics&,                      \
                                          const MetricsAccumulator<T>&);
NOBIAS_METRIC_CHECKS(float)
NOBIAS_METRIC_CHECKS(double)
#undef NOBIAS_METRIC_CHECKS

}  // namespace nobias
