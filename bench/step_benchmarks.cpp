// A training step against the floor of its GEMMs alone, and inference, across batch sizes.
//
// Legend: n = rows of the batch, K = weight matrices, d_k = widths.
#include <benchmark/benchmark.h>
#include "gemm/blas_backend.hpp"
#include "gemm/dgemm_backend.hpp"

#include <cblas.h>
#if NOBIAS_BENCH_ONEDNN
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#endif

#include <cstdint>
#include <type_traits>
#include <vector>

#include "nobias/blas.hpp"
#include "nobias/init.hpp"
#include "nobias/network.hpp"
#include "nobias/threads.hpp"
#include "shapes.hpp"
#include "support/allocation_counter.hpp"
#include "test_support.hpp"

namespace {

using nobias::Matrix;

using test_support::random_matrix;

// Small enough that thousands of steps on one batch never diverge; speed does not care.
constexpr double kLearningRate = 1e-9;

void set_rates(benchmark::State& state, std::size_t n, double flops) {
  state.SetItemsProcessed(state.iterations() * static_cast<benchmark::IterationCount>(n));
  state.counters["FLOP/s"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

template <class T>
void train_step(benchmark::State& state, const std::vector<std::size_t>& widths) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const Matrix<T> x = random_matrix<T>(n, widths.front(), 1);
  const Matrix<T> y = random_matrix<T>(n, widths.back(), 2);
  nobias::Network<T> net(widths, 3, nobias::Init::He);
  net.train_step(x, y, T(kLearningRate));  // sizes the workspace outside the timed loop

  const long allocations_before = allocation_counter::count();
  for (auto _ : state) {
    benchmark::DoNotOptimize(net.train_step(x, y, T(kLearningRate)));
  }
  state.counters["allocs/step"] =
      static_cast<double>(allocation_counter::count() - allocations_before) /
      static_cast<double>(state.iterations());
  set_rates(state, n, bench::step_flops(widths, n));
}

template <class T>
void predict(benchmark::State& state, const std::vector<std::size_t>& widths) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const Matrix<T> x = random_matrix<T>(n, widths.front(), 1);
  Matrix<T> out(n, widths.back());
  nobias::Network<T> net(widths, 3, nobias::Init::He);
  net.predict(x, out);
  for (auto _ : state) {
    net.predict(x, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_rates(state, n, bench::forward_flops(widths, n));
}

// Where a floor's products run: the BLAS (cblas), oneDNN's sgemm (float32 only), or the
// AVX-512 Eigen GEMM nobias carries (float64 only, one thread).
enum class Backend { Blas, OneDnn, Eigen };

void raw_gemm(Backend backend, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, std::size_t m, std::size_t n,
              std::size_t k, float alpha, const float* a, std::size_t lda, const float* b,
              std::size_t ldb, float beta, float* c, std::size_t ldc) {
#if NOBIAS_BENCH_ONEDNN
  if (backend == Backend::OneDnn) {
    dnnl_sgemm(ta == CblasTrans ? 'T' : 'N', tb == CblasTrans ? 'T' : 'N', dnnl_dim_t(m),
               dnnl_dim_t(n), dnnl_dim_t(k), alpha, a, dnnl_dim_t(lda), b, dnnl_dim_t(ldb), beta, c,
               dnnl_dim_t(ldc));
    return;
  }
#endif
  (void)backend;
  cblas_sgemm(CblasRowMajor, ta, tb, int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb), beta,
              c, int(ldc));
}
void raw_gemm(Backend backend, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, std::size_t m, std::size_t n,
              std::size_t k, double alpha, const double* a, std::size_t lda, const double* b,
              std::size_t ldb, double beta, double* c, std::size_t ldc) {
  if (backend == Backend::Eigen) {
    nobias::detail::eigen_avx512_dgemm(ta == CblasTrans, tb == CblasTrans, m, n, k, alpha, a, lda,
                                       b, ldb, beta, c, ldc);
    return;
  }
  cblas_dgemm(CblasRowMajor, ta, tb, int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb), beta,
              c, int(ldc));
}

// Exactly the GEMM calls of one train_step (same shapes, flags, alpha and beta), called
// straight on cblas (or dnnl_sgemm) with nothing between them: the time a fused step can
// approach. threads: 1, or 0 for all the CPUs, as the backend threads a product itself.
template <class T>
void gemm_floor(benchmark::State& state, const std::vector<std::size_t>& widths, int threads,
                Backend backend = Backend::Blas) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::size_t layers = widths.size() - 1;
  std::vector<Matrix<T>> w, a, g;
  a.push_back(random_matrix<T>(n, widths[0], 1));
  for (std::size_t k = 1; k <= layers; ++k) {
    w.push_back(random_matrix<T>(widths[k - 1], widths[k], 10 + k));
    a.push_back(random_matrix<T>(n, widths[k], 20 + k));  // h_k, then a_k
    g.push_back(random_matrix<T>(n, widths[k], 30 + k));  // dL/dh_k
  }
  const int before = nobias::detail::blas_threads();
  nobias::detail::use_blas_threads(threads > 0 ? threads : nobias::available_threads());
#if NOBIAS_BENCH_ONEDNN
  const int omp_before = omp_get_max_threads();
  omp_set_num_threads(threads > 0 ? threads : nobias::available_threads());
#endif
  const T lr = T(kLearningRate);

