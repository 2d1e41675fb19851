// Network<T>: a bias-free multilayer perceptron, the network of docs/derivation.md at any
// depth (equation numbers below are that page's).
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
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "nobias/init.hpp"
#include "nobias/kernels.hpp"
#include "nobias/matrix.hpp"

namespace nobias {

// How the squared errors of a batch are reduced to L. Sum is the derivation's (eq. 6); Mean
// divides by rows x d_out, so that a learning rate does not depend on the batch size.
enum class Reduction { Sum, Mean };

template <class T>
struct Gradients {
  double loss = 0.0;          // L before any update
  std::vector<Matrix<T>> dw;  // dw[k] = dL/dw_{k+1}, shaped like w_{k+1}
};

namespace detail {
class WorkerTeam;
}

// A step runs on several cores by splitting its work, not each product: the rows of the
// batch for the forward pass and the input gradients (rows are independent), then the rows
// of every w_k for the weight updates. Each part runs single-threaded BLAS, so the cores
// never wait on each other inside a product. The number of parts follows set_threads():
// available_threads() when automatic.
template <class T>
class Network {
 public:
  // widths = {d_in, d_1, ..., d_out}: at least two, none zero (ValueError, also when a w_k
  // would have more bytes than size_t counts). Weights drawn from seed.
  explicit Network(const std::vector<std::size_t>& widths, std::uint64_t seed = 0,
                   Init init = Init::StandardNormal);
  // Takes given weights; w_k must have as many rows as w_{k-1} has columns (ShapeError), and
  // every value must be finite (ValueError naming the first NaN or infinity).
  explicit Network(std::vector<Matrix<T>> weights);

  // A copy has the same weights and a workspace of its own.
  Network(const Network& other);
  Network& operator=(const Network& other);
  Network(Network&&) noexcept;
  Network& operator=(Network&&) noexcept;
  ~Network();

  const std::vector<std::size_t>& widths() const { return widths_; }
  std::size_t input_width() const { return widths_.front(); }
  std::size_t output_width() const { return widths_.back(); }
  std::size_t layers() const { return weights_.size(); }  // K

  // weight(0) is the derivation's w_1. Its values may be changed through the view, its shape not.
  MatrixView<const T> weight(std::size_t k) const;
  MatrixView<T> weight(std::size_t k);
  const std::vector<Matrix<T>>& weights() const { return weights_; }

  // yhat for x: (n, d_in) -> (n, d_out).
  Matrix<T> predict(MatrixView<const T> x) const;
  // The same into out: (n, d_out). Uses the workspace, so allocates only when n grows.
  void predict(MatrixView<const T> x, MatrixView<T> out);

  // L = sum (yhat - y)^2 of the current weights; inf or NaN when they have diverged, but a
  // ValueError naming the element when a NaN or an infinity in x or y makes it so. (An
  // infinity in x that every ReLU of its row masks gives a finite L, as relu(-inf) = 0.)
  double loss(MatrixView<const T> x, MatrixView<const T> y, Reduction reduction = Reduction::Sum);

  // L and every dL/dw_k (eqs. 44-46 at any depth: the recursion of docs/derivation.md), weights
  // unchanged.
  Gradients<T> gradients(MatrixView<const T> x, MatrixView<const T> y,
                         Reduction reduction = Reduction::Sum);
  // The same into preallocated dw (one matrix per layer, shaped like the weights): returns L.
  double gradients(MatrixView<const T> x, MatrixView<const T> y, std::vector<Matrix<T>>& dw,
                   Reduction reduction = Reduction::Sum);

  // The same into caller-given views (dw[k] shaped like w_{k+1}; e.g. slices of one contiguous
  // buffer, so that one collective can move them all), computed last layer first: on_layer(k)
  // runs as soon as dw[k] is final, so a caller can start sending it while the rest of the
  // backward pass computes (a distributed step overlaps its reduction with it). Returns L.
  double gradients(MatrixView<const T> x, MatrixView<const T> y,
                   const std::vector<MatrixView<T>>& dw, Reduction reduction,
                   const std::function<void(std::size_t)>& on_layer);

  // One step of gradient descent, w_k <- w_k - lr dL/dw_k, fused: each update is one gemm
  // (alpha = -lr, beta = 1) with no gradient buffer. Returns L before the update.
  // An L that is not finite, or too large for T, throws DivergenceError and leaves the
  // weights untouched; so does an infinity or NaN in a hidden layer, which a ReLU could mask
  // from the loss but not from the gradients. When the cause is a NaN or an infinity in x or
  // y, ValueError naming the first such element instead (looked for only then: the happy path
  // pays nothing). So do gradients().
  double train_step(MatrixView<const T> x, MatrixView<const T> y, T lr,
                    Reduction reduction = Reduction::Sum);

 private:
  // Buffers for batches of up to `rows` rows. activations[k] holds h_{k+1} and then a_{k+1}
  // in place (relu' in its sign bit); the last one holds yhat and then dL/dyhat.
  // gradients[k] holds dL/dh_{k+1} of hidden layer k + 1. parts: one result per part.
  struct PartResult {
    double loss = 0.0;
    bool hidden_finite = true;  // no infinity or NaN in any h_k, even where ReLU hid it
  };
  struct Workspace {
    std::size_t rows = 0;
    std::vector<Matrix<T>> activations;
    std::vector<Matrix<T>> gradients;
    std::vector<PartResult> parts;
  };

  void check_batch(const char* where, MatrixView<const T> x, const MatrixView<const T>* y) const;
  void prepare(std::size_t n);  // sizes the workspace and the team for n rows
  MatrixView<T> activation(std::size_t k, std::size_t n);
  MatrixView<T> gradient(std::size_t k, std::size_t n);  // dL/dh_{k+1}
  std::size_t parts_for(std::size_t n) const;  // how many parts a batch of n rows is cut into
  // Runs task(part) for parts [0, count), count <= the team's size, on the team.
  template <class Task>
  void run_parts(std::size_t count, Task&& task);
  // The forward pass for rows [begin, begin + count) of x, the last layer into out's rows.
  // false if a hidden h held an infinity or a NaN.
  bool forward_rows(MatrixView<const T> x, MatrixView<T> out, std::size_t begin, std::size_t count);
  // Phase 1 of a step, by rows: forward, residual, and every dL/dh from the old weights.
  // Returns L; throws DivergenceError (weights untouched) if it is unusable.
  double forward_and_input_gradients(const char* where, MatrixView<const T> x,
                                     MatrixView<const T> y);
  // Phase 2, by rows of each w_k: target_k = alpha a_{k-1}^T g_k + beta target_k.
  template <class Target>
  void weight_products(MatrixView<const T> x, T alpha, T beta, Target target);
  // The same for layer k alone.
  template <class Target>
  void weight_product(MatrixView<const T> x, std::size_t k, T alpha, T beta, Target target);
  // yhat into out on the calling thread, using ping and pong (n x widest hidden).
  void infer(MatrixView<const T> x, MatrixView<T> out, T* ping, T* pong) const;

  std::vector<std::size_t> widths_;
  std::vector<Matrix<T>> weights_;

  Workspace workspace_;
  std::unique_ptr<detail::WorkerTeam> team_;
};

extern template class Network<float>;
extern template class Network<double>;

}  // namespace nobias
