// Shared helpers of the test suite: random inputs and matrix comparisons.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "nobias/init.hpp"
#include "nobias/matrix.hpp"

namespace test_support {

template <class T>
nobias::Matrix<T> random_matrix(std::size_t rows, std::size_t cols, std::uint64_t seed,
                                double scale = 1.0) {
  nobias::Matrix<T> m(rows, cols);
  nobias::NormalGenerator generator(seed);
  nobias::fill_normal(m.view(), generator, scale);
  return m;
}

// max |a - b| / max(max |a|, max |b|): one relative error for a whole matrix, guarded
// against an all-zero pair. Returns infinity when the shapes differ.
template <class T>
double max_relative_error(nobias::MatrixView<const T> a, nobias::MatrixView<const T> b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return INFINITY;
  double diff = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double x = static_cast<double>(a.data()[i]), y = static_cast<double>(b.data()[i]);
    if (std::isnan(x) != std::isnan(y)) return INFINITY;
    diff = std::max(diff, std::abs(x - y));
    scale = std::max({scale, std::abs(x), std::abs(y)});
  }
  return scale == 0.0 ? diff : diff / scale;
}

// The tolerance a product of `terms` rounded terms of type T can be held to.
template <class T>
double tolerance(std::size_t terms) {
  const double eps = std::is_same_v<T, float> ? 1.2e-7 : 2.3e-16;
  return 8.0 * eps * static_cast<double>(std::max<std::size_t>(terms, 1));
}

}  // namespace test_support
