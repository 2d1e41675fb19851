#include "nobias/network.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>

#include "gemm_on_this_thread.hpp"
#include "nobias/blas.hpp"
#include "nobias/kernels.hpp"
#include "worker_team.hpp"

namespace nobias {
namespace {

void check_widths(const std::vector<std::size_t>& widths) {
  if (widths.size() < 2) {
    throw ValueError("Network: expected at least two widths {d_in, ..., d_out}, got " +
                     std::to_string(widths.size()));
  }
  for (std::size_t k = 0; k < widths.size(); ++k) {
    if (widths[k] == 0) {
      throw ValueError("Network: width " + std::to_string(k) + " is 0; every width must be >= 1");
    }
  }
}

// Widths for drawn weights: each w_k must also be countable in bytes, or Matrix would refuse
// it without saying which layer it was.
template <class T>
std::vector<std::size_t> widths_of(const std::vector<std::size_t>& given) {
  check_widths(given);
  for (std::size_t k = 1; k < given.size(); ++k) {
    if (given[k] > std::numeric_limits<std::size_t>::max() / sizeof(T) / given[k - 1]) {
      throw ValueError("Network: w" + std::to_string(k) + " of " +
                       shape_string(given[k - 1], given[k]) + " elements of " +
                       std::to_string(sizeof(T)) + " bytes overflows size_t");
    }
  }
  return given;
}

template <class T>
std::vector<std::size_t> widths_of(const std::vector<Matrix<T>>& weights) {
  if (weights.empty()) throw ValueError("Network: expected at least one weight matrix, got none");
  std::vector<std::size_t> widths{weights.front().rows()};
  for (std::size_t k = 0; k < weights.size(); ++k) {
    const Matrix<T>& w = weights[k];
    if (w.rows() != widths.back()) {
      throw ShapeError("Network: w" + std::to_string(k + 1) + " is " +
                       shape_string(w.rows(), w.cols()) + " but w" + std::to_string(k) + " has " +
                       std::to_string(widths.back()) + " columns");
    }
    widths.push_back(w.cols());
  }
  check_widths(widths);
  // Given weights are checked once here: a NaN in them would otherwise surface as a diverged
  // loss, blamed on the learning rate.
  for (std::size_t k = 0; k < weights.size(); ++k)
    require_finite(weights[k], "Network: w" + std::to_string(k + 1));
  return widths;
}

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

template <class T>
Network<T>::Network(const std::vector<std::size_t>& widths, std::uint64_t seed, Init init)
    : widths_(widths_of<T>(widths)) {
  NormalGenerator generator(seed);
  for (std::size_t k = 1; k < widths_.size(); ++k) {
    weights_.emplace_back(widths_[k - 1], widths_[k]);
    const double fan_in = static_cast<double>(widths_[k - 1]);
    fill_normal(weights_.back().view(), generator,
                init == Init::He ? std::sqrt(2.0 / fan_in) : 1.0);
  }
}

template <class T>
Network<T>::Network(std::vector<Matrix<T>> weights)
    : widths_(widths_of(weights)), weights_(std::move(weights)) {}

template <class T>
MatrixView<const T> Network<T>::weight(std::size_t k) const {
  if (k >= weights_.size()) {
    throw ValueError("weight: index " + std::to_string(k) + " out of range, the network has " +
                     std::to_string(weights_.size()) + " weight matrices");
  }
  return weights_[k].view();
}

template <class T>
MatrixView<T> Network<T>::weight(std::size_t k) {
  std::as_const(*this).weight(k);  // range check
  return weights_[k].view();
}

template <class T>
void Network<T>::check_batch(const char* where, MatrixView<const T> x,
                             const MatrixView<const T>* y) const {
  // Strings are built only on the way to a throw: the happy path must not allocate.
  const auto fail = [where](const std::string& what) { throw ShapeError(where + (": " + what)); };
  if (x.rows() == 0) fail("x has no rows");
  if (x.cols() != input_width()) {
    fail("x has " + std::to_string(x.cols()) + " columns, network input has " +
         std::to_string(input_width()));
  }
  if (y == nullptr) return;
  if (y->cols() != output_width()) {
    fail("y has " + std::to_string(y->cols()) + " columns, network output has " +
         std::to_string(output_width()));
  }
  if (y->rows() != x.rows()) {
    fail("x has " + std::to_string(x.rows()) + " rows but y has " + std::to_string(y->rows()));
  }
}

template <class T>
Network<T>::Network(const Network& other) : widths_(other.widths_), weights_(other.weights_) {}

template <class T>
Network<T>& Network<T>::operator=(const Network& other) {
  if (this != &other) *this = Network(other);
  return *this;
}

template <class T>
Network<T>::Network(Network&&) noexcept = default;
template <class T>
Network<T>& Network<T>::operator=(Network&&) noexcept = default;
template <class T>
Network<T>::~Network() = default;

namespace {

// At least this many rows per part. With fewer, a step is bound by moving the weights, not
// by arithmetic: each core reads all of w_k for a sliver of h_k, and the half of w_k updated
// on the other core comes back through the caches every step. Measured on 2 cores: 2 rows
// per part is 2.4x slower than one core at n = 4; 8 rows per part is 7% (f32) to 18% (f64)
// faster at n = 16.
constexpr std::size_t kMinRowsPerPart = 8;

// Parts a step is cut into: the thread policy's count, or every available CPU, and never
// more than the CPUs there are: parts poll for each other, so a part without a core of its
// own stalls the whole step.
std::size_t parts_wanted() {
  const int setting = threads_setting();
  const int available = available_threads();
  return static_cast<std::size_t>(setting > 0 ? std::min(setting, available) : available);
}

// [begin, begin + count) of `total` for `part` of `parts` near-equal contiguous pieces.
std::pair<std::size_t, std::size_t> piece(std::size_t total, std::size_t part, std::size_t parts) {
  const std::size_t base = total / parts, extra = total % parts;
  const std::size_t begin = part * base + std::min(part, extra);
  return {begin, base + (part < extra ? 1 : 0)};
}

}  // namespace

// Sized for the largest batch seen; a smaller batch uses the leading rows. Built aside and
// swapped in, so a failed allocation leaves the old workspace whole.
template <class T>
void Network<T>::prepare(std::size_t n) {
  const std::size_t parts = parts_wanted();
  if (!team_ || static_cast<std::size_t>(team_->size()) != parts) {
    workspace_.parts.assign(parts, PartResult{});  // first: parts_for() reads its size
    team_ = std::make_unique<detail::WorkerTeam>(static_cast<int>(parts));
  }
  if (n <= workspace_.rows) return;
  Workspace fresh;
  const std::size_t layers = weights_.size();
  for (std::size_t k = 0; k < layers; ++k) {
    fresh.activations.emplace_back(n, widths_[k + 1]);
    if (k + 1 < layers) fresh.gradients.emplace_back(n, widths_[k + 1]);
  }
  fresh.parts.assign(parts, PartResult{});
  fresh.rows = n;
  workspace_ = std::move(fresh);
}

template <class T>
MatrixView<T> Network<T>::activation(std::size_t k, std::size_t n) {
  return MatrixView<T>(workspace_.activations[k].data(), n, widths_[k + 1]);
}

template <class T>
MatrixView<T> Network<T>::gradient(std::size_t k, std::size_t n) {
  // The output layer's gradient is written over yhat, in the last activation buffer.
  Matrix<T>& buffer =
      k + 1 == weights_.size() ? workspace_.activations[k] : workspace_.gradients[k];
  return MatrixView<T>(buffer.data(), n, widths_[k + 1]);
}

template <class T>
std::size_t Network<T>::parts_for(std::size_t n) const {
  return std::min(workspace_.parts.size(), std::max<std::size_t>(1, n / kMinRowsPerPart));
}

template <class T>
template <class Task>
void Network<T>::run_parts(std::size_t count, Task&& task) {
  if (count <= 1) {
    task(std::size_t{0});
    return;
  }
  auto guarded = [&](int part) {
    if (static_cast<std::size_t>(part) < count) task(static_cast<std::size_t>(part));
  };
  team_->run(guarded);
}

template <class T>
bool Network<T>::forward_rows(MatrixView<const T> x, MatrixView<T> out, std::size_t begin,
                              std::size_t count) {
  const std::size_t n = x.rows();
  MatrixView<const T> a = x.row_block(begin, count);
  bool finite = true;
  for (std::size_t k = 0; k < weights_.size(); ++k) {
    const bool last = k + 1 == weights_.size();
    const MatrixView<T> h = (last ? out : activation(k, n)).row_block(begin, count);
    detail::gemm_on_this_thread(Op::N, a, Op::N, weights_[k].view(), T(1), T(0), h);  // (1)(3)(5)
    if (!last) finite &= relu_forward(h);                                             // (2)(4)
    a = h;
  }
  return finite;
}

template <class T>
double Network<T>::forward_and_input_gradients(const char* where, MatrixView<const T> x,
                                               MatrixView<const T> y) {
  const std::size_t n = x.rows(), layers = weights_.size();
  const std::size_t parts = parts_for(n);
  run_parts(parts, [&](std::size_t part) {
    const auto [begin, count] = piece(n, part, parts);
    PartResult& result = workspace_.parts[part];
    result.hidden_finite = forward_rows(x, activation(layers - 1, n), begin, count);
    const MatrixView<T> g = gradient(layers - 1, n).row_block(begin, count);
    result.loss =
        residual_and_loss(g, MatrixView<const T>(g), y.row_block(begin, count));  // (6), 2(yhat-y)
    // g_{k-1} = relu'(h_{k-1}) o (g_k w_k^T), from the old w_k (docs/derivation.md, eqs. 26, 42).
    for (std::size_t k = layers - 1; k > 0; --k) {
      const MatrixView<T> g_prev = gradient(k - 1, n).row_block(begin, count);
      detail::gemm_on_this_thread(Op::N, gradient(k, n).row_block(begin, count), Op::T,
                                  weights_[k].view(), T(1), T(0), g_prev);
      apply_relu_mask(g_prev, activation(k - 1, n).row_block(begin, count));
    }
  });
  double loss = 0.0;  // summed in part order: the same parts give the same bits
  bool hidden_finite = true;
  for (std::size_t part = 0; part < parts; ++part) {
    loss += workspace_.parts[part].loss;
    hidden_finite = hidden_finite && workspace_.parts[part].hidden_finite;
  }
  // A hidden inf that ReLU zeroed leaves the loss finite but makes a gradient NaN (inf * 0):
  // such a step is as unusable as one with a NaN loss.
  if (!usable_loss<T>(loss) || !hidden_finite) {
    require_finite_data(where, x, y);
    const std::string what = usable_loss<T>(loss)
                                 ? "a hidden layer reached an infinity or a NaN (the loss, " +
                                       format_number(loss) + ", did not show it)"
                                 : "loss is " + format_number(loss);
    throw DivergenceError(std::string(where) + ": " + what +
                          "; weights left unchanged; try a smaller learning rate");
  }
  return loss;
}

template <class T>
template <class Target>
void Network<T>::weight_products(MatrixView<const T> x, T alpha, T beta, Target target) {
  const std::size_t n = x.rows();
  const std::size_t parts = parts_for(n);
  run_parts(parts, [&](std::size_t part) {
    for (std::size_t k = 0; k < weights_.size(); ++k) {
      const auto [begin, count] = piece(widths_[k], part, parts);
      if (count == 0) continue;
      // Rows [begin, begin + count) of a_{k-1}^T g_k take those columns of a_{k-1}.
      const MatrixView<const T> a_prev = k == 0 ? x : MatrixView<const T>(activation(k - 1, n));
      detail::gemm_on_this_thread(Op::T, a_prev.col_block(begin, count), Op::N, gradient(k, n),
                                  alpha, beta, target(k).row_block(begin, count));  // (44)-(46)
    }
  });
}

template <class T>
template <class Target>
void Network<T>::weight_product(MatrixView<const T> x, std::size_t k, T alpha, T beta,
                                Target target) {
  const std::size_t n = x.rows();
  const std::size_t parts = parts_for(n);
  run_parts(parts, [&](std::size_t part) {
    const auto [begin, count] = piece(widths_[k], part, parts);
    if (count == 0) return;
    const MatrixView<const T> a_prev = k == 0 ? x : MatrixView<const T>(activation(k - 1, n));
    detail::gemm_on_this_thread(Op::T, a_prev.col_block(begin, count), Op::N, gradient(k, n), alpha,
                                beta, target.row_block(begin, count));  // (44)-(46)
  });
}

// The const path: no workspace, no team; each product follows the thread policy.
template <class T>
void Network<T>::infer(MatrixView<const T> x, MatrixView<T> out, T* ping, T* pong) const {
  const std::size_t n = x.rows();
  MatrixView<const T> a = x;
  for (std::size_t k = 0; k < weights_.size(); ++k) {
    const bool last = k + 1 == weights_.size();
    const MatrixView<T> h = last ? out : MatrixView<T>(k % 2 ? pong : ping, n, widths_[k + 1]);
    gemm(Op::N, a, Op::N, weights_[k].view(), T(1), T(0), h);
    if (!last) relu_forward(h);
    a = h;
  }
}

template <class T>
Matrix<T> Network<T>::predict(MatrixView<const T> x) const {
  check_batch("predict", x, nullptr);
  const std::size_t hidden = widest_hidden(widths_);
  Matrix<T> out(x.rows(), output_width()), ping(x.rows(), hidden), pong(x.rows(), hidden);
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
  prepare(x.rows());
  const std::size_t parts = parts_for(x.rows());
  run_parts(parts, [&](std::size_t part) {
    const auto [begin, count] = piece(x.rows(), part, parts);
    forward_rows(x, out, begin, count);  // relu(-inf) = 0 is an answer; only training must refuse
  });
}

namespace {

// 1 / (rows x d_out) for the mean: the gradient of a mean is the gradient of the sum, scaled.
double reduction_scale(Reduction reduction, std::size_t rows, std::size_t outputs) {
  return reduction == Reduction::Mean
             ? 1.0 / (static_cast<double>(rows) * static_cast<double>(outputs))
             : 1.0;
}

// dw must hold one matrix shaped like each w_k (Matrix or MatrixView).
template <class T, class Gradient>
void check_gradient_shapes(const std::vector<Matrix<T>>& weights, const std::vector<Gradient>& dw) {
  if (dw.size() != weights.size()) {
    throw ShapeError("gradients: expected " + std::to_string(weights.size()) +
                     " gradient matrices, got " + std::to_string(dw.size()));
  }
  for (std::size_t k = 0; k < dw.size(); ++k) {
    if (dw[k].rows() != weights[k].rows() || dw[k].cols() != weights[k].cols()) {
      throw ShapeError("gradients: dw" + std::to_string(k + 1) + " is " +
                       shape_string(dw[k].rows(), dw[k].cols()) + ", w" + std::to_string(k + 1) +
                       " is " + shape_string(weights[k].rows(), weights[k].cols()));
    }
  }
}

}  // namespace

template <class T>
double Network<T>::loss(MatrixView<const T> x, MatrixView<const T> y, Reduction reduction) {
  check_batch("loss", x, &y);
  prepare(x.rows());
  const MatrixView<T> yhat = activation(weights_.size() - 1, x.rows());
  predict(x, yhat);
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
  check_batch("gradients", x, &y);
  check_gradient_shapes(weights_, dw);
  prepare(x.rows());
  const double loss = forward_and_input_gradients("gradients", x, y);
  const double scale = reduction_scale(reduction, x.rows(), output_width());
  weight_products(x, static_cast<T>(scale), T(0), [&](std::size_t k) { return dw[k].view(); });
  return loss * scale;
}

template <class T>
double Network<T>::gradients(MatrixView<const T> x, MatrixView<const T> y,
                             const std::vector<MatrixView<T>>& dw, Reduction reduction,
                             const std::function<void(std::size_t)>& on_layer) {
  check_batch("gradients", x, &y);
  check_gradient_shapes(weights_, dw);
  prepare(x.rows());
  const double loss = forward_and_input_gradients("gradients", x, y);
  const double scale = reduction_scale(reduction, x.rows(), output_width());
  // Last layer first, as backpropagation produces them: the first gradients done are the first
  // a caller can send. Each layer is one round of the team (the same products, per layer).
  for (std::size_t k = weights_.size(); k-- > 0;) {
    weight_product(x, k, static_cast<T>(scale), T(0), dw[k]);
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
  prepare(x.rows());
  const double loss = forward_and_input_gradients("train_step", x, y);
  const double scale = reduction_scale(reduction, x.rows(), output_width());
  // Fused SGD: w_k <- w_k - lr a_{k-1}^T g_k as one gemm per part, after every g_k has been
  // formed from the old weights.
  weight_products(x, static_cast<T>(-static_cast<double>(lr) * scale), T(1),
                  [&](std::size_t k) { return weights_[k].view(); });
  return loss * scale;
}

template class Network<float>;
template class Network<double>;

}  // namespace nobias
