// J(x) = w_1 D_1 w_2 D_2 ... D_{K-1} w_K for every row of x at once (nobias/jacobian.hpp).
// Legend: n = rows of x, K = weight matrices, d_k = widths[k], d_in = d_0, d_out = d_K.
//
// The chain is multiplied from the narrow end: from the left, each product carries d_in rows
// per input; from the right (as J^T = w_K^T D_{K-1} ... w_1^T), d_out rows. The rows of all n
// inputs are stacked so that each layer is one GEMM against w_k, whatever n is.
#include "nobias/jacobian.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "gemm/parallel.hpp"
#include "gemm/signal_safety.hpp"
#include "nobias/blas.hpp"
#include "nobias/kernels.hpp"

namespace nobias {
namespace {

// name: "x", or "x_row" for jacobian().
template <class T>
void check_input(const char* where, const char* name, const Network<T>& net,
                 MatrixView<const T> x) {
  const auto fail = [where](const std::string& what) { throw ShapeError(where + (": " + what)); };
  if (x.rows() == 0) fail(std::string(name) + " has no rows");
  if (x.cols() != net.input_width()) {
    fail(name + (" has " + std::to_string(x.cols())) + " columns, network input has " +
         std::to_string(net.input_width()));
  }
  require_finite(x, std::string(where) + ": " + name);
}

// a[k - 1] = relu(h_k): (n, d_k) for every hidden layer k = 1 .. K-1, its mask in each sign bit
// (-0 where h_k < 0, kernels.hpp). The same pieces of rows and the same products as predict(),
// so the masks are the ones predict() applies, bit for bit.
template <class T>
std::vector<Matrix<T>> hidden_activations(const char* where, const Network<T>& net,
                                          MatrixView<const T> x) {
  const std::vector<std::size_t>& d = net.widths();
  const std::vector<Matrix<T>>& w = net.weights();
  const std::size_t n = x.rows();
  std::vector<Matrix<T>> a;
  for (std::size_t k = 1; k < w.size(); ++k)
    a.emplace_back(n, d[k]);
  const std::size_t pieces = detail::row_pieces<T>(n, d);
  for (std::size_t p = 0; p < pieces; ++p) {
    const detail::Range rows = detail::piece_range(n, p, pieces);
    MatrixView<const T> in = x.row_block(rows.begin, rows.count);
    for (std::size_t k = 0; k + 1 < w.size(); ++k) {
      const MatrixView<T> h = a[k].row_block(rows.begin, rows.count);
      gemm(Op::N, in, Op::N, w[k].view(), T(1), T(0), h);
      // An infinity has a mask, but x . J(x) would no longer be predict(x); a NaN has none.
      if (!relu_forward(h)) {
        throw ValueError(std::string(where) + ": the forward pass overflowed at layer " +
                         std::to_string(k + 1) + " (an infinity or a NaN in h_" +
                         std::to_string(k + 1) + "): x or the weights are too large for " +
                         (std::is_same_v<T, float> ? "float32" : "float64"));
      }
      in = h;
    }
  }
  return a;
}

// Block i of m (rows [i * block, (i + 1) * block)) times D(row i of a): zero the columns
// whose ReLU was off.
template <class T>
void mask_columns(Matrix<T>& m, std::size_t block, const Matrix<T>& a) {
  for (std::size_t i = 0; i < a.rows(); ++i) {
    const T* mask = a.data() + i * a.cols();
    for (std::size_t r = 0; r < block; ++r) {
      T* row = m.data() + (i * block + r) * m.cols();
      for (std::size_t j = 0; j < m.cols(); ++j)
        row[j] = std::signbit(mask[j]) ? T(0) : row[j];
    }
  }
}

// d_in <= d_out: M = w_1, then M <- (M D_k) w_{k+1}; block i of M: (d_in, d_k).
template <class T>
Matrix<T> from_the_left(const std::vector<Matrix<T>>& w, const std::vector<Matrix<T>>& a,
                        std::size_t n) {
  const std::size_t d_in = w.front().rows();
  Matrix<T> m(checked_size(n, d_in), w.front().cols());
  for (std::size_t i = 0; i < n; ++i)
    std::copy(w.front().data(), w.front().data() + w.front().size(),
              m.data() + i * w.front().size());
  for (std::size_t k = 1; k < w.size(); ++k) {
    mask_columns(m, d_in, a[k - 1]);
    Matrix<T> next(m.rows(), w[k].cols());
    gemm(Op::N, m.view(), Op::N, w[k].view(), T(1), T(0), next.view());  // (n d_in, d_{k+1})
    m = std::move(next);
  }
  return m;
}

// d_out < d_in: G = w_K^T, then G <- (G D_k) w_k^T; block i of G: (d_out, d_{k-1}), and J^T
// at the end, transposed block by block into the result.
template <class T>
Matrix<T> from_the_right(const std::vector<Matrix<T>>& w, const std::vector<Matrix<T>>& a,
                         std::size_t n) {
  const Matrix<T>& last = w.back();  // (d_{K-1}, d_out)
  const std::size_t d_out = last.cols(), d_in = w.front().rows();
  Matrix<T> g(checked_size(n, d_out), last.rows());
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < d_out; ++c)
      for (std::size_t r = 0; r < last.rows(); ++r)
        g(i * d_out + c, r) = last(r, c);
  for (std::size_t k = w.size() - 1; k > 0; --k) {
    mask_columns(g, d_out, a[k - 1]);
    Matrix<T> next(g.rows(), w[k - 1].rows());
    gemm(Op::N, g.view(), Op::T, w[k - 1].view(), T(1), T(0), next.view());  // (n d_out, d_{k-1})
    g = std::move(next);
  }
  Matrix<T> j(checked_size(n, d_in), d_out);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < d_out; ++c)
      for (std::size_t r = 0; r < d_in; ++r)
        j(i * d_in + r, c) = g(i * d_out + c, r);
  return j;
}

