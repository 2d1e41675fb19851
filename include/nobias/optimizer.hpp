// Optimizers: how a gradient becomes a change of the weights. Plain SGD takes the fused path
// of Network::train_step (no gradient buffer); the others materialize dL/dw_k once per step
// into buffers sized at construction, so a step allocates nothing.
//
//   SGD        w <- w - lr (g + decay w)
//   Momentum   v <- mu v + (g + decay w);  w <- w - lr v     (PyTorch's convention)
//   Nesterov   v as above;                 w <- w - lr ((g + decay w) + mu v)
//   Adam       m <- b1 m + (1 - b1) g',  s <- b2 s + (1 - b2) g'^2,  g' = g + decay w,
//              w <- w - lr m / (1 - b1^t) / (sqrt(s / (1 - b2^t)) + eps)
#pragma once

#include <cstdint>
#include <vector>

#include "nobias/matrix.hpp"
#include "nobias/network.hpp"

namespace nobias {

enum class OptimizerKind { Sgd, Momentum, Adam };

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::Sgd;
  double learning_rate = 1e-3;
  double momentum = 0.9;                              // Momentum
  bool nesterov = false;                              // Momentum
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;  // Adam
  double weight_decay = 0.0;                          // L2: adds decay w to every gradient
};

template <class T>
class Optimizer {
 public:
  // Checks the configuration (ValueError naming the bad field), also as T: a learning rate
  // that rounds to 0 or to infinity in float is refused, and sizes the state for net.
  Optimizer(const OptimizerConfig& config, const Network<T>& net);

  const OptimizerConfig& config() const { return config_; }

  // One update of net's weights from the batch (x, y); returns L before the update.
  // A loss that is not finite throws DivergenceError and leaves weights and state as they were.
  double step(Network<T>& net, MatrixView<const T> x, MatrixView<const T> y,
              Reduction reduction = Reduction::Sum);

  // One update of net's weights from gradients computed elsewhere (dL/dw_k shaped like w_k;
  // e.g. summed over the ranks of a distributed step): the same update step() makes. The
  // gradients are taken as they are (finite: the caller checked the loss). ShapeError if a
  // gradient's shape is not its weight's.
  void apply(Network<T>& net, const std::vector<MatrixView<const T>>& gradients);

  // The state a checkpoint must keep: updates taken, and the per-layer moments
  // (Momentum: velocity in first(); Adam: first and second moments). Empty for SGD.
  std::uint64_t steps_taken() const { return steps_; }
  std::vector<Matrix<T>>& first() { return first_; }
  std::vector<Matrix<T>>& second() { return second_; }
  void set_steps_taken(std::uint64_t steps) { steps_ = steps; }

 private:
  OptimizerConfig config_;
  std::uint64_t steps_ = 0;
  // The update itself, from one contiguous gradient per layer (Matrix or MatrixView; shapes
  // checked by the caller).
  template <class Gradient>
  void update(Network<T>& net, const std::vector<Gradient>& gradients);

  std::vector<Matrix<T>> gradients_, first_, second_;
};

extern template class Optimizer<float>;
extern template class Optimizer<double>;

}  // namespace nobias
