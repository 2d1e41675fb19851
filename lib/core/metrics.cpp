#include "nobias/metrics.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "nobias/error.hpp"
#include "nobias/names.hpp"

namespace nobias {
namespace {

template <class T>
void check_pair(const char* where, MatrixView<const T> p, MatrixView<const T> y) {
  if (p.rows() != y.rows() || p.cols() != y.cols()) {
    throw ShapeError(std::string(where) + ": predictions are " + shape_string(p.rows(), p.cols()) +
                     " but targets are " + shape_string(y.rows(), y.cols()));
  }
  if (p.rows() == 0 || p.cols() == 0) {
    throw ValueError(std::string(where) + ": no values to score (" +
                     shape_string(p.rows(), p.cols()) + ")");
  }
}

// sum over every element of f(p - y), in double, divided by the count.
template <class T, class F>
double mean_of(MatrixView<const T> p, MatrixView<const T> y, F f) {
  double sum = 0.0;
  for (std::size_t i = 0; i < p.rows(); ++i)
    for (std::size_t j = 0; j < p.cols(); ++j)
      sum += f(static_cast<double>(p(i, j)) - static_cast<double>(y(i, j)));
  return sum / (static_cast<double>(p.rows()) * static_cast<double>(p.cols()));
}

}  // namespace

template <class T>
double mean_squared_error(MatrixView<const T> p, MatrixView<const T> y) {
  check_pair("mean_squared_error", p, y);
  return mean_of(p, y, [](double e) { return e * e; });
}

template <class T>
double mean_absolute_error(MatrixView<const T> p, MatrixView<const T> y) {
  check_pair("mean_absolute_error", p, y);
  return mean_of(p, y, [](double e) { return std::fabs(e); });
}

template <class T>
double r2_score(MatrixView<const T> p, MatrixView<const T> y) {
  check_pair("r2_score", p, y);
  const std::size_t n = y.rows(), d = y.cols();
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  double total = 0.0;
  for (std::size_t j = 0; j < d; ++j) {
    double mean = 0.0;
    for (std::size_t i = 0; i < n; ++i)
      mean += static_cast<double>(y(i, j));
    mean /= static_cast<double>(n);
    double residual = 0.0, spread = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const double e = static_cast<double>(y(i, j)) - static_cast<double>(p(i, j));
      const double c = static_cast<double>(y(i, j)) - mean;
      residual += e * e;
      spread += c * c;
    }
    // scikit-learn's force_finite: a constant column scores 1 when hit exactly, else 0.
    double score = 1.0;
    if (spread != 0.0 && residual != 0.0) {
      score = 1.0 - residual / spread;
    } else if (spread == 0.0 && residual != 0.0) {
      score = 0.0;
    }
    total += score;
  }
  return total / static_cast<double>(d);
}

template <class T>
std::vector<std::int64_t> argmax_rows(MatrixView<const T> scores) {
  if (scores.cols() == 0 && scores.rows() != 0)
    throw ValueError("argmax_rows: scores have no columns");
  std::vector<std::int64_t> labels(scores.rows());
  for (std::size_t i = 0; i < scores.rows(); ++i) {
    // The first largest; a NaN never wins (0 when every score is NaN).
    std::size_t best = scores.cols();
    for (std::size_t j = 0; j < scores.cols(); ++j) {
      if (std::isnan(scores(i, j))) continue;
      if (best == scores.cols() || scores(i, j) > scores(i, best)) best = j;
    }
    labels[i] = best == scores.cols() ? 0 : static_cast<std::int64_t>(best);
  }
  return labels;
}

template <class T>
double accuracy(MatrixView<const T> scores, const std::vector<std::int64_t>& labels) {
  if (scores.rows() != labels.size()) {
    throw ShapeError("accuracy: scores have " + std::to_string(scores.rows()) +
                     " rows but there are " + std::to_string(labels.size()) + " labels");
  }
  if (labels.empty()) throw ValueError("accuracy: no rows to score");
  const std::vector<std::int64_t> predicted = argmax_rows(scores);
  std::size_t hits = 0;
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (predicted[i] == labels[i]) ++hits;
  return static_cast<double>(hits) / static_cast<double>(labels.size());
}

template <class T>
double accuracy(MatrixView<const T> scores, MatrixView<const T> one_hot_targets) {
  check_pair("accuracy", scores, one_hot_targets);
  return accuracy(scores, argmax_rows(one_hot_targets));
}

template <class T>
Metrics evaluate(MatrixView<const T> p, MatrixView<const T> y, bool with_accuracy) {
  // One window of every row: the tools that score a window at a time get the same bits.
  check_pair("evaluate", p, y);
  MetricsAccumulator<T> scores(y, with_accuracy);
  scores.add(0, p);
  return scores.finish();
}

#define NOBIAS_METRICS(T)                                                             \
  template double mean_squared_error<T>(MatrixView<const T>, MatrixView<const T>);    \
  template double mean_absolute_error<T>(MatrixView<const T>, MatrixView<const T>);   \
  template double r2_score<T>(MatrixView<const T>, MatrixView<const T>);              \
  template std::vector<std::int64_t> argmax_rows<T>(MatrixView<const T>);             \
  template double accuracy<T>(MatrixView<const T>, const std::vector<std::int64_t>&); \
  template double accuracy<T>(MatrixView<const T>, MatrixView<const T>);              \
  template Metrics evaluate<T>(MatrixView<const T>, MatrixView<const T>, bool);
NOBIAS_METRICS(float)
NOBIAS_METRICS(double)
#undef NOBIAS_METRICS

}  // namespace nobias
