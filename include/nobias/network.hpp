// Network<T>: a bias-free multilayer perceptron, the seed's network at any depth.
//
//   h_k = a_{k-1} . w_k        a_0 = x, w_k: (d_{k-1}, d_k)
//   a_k = relu(h_k)            for every hidden layer k < K
//   yhat = h_K                 the last layer is linear
//   L = sum (yhat - y)^2
//
// Legend: n = rows of the batch, K = number of weight matrices, d_k = width k.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "nobias/init.hpp"
#include "nobias/kernels.hpp"
#include "nobias/matrix.hpp"

namespace nobias {

template <class T>
struct Gradients {
  double loss = 0.0;          // L before any update
  std::vector<Matrix<T>> dw;  // dw[k] = dL/dw_{k+1}, shaped like w_{k+1}
};

template <class T>
class Network {
 public:
  // widths = {d_in, d_1, ..., d_out}: at least two, none zero. Weights drawn from seed.
  explicit Network(const std::vector<std::size_t>& widths, std::uint64_t seed = 0,
                   Init init = Init::StandardNormal);
  // Takes given weights; w_k must have as many rows as w_{k-1} has columns.
  explicit Network(std::vector<Matrix<T>> weights);

  const std::vector<std::size_t>& widths() const { return widths_; }
  std::size_t input_width() const { return widths_.front(); }
  std::size_t output_width() const { return widths_.back(); }
  std::size_t layers() const { return weights_.size(); }  // K

  // weight(0) is the seed's w_1. Its values may be changed through the view, its shape not.
  MatrixView<const T> weight(std::size_t k) const;
  MatrixView<T> weight(std::size_t k);
  const std::vector<Matrix<T>>& weights() const { return weights_; }

  // yhat for x: (n, d_in) -> (n, d_out).
  Matrix<T> predict(MatrixView<const T> x) const;
  // The same into out: (n, d_out). Uses the workspace, so allocates only when n changes.
  void predict(MatrixView<const T> x, MatrixView<T> out);

  // L = sum (yhat - y)^2 of the current weights.
  double loss(MatrixView<const T> x, MatrixView<const T> y);

  // L and every dL/dw_k (eqs. 44-46 generalized), weights unchanged.
  Gradients<T> gradients(MatrixView<const T> x, MatrixView<const T> y);
  // The same into preallocated dw (one matrix per layer, shaped like the weights): returns L.
  double gradients(MatrixView<const T> x, MatrixView<const T> y, std::vector<Matrix<T>>& dw);

  // One step of gradient descent, w_k <- w_k - lr dL/dw_k, fused: each update is one gemm
  // (alpha = -lr, beta = 1) with no gradient buffer. Returns L before the update.
  // An L that is not finite, or too large for T, throws DivergenceError and leaves the
  // weights untouched.
  double train_step(MatrixView<const T> x, MatrixView<const T> y, T lr);

 private:
  // Buffers for batches of up to `rows` rows: activations[k] holds h_{k+1} and then a_{k+1}
  // in place (with relu' in its sign bit), ping and pong the dL/dh of two consecutive layers.
  struct Workspace {
    std::size_t rows = 0;
    std::vector<Matrix<T>> activations;
    Matrix<T> ping, pong;
  };

  void check_batch(const char* where, MatrixView<const T> x, const MatrixView<const T>* y) const;
  void reserve(std::size_t n);
  MatrixView<T> forward(MatrixView<const T> x);  // fills the activations; returns yhat
  // yhat into out, using ping and pong (n x widest hidden) for the hidden layers.
  void infer(MatrixView<const T> x, MatrixView<T> out, T* ping, T* pong) const;
  // Walks the layers from K down to 1 with g_K = dL/dyhat in g_out. At layer k it first forms
  // g_{k-1} from the old w_k, then calls weight_product(k, a_{k-1}, g_k), which may change w_k.
  template <class WeightProduct>
  void backward(MatrixView<const T> x, MatrixView<T> g_out, WeightProduct weight_product);

  std::vector<std::size_t> widths_;
  std::vector<Matrix<T>> weights_;

  Workspace workspace_;
};

extern template class Network<float>;
extern template class Network<double>;

}  // namespace nobias
