// J(x), the exact local linear map of a bias-free network (nobias/jacobian.hpp): x . J(x) is
// predict(x), J is the slow reference's, J(alpha x) = J(x), and J is the derivative where no
// ReLU sits at its kink. Shapes are odd and both orders of the chain are taken: d_in <= d_out
// multiplies from the left, d_in > d_out from the right.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "nobias/jacobian.hpp"
#include "nobias/matrix.hpp"
#include "nobias/network.hpp"
#include "reference/jacobian_reference.hpp"
#include "reference/reference.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

using nobias::Matrix;
using nobias::MatrixView;
using nobias::Network;
using test_support::max_relative_error;

namespace {

// 1, 2 and 4 weight matrices, each depth with d_in > d_out and d_in < d_out.
const std::vector<std::vector<std::size_t>> kShapes{
    {7, 3},           {3, 7}, {7, 13, 5}, {5, 13, 7}, {13, 7, 5, 3, 11}, {3, 13, 7, 5, 11},
    {11, 5, 7, 13, 3}};

template <class T>
Network<T> random_network(const std::vector<std::size_t>& widths, std::uint64_t seed) {
  return Network<T>(test_support::random_weights<T>(widths, seed, 2.0));
}

template <class T>
MatrixView<const T> row_of(const Matrix<T>& x, std::size_t i) {
  return x.row_block(i, 1);
}

template <class T>
Matrix<T> in_type(const Matrix<double>& m) {
  Matrix<T> out(m.rows(), m.cols());
  for (std::size_t i = 0; i < m.size(); ++i)
    out.data()[i] = static_cast<T>(m.data()[i]);
  return out;
}

std::size_t width_sum(const std::vector<std::size_t>& widths) {
  std::size_t sum = 0;
  for (std::size_t d : widths)
    sum += d;
  return sum;
}

}  // namespace

TEST_CASE_TEMPLATE("jacobian.x_times_j_is_predict", T, float, double) {
  std::uint64_t seed = 3;
  for (const std::vector<std::size_t>& widths : kShapes) {
    CAPTURE(widths.size());
    CAPTURE(widths.front());
    CAPTURE(widths.back());
    const Network<T> net = random_network<T>(widths, ++seed);
    const Matrix<T> x = test_support::random_matrix<T>(9, widths.front(), seed + 50);
    const Matrix<T> yhat = net.predict(x);
    for (std::size_t i = 0; i < x.rows(); ++i) {
      CAPTURE(i);
      const Matrix<T> j = nobias::jacobian(net, row_of(x, i));
      REQUIRE(j.rows() == widths.front());
      REQUIRE(j.cols() == widths.back());
      const Matrix<T> xj = reference::matmul<T>(row_of(x, i), j);
      CHECK(max_relative_error<T>(xj, row_of(yhat, i)) <=
            test_support::tolerance<T>(width_sum(widths)));
    }
  }
}

TEST_CASE_TEMPLATE("jacobian.matches_the_reference", T, float, double) {
  std::uint64_t seed = 20;
  for (const std::vector<std::size_t>& widths : kShapes) {
    CAPTURE(widths.size());
    CAPTURE(widths.front());
    CAPTURE(widths.back());
    const Network<T> net = random_network<T>(widths, ++seed);
    const Matrix<T> x = test_support::random_matrix<T>(5, widths.front(), seed + 50);
    for (std::size_t i = 0; i < x.rows(); ++i) {
      CAPTURE(i);
      const Matrix<T> want = in_type<T>(reference::jacobian<T>(net.weights(), row_of(x, i)));
      CHECK(max_relative_error<T>(nobias::jacobian(net, row_of(x, i)), want) <=
            test_support::tolerance<T>(width_sum(widths)));
    }
  }
}

