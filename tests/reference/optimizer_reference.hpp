// The optimizers' update, slow and obvious: one element at a time, one named temporary per
// term, in the order include/nobias/optimizer.hpp states it, in T. The fast update must give
// these bits exactly, whatever its instructions and threads (tests/test_optimizer.cpp; this
// file must be compiled without fused multiply-add, -ffp-contract=off).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "nobias/matrix.hpp"
#include "nobias/optimizer.hpp"

namespace reference {

// Below the smallest normal T a moment is 0.
template <class T>
T flush(T moment) {
  if (std::abs(moment) < std::numeric_limits<T>::min()) return T(0);
  return moment;
}

// Update number t (>= 1) of w from g; first is the velocity (Momentum) or m (Adam), second
// s (Adam). All shaped like w.
template <class T>
void optimizer_update(const nobias::OptimizerConfig& c, std::uint64_t t, nobias::Matrix<T>& w,
                      const nobias::Matrix<T>& g, nobias::Matrix<T>& first,
                      nobias::Matrix<T>& second) {
  const T lr = static_cast<T>(c.learning_rate);
  const T decay = static_cast<T>(c.weight_decay);
  const T mu = static_cast<T>(c.momentum);
  const T b1 = static_cast<T>(c.beta1), b2 = static_cast<T>(c.beta2);
  const T eps = static_cast<T>(c.epsilon);
  // The bias corrections, in double, folded into the step and a factor of the denominator.
  const double correction1 = 1.0 - std::pow(c.beta1, static_cast<double>(t));
  const double correction2 = 1.0 - std::pow(c.beta2, static_cast<double>(t));
  const T step = static_cast<T>(c.learning_rate / correction1);
  const T r2 = static_cast<T>(1.0 / std::sqrt(correction2));
  for (std::size_t i = 0; i < w.rows(); ++i) {
    for (std::size_t j = 0; j < w.cols(); ++j) {
      T grad = g(i, j);
      if (decay != T(0)) {
        const T decay_term = decay * w(i, j);
        grad = grad + decay_term;
      }
      switch (c.kind) {
        case nobias::OptimizerKind::Sgd: {
          const T change = lr * grad;
          w(i, j) = w(i, j) - change;
          break;
        }
        case nobias::OptimizerKind::Momentum: {
          const T kept = mu * first(i, j);
          const T v = flush(kept + grad);
          first(i, j) = v;
          T direction = v;
          if (c.nesterov) {
            const T ahead = mu * v;
            direction = grad + ahead;
          }
          const T change = lr * direction;
          w(i, j) = w(i, j) - change;
          break;
        }
        case nobias::OptimizerKind::Adam: {
          const T kept1 = b1 * first(i, j);
          const T new1 = (T(1) - b1) * grad;
          const T m = flush(kept1 + new1);
          const T kept2 = b2 * second(i, j);
          const T scaled = (T(1) - b2) * grad;
          const T new2 = scaled * grad;
          const T s = flush(kept2 + new2);
          first(i, j) = m;
          second(i, j) = s;
          const T numerator = step * m;
          const T root = std::sqrt(s);
          const T denominator = root * r2 + eps;
          const T change = numerator / denominator;
          w(i, j) = w(i, j) - change;
          break;
        }
      }
    }
  }
}

}  // namespace reference
