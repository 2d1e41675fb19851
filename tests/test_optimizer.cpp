// The optimizers' fast update (lib/core/optimizer_update.*, fused into the step's phase 2)
// against the slow reference (tests/reference/optimizer_reference.hpp), bit for bit: on odd,
// non-square shapes cut into several pieces, for every instruction set this CPU runs, on 1 and
// 2 threads, for many steps, with gradients whose moments cross the subnormal range.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/optimizer_update.hpp"
#include "gemm/parallel.hpp"
#include "nobias/error.hpp"
#include "nobias/network.hpp"
#include "nobias/optimizer.hpp"
#include "nobias/threads.hpp"
#include "reference/optimizer_reference.hpp"
#include "test_support.hpp"

using nobias::Matrix;
using nobias::MatrixView;
using nobias::Network;
using nobias::Optimizer;
using nobias::OptimizerConfig;
using nobias::OptimizerKind;
using nobias::detail::UpdateIsa;
using test_support::same_bits;

namespace {

// 301 x 257 + 257 x 131 + 131 x 7: enough weights for several update pieces, and rows whose
// lengths leave a tail after every vector width.
const std::vector<std::size_t> kWidths{301, 257, 131, 7};
constexpr int kSteps = 24;

struct Case {
  const char* name;
  OptimizerConfig config;
};

std::vector<Case> cases() {
  std::vector<Case> all;
  const auto add = [&](const char* name, OptimizerKind kind, bool nesterov, double decay) {
    OptimizerConfig c;
    c.kind = kind;
    c.learning_rate = 1e-2;
    c.momentum = 0.8;
    c.nesterov = nesterov;
    c.beta1 = 0.7;  // the moments of a tiny gradient reach the subnormal range in few steps
    c.beta2 = 0.9;
    c.weight_decay = decay;
    all.push_back({name, c});
  };
  add("sgd with decay", OptimizerKind::Sgd, false, 0.1);
  add("sgd", OptimizerKind::Sgd, false, 0.0);
  add("momentum", OptimizerKind::Momentum, false, 0.0);
  add("momentum with decay", OptimizerKind::Momentum, false, 0.1);
  add("nesterov", OptimizerKind::Momentum, true, 0.0);
  add("nesterov with decay", OptimizerKind::Momentum, true, 0.1);
  add("adam", OptimizerKind::Adam, false, 0.0);
  add("adam with decay", OptimizerKind::Adam, false, 0.1);
  return all;
}

// The gradients of update `step`: normal values scaled by 2^-e, e drawn in [0, 150) for float
// and [0, 1080) for double, so that a share of every step's moments is subnormal before the
// flush, some gradients are subnormal themselves, and a few are 0.
template <class T>
std::vector<Matrix<T>> gradients_of(int step) {
  const int most = std::is_same_v<T, float> ? 150 : 1080;
  std::mt19937_64 exponents(static_cast<std::uint64_t>(step));
  std::vector<Matrix<T>> g;
  for (std::size_t k = 1; k < kWidths.size(); ++k) {
    Matrix<T> m = test_support::random_matrix<T>(kWidths[k - 1], kWidths[k],
                                                 1000 * static_cast<std::uint64_t>(step) + k);
    for (std::size_t i = 0; i < m.size(); ++i) {
      const std::uint64_t draw = exponents();
      const int e = static_cast<int>(draw % static_cast<std::uint64_t>(most));
      m.data()[i] = draw % 97 == 0 ? T(0) : std::ldexp(m.data()[i], -e);
    }
    g.push_back(std::move(m));
  }
  return g;
}

// Every step's gradients, made once.
template <class T>
const std::vector<std::vector<Matrix<T>>>& all_gradients() {
  static const std::vector<std::vector<Matrix<T>>> all = [] {
    std::vector<std::vector<Matrix<T>>> steps;
    for (int step = 1; step <= kSteps; ++step)
      steps.push_back(gradients_of<T>(step));
    return steps;
  }();
  return all;
}

template <class T>
std::vector<MatrixView<const T>> views_of(const std::vector<Matrix<T>>& matrices) {
  std::vector<MatrixView<const T>> views;
  for (const Matrix<T>& m : matrices)
    views.push_back(m.view());
  return views;
}

// Weights and moments after kSteps updates.
template <class T>
struct Outcome {
  std::vector<Matrix<T>> w, first, second;
};

template <class T>
Outcome<T> by_reference(const OptimizerConfig& config) {
  Outcome<T> out{test_support::random_weights<T>(kWidths, 7, 2.0), {}, {}};
  for (const Matrix<T>& w : out.w) {
    out.first.emplace_back(w.rows(), w.cols());
    out.second.emplace_back(w.rows(), w.cols());
  }
  for (int step = 1; step <= kSteps; ++step) {
    const std::vector<Matrix<T>>& g = all_gradients<T>()[static_cast<std::size_t>(step - 1)];
    for (std::size_t k = 0; k < out.w.size(); ++k)
      reference::optimizer_update<T>(config, static_cast<std::uint64_t>(step), out.w[k], g[k],
                                     out.first[k], out.second[k]);
  }
  return out;
}

template <class T>
void check_against(const Outcome<T>& expected, const Network<T>& net,
                   const Optimizer<T>& optimizer) {
  CHECK(same_bits<T>(expected.w, net.weights()));
  const nobias::OptimizerState<T> state = optimizer.state();
  const OptimizerKind kind = optimizer.config().kind;
  if (kind != OptimizerKind::Sgd) CHECK(same_bits<T>(expected.first, state.first));
  if (kind == OptimizerKind::Adam) CHECK(same_bits<T>(expected.second, state.second));
}

std::vector<UpdateIsa> usable_isas() {
  std::vector<UpdateIsa> all;
  for (const UpdateIsa isa : {UpdateIsa::Baseline, UpdateIsa::Avx2, UpdateIsa::Avx512})
    if (nobias::detail::update_isa_usable(isa)) all.push_back(isa);
  return all;
}

struct AutomaticIsaAfterwards {
  ~AutomaticIsaAfterwards() { nobias::detail::reset_update_isa_for_testing(); }
};

}  // namespace