TEST_CASE_TEMPLATE("jacobian.batch_is_each_row", T, float, double) {
  std::uint64_t seed = 40;
  for (const std::vector<std::size_t>& widths : kShapes) {
    for (std::size_t n : {1u, 7u, 53u}) {  // 53: several pieces of predict()'s split
      CAPTURE(widths.size());
      CAPTURE(widths.front());
      CAPTURE(n);
      const Network<T> net = random_network<T>(widths, ++seed);
      const Matrix<T> x = test_support::random_matrix<T>(n, widths.front(), seed + 50);
      const Matrix<T> all = nobias::jacobians(net, x);
      REQUIRE(all.rows() == n * widths.front());
      REQUIRE(all.cols() == widths.back());
      for (std::size_t i = 0; i < n; ++i) {
        CAPTURE(i);
        CHECK(max_relative_error<T>(all.row_block(i * widths.front(), widths.front()),
                                    nobias::jacobian(net, row_of(x, i))) <=
              test_support::tolerance<T>(width_sum(widths)));
      }
    }
  }
}

// Powers of two scale every h_k exactly, so every mask, and so J, is the same to the bit.
// Wide layers: the batch is multiplied a few rows at a time (kChunkElements in jacobian.cpp),
// 3 here, so 7 rows make chunks of 3, 3 and 1; 1 at a time past 2^16 / (d_in d_out).
TEST_CASE_TEMPLATE("jacobian.batch_in_chunks_is_each_row", T, float, double) {
  const std::vector<std::vector<std::size_t>> shapes{
      {130, 50, 150}, {150, 50, 130}, {300, 40, 250}, {250, 40, 300}};
  std::uint64_t seed = 50;
  for (const std::vector<std::size_t>& widths : shapes) {
    CAPTURE(widths.front());
    const Network<T> net = random_network<T>(widths, ++seed);
    const Matrix<T> x = test_support::random_matrix<T>(7, widths.front(), seed + 50);
    const Matrix<T> all = nobias::jacobians(net, x);
    REQUIRE(all.rows() == 7 * widths.front());
    for (std::size_t i = 0; i < x.rows(); ++i) {
      CAPTURE(i);
      CHECK(max_relative_error<T>(all.row_block(i * widths.front(), widths.front()),
                                  nobias::jacobian(net, row_of(x, i))) <=
            test_support::tolerance<T>(width_sum(widths)));
    }
  }
}

TEST_CASE_TEMPLATE("jacobian.positive_scale_leaves_it_unchanged", T, float, double) {
  std::uint64_t seed = 60;
  for (const std::vector<std::size_t>& widths : kShapes) {
    CAPTURE(widths.size());
    CAPTURE(widths.front());
    const Network<T> net = random_network<T>(widths, ++seed);
    const Matrix<T> x = test_support::random_matrix<T>(6, widths.front(), seed + 50);
    const Matrix<T> j = nobias::jacobians(net, x);
    for (T alpha : {T(1) / 64, T(2), T(1024)}) {
      CAPTURE(alpha);
      Matrix<T> scaled = x;
      for (std::size_t i = 0; i < scaled.size(); ++i)
        scaled.data()[i] *= alpha;
      CHECK(test_support::same_bits(nobias::jacobians(net, scaled), j));
    }
    // And a negative scale turns the ReLUs that were off on, and those that were on off.
    Matrix<T> negated = x;
    for (std::size_t i = 0; i < negated.size(); ++i)
      negated.data()[i] = -negated.data()[i];
    if (widths.size() > 2) CHECK_FALSE(test_support::same_bits(nobias::jacobians(net, negated), j));
  }
}

// At x = 0 every h_k is 0, where relu'(0) = 1 (the forward pass keeps h = 0 and -0): no unit
// is masked, and J is the plain product of the weights.
TEST_CASE_TEMPLATE("jacobian.at_zero_every_relu_is_on", T, float, double) {
  const std::vector<std::size_t> widths{5, 13, 7, 3};
  const Network<T> net = random_network<T>(widths, 77);
  const Matrix<T> zero(1, widths.front());
  const Matrix<T> product = reference::matmul<T>(
      reference::matmul<T>(net.weights()[0], net.weights()[1]), net.weights()[2]);
  CHECK(max_relative_error<T>(nobias::jacobian(net, zero), product) <=
        test_support::tolerance<T>(width_sum(widths)));
}

