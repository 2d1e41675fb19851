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

template <class T>
class Optimizer;

namespace detail {
class Team;
struct Range;

// A reference to what an optimizer does with rows [first_row, first_row + w_rows.rows()) of
// w_k once they may change: a callable (k, first_row, w_rows, g_rows), g_rows being the same
// rows of dL/dw_k where the network formed them (Network::gradients_and_update), empty where
// the caller holds the gradients (Network::update_rows). Never allocates; valid while the
// callable lives.
template <class T>
class RowsTask {
 public:
  template <class F>
  explicit RowsTask(F& f)
      : object_(&f),
        call_([](void* o, std::size_t k, std::size_t first, MatrixView<T> rows,
                 MatrixView<const T> gradient) {
          (*static_cast<F*>(o))(k, first, rows, gradient);
        }) {}
  void operator()(std::size_t k, std::size_t first_row, MatrixView<T> w_rows,
                  MatrixView<const T> g_rows) const {
    call_(object_, k, first_row, w_rows, g_rows);
  }

 private:
  void* object_;
  void (*call_)(void*, std::size_t, std::size_t, MatrixView<T>, MatrixView<const T>);
};
}  // namespace detail

// A step runs on several cores by splitting its work, not each product: the rows of the
// batch for the forward pass and the input gradients (rows are independent), then the rows
// of every w_k for the weight updates. How many pieces depends on the shapes alone, so
// results are bit for bit the same on any number of threads (lib/parallel.hpp). Each piece
// runs single-threaded BLAS. The threads follow set_threads(): available_threads() when
// automatic.
//
// Moving a Network is allowed; what is left behind throws ValueError ("... a moved-from
// Network") from every method but assignment and destruction, until something is assigned
// to it.
//
// A step reads x and y while its parts write the weights and the workspace: a view of x, y
// or out that overlaps the network's own weights or workspace (n.train_step(n.weight(1), y,
// lr)) is refused with ValueError before anything changes. predict(x) const only reads, and
// accepts such a view.
template <class T>
class Network {
 public:
  // widths = {d_in, d_1, ..., d_out}: at least two, none zero, none above INT_MAX (BLAS
  // indexes with int), all ValueError before anything is allocated, also when a w_k would
  // have more bytes than size_t counts. Weights drawn from seed.
  explicit Network(const std::vector<std::size_t>& widths, std::uint64_t seed = 0,
                   Init init = Init::StandardNormal);
  // Takes given weights; w_k must have as many rows as w_{k-1} has columns (ShapeError), and
  // every value must be finite (ValueError naming the first NaN or infinity); widths as above.
  explicit Network(std::vector<Matrix<T>> weights);

  // A copy has the same weights and a workspace of its own.
  Network(const Network& other);
  Network& operator=(const Network& other);
  Network(Network&& other) noexcept;
  Network& operator=(Network&& other) noexcept;
  ~Network();

  const std::vector<std::size_t>& widths() const {
    require_live("widths");
    return widths_;
  }
  std::size_t input_width() const {
    require_live("input_width");
    return widths_.front();
  }
  std::size_t output_width() const {
    require_live("output_width");
    return widths_.back();
  }
  std::size_t layers() const {
    require_live("layers");
    return weights_.size();
  }  // K

  // weight(0) is the derivation's w_1. Its values may be changed through the view, its shape not.
  MatrixView<const T> weight(std::size_t k) const;
  MatrixView<T> weight(std::size_t k);
  const std::vector<Matrix<T>>& weights() const {
    require_live("weights");
    return weights_;
  }

  // ValueError "where: name overlaps wK (or the network's workspace)" if view shares memory
  // with them: for entry points of other classes (Optimizer::step, fit) that step this network.
  void require_apart(const char* where, const char* name, MatrixView<const T> view) const;

  // yhat for x: (n, d_in) -> (n, d_out). Any number of rows: past a block of them (about 12 MB
  // of one row's activations through every layer: 1,536 rows of 784-512-512-10 in float32) the
  // rows go through in blocks, on the step's threads, so the memory besides x and yhat is two
  // hidden layers of a block per thread, never of every row; the bits are those of one pass.
  // Fewer rows that the step cuts into several pieces go the same way (threads of the call's
  // own, so concurrent calls are safe); fewer still run on the calling thread. Whatever the
  // rows, a bad NOBIAS_THREADS is refused (ValueError, threads.hpp), as by every step.
  Matrix<T> predict(MatrixView<const T> x) const;
  // The same into out: (n, d_out). Up to a block of rows it uses the workspace, so repeated
  // calls allocate only when n grows; past one, blocks as above (the workspace unchanged).
  void predict(MatrixView<const T> x, MatrixView<T> out);