TEST_CASE_TEMPLATE("optimizer.update.apply_matches_reference_bit_for_bit", T, float, double) {
  const test_support::AutomaticThreadsAfterwards threads_afterwards;
  const AutomaticIsaAfterwards isa_afterwards;
  REQUIRE(nobias::detail::update_pieces<T>(kWidths) > 1);  // else no split is tested
  for (const Case& c : cases()) {
    CAPTURE(std::string(c.name));
    const Outcome<T> expected = by_reference<T>(c.config);
    // Every instruction set on 2 threads, and the CPU's best (the last) on 1 as well.
    const std::vector<UpdateIsa> isas = usable_isas();
    for (const UpdateIsa isa : isas) {
      CAPTURE(static_cast<int>(isa));
      nobias::detail::set_update_isa_for_testing(isa);
      for (const int threads : {2, 1}) {
        if (threads == 1 && isa != isas.back()) continue;
        CAPTURE(threads);
        nobias::set_threads(threads);
        Network<T> net(test_support::random_weights<T>(kWidths, 7, 2.0));
        Optimizer<T> optimizer(c.config, net);
        for (const std::vector<Matrix<T>>& g : all_gradients<T>())
          optimizer.apply(net, views_of(g));
        check_against(expected, net, optimizer);
      }
    }
  }
}

