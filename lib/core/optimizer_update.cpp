#include "core/optimizer_update.hpp"

#include <atomic>
#include <cmath>
#include <limits>

#include "gemm/blas_kernel.hpp"
#include "nobias/error.hpp"

namespace nobias::detail {

template <class T>
UpdateRule<T> update_rule(const OptimizerConfig& config, std::uint64_t t) {
  UpdateRule<T> rule;
  rule.kind = config.kind;
  rule.nesterov = config.nesterov;
  rule.lr = static_cast<T>(config.learning_rate);
  rule.decay = static_cast<T>(config.weight_decay);
  rule.mu = static_cast<T>(config.momentum);
  rule.b1 = static_cast<T>(config.beta1);
  rule.b2 = static_cast<T>(config.beta2);
  rule.one_minus_b1 = T(1) - rule.b1;
  rule.one_minus_b2 = T(1) - rule.b2;
  rule.eps = static_cast<T>(config.epsilon);
  // Adam's bias corrections, folded into the step size and a factor of the denominator: one
  // division and one square root per weight instead of three divisions and a square root.
  const double steps = static_cast<double>(t);
  rule.step = static_cast<T>(config.learning_rate / (1.0 - std::pow(config.beta1, steps)));
  rule.r2 = static_cast<T>(1.0 / std::sqrt(1.0 - std::pow(config.beta2, steps)));
  return rule;
}

template UpdateRule<float> update_rule<float>(const OptimizerConfig&, std::uint64_t);
template UpdateRule<double> update_rule<double>(const OptimizerConfig&, std::uint64_t);

namespace {

// The loops are written once, inlined into one entry point per instruction set, and
// vectorized there by the compiler (-O3): a compare and a select where the scalar code would
// branch. Only builtins inside, so that no function compiled for AVX-512 is shared with the
// rest of the program.
#define NOBIAS_INLINE inline __attribute__((always_inline))

NOBIAS_INLINE float magnitude(float v) {
  return __builtin_fabsf(v);
}
NOBIAS_INLINE double magnitude(double v) {
  return __builtin_fabs(v);
}
NOBIAS_INLINE float root(float v) {
  return __builtin_sqrtf(v);
}
NOBIAS_INLINE double root(double v) {
  return __builtin_sqrt(v);
}

// A moment of a weight whose gradient stays 0 decays geometrically into subnormal numbers,
// which x86 computes with ~100x slower microcode: measured, a digits run slowed 3x from
// epoch 17 on. Below the smallest normal number a moment is 0 to within its rounding.
template <class T>
NOBIAS_INLINE T flush(T moment) {
  return magnitude(moment) < std::numeric_limits<T>::min() ? T(0) : moment;
}

template <class T, bool Decay>
NOBIAS_INLINE T decayed(T g, T w, T decay) {
  if constexpr (Decay) {
    return g + decay * w;
  } else {
    return g;
  }
}

template <class T, bool Decay>
NOBIAS_INLINE void sgd(const UpdateRule<T>& r, T* __restrict w, const T* __restrict g,
                       std::size_t count) {
  const T lr = r.lr, decay = r.decay;
  for (std::size_t i = 0; i < count; ++i)
    w[i] = w[i] - lr * decayed<T, Decay>(g[i], w[i], decay);
}

template <class T, bool Decay, bool Nesterov>
NOBIAS_INLINE void momentum(const UpdateRule<T>& r, T* __restrict w, const T* __restrict g,
                            T* __restrict v, std::size_t count) {
  const T lr = r.lr, decay = r.decay, mu = r.mu;
  for (std::size_t i = 0; i < count; ++i) {
    const T grad = decayed<T, Decay>(g[i], w[i], decay);
    const T velocity = flush(mu * v[i] + grad);
    v[i] = velocity;
    w[i] = w[i] - lr * (Nesterov ? grad + mu * velocity : velocity);
  }
}

template <class T, bool Decay>
NOBIAS_INLINE void adam(const UpdateRule<T>& r, T* __restrict w, const T* __restrict g,
                        T* __restrict m, T* __restrict s, std::size_t count) {
  const T decay = r.decay, b1 = r.b1, c1 = r.one_minus_b1, b2 = r.b2, c2 = r.one_minus_b2;
  const T step = r.step, r2 = r.r2, eps = r.eps;
  for (std::size_t i = 0; i < count; ++i) {
    const T grad = decayed<T, Decay>(g[i], w[i], decay);
    const T first = flush(b1 * m[i] + c1 * grad);
    const T second = flush(b2 * s[i] + (c2 * grad) * grad);
    m[i] = first;
    s[i] = second;
    w[i] = w[i] - (step * first) / (root(second) * r2 + eps);
  }
}

template <class T>
NOBIAS_INLINE void update(const UpdateRule<T>& r, T* w, const T* g, T* first, T* second,
                          std::size_t count) {
  const bool decay = r.decay != T(0);
  switch (r.kind) {
    case OptimizerKind::Sgd:
      return decay ? sgd<T, true>(r, w, g, count) : sgd<T, false>(r, w, g, count);
    case OptimizerKind::Momentum:
      if (r.nesterov) {
        return decay ? momentum<T, true, true>(r, w, g, first, count)
                     : momentum<T, false, true>(r, w, g, first, count);
      }
      return decay ? momentum<T, true, false>(r, w, g, first, count)
                   : momentum<T, false, false>(r, w, g, first, count);
    case OptimizerKind::Adam:
      return decay ? adam<T, true>(r, w, g, first, second, count)
                   : adam<T, false>(r, w, g, first, second, count);
  }
}

template <class T>
void update_baseline(const UpdateRule<T>& r, T* w, const T* g, T* first, T* second,
                     std::size_t count) {
  update(r, w, g, first, second, count);
}

#if defined(__x86_64__) && defined(__GNUC__)
#define NOBIAS_X86_UPDATE 1
#if defined(__clang__)
#define NOBIAS_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq")))
#else
#define NOBIAS_TARGET_AVX512 \
  __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,prefer-vector-width=512")))
#endif

template <class T>
__attribute__((target("avx2"))) void update_avx2(const UpdateRule<T>& r, T* w, const T* g, T* first,
                                                 T* second, std::size_t count) {
  update(r, w, g, first, second, count);
}

template <class T>
NOBIAS_TARGET_AVX512 void update_avx512(const UpdateRule<T>& r, T* w, const T* g, T* first,
                                        T* second, std::size_t count) {
  update(r, w, g, first, second, count);
}
#else
#define NOBIAS_X86_UPDATE 0
#endif

// The same CPU checks as the BLAS kernel choice (gemm/blas_kernel.hpp): SkylakeX's needs are
// AVX-512's, Haswell's AVX2's, each with the OS saving the registers.
UpdateIsa best_isa() {
  static const UpdateIsa best = [] {
    const std::string core = best_core(this_cpu());
    if (NOBIAS_X86_UPDATE && core == "SkylakeX") return UpdateIsa::Avx512;
    if (NOBIAS_X86_UPDATE && core == "Haswell") return UpdateIsa::Avx2;
    return UpdateIsa::Baseline;
  }();
  return best;
}

constexpr int kAutomatic = -1;
std::atomic<int> g_forced{kAutomatic};

UpdateIsa isa_in_use() {
  const int forced = g_forced.load(std::memory_order_relaxed);
  return forced == kAutomatic ? best_isa() : static_cast<UpdateIsa>(forced);
}

}  // namespace

bool update_isa_usable(UpdateIsa isa) {
  const UpdateIsa best = best_isa();
  switch (isa) {
    case UpdateIsa::Baseline:
      return true;
    case UpdateIsa::Avx2:
      return best == UpdateIsa::Avx2 || best == UpdateIsa::Avx512;
    case UpdateIsa::Avx512:
      return best == UpdateIsa::Avx512;
  }
  return false;
}

void set_update_isa_for_testing(UpdateIsa isa) {
  if (!update_isa_usable(isa)) {
    throw ValueError("set_update_isa_for_testing: this CPU cannot run instruction set " +
                     std::to_string(static_cast<int>(isa)));
  }
  g_forced.store(static_cast<int>(isa));
}

void reset_update_isa_for_testing() {
  g_forced.store(kAutomatic);
}

template <class T>
void update_span(const UpdateRule<T>& rule, T* w, const T* g, T* first, T* second,
                 std::size_t count) {
#if NOBIAS_X86_UPDATE
  switch (isa_in_use()) {
    case UpdateIsa::Avx512:
      return update_avx512(rule, w, g, first, second, count);
    case UpdateIsa::Avx2:
      return update_avx2(rule, w, g, first, second, count);
    case UpdateIsa::Baseline:
      break;
  }
#endif
  update_baseline(rule, w, g, first, second, count);
}

template void update_span<float>(const UpdateRule<float>&, float*, const float*, float*, float*,
                                 std::size_t);
template void update_span<double>(const UpdateRule<double>&, double*, const double*, double*,
                                  double*, std::size_t);

}  // namespace nobias::detail
