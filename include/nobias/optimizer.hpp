// Optimizers: how a gradient becomes a change of the weights. Plain SGD takes the fused path
// of Network::train_step (no gradient buffer); the others form dL/dw_k a piece of rows at a
// time, in a scratch block per thread taking a piece (no more blocks than pieces, at most 4,
// together about the widest w_k), not in a copy of the weights. The network sizes the blocks on
// the first step that needs larger ones; later steps allocate nothing. The state kept is the
// moments.
//
//   SGD        w <- w - lr (g + decay w)
//   Momentum   v <- mu v + (g + decay w);  w <- w - lr v     (PyTorch's convention)
//   Nesterov   v as above;                 w <- w - lr ((g + decay w) + mu v)
//   Adam       m <- b1 m + (1 - b1) g',  s <- b2 s + (1 - b2) g'^2,  g' = g + decay w,
//              w <- w - lr m / (1 - b1^t) / (sqrt(s / (1 - b2^t)) + eps)
//
// A moment below the smallest normal T is 0 (subnormal arithmetic is ~100x slower on x86).
//
// How it is computed, and why its bits changed once (issue 22). The update runs at memory
// speed: vectorized (AVX-512, AVX2 or baseline x86-64, chosen at run time), split over the
// step's threads, and fused into the step: each piece of rows of dL/dw_k updates its weights
// and moments on the thread that formed it, while it is in cache (the gradients flowing to
// the layers below were formed from the old weights before); the thread's next piece forms
// its rows in the same block, so where a block fits in cache the gradients never reach memory.
// Adam's bias corrections are folded into two constants, step = lr / (1 - b1^t) and r2 = 1 / sqrt(1
// - b2^t), computed in double, so that a weight costs one division and one square root instead of
// three divisions and a square root:
//              w <- w - (step m) / (sqrt(s) r2 + eps)
// which rounds differently from the formula above (the same to within a few ulps). Weight
// decay by 0 now leaves g as it is (was g + 0 w: only a zero's sign could differ). The gradient
// products of these steps (and of Network::gradients) are cut into pieces by the update's
// size as well as by the batch's, which changes how their float sums round. Every operation is
// one IEEE operation in T with no fused multiply-add, so the bits do not depend on the
// instructions, the threads or the split: lib/core/optimizer_update.hpp gives the exact
// order, tests/reference/optimizer_reference.hpp the same in plain loops, and
// tests/test_optimizer.cpp holds them equal bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nobias/matrix.hpp"
#include "nobias/network.hpp"

namespace nobias {

namespace detail {
template <class T>
struct UpdateRule;
}  // namespace detail

enum class OptimizerKind { Sgd, Momentum, Adam };

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::Sgd;
  double learning_rate = 1e-3;
  double momentum = 0.9;                              // Momentum
  bool nesterov = false;                              // Momentum
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;  // Adam
  double weight_decay = 0.0;                          // L2: adds decay w to every gradient
};

// What an optimizer has learned besides the weights, read-only: the updates taken, and the
// per-layer moments (Momentum: the velocity in first; Adam: first and second moments; SGD:
// none), as views of the optimizer's own buffers, valid while it lives and is not moved.
template <class T>
struct OptimizerState {
  std::uint64_t steps = 0;
  std::vector<MatrixView<const T>> first, second;
};

// The most updates an optimizer counts: Adam's bias corrections take t as a double, exact up
// to 2^53. A state claiming more is refused by restore(), and step() refuses to go past it,
// so the count can never wrap to 0 and divide by 1 - beta^0 = 0.
inline constexpr std::uint64_t kMaxOptimizerSteps = std::uint64_t{1} << 53;

// Checks config as Optimizer's constructor does (ValueError naming the first bad field,
// prefixed by who), also as float when T is float. Every field, used by the kind or not, when
// all_fields: what a checkpoint stores must make sense whatever it is later used for.
template <class T>
void check_optimizer_config(const OptimizerConfig& config, const std::string& who,
                            bool all_fields = false);

// A moved-from Optimizer throws ValueError ("... a moved-from Optimizer") from every method
// but assignment and destruction: moving is allowed, using what was left behind is not.
template <class T>
class Optimizer {
 public:
  // Checks the configuration (ValueError naming the bad field), also as T: a learning rate
  // that rounds to 0 or to infinity in float is refused, and sizes the state for net.
  Optimizer(const OptimizerConfig& config, const Network<T>& net);

  Optimizer(const Optimizer& other);
  Optimizer& operator=(const Optimizer& other);
  Optimizer(Optimizer&& other) noexcept;
  Optimizer& operator=(Optimizer&& other) noexcept;
  ~Optimizer() = default;

  const OptimizerConfig& config() const;

  // One update of net's weights from the batch (x, y); returns L before the update.
  // A loss that is not finite throws DivergenceError and leaves weights and state as they were.
  // ShapeError if net is not shaped as the network the optimizer was made for; ValueError if
  // x or y overlaps net's weights or the optimizer's buffers, or if kMaxOptimizerSteps
  // updates have been taken.
  double step(Network<T>& net, MatrixView<const T> x, MatrixView<const T> y,
              Reduction reduction = Reduction::Sum);

  // One update of net's weights from gradients computed elsewhere (dL/dw_k shaped like w_k;
  // e.g. summed over the ranks of a distributed step): the same update step() makes. The
  // gradients are taken as they are (finite: the caller checked the loss). ShapeError if net is
  // not the network it was made for or a gradient's shape is not its weight's, or a gradient
  // is a strided view; ValueError past kMaxOptimizerSteps, as step().
  void apply(Network<T>& net, const std::vector<MatrixView<const T>>& gradients);

  std::uint64_t steps_taken() const;
  // The state a checkpoint must keep, as read-only views (a small vector is allocated).
  OptimizerState<T> state() const;

  // Puts a saved state back: it must come from an optimizer of the same kind (ValueError)
  // sized for the same network (ShapeError: each moment's shape, expected and given), with
  // steps <= kMaxOptimizerSteps, finite moments, second moments >= 0, and all-zero moments
  // when steps is 0 (ValueError naming the element). Values are copied into the optimizer's
  // own buffers. Checked in full before anything changes: on error the optimizer is as it was.
  void restore(OptimizerKind kind, std::uint64_t steps, const std::vector<Matrix<T>>& first,
               const std::vector<Matrix<T>>& second);

 private:
  void require_live(const char* where) const;

  OptimizerConfig config_;
  std::uint64_t steps_ = 0;
  // The update of rows first_row.. of w_k (w, contiguous) from those rows of dL/dw_k
  // (gradient, contiguous), on a thread of the step's team.
  void update_rows(const detail::UpdateRule<T>& rule, std::size_t k, std::size_t first_row,
                   MatrixView<T> w, const T* gradient);

  std::vector<std::size_t> widths_;        // of the network it was sized for; empty once moved from
  std::vector<Matrix<T>> first_, second_;  // the moments, shaped like the weights
};

extern template class Optimizer<float>;
extern template class Optimizer<double>;

}  // namespace nobias