// The fused step: each piece's rows updated as soon as its gradient rows are final. The same
// bits as the reference fed with gradients() of the same weights, on 1 and 2 threads. 150 rows:
// the step's products, and so its update, in more than one piece (oneDNN's float32 pieces take
// 64 rows or more).
TEST_CASE_TEMPLATE("optimizer.step.fused_update_matches_reference_bit_for_bit", T, float, double) {
  const test_support::AutomaticThreadsAfterwards threads_afterwards;
  const Matrix<T> x = test_support::random_matrix<T>(150, kWidths.front(), 11);
  const Matrix<T> y = test_support::random_matrix<T>(150, kWidths.back(), 12);
  REQUIRE(nobias::detail::gradient_pieces<T>(150, kWidths) > 1);
  for (const Case& c : cases()) {
    if (c.config.kind == OptimizerKind::Sgd && c.config.weight_decay == 0) continue;  // fused
    CAPTURE(std::string(c.name));
    // The reference's walk: the gradients of its own weights at every step.
    Network<T> walker(test_support::random_weights<T>(kWidths, 7, 2.0));
    Outcome<T> expected{walker.weights(), {}, {}};
    for (const Matrix<T>& w : expected.w) {
      expected.first.emplace_back(w.rows(), w.cols());
      expected.second.emplace_back(w.rows(), w.cols());
    }
    for (int step = 1; step <= 5; ++step) {
      const nobias::Gradients<T> g = walker.gradients(x, y, nobias::Reduction::Mean);
      for (std::size_t k = 0; k < expected.w.size(); ++k) {
        reference::optimizer_update<T>(c.config, static_cast<std::uint64_t>(step), expected.w[k],
                                       g.dw[k], expected.first[k], expected.second[k]);
        const MatrixView<T> w = walker.weight(k);
        std::copy(expected.w[k].data(), expected.w[k].data() + w.size(), w.data());
      }
    }
    for (const int threads : {1, 2}) {
      CAPTURE(threads);
      nobias::set_threads(threads);
      Network<T> net(test_support::random_weights<T>(kWidths, 7, 2.0));
      Optimizer<T> optimizer(c.config, net);
      for (int step = 1; step <= 5; ++step)
        optimizer.step(net, x, y, nobias::Reduction::Mean);
      check_against(expected, net, optimizer);
    }
  }
}

TEST_CASE_TEMPLATE("optimizer.update.moments_below_the_smallest_normal_are_zero", T, float,
                   double) {
  const AutomaticIsaAfterwards isa_afterwards;
  const T smallest = std::numeric_limits<T>::min();
  for (const UpdateIsa isa : usable_isas()) {
    CAPTURE(static_cast<int>(isa));
    nobias::detail::set_update_isa_for_testing(isa);
    // Momentum's first velocity is the gradient: the smallest normal stays, the next one
    // down (subnormal) is 0, and so is its negative. 37 weights: a vector body and a tail.
    OptimizerConfig c;
    c.kind = OptimizerKind::Momentum;
    c.learning_rate = 1.0;
    Network<T> net(std::vector<Matrix<T>>{Matrix<T>(37, 1)});
    Optimizer<T> optimizer(c, net);
    Matrix<T> g(37, 1);
    for (std::size_t i = 0; i < g.size(); ++i) {
      const T below = std::nextafter(smallest, T(0));
      g.data()[i] = i % 3 == 0 ? smallest : i % 3 == 1 ? below : -below;
    }
    optimizer.apply(net, {g.view()});
    const MatrixView<const T> v = optimizer.state().first[0];
    for (std::size_t i = 0; i < g.size(); ++i) {
      CAPTURE(i);
      CHECK(v.data()[i] == (i % 3 == 0 ? smallest : T(0)));
      CHECK(net.weight(0).data()[i] == (i % 3 == 0 ? -smallest : T(0)));
    }
  }
}

TEST_CASE_TEMPLATE("optimizer.apply.refuses_gradients_over_its_own_buffers", T, float, double) {
  Network<T> net({4, 3, 2}, 1);
  OptimizerConfig c;
  c.kind = OptimizerKind::Adam;
  Optimizer<T> optimizer(c, net);
  const Matrix<T> g2(3, 2);
  CHECK_THROWS_WITH_AS(optimizer.apply(net, {net.weight(0), g2.view()}),
                       doctest::Contains("Optimizer::apply: gradient 1 overlaps w1"),
                       nobias::ValueError);
  const MatrixView<const T> moment = optimizer.state().second[1];
  CHECK_THROWS_WITH_AS(optimizer.apply(net, {net.weight(0), moment}),
                       doctest::Contains("gradient 1 overlaps w1"), nobias::ValueError);
  const Matrix<T> g1(4, 3);
  CHECK_THROWS_WITH_AS(
      optimizer.apply(net, {g1.view(), moment}),
      "Optimizer::apply: gradient 2 overlaps the optimizer's own moments; pass a copy",
      nobias::ValueError);
  CHECK(optimizer.steps_taken() == 0);
}
