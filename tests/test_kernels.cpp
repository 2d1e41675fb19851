#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "nobias/error.hpp"
#include "nobias/kernels.hpp"
#include "reference/reference.hpp"
#include "test_support.hpp"

using nobias::Matrix;
using test_support::max_relative_error;
using test_support::random_matrix;

namespace {

// Random values with a sprinkling of exact zeros of both signs.
template <class T>
Matrix<T> with_zeros(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  Matrix<T> m = random_matrix<T>(rows, cols, seed);
  for (std::size_t i = 0; i < m.size(); i += 5)
    m.data()[i] = (i % 2) ? T(0) : -T(0);
  return m;
}

}  // namespace

TEST_CASE_TEMPLATE("kernels.relu_forward.matches_reference", T, float, double) {
  const Matrix<T> h = with_zeros<T>(13, 7, 11);
  Matrix<T> a = h;
  nobias::relu_forward(a);
  // -0.0 == 0.0, so the values compare equal to the textbook relu.
  CHECK(max_relative_error<T>(a, reference::relu<T>(h)) == 0.0);
}

TEST_CASE_TEMPLATE("kernels.relu_mask.matches_seed_derivative_and_zero_is_one", T, float, double) {
  const Matrix<T> h = with_zeros<T>(13, 7, 12);
  Matrix<T> a = h;
  nobias::relu_forward(a);
  const Matrix<T> g = random_matrix<T>(13, 7, 13);
  Matrix<T> masked = g;
  nobias::apply_relu_mask(masked, a);

  const Matrix<T> derivative = reference::relu_derivative<T>(h);
  CHECK(max_relative_error<T>(masked, reference::hadamard<T>(derivative, g)) == 0.0);
  std::size_t zeros = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    if (h.data()[i] != T(0)) continue;
    ++zeros;
    CAPTURE(i);
    CHECK(masked.data()[i] == g.data()[i]);  // the derivation's relu'(0) = 1, for +0 and -0 alike
  }
  REQUIRE(zeros > 0);
}

TEST_CASE_TEMPLATE("kernels.relu_forward.propagates_nan", T, float, double) {
  Matrix<T> h(1, 3);
  h(0, 0) = T(NAN);
  h(0, 1) = T(-1);
  h(0, 2) = T(2);
  nobias::relu_forward(h);
  CHECK(std::isnan(h(0, 0)));
  CHECK(h(0, 1) == T(0));
  CHECK(h(0, 2) == T(2));
}