template <class T>
Matrix<T> jacobians_of(const char* where, const char* name, const Network<T>& net,
                       MatrixView<const T> x) {
  check_input(where, name, net, x);
  const std::vector<std::size_t>& d = net.widths();
  // Large float32 calls run on oneDNN with signals held, as predict() (gemm/signal_safety.hpp).
  double multiply_adds = 0.0;
  for (std::size_t k = 0; k + 1 < d.size(); ++k)
    multiply_adds += static_cast<double>(d[k]) * static_cast<double>(d[k + 1]);
  multiply_adds *=
      static_cast<double>(x.rows()) * static_cast<double>(std::min(d.front(), d.back()) + 1);
  const detail::SignalHold signals(
      std::is_same_v<T, float> && detail::float32_call_holds_signals(multiply_adds), true);
  const std::vector<Matrix<T>> a = hidden_activations(where, net, x);
  return d.front() <= d.back() ? from_the_left(net.weights(), a, x.rows())
                               : from_the_right(net.weights(), a, x.rows());
}

template <class T>
Matrix<T> jacobian_of(const Network<T>& net, MatrixView<const T> x_row) {
  if (x_row.rows() != 1) {
    throw ShapeError("jacobian: x_row has " + std::to_string(x_row.rows()) +
                     " rows, expected 1 (jacobians() takes a batch)");
  }
  return jacobians_of("jacobian", "x_row", net, x_row);
}

}  // namespace

Matrix<float> jacobian(const Network<float>& net, MatrixView<const float> x_row) {
  return jacobian_of(net, x_row);
}
Matrix<double> jacobian(const Network<double>& net, MatrixView<const double> x_row) {
  return jacobian_of(net, x_row);
}
Matrix<float> jacobians(const Network<float>& net, MatrixView<const float> x) {
  return jacobians_of("jacobians", "x", net, x);
}
Matrix<double> jacobians(const Network<double>& net, MatrixView<const double> x) {
  return jacobians_of("jacobians", "x", net, x);
}

}  // namespace nobias
