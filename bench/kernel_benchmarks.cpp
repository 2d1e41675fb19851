// Each fused kernel against the unfused passes it replaces, with the bytes each moves.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "nobias/init.hpp"
#include "nobias/kernels.hpp"
#include "test_support.hpp"

namespace {

using nobias::Matrix;

using test_support::random_matrix;

constexpr std::size_t kCols = 100;  // a hidden layer of the seed's network

void set_bytes(benchmark::State& state, double bytes_per_iteration) {
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes_per_iteration) * state.iterations());
}

// relu in place with the mask in the sign bit, one pass: read h, write a.
template <class T>
void relu_forward_fused(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  Matrix<T> h = random_matrix<T>(n, kCols, 1);
  for (auto _ : state) {
    nobias::relu_forward(h);  // branch-free: the same work whatever the signs
    benchmark::ClobberMemory();
  }
  set_bytes(state, double(h.size()) * 2 * sizeof(T));
}

// The textbook way: the derivative as a matrix of T, then relu, two passes.
template <class T>
void relu_forward_unfused(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  Matrix<T> h = random_matrix<T>(n, kCols, 1);
  Matrix<T> derivative(n, kCols);
  for (auto _ : state) {
    for (std::size_t i = 0; i < h.size(); ++i)
      derivative.data()[i] = h.data()[i] >= T(0) ? T(1) : T(0);
    for (std::size_t i = 0; i < h.size(); ++i)
      h.data()[i] = h.data()[i] > T(0) ? h.data()[i] : T(0);
    benchmark::ClobberMemory();
  }
  set_bytes(state, double(h.size()) * 4 * sizeof(T));
}

template <class T>
void apply_mask_fused(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  Matrix<T> a = random_matrix<T>(n, kCols, 1), g = random_matrix<T>(n, kCols, 2);
  nobias::relu_forward(a);
  for (auto _ : state) {
    nobias::apply_relu_mask(g, a);
    benchmark::ClobberMemory();
  }
  set_bytes(state, double(g.size()) * 3 * sizeof(T));
}

// mlpack's old ReLU backward: build the derivative, then multiply in a second pass.
template <class T>
void apply_mask_unfused(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const Matrix<T> h = random_matrix<T>(n, kCols, 1);
  Matrix<T> g = random_matrix<T>(n, kCols, 2), derivative(n, kCols);
  for (auto _ : state) {
    for (std::size_t i = 0; i < h.size(); ++i)
      derivative.data()[i] = h.data()[i] >= T(0) ? T(1) : T(0);
    for (std::size_t i = 0; i < g.size(); ++i)
      g.data()[i] *= derivative.data()[i];
    benchmark::ClobberMemory();
  }
  set_bytes(state, double(g.size()) * 5 * sizeof(T));
}

template <class T>
void residual_and_loss_fused(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const Matrix<T> yhat = random_matrix<T>(n, kCols, 1), y = random_matrix<T>(n, kCols, 2);
  Matrix<T> g(n, kCols);
  for (auto _ : state)
    benchmark::DoNotOptimize(nobias::residual_and_loss(g, yhat, y));
  set_bytes(state, double(g.size()) * 3 * sizeof(T));
}

// Residual, then the loss from a second read of the residual.
template <class T>
void residual_and_loss_unfused(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const Matrix<T> yhat = random_matrix<T>(n, kCols, 1), y = random_matrix<T>(n, kCols, 2);
  Matrix<T> r(n, kCols), g(n, kCols);
  for (auto _ : state) {
    for (std::size_t i = 0; i < r.size(); ++i)
      r.data()[i] = yhat.data()[i] - y.data()[i];
    double loss = 0;
    for (std::size_t i = 0; i < r.size(); ++i)
      loss += double(r.data()[i]) * double(r.data()[i]);
    for (std::size_t i = 0; i < r.size(); ++i)
      g.data()[i] = T(2) * r.data()[i];
    benchmark::DoNotOptimize(loss);
    benchmark::ClobberMemory();
  }
  set_bytes(state, double(g.size()) * 6 * sizeof(T));
}

void rows(benchmark::internal::Benchmark* b) {
  b->ArgName("n")->Arg(64)->Arg(1024)->Arg(8192);
}

BENCHMARK(relu_forward_fused<float>)->Name("kernel_relu_forward_fused_f32")->Apply(rows);
BENCHMARK(relu_forward_unfused<float>)->Name("kernel_relu_forward_unfused_f32")->Apply(rows);
BENCHMARK(apply_mask_fused<float>)->Name("kernel_apply_mask_fused_f32")->Apply(rows);
BENCHMARK(apply_mask_unfused<float>)->Name("kernel_apply_mask_unfused_f32")->Apply(rows);
BENCHMARK(residual_and_loss_fused<float>)->Name("kernel_residual_loss_fused_f32")->Apply(rows);
BENCHMARK(residual_and_loss_unfused<float>)->Name("kernel_residual_loss_unfused_f32")->Apply(rows);
BENCHMARK(relu_forward_fused<double>)->Name("kernel_relu_forward_fused_f64")->Apply(rows);
BENCHMARK(relu_forward_unfused<double>)->Name("kernel_relu_forward_unfused_f64")->Apply(rows);
BENCHMARK(apply_mask_fused<double>)->Name("kernel_apply_mask_fused_f64")->Apply(rows);
BENCHMARK(apply_mask_unfused<double>)->Name("kernel_apply_mask_unfused_f64")->Apply(rows);
BENCHMARK(residual_and_loss_fused<double>)->Name("kernel_residual_loss_fused_f64")->Apply(rows);
BENCHMARK(residual_and_loss_unfused<double>)->Name("kernel_residual_loss_unfused_f64")->Apply(rows);

}  // namespace