  // L = sum (yhat - y)^2 of the current weights; inf or NaN when they have diverged, but a
  // ValueError naming the element when a NaN or an infinity in x or y makes it so. (An
  // infinity in x that every ReLU of its row masks gives a finite L, as relu(-inf) = 0.)
  // Past a block of rows, in blocks as predict(x): the same bits, a window of predictions held.
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
  // The optimizer updates the weights itself, through these two, on the step's team.
  friend class Optimizer<T>;
  // The gradients of gradients(x, y, dw, reduction), each piece of rows of dL/dw_k formed in
  // its thread's scratch block (workspace_.piece_gradients) and handed at once to update(k, r,
  // rows r.. of w_k, those rows of dL/dw_k) on that thread, while in its cache: phase 1 has
  // formed every input gradient from the old weights, so update may then change those rows
  // (only those). No weights-sized gradient is stored; the thread's next piece reuses the
  // block, which stays in cache where it fits. Throws as gradients() does, before update runs.
  double gradients_and_update(MatrixView<const T> x, MatrixView<const T> y, Reduction reduction,
                              const detail::RowsTask<T>& update);
  // update(k, r, rows r.. of w_k, {}) over fixed pieces of the rows of every w_k, on the team.
  void update_rows(const detail::RowsTask<T>& update);

  // Buffers for batches of up to `rows` rows. activations[k] holds h_{k+1} and then a_{k+1}
  // in place (relu' in its sign bit); the last one holds yhat and then dL/dyhat.
  // gradients[k] holds dL/dh_{k+1} of hidden layer k + 1. pieces: one result per piece.
  struct PieceResult {
    double loss = 0.0;
    bool hidden_finite = true;  // no infinity or NaN in any h_k, even where ReLU hid it
  };
  struct Workspace {
    std::size_t rows = 0;
    std::vector<Matrix<T>> activations;
    std::vector<Matrix<T>> gradients;
    std::vector<PieceResult> pieces;
    // One per thread that takes a piece (Team::run's slots): a piece's rows of a dL/dw_k
    // (gradients_and_update).
    std::vector<Matrix<T>> piece_gradients;
  };

  // Shapes. Overlaps are checked once the workspace is prepared (require_apart): a batch too
  // large for a workspace is refused as such.
  void check_batch(const char* where, MatrixView<const T> x, const MatrixView<const T>* y) const;
  void require_live(const char* where) const {
    if (widths_.empty()) moved_from(where);
  }
  [[noreturn]] static void moved_from(const char* where);
  // The refusal of a step whose loss or hidden layers came out unusable, from finite data:
  // which layer of the forward pass overflowed, and whether the weights were ever updated.
  [[noreturn]] void report_unusable(const char* where, MatrixView<const T> x, double loss,
                                    bool hidden_finite) const;
  // The first layer k (1-based) whose h_k holds an infinity or a NaN for x, 0 if none.
  std::size_t first_overflowing_layer(MatrixView<const T> x) const;
  // predict(x, out) once checked; also loss()'s forward pass into the workspace.
  void forward_into(MatrixView<const T> x, MatrixView<T> out);
  void prepare(std::size_t n);  // sizes the workspace and the team for n rows
  void prepare_team();          // the team alone, for step_threads()
  MatrixView<T> activation(std::size_t k, std::size_t n);
  MatrixView<T> gradient(std::size_t k, std::size_t n);  // dL/dh_{k+1}
  // The forward pass for some rows of x, the last layer into out's rows.
  // false if a hidden h held an infinity or a NaN.
  bool forward_rows(MatrixView<const T> x, MatrixView<T> out, detail::Range rows);
  // Phase 1 of a step, by rows: forward, residual, and every dL/dh from the old weights.
  // Returns L; throws DivergenceError (weights untouched) if it is unusable.
  double forward_and_input_gradients(const char* where, MatrixView<const T> x,
                                     MatrixView<const T> y);
  // Phase 2, by rows of each w_k cut into `pieces`: C = alpha a_{k-1}^T g_k + beta C, C being
  // target(k, rows, slot) (those rows of a target_k, or a slot's scratch), then after(k, rows,
  // C) on the same thread (slot: Team::run's); for every layer or only `layer`.
  static constexpr std::size_t kEveryLayer = static_cast<std::size_t>(-1);
  template <class Target, class After>
  void weight_products(MatrixView<const T> x, std::size_t pieces, T alpha, T beta, Target target,
                       After after, std::size_t layer = kEveryLayer);
  // Sizes workspace_.piece_gradients for phase 2 cut into `pieces`.
  void prepare_piece_gradients(std::size_t pieces);
  // gradients()'s checks of x, y and dw (Matrix or MatrixView); prepares the workspace.
  template <class Gradient>
  void check_gradients_call(MatrixView<const T> x, MatrixView<const T> y,
                            const std::vector<Gradient>& dw);
  // yhat into out on the calling thread, using ping and pong (n x widest hidden).
  void infer(MatrixView<const T> x, MatrixView<T> out, T* ping, T* pong) const;

  std::vector<std::size_t> widths_;  // empty only in a moved-from network
  std::vector<Matrix<T>> weights_;
  // Until a train_step or a mutable weight(k): the weights are the ones it was built with, so
  // an overflow is the initialization's, not a learning rate's.
  bool weights_as_built_ = true;

  Workspace workspace_;
  std::unique_ptr<detail::Team> team_;
};

extern template class Network<float>;
extern template class Network<double>;

}  // namespace nobias
