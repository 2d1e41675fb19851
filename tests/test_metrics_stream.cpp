// MetricsAccumulator (metrics.hpp): the metrics of predictions added a window of rows at a time
// have the bits of mean_squared_error, mean_absolute_error, r2_score and accuracy on all rows
// at once (themselves checked against tests/reference/ in test_metrics.cpp), whatever the
// windows; its explanation of a metric that is not finite is require_finite_metrics' own.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "nobias/error.hpp"
#include "nobias/metrics.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

using nobias::Matrix;
using nobias::MatrixView;
using nobias::MetricsAccumulator;

namespace {

std::uint64_t bits(double v) {
  std::uint64_t b = 0;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

// p's rows added to an accumulator over y in windows of `window` rows (the last one shorter).
template <class T>
MetricsAccumulator<T> scored(const Matrix<T>& p, const Matrix<T>& y, std::size_t window,
                             bool with_accuracy) {
  MetricsAccumulator<T> scores(y, with_accuracy);
  for (std::size_t first = 0; first < p.rows(); first += window)
    scores.add(first, p.view().row_block(first, std::min(window, p.rows() - first)));
  return scores;
}

// Every metric of m has the bits of the one-call functions on all of p and y.
template <class T>
void check_same_bits(const nobias::Metrics& m, const Matrix<T>& p, const Matrix<T>& y,
                     bool with_accuracy) {
  CHECK(m.rows == p.rows());
  CHECK(bits(m.mse) == bits(nobias::mean_squared_error<T>(p, y)));
  CHECK(bits(m.mae) == bits(nobias::mean_absolute_error<T>(p, y)));
  CHECK(bits(m.r2) == bits(nobias::r2_score<T>(p, y)));
  const nobias::Metrics whole = nobias::evaluate<T>(p, y, with_accuracy);
  CHECK(m.r2_undefined == whole.r2_undefined);
  REQUIRE(m.accuracy.has_value() == with_accuracy);
  if (with_accuracy) CHECK(bits(*m.accuracy) == bits(nobias::accuracy<T>(p, y)));
}

// The message of f's ValueError ("" if none).
std::string refusal(const std::function<void()>& f) {
  return test_support::error_message<nobias::ValueError>(f);
}

}  // namespace

TEST_CASE_TEMPLATE("metrics_stream.windows_give_the_bits_of_all_rows_at_once", T, float, double) {
  const std::size_t shapes[][2] = {{37, 1}, {1001, 7}, {2, 3}, {1, 5}};
  for (const auto& shape : shapes) {
    const std::size_t n = shape[0], d = shape[1];
    const Matrix<T> y = test_support::random_matrix<T>(n, d, 11 + n, 3.0);
    Matrix<T> p = test_support::random_matrix<T>(n, d, 12 + n, 0.7);
    for (std::size_t i = 0; i < p.size(); ++i)
      p.data()[i] += y.data()[i];
    for (const std::size_t window : {std::size_t{1}, std::size_t{13}, n}) {
      CAPTURE(n);
      CAPTURE(d);
      CAPTURE(window);
      for (const bool with_accuracy : {false, true}) {
        const MetricsAccumulator<T> scores = scored(p, y, window, with_accuracy);
        CHECK(scores.rows_added() == n);
        check_same_bits(scores.finish(), p, y, with_accuracy);
      }
    }
  }
}

TEST_CASE_TEMPLATE("metrics_stream.constant_columns_and_one_hot_targets", T, float, double) {
  // A constant target column, hit exactly in one case and missed in the other: R^2 is
  // undefined and its stand-in is scikit-learn's, as r2_score gives it.
  Matrix<T> y = test_support::random_matrix<T>(29, 4, 21, 1.0);
  for (std::size_t i = 0; i < y.rows(); ++i)
    y(i, 2) = T(0.5);
  Matrix<T> p = test_support::random_matrix<T>(29, 4, 22, 1.0);
  for (const T hit : {T(0.5), T(0.25)}) {
    for (std::size_t i = 0; i < p.rows(); ++i)
      p(i, 2) = hit;
    for (const std::size_t window : std::vector<std::size_t>{1, 13, 29}) {
      CAPTURE(window);
      const nobias::Metrics m = scored(p, y, window, false).finish();
      CHECK(m.r2_undefined == "target column 2 is constant (every row is 0.5)");
      check_same_bits(m, p, y, false);
    }
  }
  // One-hot targets of random classes, scores with ties (the first of equals wins).
  Matrix<T> one_hot(53, 6), scores = test_support::random_matrix<T>(53, 6, 23, 1.0);
  for (std::size_t i = 0; i < one_hot.rows(); ++i) {
    one_hot(i, (i * 7) % 6) = T(1);
    if (i % 5 == 0) scores(i, (i * 7) % 6) = scores(i, (i * 7 + 1) % 6) = T(9);
  }
  for (const std::size_t window : std::vector<std::size_t>{1, 13, 53}) {
    CAPTURE(window);
    const nobias::Metrics m = scored(scores, one_hot, window, true).finish();
    check_same_bits(m, scores, one_hot, true);
    CHECK(*m.accuracy > 0.0);  // the tied rows whose first is the class count
  }
}

TEST_CASE("metrics_stream.refusals") {
  const Matrix<float> y(10, 3), p(10, 3), no_rows(0, 3), no_columns(4, 0);
  CHECK_ERROR(nobias::ValueError, MetricsAccumulator<float>(no_rows, false),
              "MetricsAccumulator: no targets to score against (0x3); expected at least one row "
              "and column");
  CHECK_ERROR(nobias::ValueError, MetricsAccumulator<float>(no_columns, false), "(4x0)");
  // Not from a temporary: its view would dangle.
  static_assert(!std::is_constructible_v<MetricsAccumulator<float>, Matrix<float>&&, bool>);
  MetricsAccumulator<float> scores(y, false);
  CHECK_ERROR(nobias::ShapeError, scores.add(0, Matrix<float>(4, 2)),
              "MetricsAccumulator::add: predictions for rows 0 to 3 have 2 columns, but the "
              "targets (10x3) have 3");
  CHECK_ERROR(nobias::ValueError, scores.add(2, p.view().row_block(2, 3)),
              "MetricsAccumulator::add: predictions for rows 2 to 4, but rows are added in "
              "order, each once: expected row 0 next");
  CHECK_ERROR(nobias::ShapeError, scores.add(0, Matrix<float>(11, 3)),
              "MetricsAccumulator::add: predictions for rows 0 to 10, but the targets have 10 "
              "rows (10x3)");
  scores.add(0, p.view().row_block(0, 6));
  // An overlap, a gap, and rows past the targets' last.
  CHECK_ERROR(nobias::ValueError, scores.add(5, p.view().row_block(5, 2)),
              "predictions for rows 5 to 6, but rows are added in order, each once: expected "
              "row 6 next");
  CHECK_ERROR(nobias::ValueError, scores.add(7, p.view().row_block(7, 1)), "expected row 6 next");
  CHECK_ERROR(nobias::ShapeError, scores.add(6, Matrix<float>(5, 3)),
              "predictions for rows 6 to 10, but the targets have 10 rows");
  CHECK(scores.rows_added() == 6);  // a refused window adds nothing
  CHECK_ERROR(nobias::ValueError, scores.finish(),
              "MetricsAccumulator::finish: predictions for 6 of the targets' 10 rows were added; "
              "expected all 10");
  nobias::Metrics bad;
  bad.mse = std::nan("");
  CHECK_ERROR(nobias::ValueError, nobias::require_finite_metrics<float>("score", bad, scores),
              "score: predictions for 6 of the targets' 10 rows were added; expected all 10");
  scores.add(6, p.view().row_block(6, 4));
  scores.add(10, p.view().row_block(10, 0));  // no rows at the end: nothing to refuse
  CHECK(scores.finish().mse == 0.0);
  CHECK_ERROR(nobias::ShapeError, scores.add(10, p.view().row_block(9, 1)),
              "but the targets have 10 rows");
}

// The message of require_finite_metrics(where, m, scores) for scores fed in windows is the one
// require_finite_metrics(where, m, p, y) gives on all of p, word for word.
TEST_CASE_TEMPLATE("metrics_stream.non_finite_metrics_are_explained_as_on_all_rows", T, float,
                   double) {
  const Matrix<T> y0 = test_support::random_matrix<T>(23, 3, 31, 1.0);
  const Matrix<T> p0 = test_support::random_matrix<T>(23, 3, 32, 1.0);
  const auto same_message = [](Matrix<T> p, Matrix<T> y, nobias::Metrics m,
                               const std::string& expected) {
    const std::string whole =
        refusal([&] { nobias::require_finite_metrics<T>("--y y.npy", m, p, y); });
    CHECK_MESSAGE(whole.find(expected) != std::string::npos, whole);
    for (const std::size_t window : std::vector<std::size_t>{1, 13, 23}) {
      CAPTURE(window);
      const MetricsAccumulator<T> scores = scored(p, y, window, false);
      CHECK(refusal([&] { nobias::require_finite_metrics<T>("--y y.npy", m, scores); }) == whole);
    }
  };
  const auto metrics = [](const Matrix<T>& p, const Matrix<T>& y) {
    return nobias::evaluate<T>(p, y, false);
  };
  {  // A NaN prediction past the first window, and an infinite target before it.
    Matrix<T> p = p0, y = y0;
    p(17, 2) = std::numeric_limits<T>::quiet_NaN();
    p(19, 0) = std::numeric_limits<T>::infinity();
    y(3, 1) = std::numeric_limits<T>::infinity();
    same_message(p, y, metrics(p, y), "--y y.npy: mse is nan: prediction row 17, output 2 is nan");
  }
  {  // An infinite target, the predictions finite.
    Matrix<T> y = y0;
    y(14, 1) = -std::numeric_limits<T>::infinity();
    same_message(p0, y, metrics(p0, y), "mse is inf: target row 14, column 1 is -inf");
  }
  {  // Finite errors too large for double's sums; the largest, tied, first in row 4.
    Matrix<T> p = p0, y = y0;
    const T huge = std::is_same_v<T, float> ? T(3e38) : T(1e200);
    p(4, 1) = huge;
    y(4, 1) = T(0);
    p(16, 0) = T(0);
    y(16, 0) = -huge;
    nobias::Metrics m = metrics(p, y);
    if (std::is_same_v<T, float>) m.mse = std::numeric_limits<double>::infinity();
    const std::string value = std::is_same_v<T, float> ? "3e+38" : "1e+200";
    same_message(p, y, m,
                 "--y y.npy: mse is inf: the errors are too large for double: the squared errors "
                 "pass double's largest, 1.7976931348623157e+308; the largest |prediction - "
                 "target| is at row 4, output 1 (prediction " +
                     value + ", target 0)");
    m.mse = 1.0;
    m.mae = std::numeric_limits<double>::infinity();
    same_message(p, y, m, "mae is inf: the errors are too large for double: the sum of the errors");
  }
  {  // Finite metrics: no error either way.
    const nobias::Metrics m = metrics(p0, y0);
    const MetricsAccumulator<T> scores = scored(p0, y0, 13, false);
    CHECK(refusal([&] { nobias::require_finite_metrics<T>("s", m, scores); }) == "no exception");
  }
}
