#include "nobias/network.hpp"

#include <algorithm>
#include <cmath>
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
                             MatrixView<const T>* y) const {
  const std::string w(where);
  if (x.rows() == 0) throw ShapeError(w + ": x has no rows");
  if (x.cols() != input_width()) {
    throw ShapeError(w + ": x has " + std::to_string(x.cols()) + " columns, network input has " +
                     std::to_string(input_width()));
  }
  if (y == nullptr) return;
  if (y->cols() != output_width()) {
    throw ShapeError(w + ": y has " + std::to_string(y->cols()) + " columns, network output has " +
                     std::to_string(output_width()));
  }
  if (y->rows() != x.rows()) {
    throw ShapeError(w + ": x has " + std::to_string(x.rows()) + " rows but y has " +
                     std::to_string(y->rows()));
  }
}

template <class T>
void Network<T>::reserve(std::size_t n) {
  if (n <= workspace_rows_) return;
  const std::size_t layers = weights_.size();
  activations_.clear();
  masks_.clear();
  for (std::size_t k = 0; k < layers; ++k) {
    activations_.emplace_back(n, widths_[k + 1]);
    if (k + 1 < layers) masks_.emplace_back(n, widths_[k + 1]);
  }
  const std::size_t hidden = widest_hidden(widths_);
  gradient_ping_ = Matrix<T>(n, hidden);
  gradient_pong_ = Matrix<T>(n, hidden);
  workspace_rows_ = n;
}

// The workspace is sized for the largest batch seen; a smaller batch uses its leading rows.
template <class T>
MatrixView<T> Network<T>::forward(MatrixView<const T> x) {
  const std::size_t n = x.rows();
  reserve(n);
  MatrixView<const T> a = x;
  for (std::size_t k = 0; k < weights_.size(); ++k) {
    MatrixView<T> h(activations_[k].data(), n, widths_[k + 1]);
    gemm(Op::N, a, Op::N, weights_[k].view(), T(1), T(0), h);  // eqs. 1, 3, 5
    if (k + 1 < weights_.size()) relu_forward(h, MatrixView<Mask>(masks_[k].data(), n, h.cols()));
    a = h;
  }
  return MatrixView<T>(activations_.back().data(), n, output_width());
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
      a_prev = MatrixView<const T>(activations_[k - 1].data(), n, widths_[k]);
      // Alternate buffers so g_prev never overwrites g, which the weight product still needs.
      g_prev = MatrixView<T>((k % 2 ? gradient_ping_ : gradient_pong_).data(), n, widths_[k]);
      gemm(Op::N, MatrixView<const T>(g), Op::T, weights_[k].view(), T(1), T(0), g_prev);
      apply_mask(g_prev, MatrixView<const Mask>(masks_[k - 1].data(), n, widths_[k]));  // eq. 26
    }
    weight_product(k, a_prev, MatrixView<const T>(g));  // eqs. 44-46
    g = g_prev;
  }
}

template <class T>
Matrix<T> Network<T>::predict(MatrixView<const T> x) const {
  check_batch("predict", x, nullptr);
  const std::size_t n = x.rows();
  const std::size_t hidden = widest_hidden(widths_);
  Matrix<T> out(n, output_width()), ping(n, hidden), pong(n, hidden);
  MatrixView<const T> a = x;
  for (std::size_t k = 0; k < weights_.size(); ++k) {
    const bool last = k + 1 == weights_.size();
    MatrixView<T> h =
        last ? out.view() : MatrixView<T>((k % 2 ? pong : ping).data(), n, widths_[k + 1]);
    gemm(Op::N, a, Op::N, weights_[k].view(), T(1), T(0), h);
    if (!last) relu_inplace(h);
    a = h;
  }
  return out;
}

template <class T>
void Network<T>::predict(MatrixView<const T> x, MatrixView<T> out) {
  check_batch("predict", x, nullptr);
  if (out.rows() != x.rows() || out.cols() != output_width()) {
    throw ShapeError("predict: out is " + shape_string(out.rows(), out.cols()) + ", expected " +
                     shape_string(x.rows(), output_width()));
  }
  const MatrixView<const T> yhat = forward(x);
  std::copy(yhat.data(), yhat.data() + yhat.size(), out.data());
}

template <class T>
double Network<T>::loss(MatrixView<const T> x, MatrixView<const T> y) {
  check_batch("loss", x, &y);
  return squared_error(MatrixView<const T>(forward(x)), y);
}

template <class T>
Gradients<T> Network<T>::gradients(MatrixView<const T> x, MatrixView<const T> y) {
  Gradients<T> result;
  for (const Matrix<T>& w : weights_)
    result.weights.emplace_back(w.rows(), w.cols());
  result.loss = gradients(x, y, result.weights);
  return result;
}

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
  if (!std::isfinite(loss)) {
    throw DivergenceError("gradients: loss is " + std::to_string(loss) +
                          "; the weights or the data hold values too large or non-finite");
  }
  backward(x, yhat, [&](std::size_t k, MatrixView<const T> a_prev, MatrixView<const T> g) {
    gemm(Op::T, a_prev, Op::N, g, T(1), T(0), dw[k].view());
  });
  return loss;
}

template <class T>
double Network<T>::train_step(MatrixView<const T> x, MatrixView<const T> y, T lr) {
  if (!(std::isfinite(lr) && lr > T(0))) {
    throw ValueError("train_step: learning rate must be finite and > 0, got " + std::to_string(lr));
  }
  check_batch("train_step", x, &y);
  const MatrixView<T> yhat = forward(x);
  const double loss = residual_and_loss(yhat, MatrixView<const T>(yhat), y);
  if (!std::isfinite(loss)) {
    throw DivergenceError("train_step: loss is " + std::to_string(loss) +
                          "; weights left unchanged; try a smaller learning rate");
  }
  // w_k <- w_k - lr a_{k-1}^T g_k as one gemm; backward has already formed g_{k-1} from the old
  // w_k.
  backward(x, yhat, [&](std::size_t k, MatrixView<const T> a_prev, MatrixView<const T> g) {
    gemm(Op::T, a_prev, Op::N, g, -lr, T(1), weights_[k].view());
  });
  return loss;
}

template class Network<float>;
template class Network<double>;

}  // namespace nobias