namespace {

// The value of T with the given bits: NaNs that arithmetic does not make.
template <class T, class Bits>
T from_bits(Bits bits) {
  static_assert(sizeof(T) == sizeof(Bits));
  T value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// A quiet NaN with the sign bit set.
template <class T>
T negative_nan() {
  if constexpr (sizeof(T) == 4) {
    return from_bits<T>(std::uint32_t{0xffc00000u});
  } else {
    return from_bits<T>(std::uint64_t{0xfff8000000000000u});
  }
}

// A signalling NaN (exponent all ones, quiet bit clear) with the payload 0x12345.
template <class T>
T signalling_nan() {
  if constexpr (sizeof(T) == 4) {
    return from_bits<T>(std::uint32_t{0x7f812345u});
  } else {
    return from_bits<T>(std::uint64_t{0x7ff0000000012345u});
  }
}

}  // namespace

TEST_CASE_TEMPLATE("kernels.relu_forward.reports_any_infinity_or_nan", T, float, double) {
  using limits = std::numeric_limits<T>;
  REQUIRE(std::isnan(negative_nan<T>()));
  REQUIRE(std::signbit(negative_nan<T>()));
  REQUIRE(std::isnan(signalling_nan<T>()));
  REQUIRE(std::fpclassify(limits::denorm_min()) == FP_SUBNORMAL);
  struct Special {
    const char* name;
    T value;
    bool finite;  // what relu_forward must report
  };
  const Special specials[] = {
      {"inf", limits::infinity(), false},
      {"-inf", -limits::infinity(), false},
      {"quiet NaN", limits::quiet_NaN(), false},
      {"negative NaN", negative_nan<T>(), false},
      {"signalling NaN with a payload", signalling_nan<T>(), false},
      {"smallest subnormal", limits::denorm_min(), true},
      {"negative smallest subnormal", -limits::denorm_min(), true},
      {"-0.0", -T(0), true},
      {"smallest normal", limits::min(), true},
      {"largest finite", limits::max(), true},
      {"most negative finite", -limits::max(), true},
  };
  // Each value at each position of an odd-length span (vector body and tail), in a contiguous
  // matrix and in a column view, among ordinary values: false exactly when it is not finite.
  const Matrix<T> clean = random_matrix<T>(3, 19, 7);
  Matrix<T> h = clean;
  CHECK(nobias::relu_forward(h));
  for (const Special& s : specials) {
    for (std::size_t j = 0; j < clean.cols(); ++j) {
      CAPTURE(s.name);
      CAPTURE(j);
      h = clean;
      h(1, j) = s.value;
      REQUIRE(std::memcmp(&h(1, j), &s.value, sizeof(T)) == 0);  // the very bits, payload too
      CHECK(nobias::relu_forward(h) == s.finite);
      // The ReLU itself at the extremes: negatives to 0, the rest kept, -0.0 kept as +0.0
      // (h = 0 counts as h >= 0), NaN passed through.
      if (std::isnan(s.value)) {
        CHECK(std::isnan(h(1, j)));
      } else if (s.value == T(0)) {
        CHECK((h(1, j) == T(0) && !std::signbit(h(1, j))));
      } else {
        CHECK(h(1, j) == (s.value < T(0) ? T(0) : s.value));
      }
      h = clean;
      h(2, j) = s.value;
      CHECK(nobias::relu_forward(h.view().col_block(j, 1)) == s.finite);
      CHECK(nobias::relu_forward(h.view().col_block(j == 0 ? 1 : 0, 1)));
    }
  }
}

TEST_CASE_TEMPLATE("kernels.apply_relu_mask.masked_infinity_becomes_zero", T, float, double) {
  Matrix<T> a(1, 2), g(1, 2);
  a(0, 0) = T(-1);
  a(0, 1) = T(5);
  nobias::relu_forward(a);
  g(0, 0) = T(INFINITY);
  g(0, 1) = T(3);
  nobias::apply_relu_mask(g, a);
  CHECK(g(0, 0) == T(0));
  CHECK(g(0, 1) == T(3));
}

TEST_CASE_TEMPLATE("kernels.residual_and_loss.matches_reference", T, float, double) {
  const Matrix<T> yhat = random_matrix<T>(7, 19, 15), y = random_matrix<T>(7, 19, 16);
  Matrix<T> g(7, 19);
  const double loss = nobias::residual_and_loss(g, yhat, y);
  CHECK(loss == doctest::Approx(reference::loss<T>(yhat, y)).epsilon(1e-12));
  CHECK(max_relative_error<T>(g, reference::twice_residual<T>(yhat, y)) == 0.0);

  SUBCASE("in place over yhat") {
    Matrix<T> in_place = yhat;
    const double loss_in_place = nobias::residual_and_loss(in_place, in_place, y);
    CHECK(loss_in_place == loss);
    CHECK(max_relative_error<T>(in_place, g) == 0.0);
  }
  CHECK(nobias::squared_error(yhat, y) == loss);
}

TEST_CASE("kernels.residual_and_loss.accumulates_in_double") {
  // 2^24 + 1 residuals of 1 sum to 16777217 exactly in double; a float sum stops at 2^24.
  const std::size_t n = (1u << 24) + 1;
  const Matrix<float> yhat(1, n);
  Matrix<float> y(1, n), g(1, n);
  for (std::size_t i = 0; i < n; ++i)
    y.data()[i] = 1.0f;
  CHECK(nobias::residual_and_loss(g, yhat, y) == 16777217.0);
}

TEST_CASE_TEMPLATE("kernels.shape_mismatch_throws", T, float, double) {
  Matrix<T> a(3, 4), b(4, 3), c(3, 5);
  CHECK_THROWS_WITH_AS(nobias::apply_relu_mask(a, c), "apply_relu_mask: g is 3x4 but a is 3x5",
                       nobias::ShapeError);
  CHECK_THROWS_WITH_AS(nobias::residual_and_loss(a, a, b),
                       "residual_and_loss: yhat is 3x4 but y is 4x3", nobias::ShapeError);
  CHECK_THROWS_WITH_AS(nobias::squared_error(a, b), "squared_error: yhat is 3x4 but y is 4x3",
                       nobias::ShapeError);
}

TEST_CASE_TEMPLATE("kernels.require_finite.names_the_first_bad_element", T, float, double) {
  Matrix<T> m = random_matrix<T>(5, 7, 17);
  nobias::require_finite(m, "x.npy");  // all finite: no throw
  m(3, 4) = T(INFINITY);
  m(4, 0) = T(NAN);
  CHECK_THROWS_WITH_AS(nobias::require_finite(m, "x.npy"),
                       "x.npy: element (3, 4) is inf; values must be finite", nobias::ValueError);
  m(3, 4) = T(1);
  CHECK_THROWS_WITH_AS(nobias::require_finite(m, "y"),
                       "y: element (4, 0) is nan; values must be finite", nobias::ValueError);
}

TEST_CASE_TEMPLATE("kernels.work_on_column_blocks", T, float, double) {
  const Matrix<T> h_full = with_zeros<T>(9, 13, 18);
  Matrix<T> a_full = h_full;
  const nobias::MatrixView<T> a = a_full.view().col_block(3, 7);
  nobias::relu_forward(a);
  Matrix<T> g_full = random_matrix<T>(9, 13, 19);
  const Matrix<T> g_before = g_full;
  nobias::apply_relu_mask(g_full.view().col_block(3, 7), nobias::MatrixView<const T>(a));
  for (std::size_t i = 0; i < 9; ++i) {
    for (std::size_t j = 0; j < 13; ++j) {
      CAPTURE(i);
      CAPTURE(j);
      const bool inside = j >= 3 && j < 10;
      const T h = h_full(i, j);
      CHECK(a_full(i, j) == (inside && h < T(0) ? T(0) : h));
      CHECK(g_full(i, j) == (inside && h < T(0) ? T(0) : g_before(i, j)));
    }
  }
  const Matrix<T> yhat = random_matrix<T>(9, 13, 20), y = random_matrix<T>(9, 13, 21);
  Matrix<T> g(9, 4);
  const double loss = nobias::residual_and_loss(g, yhat.col_block(2, 4), y.col_block(2, 4));
  const Matrix<T> yhat_block = Matrix<T>::copy_of(yhat.col_block(2, 4));
  const Matrix<T> y_block = Matrix<T>::copy_of(y.col_block(2, 4));
  CHECK(loss == doctest::Approx(reference::loss<T>(yhat_block, y_block)).epsilon(1e-12));
  CHECK(max_relative_error<T>(g, reference::twice_residual<T>(yhat_block, y_block)) == 0.0);
}

TEST_CASE("init.fill_normal_fills_a_column_block_and_nothing_else") {
  Matrix<double> m(3, 4);
  nobias::NormalGenerator generator(7), same(7);
  nobias::fill_normal(m.view().col_block(1, 2), generator);
  for (std::size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(m(i, 0) == 0.0);
    CHECK(m(i, 1) == same.next());
    CHECK(m(i, 2) == same.next());
    CHECK(m(i, 3) == 0.0);
  }
}

TEST_CASE_TEMPLATE("kernels.empty_matrices_are_a_no_op", T, float, double) {
  for (const auto& shape : {std::pair<std::size_t, std::size_t>{0, 5}, {4, 0}, {0, 0}}) {
    const std::size_t rows = shape.first, cols = shape.second;
    CAPTURE(rows);
    CAPTURE(cols);
    Matrix<T> g(rows, cols), a(rows, cols);
    const Matrix<T> y(rows, cols);
    CHECK(nobias::relu_forward(a));  // nothing that is not finite
    nobias::apply_relu_mask(g, a);
    CHECK(nobias::residual_and_loss(g, g, y) == 0.0);
    CHECK(nobias::squared_error(g, y) == 0.0);
    nobias::require_finite(y, "y");
  }
  // An empty matrix still has a shape, and shapes must agree.
  Matrix<T> g(0, 5);
  const Matrix<T> a(0, 4);
  CHECK_THROWS_WITH_AS(nobias::apply_relu_mask(g, a), "apply_relu_mask: g is 0x5 but a is 0x4",
                       nobias::ShapeError);
}

TEST_CASE("init.fill_normal.scale_must_be_finite") {
  Matrix<float> m(2, 3);
  nobias::NormalGenerator generator(8);
  const std::pair<double, const char*> bad_scales[] = {
      {std::numeric_limits<double>::quiet_NaN(), "nan"},
      {std::numeric_limits<double>::infinity(), "inf"},
      {-std::numeric_limits<double>::infinity(), "-inf"}};
  for (const auto& [scale, shown] : bad_scales) {
    const std::string expected = std::string("fill_normal: scale must be finite, got ") + shown;
    CAPTURE(expected);
    CHECK_THROWS_WITH_AS(nobias::fill_normal(m.view(), generator, scale), expected.c_str(),
                         nobias::ValueError);
  }
  for (std::size_t i = 0; i < m.size(); ++i)
    CHECK(m.data()[i] == 0.0f);  // untouched
}
