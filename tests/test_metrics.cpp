// metrics.hpp against the slow references of tests/reference/metrics_reference.hpp, and the
// conventions scikit-learn has (tests/metrics_sklearn_test.py checks against sklearn itself).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "nobias/error.hpp"
#include "nobias/metrics.hpp"
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