  for (auto _ : state) {
    for (std::size_t k = 1; k <= layers; ++k) {  // h_k = a_{k-1} w_k
      raw_gemm(backend, CblasNoTrans, CblasNoTrans, n, widths[k], widths[k - 1], T(1),
               a[k - 1].data(), widths[k - 1], w[k - 1].data(), widths[k], T(0), a[k].data(),
               widths[k]);
    }
    for (std::size_t k = layers; k >= 1; --k) {
      if (k >= 2) {  // g_{k-1} = g_k w_k^T
        raw_gemm(backend, CblasNoTrans, CblasTrans, n, widths[k - 1], widths[k], T(1),
                 g[k - 1].data(), widths[k], w[k - 1].data(), widths[k], T(0), g[k - 2].data(),
                 widths[k - 1]);
      }
      // w_k -= lr a_{k-1}^T g_k
      raw_gemm(backend, CblasTrans, CblasNoTrans, widths[k - 1], widths[k], n, -lr, a[k - 1].data(),
               widths[k - 1], g[k - 1].data(), widths[k], T(1), w[k - 1].data(), widths[k]);
    }
    benchmark::ClobberMemory();
  }
  nobias::detail::use_blas_threads(before);
#if NOBIAS_BENCH_ONEDNN
  omp_set_num_threads(omp_before);
#endif
  set_rates(state, n, bench::step_flops(widths, n));
}

void batch_sizes(benchmark::internal::Benchmark* b) {
  b->ArgName("n");
  for (int n : bench::kBatchSizes)
    b->Arg(n);
  b->Unit(benchmark::kMicrosecond)->UseRealTime();
}

template <class Fn>
void add(const char* name, Fn fn) {
  batch_sizes(benchmark::RegisterBenchmark(name, fn));
}

const bool registered = [] {
  using bench::kDeepWidths, bench::kMnistWidths, bench::kSeedWidths;
  using State = benchmark::State;
  // Seed widths: the families the targets are stated on.
  add("train_step_f32", [](State& s) { train_step<float>(s, kSeedWidths); });
  add("train_step_f64", [](State& s) { train_step<double>(s, kSeedWidths); });
  add("gemm_floor_f32", [](State& s) { gemm_floor<float>(s, kSeedWidths, 0); });
  add("gemm_floor_f64", [](State& s) { gemm_floor<double>(s, kSeedWidths, 0); });
  add("gemm_floor_1t_f32", [](State& s) { gemm_floor<float>(s, kSeedWidths, 1); });
  add("gemm_floor_1t_f64", [](State& s) { gemm_floor<double>(s, kSeedWidths, 1); });
#if NOBIAS_BENCH_ONEDNN
  add("gemm_floor_onednn_f32",
      [](State& s) { gemm_floor<float>(s, kSeedWidths, 0, Backend::OneDnn); });
  add("gemm_floor_onednn_1t_f32",
      [](State& s) { gemm_floor<float>(s, kSeedWidths, 1, Backend::OneDnn); });
#endif
  if (nobias::detail::eigen_avx512_usable()) {
    add("gemm_floor_eigen_1t_f64",
        [](State& s) { gemm_floor<double>(s, kSeedWidths, 1, Backend::Eigen); });
  }
  add("predict_f32", [](State& s) { predict<float>(s, kSeedWidths); });
  add("predict_f64", [](State& s) { predict<double>(s, kSeedWidths); });
  // Two more realistic shapes, float32.
  add("train_step_mnist_f32", [](State& s) { train_step<float>(s, kMnistWidths); });
  add("gemm_floor_mnist_f32", [](State& s) { gemm_floor<float>(s, kMnistWidths, 0); });
  add("gemm_floor_1t_mnist_f32", [](State& s) { gemm_floor<float>(s, kMnistWidths, 1); });
#if NOBIAS_BENCH_ONEDNN
  add("gemm_floor_onednn_1t_mnist_f32",
      [](State& s) { gemm_floor<float>(s, kMnistWidths, 1, Backend::OneDnn); });
  add("gemm_floor_onednn_1t_deep_f32",
      [](State& s) { gemm_floor<float>(s, kDeepWidths, 1, Backend::OneDnn); });
#endif
  add("train_step_deep_f32", [](State& s) { train_step<float>(s, kDeepWidths); });
  add("gemm_floor_deep_f32", [](State& s) { gemm_floor<float>(s, kDeepWidths, 0); });
  add("gemm_floor_1t_deep_f32", [](State& s) { gemm_floor<float>(s, kDeepWidths, 1); });
  return true;
}();

}  // namespace
