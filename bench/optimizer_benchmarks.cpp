// What users run: epochs of the real-data recipe (shuffled batches of 32 or 256, the mean loss,
// lr 1e-3) under each optimizer, and the optimizer's update alone against a copy of as many
// bytes.
//
// Legend: n = rows of a batch, E = weights of the network (sum d_{k-1} d_k).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "nobias/network.hpp"
#include "nobias/optimizer.hpp"
#include "nobias/threads.hpp"
#include "shapes.hpp"
#include "test_support.hpp"

namespace {

using nobias::Matrix;
using nobias::OptimizerKind;
using test_support::random_matrix;

// Rows of the data set an epoch runs over: enough for hundreds of steps at a batch of 32, few
// enough that an epoch of the widest network takes a fraction of a second.
constexpr std::size_t kRows = 8192;

nobias::OptimizerConfig recipe(OptimizerKind kind) {
  nobias::OptimizerConfig config;
  config.kind = kind;
  config.learning_rate = 1e-3;  // the real-data default (nobias/defaults.hpp)
  return config;
}

// One epoch per iteration: a new order of the rows (as fit shuffles), each batch gathered into
// its own buffers, one Optimizer::step on the mean loss. Items are samples.
template <class T>
void epoch(benchmark::State& state, const std::vector<std::size_t>& widths, OptimizerKind kind) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const Matrix<T> x = random_matrix<T>(kRows, widths.front(), 1);
  const Matrix<T> y = random_matrix<T>(kRows, widths.back(), 2);
  Matrix<T> batch_x(n, widths.front()), batch_y(n, widths.back());
  nobias::Network<T> net(widths, 3, nobias::Init::Glorot);
  nobias::Optimizer<T> optimizer(recipe(kind), net);
  std::vector<std::size_t> order(kRows);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937_64 random(4);
  const auto gather = [&](std::size_t first) {
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t row = order[first + i];
      std::memcpy(batch_x.view().row(i), x.view().row(row), widths.front() * sizeof(T));
      std::memcpy(batch_y.view().row(i), y.view().row(row), widths.back() * sizeof(T));
    }
  };
  gather(0);
  optimizer.step(net, batch_x, batch_y, nobias::Reduction::Mean);  // sizes the workspace
  const std::size_t steps = kRows / n;
  for (auto _ : state) {
    std::shuffle(order.begin(), order.end(), random);
    for (std::size_t s = 0; s < steps; ++s) {
      gather(s * n);
      benchmark::DoNotOptimize(optimizer.step(net, batch_x, batch_y, nobias::Reduction::Mean));
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<benchmark::IterationCount>(steps * n));
}

// The bytes an update reads and writes per weight: w, and each moment, read and written; the
// gradient read.
double touched_per_weight(OptimizerKind kind) {
  return kind == OptimizerKind::Adam ? 7 : kind == OptimizerKind::Momentum ? 5 : 3;
}

// Optimizer::apply of fixed gradients: the update alone, on the step's threads (threads: 0 for
// all of them). Bytes are those it must touch at least.
template <class T>
void update(benchmark::State& state, const std::vector<std::size_t>& widths, OptimizerKind kind,
            int threads) {
  nobias::set_threads(threads);
  nobias::Network<T> net(widths, 3, nobias::Init::Glorot);
  std::vector<Matrix<T>> gradients;
  std::vector<nobias::MatrixView<const T>> views;
  double weights = 0;
  for (std::size_t k = 1; k < widths.size(); ++k) {
    gradients.push_back(random_matrix<T>(widths[k - 1], widths[k], 10 + k, 1e-3));
    weights += static_cast<double>(widths[k - 1] * widths[k]);
  }
  for (const Matrix<T>& g : gradients)
    views.push_back(g.view());
  nobias::OptimizerConfig config = recipe(kind);
  config.learning_rate = 1e-9;  // thousands of updates leave the weights where they were
  nobias::Optimizer<T> optimizer(config, net);
  optimizer.apply(net, views);
  for (auto _ : state) {
    optimizer.apply(net, views);
    benchmark::ClobberMemory();
  }
  nobias::set_threads(0);
  state.SetBytesProcessed(static_cast<std::int64_t>(weights * touched_per_weight(kind) * sizeof(T) *
                                                    double(state.iterations())));
}

// The floor: memcpy, on one thread, of as many bytes as Adam's update touches (half read, half
// written), over buffers as large as its state.
template <class T>
void copy_floor(benchmark::State& state, const std::vector<std::size_t>& widths) {
  std::size_t weights = 0;
  for (std::size_t k = 1; k < widths.size(); ++k)
    weights += widths[k - 1] * widths[k];
  const std::size_t bytes = weights * sizeof(T) * 7 / 2;
  std::vector<char> from(bytes, 1), to(bytes, 2);
  for (auto _ : state) {
    std::memcpy(to.data(), from.data(), bytes);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(2 * bytes) * state.iterations());
}

const char* name_of(OptimizerKind kind) {
  return kind == OptimizerKind::Adam       ? "adam"
         : kind == OptimizerKind::Momentum ? "momentum"
                                           : "sgd";
}

const bool registered = [] {
  using State = benchmark::State;
  struct Shape {
    const char* name;
    const std::vector<std::size_t>* widths;
  };
  for (const Shape shape :
       {Shape{"mnist", &bench::kMnistWidths}, Shape{"seed", &bench::kSeedWidths}}) {
    const std::vector<std::size_t>& widths = *shape.widths;
    for (const char* dtype : {"f32", "f64"}) {
      const bool f32 = std::string(dtype) == "f32";
      // Interleaved, so that the optimizers of one batch size are timed side by side.
      for (const int n : {32, 256}) {
        for (const OptimizerKind kind :
             {OptimizerKind::Sgd, OptimizerKind::Momentum, OptimizerKind::Adam}) {
          const std::string name =
              std::string("epoch_") + name_of(kind) + "_" + shape.name + "_" + dtype;
          auto* b = benchmark::RegisterBenchmark(name.c_str(), [=, &widths](State& s) {
            f32 ? epoch<float>(s, widths, kind) : epoch<double>(s, widths, kind);
          });
          b->ArgName("batch")->Arg(n)->Unit(benchmark::kMillisecond)->UseRealTime();
        }
      }
      for (const OptimizerKind kind : {OptimizerKind::Momentum, OptimizerKind::Adam}) {
        for (const int threads : {1, 0}) {
          const std::string name = std::string("update_") + name_of(kind) + "_" + shape.name + "_" +
                                   dtype + (threads == 1 ? "_1t" : "");
          benchmark::RegisterBenchmark(name.c_str(),
                                       [=, &widths](State& s) {
                                         f32 ? update<float>(s, widths, kind, threads)
                                             : update<double>(s, widths, kind, threads);
                                       })
              ->Unit(benchmark::kMicrosecond)
              ->UseRealTime();
        }
      }
      const std::string floor = std::string("update_copy_floor_") + shape.name + "_" + dtype;
      benchmark::RegisterBenchmark(floor.c_str(),
                                   [=, &widths](State& s) {
                                     f32 ? copy_floor<float>(s, widths)
                                         : copy_floor<double>(s, widths);
                                   })
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
    }
  }
  return true;
}();

}  // namespace
