#include "nobias/network.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>

#include "nobias/blas.hpp"
#include "nobias/kernels.hpp"

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

std::vector<std::size_t> widths_of(const std::vector<std::size_t>& given) {
  check_widths(given);
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
  return widths;
}

std::size_t widest_hidden(const std::vector<std::size_t>& widths) {
  if (widths.size() < 3) return 0;
  return *std::max_element(widths.begin() + 1, widths.end() - 1);
}

}  // namespace

template <class T>
Network<T>::Network(const std::vector<std::size_t>& widths, std::uint64_t seed, Init init)
    : widths_(widths_of(widths)) {
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

// Sized for the largest batch seen; a smaller batch uses the leading rows. Built aside and
// swapped in, so a failed allocation leaves the old workspace whole.
template <class T>
void Network<T>::reserve(std::size_t n) {
  if (n <= workspace_.rows) return;
  Workspace fresh;
  const std::size_t layers = weights_.size();
  for (std::size_t k = 0; k < layers; ++k)
    fresh.activations.emplace_back(n, widths_[k + 1]);
  const std::size_t hidden = widest_hidden(widths_);
  fresh.ping = Matrix<T>(n, hidden);
  fresh.pong = Matrix<T>(n, hidden);
  fresh.rows = n;
  workspace_ = std::move(fresh);
}

template <class T>
MatrixView<T> Network<T>::forward(MatrixView<const T> x) {
  const std::size_t n = x.rows();
  reserve(n);
  MatrixView<const T> a = x;
  for (std::size_t k = 0; k < weights_.size(); ++k) {
    MatrixView<T> h(workspace_.activations[k].data(), n, widths_[k + 1]);
    gemm(Op::N, a, Op::N, weights_[k].view(), T(1), T(0), h);  // eqs. 1, 3, 5
    if (k + 1 < weights_.size()) relu_forward(h);              // eqs. 2, 4
    a = h;
  }
  return MatrixView<T>(workspace_.activations.back().data(), n, output_width());
}

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
template <class WeightProduct>
void Network<T>::backward(MatrixView<const T> x, MatrixView<T> g_out,
                          WeightProduct weight_product) {
  const std::size_t n = x.rows();
  MatrixView<T> g = g_out;
  for (std::size_t k = weights_.size(); k-- > 0;) {
    MatrixView<const T> a_prev = x;
    MatrixView<T> g_prev;
    if (k > 0) {
      a_prev = MatrixView<const T>(workspace_.activations[k - 1].data(), n, widths_[k]);
      // Alternate buffers so g_prev never overwrites g, which the weight product still needs.
      g_prev = MatrixView<T>((k % 2 ? workspace_.ping : workspace_.pong).data(), n, widths_[k]);
      gemm(Op::N, MatrixView<const T>(g), Op::T, weights_[k].view(), T(1), T(0), g_prev);
      apply_relu_mask(g_prev, a_prev);  // eqs. 26, 42
    }
    weight_product(k, a_prev, MatrixView<const T>(g));  // eqs. 44-46
    g = g_prev;
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
  reserve(x.rows());
  infer(x, out, workspace_.ping.data(), workspace_.pong.data());
}

template <class T>
double Network<T>::loss(MatrixView<const T> x, MatrixView<const T> y) {
  check_batch("loss", x, &y);
  reserve(x.rows());
  const MatrixView<T> yhat(workspace_.activations.back().data(), x.rows(), output_width());
  infer(x, yhat, workspace_.ping.data(), workspace_.pong.data());
  return squared_error(MatrixView<const T>(yhat), y);
}

template <class T>
Gradients<T> Network<T>::gradients(MatrixView<const T> x, MatrixView<const T> y) {
  Gradients<T> result;
  for (const Matrix<T>& w : weights_)
    result.dw.emplace_back(w.rows(), w.cols());
  result.loss = gradients(x, y, result.dw);
  return result;
}

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

}  // namespace

template <class T>
double Network<T>::gradients(MatrixView<const T> x, MatrixView<const T> y,
                             std::vector<Matrix<T>>& dw) {
  check_batch("gradients", x, &y);
  if (dw.size() != weights_.size()) {
    throw ShapeError("gradients: expected " + std::to_string(weights_.size()) +
                     " gradient matrices, got " + std::to_string(dw.size()));
  }
  for (std::size_t k = 0; k < dw.size(); ++k) {
    if (dw[k].rows() != weights_[k].rows() || dw[k].cols() != weights_[k].cols()) {
      throw ShapeError("gradients: dw" + std::to_string(k + 1) + " is " +
                       shape_string(dw[k].rows(), dw[k].cols()) + ", w" + std::to_string(k + 1) +
                       " is " + shape_string(weights_[k].rows(), weights_[k].cols()));
    }
  }
  const MatrixView<T> yhat = forward(x);
  const double loss = residual_and_loss(yhat, MatrixView<const T>(yhat), y);
  if (!usable_loss<T>(loss)) {
    throw DivergenceError("gradients: loss is " + format_number(loss) +
                          "; the weights or the data hold values too large or not finite");
  }
  backward(x, yhat, [&](std::size_t k, MatrixView<const T> a_prev, MatrixView<const T> g) {
    gemm(Op::T, a_prev, Op::N, g, T(1), T(0), dw[k].view());
  });
  return loss;
}

template <class T>
double Network<T>::train_step(MatrixView<const T> x, MatrixView<const T> y, T lr) {
  if (!(std::isfinite(lr) && lr > T(0))) {
    throw ValueError("train_step: learning rate must be finite and > 0, got " +
                     format_number(static_cast<double>(lr)));
  }
  check_batch("train_step", x, &y);
  const MatrixView<T> yhat = forward(x);
  const double loss = residual_and_loss(yhat, MatrixView<const T>(yhat), y);
  if (!usable_loss<T>(loss)) {
    throw DivergenceError("train_step: loss is " + format_number(loss) +
                          "; weights left unchanged; try a smaller learning rate");
  }
  // Fused SGD: w_k <- w_k - lr a_{k-1}^T g_k as one gemm, after backward has formed
  // g_{k-1} from the old w_k.
  backward(x, yhat, [&](std::size_t k, MatrixView<const T> a_prev, MatrixView<const T> g) {
    gemm(Op::T, a_prev, Op::N, g, -lr, T(1), weights_[k].view());
  });
  return loss;
}

template class Network<float>;
template class Network<double>;

}  // namespace nobias
