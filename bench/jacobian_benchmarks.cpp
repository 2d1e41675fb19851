// J(x) of a batch (nobias/jacobian.hpp) against predict of the same rows, on the MNIST
// widths: the chain multiplied from its narrow end costs about min(d_in, d_out) forward
// passes (10 here), one more for the masks. Both on the calling thread (predict's const
// form), so the ratio is the work's.
//
// Legend: n = rows of the batch.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "nobias/jacobian.hpp"
#include "nobias/network.hpp"
#include "shapes.hpp"
#include "test_support.hpp"

namespace {

using nobias::Matrix;

template <class T>
void jacobians(benchmark::State& state, const std::vector<std::size_t>& widths) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const Matrix<T> x = test_support::random_matrix<T>(n, widths.front(), 1);
  const nobias::Network<T> net(widths, 3, nobias::Init::He);
  for (auto _ : state) {
    const Matrix<T> j = nobias::jacobians(net, x);
    benchmark::DoNotOptimize(j.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<benchmark::IterationCount>(n));
}

template <class T>
void predict_const(benchmark::State& state, const std::vector<std::size_t>& widths) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const Matrix<T> x = test_support::random_matrix<T>(n, widths.front(), 1);
  const nobias::Network<T> net(widths, 3, nobias::Init::He);
  for (auto _ : state) {
    const Matrix<T> out = net.predict(x);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<benchmark::IterationCount>(n));
}

template <class Fn>
void add(const char* name, Fn fn) {
  benchmark::RegisterBenchmark(name, fn)
      ->ArgName("n")
      ->Arg(1)
      ->Arg(64)
      ->Unit(benchmark::kMicrosecond)
      ->UseRealTime();
}

const bool registered = [] {
  using State = benchmark::State;
  add("jacobians_mnist_f32", [](State& s) { jacobians<float>(s, bench::kMnistWidths); });
  add("predict_const_mnist_f32", [](State& s) { predict_const<float>(s, bench::kMnistWidths); });
  add("jacobians_mnist_f64", [](State& s) { jacobians<double>(s, bench::kMnistWidths); });
  add("predict_const_mnist_f64", [](State& s) { predict_const<double>(s, bench::kMnistWidths); });
  return true;
}();

}  // namespace
