#include "nobias/optimizer.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/optimizer_update.hpp"
#include "core/overlap.hpp"
#include "nobias/error.hpp"
#include "nobias/kernels.hpp"
#include "nobias/names.hpp"

namespace nobias {
namespace {

// Says who refuses: "Optimizer", or "load_checkpoint: DIR: state.txt".
thread_local const std::string* g_who = nullptr;

void require(bool ok, const std::string& field, double value, const std::string& expected) {
  if (!ok) {
    // Not std::to_string: 1e-50 must not print as 0.000000. The fewest digits that read back
    // as the same double: 1e+39 stays 1e+39, and two values that differ never print alike.
    char text[40];
    for (int digits = 9; digits <= 17; ++digits) {
      std::snprintf(text, sizeof text, "%.*g", digits, value);
      if (std::strtod(text, nullptr) == value || value != value) break;
    }
    throw ValueError(*g_who + ": " + field + " must be " + expected + ", got " + text);
  }
}

void check(const OptimizerConfig& c, bool all_fields) {
  require(std::isfinite(c.learning_rate) && c.learning_rate > 0, "learning_rate", c.learning_rate,
          "finite and > 0");
  require(std::isfinite(c.weight_decay) && c.weight_decay >= 0, "weight_decay", c.weight_decay,
          "finite and >= 0");
  if (all_fields || c.kind == OptimizerKind::Momentum) {
    require(c.momentum >= 0 && c.momentum < 1, "momentum", c.momentum, "in [0, 1)");
  }
  if (all_fields || c.kind == OptimizerKind::Adam) {
    require(c.beta1 >= 0 && c.beta1 < 1, "beta1", c.beta1, "in [0, 1)");
    require(c.beta2 >= 0 && c.beta2 < 1, "beta2", c.beta2, "in [0, 1)");
    require(std::isfinite(c.epsilon) && c.epsilon > 0, "epsilon", c.epsilon, "finite and > 0");
  }
}

// The step computes in T: a value that is fine as a double may round to 0, to infinity or to
// 1 in float (lr 1e-50, lr or decay 1e39, beta2 0.999999999), and would then stop training
// or fill the weights with NaN without a word. Runs after check(): every value is finite.
void check_as_float(const OptimizerConfig& c, bool all_fields) {
  const auto as_float = [](double v) {  // beyond float's range a cast is undefined: inf it is
    constexpr double kMax = std::numeric_limits<float>::max();
    if (std::abs(v) > kMax) return std::copysign(std::numeric_limits<double>::infinity(), v);
    return static_cast<double>(static_cast<float>(v));
  };
  const std::string in = " in float (the network's type)";
  require(std::isfinite(as_float(c.learning_rate)) && as_float(c.learning_rate) > 0,
          "learning_rate", c.learning_rate, "finite and > 0" + in);
  require(std::isfinite(as_float(c.weight_decay)), "weight_decay", c.weight_decay, "finite" + in);
  if (all_fields || c.kind == OptimizerKind::Momentum) {
    require(as_float(c.momentum) < 1, "momentum", c.momentum, "< 1" + in);
  }
  if (all_fields || c.kind == OptimizerKind::Adam) {
    require(as_float(c.beta1) < 1, "beta1", c.beta1, "< 1" + in);
    require(as_float(c.beta2) < 1, "beta2", c.beta2, "< 1" + in);
    require(as_float(c.epsilon) > 0, "epsilon", c.epsilon, "> 0" + in);
  }
}

template <class T>
std::vector<Matrix<T>> shaped_like(const Network<T>& net) {
  std::vector<Matrix<T>> out;
  for (const Matrix<T>& w : net.weights())
    out.emplace_back(w.rows(), w.cols());
  return out;
}

std::string widths_string(const std::vector<std::size_t>& widths) {
  std::string text = "{";
  for (std::size_t k = 0; k < widths.size(); ++k)
    text += (k ? ", " : "") + std::to_string(widths[k]);
  return text + "}";
}

}  // namespace

template <class T>
void check_optimizer_config(const OptimizerConfig& config, const std::string& who,
                            bool all_fields) {
  const std::string* outer = g_who;
  g_who = &who;
  try {
    check(config, all_fields);
    if constexpr (std::is_same_v<T, float>) check_as_float(config, all_fields);
  } catch (...) {
    g_who = outer;
    throw;
  }
  g_who = outer;
}

template <class T>
Optimizer<T>::Optimizer(const OptimizerConfig& config, const Network<T>& net)
    : config_(config), widths_(net.widths()) {
  check_optimizer_config<T>(config_, "Optimizer");
  if (config_.kind != OptimizerKind::Sgd) first_ = shaped_like(net);
  if (config_.kind == OptimizerKind::Adam) second_ = shaped_like(net);
}

template <class T>
Optimizer<T>::Optimizer(const Optimizer& other)
    : config_((other.require_live("copy"), other.config_)),
      steps_(other.steps_),
      widths_(other.widths_),
      first_(other.first_),
      second_(other.second_) {}

template <class T>
Optimizer<T>& Optimizer<T>::operator=(const Optimizer& other) {
  if (this != &other) *this = Optimizer(other);
  return *this;
}

// What is left behind has no widths: every method then refuses it.
template <class T>
Optimizer<T>::Optimizer(Optimizer&& other) noexcept
    : config_(other.config_),
      steps_(std::exchange(other.steps_, 0)),
      widths_(std::exchange(other.widths_, {})),
      first_(std::exchange(other.first_, {})),
      second_(std::exchange(other.second_, {})) {}

template <class T>
Optimizer<T>& Optimizer<T>::operator=(Optimizer&& other) noexcept {
  if (this != &other) {
    config_ = other.config_;
    steps_ = std::exchange(other.steps_, 0);
    widths_ = std::exchange(other.widths_, {});
    first_ = std::exchange(other.first_, {});
    second_ = std::exchange(other.second_, {});
  }
  return *this;
}

template <class T>
void Optimizer<T>::require_live(const char* where) const {
  if (widths_.empty()) {
    throw ValueError(std::string("Optimizer::") + where + ": called on a moved-from Optimizer");
  }
}

template <class T>
const OptimizerConfig& Optimizer<T>::config() const {
  require_live("config");
  return config_;
}

template <class T>
std::uint64_t Optimizer<T>::steps_taken() const {
  require_live("steps_taken");
  return steps_;
}

template <class T>
OptimizerState<T> Optimizer<T>::state() const {
  require_live("state");
  OptimizerState<T> state;
  state.steps = steps_;
  for (const Matrix<T>& m : first_)
    state.first.push_back(m.view());
  for (const Matrix<T>& m : second_)
    state.second.push_back(m.view());
  return state;
}

template <class T>
void Optimizer<T>::restore(OptimizerKind kind, std::uint64_t steps,
                           const std::vector<Matrix<T>>& first,
                           const std::vector<Matrix<T>>& second) {
  require_live("restore");
  const std::string where = "Optimizer::restore: ";
  if (kind != config_.kind) {
    throw ValueError(where + "the state is of kind " + to_name(kind) + ", this optimizer's is " +
                     to_name(config_.kind));
  }
  if (steps > kMaxOptimizerSteps) {
    throw ValueError(where + "steps must be <= 2^53 = " + std::to_string(kMaxOptimizerSteps) +
                     " (Adam's step count must stay exact), got " + std::to_string(steps));
  }
  const auto check = [&](const std::vector<Matrix<T>>& mine, const std::vector<Matrix<T>>& given,
                         const char* what) {
    if (mine.size() != given.size()) {
      throw ShapeError(where + what + ": expected " + std::to_string(mine.size()) +
                       " matrices, got " + std::to_string(given.size()));
    }
    for (std::size_t k = 0; k < mine.size(); ++k) {
      const std::string name = what + std::to_string(k + 1);
      if (mine[k].rows() != given[k].rows() || mine[k].cols() != given[k].cols()) {
        throw ShapeError(where + name + " is " + shape_string(given[k].rows(), given[k].cols()) +
                         ", expected " + shape_string(mine[k].rows(), mine[k].cols()));
      }
      require_finite(given[k], where + name);
      const bool squares = std::string(what) == "second";
      for (std::size_t i = 0; i < given[k].size(); ++i) {
        const T v = given[k].data()[i];
        if (squares && v < T(0)) {
          throw ValueError(where + name + ": element " + std::to_string(i) + " is negative; " +
                           "second moments are squares");
        }
        if (steps == 0 && v != T(0)) {
          throw ValueError(where + "steps is 0 but " + name + " is not all zeros (element " +
                           std::to_string(i) + "): moments come from steps");
        }
      }
    }
  };
  check(first_, first, "first");
  check(second_, second, "second");
  for (std::size_t k = 0; k < first.size(); ++k)
    std::copy(first[k].data(), first[k].data() + first[k].size(), first_[k].data());
  for (std::size_t k = 0; k < second.size(); ++k)
    std::copy(second[k].data(), second[k].data() + second[k].size(), second_[k].data());
  steps_ = steps;
}

template <class T>
double Optimizer<T>::step(Network<T>& net, MatrixView<const T> x, MatrixView<const T> y,
                          Reduction reduction) {
  require_live("step");
  if (net.widths() != widths_) {
    throw ShapeError("Optimizer::step: sized for a network of widths " + widths_string(widths_) +
                     ", given one of " + widths_string(net.widths()));
  }
  if (steps_ >= kMaxOptimizerSteps) {
    throw ValueError("Optimizer::step: " + std::to_string(steps_) +
                     " steps taken, the most Adam's step count holds exactly (2^53)");
  }
  for (const auto* buffers : {&first_, &second_}) {
    for (const Matrix<T>& m : *buffers) {
      if (detail::overlap(x, m.view()) || detail::overlap(y, m.view())) {
        throw ValueError(std::string("Optimizer::step: ") +
                         (detail::overlap(x, m.view()) ? "x" : "y") +
                         " overlaps the optimizer's own moments; pass a copy");
      }
    }
  }
  net.require_apart("Optimizer::step", "x", x);
  net.require_apart("Optimizer::step", "y", y);
  const T lr = static_cast<T>(config_.learning_rate);
  if (config_.kind == OptimizerKind::Sgd && config_.weight_decay == 0) {
    // Plain SGD: the update folded into the gradient gemm.
    const double loss = net.train_step(x, y, lr, reduction);
    ++steps_;
    return loss;
  }
  // Each piece of rows of dL/dw_k is applied as soon as it is final, on the thread that formed
  // it; a divergence throws before any of it.
  const detail::UpdateRule<T> rule = detail::update_rule<T>(config_, steps_ + 1);
  auto rows = [&](std::size_t k, std::size_t first_row, MatrixView<T> w,
                  MatrixView<const T> gradient) {
    update_rows(rule, k, first_row, w, gradient.data());
  };
  const double loss = net.gradients_and_update(x, y, reduction, detail::RowsTask<T>(rows));
  ++steps_;
  return loss;
}

template <class T>
void Optimizer<T>::apply(Network<T>& net, const std::vector<MatrixView<const T>>& gradients) {
  require_live("apply");
  if (net.widths() != widths_) {
    throw ShapeError("Optimizer::apply: sized for a network of widths " + widths_string(widths_) +
                     ", given one of " + widths_string(net.widths()));
  }
  if (steps_ >= kMaxOptimizerSteps) {
    throw ValueError("Optimizer::apply: " + std::to_string(steps_) +
                     " steps taken, the most Adam's step count holds exactly (2^53)");
  }
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
  }
  // The update reads a gradient while it writes the weights and the moments.
  for (std::size_t k = 0; k < gradients.size(); ++k) {
    const std::string name = "gradient " + std::to_string(k + 1);
    net.require_apart("Optimizer::apply", name.c_str(), gradients[k]);
    for (const auto* buffers : {&first_, &second_}) {
      for (const Matrix<T>& m : *buffers) {
        if (detail::overlap(gradients[k], m.view())) {
          throw ValueError("Optimizer::apply: " + name +
                           " overlaps the optimizer's own moments; pass a copy");
        }
      }
    }
  }
  const detail::UpdateRule<T> rule = detail::update_rule<T>(config_, steps_ + 1);
  auto rows = [&](std::size_t k, std::size_t first_row, MatrixView<T> w, MatrixView<const T>) {
    update_rows(rule, k, first_row, w, gradients[k].data() + first_row * w.cols());
  };
  net.update_rows(detail::RowsTask<T>(rows));
  ++steps_;
}

template <class T>
void Optimizer<T>::update_rows(const detail::UpdateRule<T>& rule, std::size_t k,
                               std::size_t first_row, MatrixView<T> w, const T* gradient) {
  const std::size_t offset = first_row * w.cols();
  T* first = first_.empty() ? nullptr : first_[k].data() + offset;
  T* second = second_.empty() ? nullptr : second_[k].data() + offset;
  detail::update_span(rule, w.data(), gradient, first, second, w.rows() * w.cols());
}

template void check_optimizer_config<float>(const OptimizerConfig&, const std::string&, bool);
template void check_optimizer_config<double>(const OptimizerConfig&, const std::string&, bool);
template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace nobias