// Central differences are exact for a piecewise linear f but for rounding, as long as the step
// crosses no kink: inputs are drawn until every h_k is at least kMargin from 0, a hundred
// times what a step of kStep can move it.
TEST_CASE("jacobian.is_the_derivative_away_from_kinks") {
  constexpr double kStep = 1e-6, kMargin = 1e-3;
  std::uint64_t seed = 90;
  for (const std::vector<std::size_t>& widths : kShapes) {
    CAPTURE(widths.size());
    CAPTURE(widths.front());
    const Network<double> net = random_network<double>(widths, ++seed);
    std::size_t tried = 0, checked = 0;
    for (; checked < 3 && tried < 200; ++tried) {
      const Matrix<double> x = test_support::random_matrix<double>(1, widths.front(), seed + tried);
      Matrix<double> a = x;
      double nearest = std::numeric_limits<double>::infinity();
      for (std::size_t k = 0; k + 1 < net.layers(); ++k) {
        const Matrix<double> h = reference::matmul<double>(a, net.weights()[k]);
        for (std::size_t i = 0; i < h.size(); ++i)
          nearest = std::min(nearest, std::abs(h.data()[i]));
        a = reference::relu<double>(h);
      }
      if (nearest < kMargin) continue;
      ++checked;
      Matrix<double> differences(widths.front(), widths.back());
      for (std::size_t i = 0; i < widths.front(); ++i) {
        Matrix<double> plus = x, minus = x;
        plus(0, i) += kStep;
        minus(0, i) -= kStep;
        const Matrix<double> up = net.predict(plus), down = net.predict(minus);
        for (std::size_t c = 0; c < widths.back(); ++c)
          differences(i, c) = (up(0, c) - down(0, c)) / (2 * kStep);
      }
      CHECK(max_relative_error<double>(nobias::jacobian(net, x), differences) <= 1e-7);
    }
    CHECK(checked == 3);
  }
}

TEST_CASE_TEMPLATE("jacobian.refuses_what_it_cannot_answer", T, float, double) {
  const Network<T> net = random_network<T>({7, 13, 5}, 5);
  CHECK_ERROR(nobias::ShapeError, nobias::jacobian(net, Matrix<T>(1, 6)),
              "jacobian: x_row has 6 columns, network input has 7");
  CHECK_ERROR(nobias::ShapeError, nobias::jacobian(net, Matrix<T>(2, 7)),
              "jacobian: x_row has 2 rows, expected 1");
  CHECK_ERROR(nobias::ShapeError, nobias::jacobians(net, Matrix<T>(0, 7)),
              "jacobians: x has no rows");
  CHECK_ERROR(nobias::ShapeError, nobias::jacobians(net, Matrix<T>(3, 8)),
              "jacobians: x has 8 columns, network input has 7");
  Matrix<T> bad(3, 7);
  bad(2, 4) = std::numeric_limits<T>::quiet_NaN();
  CHECK_ERROR(nobias::ValueError, nobias::jacobians(net, bad), "jacobians: x");
  CHECK_ERROR(nobias::ValueError, nobias::jacobians(net, bad), "element (2, 4) is nan");
  CHECK_ERROR(nobias::ValueError, nobias::jacobian(net, bad.row_block(2, 1)),
              "jacobian: x_row: element (0, 4) is nan");
  // Finite inputs whose h_1 passes T's range: an infinity has a mask, but x . J would not be
  // predict(x) any more.
  Matrix<T> huge(1, 7);
  for (std::size_t i = 0; i < 7; ++i)
    huge(0, i) = std::numeric_limits<T>::max() / 2;
  Matrix<T> w1(7, 13);
  for (std::size_t i = 0; i < w1.size(); ++i)
    w1.data()[i] = T(1);
  const Network<T> ones(std::vector<Matrix<T>>{w1, Matrix<T>(13, 5)});
  CHECK_ERROR(nobias::ValueError, nobias::jacobian(ones, huge),
              "jacobian: the forward pass overflowed at layer 1");
}
