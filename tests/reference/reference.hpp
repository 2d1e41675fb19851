// Slow, obvious references for every fast path in nobias. Plain loops, explicit
// transposes, one temporary per equation: nothing here is clever, so it can be trusted.
// Equation numbers are those of docs/derivation.md.
#pragma once

#include <cstddef>
#include <vector>

#include "nobias/blas.hpp"
#include "nobias/matrix.hpp"

namespace reference {

using nobias::Matrix;
using nobias::MatrixView;

template <class T>
Matrix<T> transpose(MatrixView<const T> a) {
  Matrix<T> t(a.cols(), a.rows());
  for (std::size_t i = 0; i < a.rows(); ++i)
    for (std::size_t j = 0; j < a.cols(); ++j)
      t(j, i) = a(i, j);
  return t;
}

// a . b with a double accumulator.
template <class T>
Matrix<T> matmul(MatrixView<const T> a, MatrixView<const T> b) {
  Matrix<T> c(a.rows(), b.cols());
  for (std::size_t i = 0; i < a.rows(); ++i)
    for (std::size_t j = 0; j < b.cols(); ++j) {
      double sum = 0.0;
      for (std::size_t p = 0; p < a.cols(); ++p)
        sum += static_cast<double>(a(i, p)) * static_cast<double>(b(p, j));
      c(i, j) = static_cast<T>(sum);
    }
  return c;
}

// c = alpha op(a) op(b) + beta c, the triple loop.
template <class T>
void gemm(nobias::Op op_a, MatrixView<const T> a, nobias::Op op_b, MatrixView<const T> b, T alpha,
          T beta, MatrixView<T> c) {
  const Matrix<T> a_op = op_a == nobias::Op::T ? transpose(a) : Matrix<T>::copy_of(a);
  const Matrix<T> b_op = op_b == nobias::Op::T ? transpose(b) : Matrix<T>::copy_of(b);
  const Matrix<T> product = matmul<T>(a_op, b_op);
  for (std::size_t i = 0; i < c.rows(); ++i)
    for (std::size_t j = 0; j < c.cols(); ++j)
      c(i, j) = static_cast<T>(static_cast<double>(alpha) * static_cast<double>(product(i, j)) +
                               (beta == T(0) ? 0.0 : static_cast<double>(beta) * c(i, j)));
}

template <class T>
Matrix<T> relu(MatrixView<const T> h) {
  Matrix<T> a(h.rows(), h.cols());
  for (std::size_t i = 0; i < h.rows(); ++i)
    for (std::size_t j = 0; j < h.cols(); ++j)
      a(i, j) = h(i, j) > T(0) ? h(i, j) : T(0);
  return a;
}

// The derivation's A and B (eqs. 25, 43): 1 where h >= 0, else 0.
template <class T>
Matrix<T> relu_derivative(MatrixView<const T> h) {
  Matrix<T> d(h.rows(), h.cols());
  for (std::size_t i = 0; i < h.rows(); ++i)
    for (std::size_t j = 0; j < h.cols(); ++j)
      d(i, j) = h(i, j) >= T(0) ? T(1) : T(0);
  return d;
}

template <class T>
Matrix<T> hadamard(MatrixView<const T> a, MatrixView<const T> b) {
  Matrix<T> c(a.rows(), a.cols());
  for (std::size_t i = 0; i < a.rows(); ++i)
    for (std::size_t j = 0; j < a.cols(); ++j)
      c(i, j) = a(i, j) * b(i, j);
  return c;
}

// 2 (y_pred - y)
template <class T>
Matrix<T> twice_residual(MatrixView<const T> y_pred, MatrixView<const T> y) {
  Matrix<T> g(y.rows(), y.cols());
  for (std::size_t i = 0; i < y.rows(); ++i)
    for (std::size_t j = 0; j < y.cols(); ++j)
      g(i, j) = T(2) * (y_pred(i, j) - y(i, j));
  return g;
}

// eq. 6
template <class T>
double loss(MatrixView<const T> y_pred, MatrixView<const T> y) {
  double sum = 0.0;
  for (std::size_t i = 0; i < y.rows(); ++i)
    for (std::size_t j = 0; j < y.cols(); ++j) {
      const double r = static_cast<double>(y_pred(i, j)) - static_cast<double>(y(i, j));
      sum += r * r;
    }
  return sum;
}

template <class T>
struct DerivationGradients {
  double loss;
  Matrix<T> w1, w2, w3;
};

// The derivation's three-layer network, equations 1-6 and 44-46 exactly as printed.
template <class T>
DerivationGradients<T> derivation_gradients(const Matrix<T>& x, const Matrix<T>& y,
                                            const Matrix<T>& w1, const Matrix<T>& w2,
                                            const Matrix<T>& w3) {
  const Matrix<T> h1 = matmul<T>(x, w1);            // (1)
  const Matrix<T> h1_relu = relu<T>(h1);            // (2)
  const Matrix<T> h2 = matmul<T>(h1_relu, w2);      // (3)
  const Matrix<T> h2_relu = relu<T>(h2);            // (4)
  const Matrix<T> y_pred = matmul<T>(h2_relu, w3);  // (5)
  const Matrix<T> A = relu_derivative<T>(h2);       // (25)
  const Matrix<T> B = relu_derivative<T>(h1);       // (43)
  const Matrix<T> grad = twice_residual<T>(y_pred, y);

  // (44) h2_relu^T . 2(y_pred - y)
  Matrix<T> dw3 = matmul<T>(transpose<T>(h2_relu), grad);
  // (45) h1_relu^T . (A o (2(y_pred - y) . w3^T))
  const Matrix<T> inner2 = hadamard<T>(A, matmul<T>(grad, transpose<T>(w3)));
  Matrix<T> dw2 = matmul<T>(transpose<T>(h1_relu), inner2);
  // (46) x^T . (B o ((A o (2(y_pred - y) . w3^T)) . w2^T))
  const Matrix<T> inner1 = hadamard<T>(B, matmul<T>(inner2, transpose<T>(w2)));
  Matrix<T> dw1 = matmul<T>(transpose<T>(x), inner1);
  return {loss<T>(y_pred, y), std::move(dw1), std::move(dw2), std::move(dw3)};
}

// The derivation's recursion at any depth: g_K = 2(y_pred - y), dw_k = a_{k-1}^T g_k,
// g_{k-1} = relu'(h_{k-1}) o (g_k w_k^T).
template <class T>
std::vector<Matrix<T>> backprop(const Matrix<T>& x, const Matrix<T>& y,
                                const std::vector<Matrix<T>>& w, double* loss_out = nullptr) {
  std::vector<Matrix<T>> h, a{x};
  for (std::size_t k = 0; k < w.size(); ++k) {
    h.push_back(matmul<T>(a.back(), w[k]));
    a.push_back(k + 1 < w.size() ? relu<T>(h.back()) : h.back());
  }
  if (loss_out) *loss_out = loss<T>(a.back(), y);
  std::vector<Matrix<T>> dw(w.size());
  Matrix<T> g = twice_residual<T>(a.back(), y);
  for (std::size_t k = w.size(); k-- > 0;) {
    dw[k] = matmul<T>(transpose<T>(a[k]), g);
    if (k > 0) g = hadamard<T>(relu_derivative<T>(h[k - 1]), matmul<T>(g, transpose<T>(w[k])));
  }
  return dw;
}

// L for the given weights: the forward pass alone, for finite differences.
template <class T>
double network_loss(const Matrix<T>& x, const Matrix<T>& y, const std::vector<Matrix<T>>& w) {
  Matrix<T> a = x;
  for (std::size_t k = 0; k < w.size(); ++k) {
    Matrix<T> h = matmul<T>(a, w[k]);
    a = k + 1 < w.size() ? relu<T>(h) : std::move(h);
  }
  return loss<T>(a, y);
}

}  // namespace reference
