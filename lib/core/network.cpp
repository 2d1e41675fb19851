#include "nobias/network.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "core/overlap.hpp"
#include "core/row_chunks.hpp"
#include "gemm/parallel.hpp"
#include "gemm/signal_safety.hpp"
#include "nobias/blas.hpp"
#include "nobias/kernels.hpp"

namespace nobias {
namespace {

// Past T's range the residuals have overflowed, or will in the backward pass.
template <class T>
bool usable_loss(double loss) {
  return loss <= static_cast<double>(std::numeric_limits<T>::max());  // false for NaN too
}

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

// Run only once a loss has come out unusable, so the happy path pays nothing: a NaN or an
// infinity in x or y is reported as bad data (ValueError naming the first bad element), not
// as a divergence to be cured by a smaller learning rate. Weights that training has blown up
// are a divergence, and the caller reports them as one.
template <class T>
void require_finite_data(const char* where, MatrixView<const T> x, MatrixView<const T> y) {
  require_finite(x, std::string(where) + ": x");
  require_finite(y, std::string(where) + ": y");
}

std::size_t widest_hidden(const std::vector<std::size_t>& widths) {
  if (widths.size() < 3) return 0;
  return *std::max_element(widths.begin() + 1, widths.end() - 1);
}

}  // namespace

namespace {

// The forward pass of the rows `rows` of x (eqs. 1-5): h_k = a_{k-1} w_k, a_k = relu(h_k) in
// place, the last layer linear into out. x: (n, d_0), hidden(k): (n, d_{k+1}), out: (n, d_K).
// false if a hidden h held an infinity or a NaN.
template <class T, class Hidden>
bool forward_piece(const std::vector<Matrix<T>>& w, MatrixView<const T> x, MatrixView<T> out,
                   Hidden hidden, detail::Range rows) {
  MatrixView<const T> a = x.row_block(rows.begin, rows.count);
  bool finite = true;
  for (std::size_t k = 0; k < w.size(); ++k) {
    const bool last = k + 1 == w.size();
    const MatrixView<T> h = (last ? out : hidden(k)).row_block(rows.begin, rows.count);
    gemm(Op::N, a, Op::N, w[k].view(), T(1), T(0), h);  // (1)(3)(5)
    if (!last) finite &= relu_forward(h);               // (2)(4)
    a = h;
  }
  return finite;
}

}  // namespace

template <class T>
bool Network<T>::forward_rows(MatrixView<const T> x, MatrixView<T> out, detail::Range rows) {
  const std::size_t n = x.rows();
  return forward_piece(
      weights_, x, out, [&](std::size_t k) { return activation(k, n); }, rows);
}

template <class T>
double Network<T>::forward_and_input_gradients(const char* where, MatrixView<const T> x,
                                               MatrixView<const T> y) {
  const std::size_t n = x.rows(), layers = weights_.size();
  const std::size_t pieces = detail::row_pieces<T>(n, widths_);
  auto piece = [&](std::size_t p) {
    const detail::Range rows = detail::piece_range(n, p, pieces);
    const auto block = [&](MatrixView<T> m) { return m.row_block(rows.begin, rows.count); };
    PieceResult& result = workspace_.pieces[p];
    result.hidden_finite = forward_rows(x, activation(layers - 1, n), rows);
    // g_K = 2 (yhat - y) over yhat, and L = sum (yhat - y)^2 (eq. 6).
    const MatrixView<T> g = block(gradient(layers - 1, n));
    result.loss = residual_and_loss(g, MatrixView<const T>(g), y.row_block(rows.begin, rows.count));
    // g_{k-1} = relu'(h_{k-1}) o (g_k w_k^T), from the old w_k (docs/derivation.md, eqs. 26, 42).
    // g_k: (rows, d_k), w_k: (d_{k-1}, d_k), g_{k-1}: (rows, d_{k-1}).
    for (std::size_t k = layers - 1; k > 0; --k) {
      const MatrixView<T> g_prev = block(gradient(k - 1, n));
      gemm(Op::N, block(gradient(k, n)), Op::T, weights_[k].view(), T(1), T(0), g_prev);
      apply_relu_mask(g_prev, block(activation(k - 1, n)));
    }
  };
  team_->run(pieces, piece);
  double loss = 0.0;  // summed in piece order: the same pieces give the same bits
  bool hidden_finite = true;
  for (std::size_t p = 0; p < pieces; ++p) {
    loss += workspace_.pieces[p].loss;
    hidden_finite = hidden_finite && workspace_.pieces[p].hidden_finite;
  }
  // A hidden inf that ReLU zeroed leaves the loss finite but makes a gradient NaN (inf * 0):
  // such a step is as unusable as one with a NaN loss.
  if (!usable_loss<T>(loss) || !hidden_finite) {
    require_finite_data(where, x, y);
    report_unusable(where, x, loss, hidden_finite);
  }
  return loss;
}

// target_k = alpha a_{k-1}^T g_k + beta target_k (eqs. 44-46), a_0 = x, for every layer or
// only `layer`. a_{k-1}: (n, d_{k-1}), g_k: (n, d_k), target_k: (d_{k-1}, d_k). Piece p takes
// the same rows of every target_k, i.e. those columns of a_{k-1}, and hands them to after()
// at once. The pieces of one layer are the same alone or with the others: the same bits.
template <class T>
template <class Target, class After>
void Network<T>::weight_products(MatrixView<const T> x, std::size_t pieces, T alpha, T beta,
                                 Target target, After after, std::size_t layer) {
  const std::size_t n = x.rows();
  auto piece = [&](std::size_t p, std::size_t slot) {
    for (std::size_t k = 0; k < weights_.size(); ++k) {
      const detail::Range rows = detail::piece_range(widths_[k], p, pieces);
      if (rows.count == 0 || (layer != kEveryLayer && k != layer)) continue;
      const MatrixView<const T> a_prev = k == 0 ? x : MatrixView<const T>(activation(k - 1, n));
      const MatrixView<T> c = target(k, rows, slot);
      gemm(Op::T, a_prev.col_block(rows.begin, rows.count), Op::N, gradient(k, n), alpha, beta, c);
      after(k, rows, c);
    }
  };
  team_->run(pieces, piece);
}

// The const path has no workspace and no team: the same pieces as predict(x, out), one
// after the other on the calling thread, hence the same bits.
template <class T>
void Network<T>::infer(MatrixView<const T> x, MatrixView<T> out, T* ping, T* pong) const {
  const std::size_t n = x.rows();
  const auto hidden = [&](std::size_t k) {
    return MatrixView<T>(k % 2 ? pong : ping, n, widths_[k + 1]);
  };
  const std::size_t pieces = detail::row_pieces<T>(n, widths_);
  for (std::size_t p = 0; p < pieces; ++p)
    forward_piece(weights_, x, out, hidden, detail::piece_range(n, p, pieces));
}

template <class T>
Matrix<T> Network<T>::predict(MatrixView<const T> x) const {
  check_batch("predict", x, nullptr);
  // The setting is read even when the rows run on the calling thread alone: a bad
  // NOBIAS_THREADS is refused whatever the number of rows, as by every step.
  (void)detail::step_threads();
  Matrix<T> out(x.rows(), output_width());
  // More than a block of rows, or fewer cut into several pieces: the blocked pass, on the
  // step's threads, holding two hidden layers of a block per thread instead of every row's;
  // the same bits, each piece meeting the products as in one pass (core/row_chunks.hpp).
  const std::size_t block = detail::block_rows<T>(widths_);
  if (x.rows() > block || detail::row_pieces<T>(x.rows(), widths_) > 1) {
    detail::predict_in_blocks<T>(*this, x, out.view(), block, {});
    return out;
  }
  const detail::SignalHold signals(detail::network_call_holds_signals<T>(widths_, x.rows(), 1),
                                   true);
  const std::size_t hidden = widest_hidden(widths_);
  Matrix<T> ping(x.rows(), hidden), pong(x.rows(), hidden);
  infer(x, out, ping.data(), pong.data());
  return out;
}

template <class T>
void Network<T>::predict(MatrixView<const T> x, MatrixView<T> out) {
  check_batch("predict", x, nullptr);
  if (out.rows() != x.rows() || out.cols() != output_width()) {
    throw ShapeError("predict: out is " + shape_string(out.rows(), out.cols()) + ", expected " +
                     shape_string(x.rows(), output_width()));
  }
  const auto require_apart_all = [&] {
    require_apart("predict", "x", x);
    require_apart("predict", "out", out);
    if (detail::overlap(x, MatrixView<const T>(out))) {
      throw ValueError("predict: out overlaps x; the last layer would overwrite rows still read");
    }
  };
  // Past a block of rows, the blocked pass (which holds signals per block): a workspace for
  // every row would stay with the network (never shrunk) at rows x every width, 1.5 GB for
  // 100,000 rows of 784-512-512-10.
  const std::size_t block = detail::block_rows<T>(widths_);
  if (x.rows() > block) {
    require_apart_all();
    detail::predict_in_blocks<T>(*this, x, out, block, {});
    return;
  }
  const detail::SignalHold signals(detail::network_call_holds_signals<T>(widths_, x.rows(), 1),
                                   true);
  prepare(x.rows());
  require_apart_all();
  forward_into(x, out);
}

template <class T>
void Network<T>::forward_into(MatrixView<const T> x, MatrixView<T> out) {
  prepare(x.rows());
  const std::size_t n = x.rows(), pieces = detail::row_pieces<T>(n, widths_);
  auto piece = [&](std::size_t p) {
    // relu(-inf) = 0 is an answer; only training must refuse it.
    forward_rows(x, out, detail::piece_range(n, p, pieces));
  };
  team_->run(pieces, piece);
}

namespace {

// 1 / (rows x d_out) for the mean: the gradient of a mean is the gradient of the sum, scaled.
double reduction_scale(Reduction reduction, std::size_t rows, std::size_t outputs) {
  return reduction == Reduction::Mean
             ? 1.0 / (static_cast<double>(rows) * static_cast<double>(outputs))
             : 1.0;
}

}  // namespace

template <class T>
double Network<T>::loss(MatrixView<const T> x, MatrixView<const T> y, Reduction reduction) {
  check_batch("loss", x, &y);
  // Past a block of rows, a window of predictions at a time (predict(x, out) says why); the
  // same bits and refusals.
  if (x.rows() > detail::block_rows<T>(widths_)) {
    require_apart("loss", "x", x);
    require_apart("loss", "y", y);
    return detail::loss_in_blocks<T>(*this, x, y, reduction);
  }
  const detail::SignalHold signals(detail::network_call_holds_signals<T>(widths_, x.rows(), 1),
                                   true);
  prepare(x.rows());
  require_apart("loss", "x", x);
  require_apart("loss", "y", y);
  const MatrixView<T> yhat = activation(weights_.size() - 1, x.rows());
  forward_into(x, yhat);
  const double loss = squared_error(MatrixView<const T>(yhat), y);
  // A non-finite loss of finite data is the weights' (diverged): returned as it is.
  if (!std::isfinite(loss)) require_finite_data("loss", x, y);
  return loss * reduction_scale(reduction, x.rows(), output_width());
}

template <class T>
Gradients<T> Network<T>::gradients(MatrixView<const T> x, MatrixView<const T> y,
                                   Reduction reduction) {
  Gradients<T> result;
  for (const Matrix<T>& w : weights_)
    result.dw.emplace_back(w.rows(), w.cols());
  result.loss = gradients(x, y, result.dw, reduction);
  return result;
}

template <class T>
double Network<T>::gradients(MatrixView<const T> x, MatrixView<const T> y,
                             std::vector<Matrix<T>>& dw, Reduction reduction) {
  const detail::SignalHold signals(detail::network_call_holds_signals<T>(widths_, x.rows(), 3),
                                   true);
  check_gradients_call(x, y, dw);  // and prepares the workspace
  const double loss = forward_and_input_gradients("gradients", x, y);
  const double scale = reduction_scale(reduction, x.rows(), output_width());
  weight_products(
      x, detail::gradient_pieces<T>(x.rows(), widths_), static_cast<T>(scale), T(0),
      [&](std::size_t k, detail::Range rows, std::size_t) {
        return dw[k].view().row_block(rows.begin, rows.count);
      },
      [](std::size_t, detail::Range, MatrixView<T>) {});
  return loss * scale;
}

template <class T>
double Network<T>::gradients_and_update(MatrixView<const T> x, MatrixView<const T> y,
                                        Reduction reduction, const detail::RowsTask<T>& update) {
  const detail::SignalHold signals(detail::network_call_holds_signals<T>(widths_, x.rows(), 3),
                                   true);
  check_batch("gradients", x, &y);
  prepare(x.rows());
  require_apart("gradients", "x", x);
  require_apart("gradients", "y", y);
  const std::size_t pieces = detail::gradient_pieces<T>(x.rows(), widths_);
  prepare_piece_gradients(pieces);
  const double loss = forward_and_input_gradients("gradients", x, y);
  const double scale = reduction_scale(reduction, x.rows(), output_width());
  weights_as_built_ = false;
  weight_products(
      x, pieces, static_cast<T>(scale), T(0),
      [&](std::size_t k, detail::Range rows, std::size_t slot) {
        return MatrixView<T>(workspace_.piece_gradients[slot].data(), rows.count, widths_[k + 1]);
      },
      [&](std::size_t k, detail::Range rows, MatrixView<T> g_rows) {
        update(k, rows.begin, weights_[k].view().row_block(rows.begin, rows.count), g_rows);
      });
  return loss * scale;
}

template <class T>
void Network<T>::update_rows(const detail::RowsTask<T>& update) {
  require_live("update_rows");
  prepare_team();
  weights_as_built_ = false;
  const std::size_t pieces = detail::update_pieces<T>(widths_);
  auto piece = [&](std::size_t p) {
    for (std::size_t k = 0; k < weights_.size(); ++k) {
      const detail::Range rows = detail::piece_range(widths_[k], p, pieces);
      if (rows.count > 0)
        update(k, rows.begin, weights_[k].view().row_block(rows.begin, rows.count), {});
    }
  };
  team_->run(pieces, piece);
}

template <class T>
double Network<T>::gradients(MatrixView<const T> x, MatrixView<const T> y,
                             const std::vector<MatrixView<T>>& dw, Reduction reduction,
                             const std::function<void(std::size_t)>& on_layer) {
  const detail::SignalHold signals(detail::network_call_holds_signals<T>(widths_, x.rows(), 3),
                                   true);
  check_gradients_call(x, y, dw);  // and prepares the workspace
  const double loss = forward_and_input_gradients("gradients", x, y);
  const double scale = reduction_scale(reduction, x.rows(), output_width());
  // Last layer first, as backpropagation produces them: the first gradients done are the first
  // a caller can send. Each layer is one round of the team (the same products, per layer).
  for (std::size_t k = weights_.size(); k-- > 0;) {
    weight_products(
        x, detail::gradient_pieces<T>(x.rows(), widths_), static_cast<T>(scale), T(0),
        [&](std::size_t, detail::Range rows, std::size_t) {
          return dw[k].row_block(rows.begin, rows.count);
        },
        [](std::size_t, detail::Range, MatrixView<T>) {}, k);
    if (on_layer) on_layer(k);
  }
  return loss * scale;
}

template <class T>
double Network<T>::train_step(MatrixView<const T> x, MatrixView<const T> y, T lr,
                              Reduction reduction) {
  if (!(std::isfinite(lr) && lr > T(0))) {
    throw ValueError("train_step: learning rate must be finite and > 0, got " +
                     format_number(static_cast<double>(lr)));
  }
  check_batch("train_step", x, &y);
  const detail::SignalHold signals(detail::network_call_holds_signals<T>(widths_, x.rows(), 3),
                                   true);
  prepare(x.rows());
  require_apart("train_step", "x", x);
  require_apart("train_step", "y", y);
  const double loss = forward_and_input_gradients("train_step", x, y);
  const double scale = reduction_scale(reduction, x.rows(), output_width());
  // Fused SGD: w_k <- w_k - lr a_{k-1}^T g_k as one gemm per part, after every g_k has been
  // formed from the old weights.
  weights_as_built_ = false;
  weight_products(
      x, detail::weight_pieces<T>(x.rows(), widths_),
      static_cast<T>(-static_cast<double>(lr) * scale), T(1),
      [&](std::size_t k, detail::Range rows, std::size_t) {
        return weights_[k].view().row_block(rows.begin, rows.count);
      },
      [](std::size_t, detail::Range, MatrixView<T>) {});
  return loss * scale;
}

template class Network<float>;
template class Network<double>;

}  // namespace nobias
