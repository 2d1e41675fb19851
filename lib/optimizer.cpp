#include "nobias/optimizer.hpp"

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <type_traits>

#include "nobias/error.hpp"

namespace nobias {
namespace {

void require(bool ok, const std::string& field, double value, const std::string& expected) {
  if (!ok) {
    char text[32];  // not std::to_string: 1e-50 must not print as 0.000000
    std::snprintf(text, sizeof text, "%.9g", value);
    throw ValueError("Optimizer: " + field + " must be " + expected + ", got " + text);
  }
}

void check(const OptimizerConfig& c) {
  require(std::isfinite(c.learning_rate) && c.learning_rate > 0, "learning_rate", c.learning_rate,
          "finite and > 0");
  require(std::isfinite(c.weight_decay) && c.weight_decay >= 0, "weight_decay", c.weight_decay,
          "finite and >= 0");
  if (c.kind == OptimizerKind::Momentum) {
    require(c.momentum >= 0 && c.momentum < 1, "momentum", c.momentum, "in [0, 1)");
  }
  if (c.kind == OptimizerKind::Adam) {
    require(c.beta1 >= 0 && c.beta1 < 1, "beta1", c.beta1, "in [0, 1)");
    require(c.beta2 >= 0 && c.beta2 < 1, "beta2", c.beta2, "in [0, 1)");
    require(std::isfinite(c.epsilon) && c.epsilon > 0, "epsilon", c.epsilon, "finite and > 0");
  }
}

// The step computes in T: a value that is fine as a double may round to 0, to infinity or to
// 1 in float (lr 1e-50, lr or decay 1e39, beta2 0.999999999), and would then stop training
// or fill the weights with NaN without a word. Runs after check(): every value is finite.
void check_as_float(const OptimizerConfig& c) {
  const auto as_float = [](double v) {  // beyond float's range a cast is undefined: inf it is
    constexpr double kMax = std::numeric_limits<float>::max();
    if (std::abs(v) > kMax) return std::copysign(std::numeric_limits<double>::infinity(), v);
    return static_cast<double>(static_cast<float>(v));
  };
  const std::string in = " in float (the network's type)";
  require(std::isfinite(as_float(c.learning_rate)) && as_float(c.learning_rate) > 0,
          "learning_rate", c.learning_rate, "finite and > 0" + in);
  require(std::isfinite(as_float(c.weight_decay)), "weight_decay", c.weight_decay, "finite" + in);
  if (c.kind == OptimizerKind::Momentum) {
    require(as_float(c.momentum) < 1, "momentum", c.momentum, "< 1" + in);
  }
  if (c.kind == OptimizerKind::Adam) {
    require(as_float(c.beta1) < 1, "beta1", c.beta1, "< 1" + in);
    require(as_float(c.beta2) < 1, "beta2", c.beta2, "< 1" + in);
    require(as_float(c.epsilon) > 0, "epsilon", c.epsilon, "> 0" + in);
  }
}

// A moment of a weight whose gradient stays 0 decays geometrically into subnormal numbers,
// which x86 computes with ~100x slower microcode: measured, a digits run slowed 3x from
// epoch 17 on. Below the smallest normal number a moment is 0 to within its rounding.
template <class T>
T flush(T moment) {
  return std::abs(moment) < std::numeric_limits<T>::min() ? T(0) : moment;
}

template <class T>
std::vector<Matrix<T>> shaped_like(const Network<T>& net) {
  std::vector<Matrix<T>> out;
  for (const Matrix<T>& w : net.weights())
    out.emplace_back(w.rows(), w.cols());
  return out;
}

}  // namespace

template <class T>
Optimizer<T>::Optimizer(const OptimizerConfig& config, const Network<T>& net) : config_(config) {
  check(config_);
  if constexpr (std::is_same_v<T, float>) check_as_float(config_);
  const bool fused = config_.kind == OptimizerKind::Sgd && config_.weight_decay == 0;
  if (!fused) gradients_ = shaped_like(net);
  if (config_.kind != OptimizerKind::Sgd) first_ = shaped_like(net);
  if (config_.kind == OptimizerKind::Adam) second_ = shaped_like(net);
}

template <class T>
double Optimizer<T>::step(Network<T>& net, MatrixView<const T> x, MatrixView<const T> y,
                          Reduction reduction) {
  const T lr = static_cast<T>(config_.learning_rate);
  if (gradients_.empty()) {  // plain SGD: the update folded into the gradient gemm
    const double loss = net.train_step(x, y, lr, reduction);
    ++steps_;
    return loss;
  }
  if (gradients_.size() != net.layers()) {
    throw ShapeError("Optimizer: sized for " + std::to_string(gradients_.size()) +
                     " layers, the network has " + std::to_string(net.layers()));
  }
  const double loss = net.gradients(x, y, gradients_, reduction);  // throws before any change
  update(net, gradients_);
  return loss;
}

template <class T>
void Optimizer<T>::apply(Network<T>& net, const std::vector<MatrixView<const T>>& gradients) {
  if (gradients.size() != net.layers()) {
    throw ShapeError("Optimizer::apply: expected " + std::to_string(net.layers()) +
                     " gradient matrices, got " + std::to_string(gradients.size()));
  }
  for (std::size_t k = 0; k < gradients.size(); ++k) {
    const MatrixView<const T> w = net.weight(k);
    if (gradients[k].rows() != w.rows() || gradients[k].cols() != w.cols()) {
      throw ShapeError("Optimizer::apply: gradient " + std::to_string(k + 1) + " is " +
                       shape_string(gradients[k].rows(), gradients[k].cols()) + ", w" +
                       std::to_string(k + 1) + " is " + shape_string(w.rows(), w.cols()));
    }
    if (!gradients[k].contiguous()) {
      throw ShapeError("Optimizer::apply: gradient " + std::to_string(k + 1) +
                       " is a strided view; expected contiguous rows");
    }
    // The moments are sized for the network given at construction.
    if (!first_.empty() && (first_[k].rows() != w.rows() || first_[k].cols() != w.cols())) {
      throw ShapeError("Optimizer::apply: the optimizer was sized for another network");
    }
  }
  update(net, gradients);
}

template <class T>
template <class Gradient>
void Optimizer<T>::update(Network<T>& net, const std::vector<Gradient>& gradients) {
  ++steps_;
  const T lr = static_cast<T>(config_.learning_rate);
  const T decay = static_cast<T>(config_.weight_decay);
  const T mu = static_cast<T>(config_.momentum);
  const T b1 = static_cast<T>(config_.beta1), b2 = static_cast<T>(config_.beta2);
  const T eps = static_cast<T>(config_.epsilon);
  // Adam's bias corrections, folded into the step size and the denominator.
  const double t = static_cast<double>(steps_);
  const T correction1 = static_cast<T>(1.0 - std::pow(config_.beta1, t));
  const T correction2 = static_cast<T>(1.0 - std::pow(config_.beta2, t));

  for (std::size_t k = 0; k < net.layers(); ++k) {
    T* w = net.weight(k).data();
    const T* g = gradients[k].data();
    const std::size_t size = gradients[k].rows() * gradients[k].cols();
    switch (config_.kind) {
      case OptimizerKind::Sgd:
        for (std::size_t i = 0; i < size; ++i)
          w[i] -= lr * (g[i] + decay * w[i]);
        break;
      case OptimizerKind::Momentum: {
        T* v = first_[k].data();
        for (std::size_t i = 0; i < size; ++i) {
          const T grad = g[i] + decay * w[i];
          v[i] = flush(mu * v[i] + grad);
          w[i] -= lr * (config_.nesterov ? grad + mu * v[i] : v[i]);
        }
        break;
      }
      case OptimizerKind::Adam: {
        T* m = first_[k].data();
        T* s = second_[k].data();
        for (std::size_t i = 0; i < size; ++i) {
          const T grad = g[i] + decay * w[i];
          m[i] = flush(b1 * m[i] + (T(1) - b1) * grad);
          s[i] = flush(b2 * s[i] + (T(1) - b2) * grad * grad);
          w[i] -= lr * (m[i] / correction1) / (std::sqrt(s[i] / correction2) + eps);
        }
        break;
      }
    }
  }
}

template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace nobias
