// Internal: the optimizer's update of one span of weights, elementwise, vectorized for the CPU.
// The arithmetic, per element, in T, in this order (include/nobias/optimizer.hpp says why):
//
//   g' = g + decay w                                   (g' = g when decay is 0)
//   SGD       w <- w - lr g'
//   Momentum  v <- flush(mu v + g');  w <- w - lr v, or w - lr (g' + mu v) with Nesterov
//   Adam      m <- flush(b1 m + (1 - b1) g');  s <- flush(b2 s + ((1 - b2) g') g')
//             w <- w - (step m) / (sqrt(s) r2 + eps),  step = lr / (1 - b1^t),
//                                                      r2 = 1 / sqrt(1 - b2^t) (both in double)
//   flush(v) = 0 when |v| < the smallest normal T, else v
//
// Every operation is IEEE (no fused multiply-add: the file is compiled with -ffp-contract=off),
// so the bits are those of the scalar loop on every CPU, whichever instructions run it and
// however the elements are split between threads.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nobias/optimizer.hpp"

namespace nobias::detail {

template <class T>
struct UpdateRule {
  OptimizerKind kind = OptimizerKind::Sgd;
  bool nesterov = false;
  T lr = 0, decay = 0, mu = 0;
  T b1 = 0, one_minus_b1 = 0, b2 = 0, one_minus_b2 = 0, eps = 0, step = 0, r2 = 0;
};

// The constants of update number t (>= 1) under config.
template <class T>
UpdateRule<T> update_rule(const OptimizerConfig& config, std::uint64_t t);

// One update of count weights w from their gradients g; first: the velocity (Momentum) or m
// (Adam), second: s (Adam); unused ones may be null. The spans may not overlap but in place.
template <class T>
void update_span(const UpdateRule<T>& rule, T* w, const T* g, T* first, T* second,
                 std::size_t count);

// The instructions update_span runs: the best this CPU has (baseline x86-64, AVX2, AVX-512),
// chosen once; each gives the same bits.
enum class UpdateIsa { Baseline, Avx2, Avx512 };
bool update_isa_usable(UpdateIsa isa);
// Tests only: run `isa` from now on (ValueError if this CPU cannot), or the CPU's best again.
void set_update_isa_for_testing(UpdateIsa isa);
void reset_update_isa_for_testing();

}  // namespace nobias::detail
