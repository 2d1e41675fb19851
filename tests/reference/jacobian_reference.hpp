// The slow, obvious J(x) of one input (nobias/jacobian.hpp): each D_k built as the full
// diagonal matrix it is, the chain multiplied left to right with the triple loop, in double.
#pragma once

#include <cstddef>
#include <vector>

#include "nobias/matrix.hpp"
#include "reference/reference.hpp"

namespace reference {

// J(x) = w_1 D_1 w_2 D_2 ... D_{K-1} w_K for x: (1, d_0); D_k(j, j) = relu'(h_k(j)), 1 at 0
// (docs/derivation.md).
template <class T>
Matrix<double> jacobian(const std::vector<Matrix<T>>& w, MatrixView<const T> x) {
  const auto in_double = [](MatrixView<const T> m) {
    Matrix<double> out(m.rows(), m.cols());
    for (std::size_t i = 0; i < m.rows(); ++i)
      for (std::size_t j = 0; j < m.cols(); ++j)
        out(i, j) = static_cast<double>(m(i, j));
    return out;
  };
  Matrix<double> a = in_double(x);
  Matrix<double> j = in_double(w[0]);
  for (std::size_t k = 1; k < w.size(); ++k) {
    const Matrix<double> h = matmul<double>(a, in_double(w[k - 1]));  // h_k: (1, d_k)
    Matrix<double> d(h.cols(), h.cols());
    for (std::size_t i = 0; i < h.cols(); ++i)
      d(i, i) = h(0, i) >= 0.0 ? 1.0 : 0.0;
    j = matmul<double>(matmul<double>(j, d), in_double(w[k]));
    a = relu<double>(h);
  }
  return j;
}

}  // namespace reference
