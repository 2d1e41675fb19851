// J(x) = w_1 D_1 w_2 D_2 ... D_{K-1} w_K for every row of x at once (nobias/jacobian.hpp).
// Legend: n = rows of x, K = weight matrices, d_k = widths[k], d_in = d_0, d_out = d_K.
//
// The chain is multiplied from the narrow end: from the left, each product carries d_in rows
// per input; from the right, d_out columns. Several inputs are stacked (rows from the left,
// columns from the right) so that each layer is one GEMM with w_k for all of them.
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

// Inputs whose chains are multiplied together: as many as keep the two buffers the products
// alternate between near 2^16 elements each, in cache, whatever n is (fresh pages for a whole
// batch cost more than the products: a first version spent half its time in page faults).
constexpr std::size_t kChunkElements = std::size_t(1) << 16;

// Rows [first, first + count) of x as one stack: the products alternate between ping and pong,
// and the last one's result goes to out, the rows of J(x_first) .. J(x_{first+count-1}).
template <class T>
struct Chunk {
  std::size_t first, count;
  T* ping;
  T* pong;
  MatrixView<T> out;  // (count d_in, d_out)
};

// Block i of m (rows [i * block, (i + 1) * block)) times D(row first + i of a): zero the
// columns whose ReLU was off.
template <class T>
void mask_columns(MatrixView<T> m, std::size_t block, const Matrix<T>& a, std::size_t first) {
  for (std::size_t i = 0; i * block < m.rows(); ++i) {
    const T* mask = a.data() + (first + i) * a.cols();
    for (std::size_t r = i * block; r < (i + 1) * block; ++r) {
      T* row = m.row(r);
      for (std::size_t j = 0; j < m.cols(); ++j)
        row[j] = std::signbit(mask[j]) ? T(0) : row[j];
    }
  }
}

// Block i of m (columns [i * block, (i + 1) * block)) times D(row first + i of a) from the
// left: zero the rows whose ReLU was off.
template <class T>
void mask_rows(MatrixView<T> m, std::size_t block, const Matrix<T>& a, std::size_t first) {
  for (std::size_t r = 0; r < m.rows(); ++r)
    for (std::size_t i = 0; i * block < m.cols(); ++i)
      if (std::signbit(a(first + i, r)))
        std::fill(m.row(r) + i * block, m.row(r) + (i + 1) * block, T(0));
}

// d_in <= d_out: M = w_1, then M <- (M D_k) w_{k+1}; the inputs stacked, block i of M its rows
// [i d_in, (i + 1) d_in): (d_in, d_k).
template <class T>
void from_the_left(const std::vector<Matrix<T>>& w, const std::vector<Matrix<T>>& a,
                   const Chunk<T>& c) {
  const std::size_t d_in = w.front().rows(), rows = c.count * d_in;
  MatrixView<T> m = w.size() == 1 ? c.out : MatrixView<T>(c.ping, rows, w.front().cols());
  for (std::size_t i = 0; i < c.count; ++i)
    for (std::size_t r = 0; r < d_in; ++r)
      std::copy(w.front().data() + r * w.front().cols(),
                w.front().data() + (r + 1) * w.front().cols(), m.row(i * d_in + r));
  for (std::size_t k = 1; k < w.size(); ++k) {
    mask_columns(m, d_in, a[k - 1], c.first);
    const MatrixView<T> next =
        k + 1 == w.size() ? c.out : MatrixView<T>(k % 2 ? c.pong : c.ping, rows, w[k].cols());
    gemm(Op::N, MatrixView<const T>(m), Op::N, w[k].view(), T(1), T(0), next);  // (rows, d_{k+1})
    m = next;
  }
}

// d_out < d_in: M = w_K, then M <- w_k (D_k M); the inputs side by side, block i of M its
// columns [i d_out, (i + 1) d_out): (d_{k-1}, d_out). Side by side rather than J^T stacked
// by rows, every product takes w_k as stored and J needs no transposing at the end.
template <class T>
void from_the_right(const std::vector<Matrix<T>>& w, const std::vector<Matrix<T>>& a,
                    const Chunk<T>& c) {
  const Matrix<T>& last = w.back();  // (d_{K-1}, d_out)
  const std::size_t d_out = last.cols(), d_in = w.front().rows(), cols = c.count * d_out;
  MatrixView<T> m(c.ping, last.rows(), cols);
  for (std::size_t r = 0; r < last.rows(); ++r)
    for (std::size_t i = 0; i < c.count; ++i)
      std::copy(last.data() + r * d_out, last.data() + (r + 1) * d_out, m.row(r) + i * d_out);
  for (std::size_t k = w.size() - 1; k > 0; --k) {
    mask_rows(m, d_out, a[k - 1], c.first);
    const MatrixView<T> next(m.data() == c.ping ? c.pong : c.ping, w[k - 1].rows(), cols);
    gemm(Op::N, w[k - 1].view(), Op::N, MatrixView<const T>(m), T(1), T(0), next);
    m = next;  // (d_{k-1}, cols)
  }
  for (std::size_t i = 0; i < c.count; ++i)
    for (std::size_t r = 0; r < d_in; ++r)
      std::copy(m.row(r) + i * d_out, m.row(r) + (i + 1) * d_out, c.out.row(i * d_in + r));
}

template <class T>
Matrix<T> jacobians_of(const char* where, const char* name, const Network<T>& net,
                       MatrixView<const T> x) {
  check_input(where, name, net, x);
  const std::vector<std::size_t>& d = net.widths();
  const std::size_t n = x.rows(), d_in = d.front(), d_out = d.back();
  const std::size_t narrow = std::min(d_in, d_out), widest = *std::max_element(d.begin(), d.end());
  // Large float32 calls run on oneDNN with signals held, as predict() (gemm/signal_safety.hpp).
  double multiply_adds = 0.0;
  for (std::size_t k = 0; k + 1 < d.size(); ++k)
    multiply_adds += static_cast<double>(d[k]) * static_cast<double>(d[k + 1]);
  multiply_adds *= static_cast<double>(n) * static_cast<double>(narrow + 1);
  const detail::SignalHold signals(
      std::is_same_v<T, float> && detail::float32_call_holds_signals(multiply_adds), true);

  const std::vector<Matrix<T>> a = hidden_activations(where, net, x);
  Matrix<T> j(checked_size(n, d_in), d_out);
  const std::size_t per_chunk = std::clamp<std::size_t>(kChunkElements / (narrow * widest), 1, n);
  Matrix<T> ping(checked_size(per_chunk, narrow), widest), pong(per_chunk * narrow, widest);
  for (std::size_t first = 0; first < n; first += per_chunk) {
    const std::size_t count = std::min(per_chunk, n - first);
    const Chunk<T> chunk{first, count, ping.data(), pong.data(),
                         j.row_block(first * d_in, count * d_in)};
    if (d_in <= d_out) {
      from_the_left(net.weights(), a, chunk);
    } else {
      from_the_right(net.weights(), a, chunk);
    }
  }
  return j;
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
