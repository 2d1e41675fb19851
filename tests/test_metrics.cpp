// metrics.hpp against the slow references of tests/reference/metrics_reference.hpp, and the
// conventions scikit-learn has (tests/metrics_sklearn_test.py checks against sklearn itself).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "nobias/error.hpp"
#include "nobias/metrics.hpp"
#include "nobias/network.hpp"
#include "reference/metrics_reference.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

using nobias::Matrix;

using test_support::error_message;

namespace {}  // namespace

TEST_CASE_TEMPLATE("metrics.regression.match_the_reference_on_odd_shapes", T, float, double) {
  const std::size_t shapes[][2] = {{2, 1}, {7, 3}, {37, 13}, {101, 1}};
  for (const auto& shape : shapes) {
    CAPTURE(shape[0]);
    CAPTURE(shape[1]);
    const Matrix<T> y = test_support::random_matrix<T>(shape[0], shape[1], 1, 2.0);
    Matrix<T> p = test_support::random_matrix<T>(shape[0], shape[1], 2, 0.5);
    for (std::size_t i = 0; i < p.size(); ++i)
      p.data()[i] += y.data()[i];
    CHECK(nobias::mean_squared_error<T>(p, y) ==
          doctest::Approx(reference::mse(p, y)).epsilon(1e-13));
    CHECK(nobias::mean_absolute_error<T>(p, y) ==
          doctest::Approx(reference::mae(p, y)).epsilon(1e-13));
    CHECK(nobias::r2_score<T>(p, y) == doctest::Approx(reference::r2(p, y)).epsilon(1e-12));
    const nobias::Metrics m = nobias::evaluate<T>(p, y, false);
    CHECK(m.rows == shape[0]);
    CHECK(m.mse == nobias::mean_squared_error<T>(p, y));
    CHECK_FALSE(m.accuracy.has_value());
  }
}

TEST_CASE("metrics.r2.sklearn_conventions") {
  // Perfect: 1. The mean predicted: 0. Worse than the mean: negative.
  Matrix<double> y(4, 1), p(4, 1);
  const double values[] = {1, 2, 3, 6};
  for (std::size_t i = 0; i < 4; ++i)
    y(i, 0) = p(i, 0) = values[i];
  CHECK(nobias::r2_score<double>(p, y) == 1.0);
  for (std::size_t i = 0; i < 4; ++i)
    p(i, 0) = 3.0;
  CHECK(nobias::r2_score<double>(p, y) == 0.0);
  for (std::size_t i = 0; i < 4; ++i)
    p(i, 0) = -values[i];
  CHECK(nobias::r2_score<double>(p, y) < -1.0);
  // A constant target column: 1 if hit exactly, else 0 (force_finite); averaged uniformly
  // with the other columns.
  Matrix<double> y2(3, 2), p2(3, 2);
  for (std::size_t i = 0; i < 3; ++i) {
    y2(i, 0) = 4.0;
    p2(i, 0) = 4.0;
    y2(i, 1) = static_cast<double>(i);
    p2(i, 1) = 1.0;  // the mean: 0
  }
  CHECK(nobias::r2_score<double>(p2, y2) == 0.5);
  p2(0, 0) = 4.5;
  CHECK(nobias::r2_score<double>(p2, y2) == 0.0);
  // Fewer than two rows: not defined, NaN as sklearn.
  CHECK(std::isnan(nobias::r2_score<double>(Matrix<double>(1, 2), Matrix<double>(1, 2))));
}

TEST_CASE_TEMPLATE("metrics.accuracy.argmax_first_of_ties", T, float, double) {
  Matrix<T> scores(5, 3);
  const T s[5][3] = {{1, 2, 3}, {5, 5, 1}, {0, -1, -2}, {2, 9, 9}, {-1, -1, -1}};
  for (std::size_t i = 0; i < 5; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      scores(i, j) = s[i][j];
  CHECK(nobias::argmax_rows<T>(scores) == std::vector<std::int64_t>{2, 0, 0, 1, 0});
  CHECK(nobias::accuracy<T>(scores, std::vector<std::int64_t>{2, 0, 0, 1, 0}) == 1.0);
  CHECK(nobias::accuracy<T>(scores, std::vector<std::int64_t>{2, 1, 0, 2, 7}) == 0.4);
  Matrix<T> one_hot(5, 3);
  const int labels[] = {2, 0, 1, 1, 0};
  for (std::size_t i = 0; i < 5; ++i)
    one_hot(i, static_cast<std::size_t>(labels[i])) = T(1);
  CHECK(nobias::accuracy<T>(scores, one_hot) == 0.8);
  CHECK(nobias::evaluate<T>(scores, one_hot, true).accuracy == 0.8);
  // A NaN score never wins.
  scores(0, 0) = std::numeric_limits<T>::quiet_NaN();
  CHECK(nobias::argmax_rows<T>(scores)[0] == 2);
}

TEST_CASE("metrics.refusals") {
  const Matrix<float> a(3, 2), b(3, 3), empty(0, 2);
  CHECK_ERROR(nobias::ShapeError, nobias::mean_squared_error<float>(a, b),
              "mean_squared_error: predictions are 3x2 but targets are 3x3");
  CHECK_ERROR(nobias::ShapeError, nobias::r2_score<float>(a, b), "r2_score: predictions are 3x2");
  CHECK_ERROR(nobias::ValueError, nobias::mean_absolute_error<float>(empty, empty),
              "mean_absolute_error: no values to score (0x2)");
  CHECK_ERROR(nobias::ShapeError, nobias::accuracy<float>(a, std::vector<std::int64_t>{1, 2}),
              "accuracy: scores have 3 rows but there are 2 labels");
  CHECK_ERROR(nobias::ValueError, nobias::accuracy<float>(empty, std::vector<std::int64_t>{}),
              "accuracy: no rows to score");
  CHECK_ERROR(nobias::ValueError, nobias::argmax_rows<float>(Matrix<float>(2, 0)),
              "argmax_rows: scores have no columns");
}

// ---- Non-finite results are errors

TEST_CASE_TEMPLATE("metrics.first_non_finite.row_by_row", T, float, double) {
  Matrix<T> m(4, 3);
  CHECK_FALSE(nobias::first_non_finite<T>(m).has_value());
  m(2, 0) = std::numeric_limits<T>::infinity();
  m(1, 2) = -std::numeric_limits<T>::infinity();
  const auto bad = nobias::first_non_finite<T>(m);
  REQUIRE(bad.has_value());
  CHECK(bad->row == 1);
  CHECK(bad->col == 2);
  CHECK(bad->value == -std::numeric_limits<double>::infinity());
}

// All-ones weights 5 -> 3 -> 2: an input row of magnitude v gives hidden values 5 v, outputs
// 15 v, so a finite row within a factor 5 of T's largest overflows.
TEST_CASE_TEMPLATE("metrics.require_finite_predictions.names_the_row_and_the_cause", T, float,
                   double) {
  std::vector<Matrix<T>> weights;
  weights.emplace_back(5, 3);
  weights.emplace_back(3, 2);
  for (Matrix<T>& w : weights)
    for (std::size_t i = 0; i < w.size(); ++i)
      w.data()[i] = T(1);
  const nobias::Network<T> net(std::move(weights));
  Matrix<T> x = test_support::random_matrix<T>(7, 5, 3, 1.0);
  nobias::require_finite_predictions<T>("predict", net.predict(x), x);  // finite: no error
  const T big = std::numeric_limits<T>::max() / T(2);
  for (std::size_t c = 0; c < 5; ++c)
    x(4, c) = c == 2 ? -big : big;
  const std::string type = std::is_same_v<T, float> ? "float32" : "float64";
  const std::string largest = std::is_same_v<T, float> ? "1.7014117e+38" : "8.988465674311579e+307";
  const std::string range = std::is_same_v<T, float> ? "3.4028235e+38" : "1.7976931348623157e+308";
  CHECK_ERROR(nobias::ValueError,
              nobias::require_finite_predictions<T>("predict", net.predict(x), x),
              "predict: prediction row 4 of 7, output 0 is inf, from finite inputs: the "
              "network's values passed " +
                  type + "'s range (" + range + "); the largest |x| in row 4 is " + largest +
                  " (column 0): the inputs, or the weights, are too large for " + type);
  // A NaN in x is the cause, named by its column.
  x(4, 0) = T(1);
  x(4, 1) = T(1);
  x(4, 2) = T(1);
  x(4, 3) = T(1);
  x(4, 4) = T(1);
  x(5, 3) = std::numeric_limits<T>::quiet_NaN();
  CHECK_ERROR(nobias::ValueError,
              nobias::require_finite_predictions<T>("predict", net.predict(x), x),
              "predict: prediction row 5 of 7, output 0 is nan: x row 5, column 3 is nan; "
              "predictions need finite inputs");
  CHECK_ERROR(nobias::ShapeError,
              nobias::require_finite_predictions<T>("predict", Matrix<T>(6, 2), x),
              "predict: predictions are 6x2 but x is 7x5");
}

TEST_CASE_TEMPLATE("metrics.require_finite_metrics.names_the_metric_and_why", T, float, double) {
  Matrix<T> p = test_support::random_matrix<T>(5, 2, 4, 1.0);
  const Matrix<T> y = test_support::random_matrix<T>(5, 2, 5, 1.0);
  nobias::require_finite_metrics<T>("score", nobias::evaluate<T>(p, y, false), p, y);
  p(3, 1) = std::numeric_limits<T>::quiet_NaN();
  CHECK_ERROR(nobias::ValueError,
              nobias::require_finite_metrics<T>("score", nobias::evaluate<T>(p, y, false), p, y),
              "score: mse is nan: prediction row 3, output 1 is nan");
}

TEST_CASE("metrics.require_finite_metrics.errors_past_double") {
  // Finite values whose squared errors pass double's range.
  Matrix<double> p(3, 1), y(3, 1);
  y(0, 0) = 1e200;
  y(1, 0) = -1e200;
  p(2, 0) = 2.5;
  const nobias::Metrics m = nobias::evaluate<double>(p, y, false);
  CHECK_ERROR(nobias::ValueError, nobias::require_finite_metrics<double>("score", m, p, y),
              "score: mse is inf: the errors are too large for double: the squared errors pass "
              "double's largest, 1.7976931348623157e+308; the largest |prediction - target| is "
              "at row 0, output 0 (prediction 0, target 1e+200)");
  // mae alone: errors of 1e308 sum past the range; their squares would too, so mse is first.
  nobias::Metrics only_mae = m;
  only_mae.mse = 1.0;
  only_mae.mae = std::numeric_limits<double>::infinity();
  CHECK_ERROR(nobias::ValueError, nobias::require_finite_metrics<double>("score", only_mae, p, y),
              "score: mae is inf: the errors are too large for double: the sum of the errors "
              "passes double's largest");
}

TEST_CASE("metrics.r2_undefined.says_why") {
  Matrix<double> y(3, 2), p(3, 2);
  for (std::size_t i = 0; i < 3; ++i) {
    y(i, 0) = static_cast<double>(i);
    y(i, 1) = 0.1;  // constant, though its computed mean need not be exactly 0.1
  }
  nobias::Metrics m = nobias::evaluate<double>(p, y, false);
  CHECK(m.r2_undefined == "target column 1 is constant (every row is 0.1)");
  // Undefined is not an error: the metric's stand-in is not checked.
  nobias::require_finite_metrics<double>("score", m, p, y);
  y(2, 1) = 0.2;
  CHECK(nobias::evaluate<double>(p, y, false).r2_undefined.empty());
  const Matrix<double> one(1, 2);
  m = nobias::evaluate<double>(one, one, false);
  CHECK(m.r2_undefined == "fewer than two rows");
  CHECK(std::isnan(m.r2));
  nobias::require_finite_metrics<double>("score", m, one, one);
}
