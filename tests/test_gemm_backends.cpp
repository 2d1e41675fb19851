// Products of each precision on each backend this build has and this CPU can run (float32:
// the BLAS, oneDNN with NOBIAS_ONEDNN; float64: the BLAS, Eigen's AVX-512 GEMM with
// NOBIAS_EIGEN) against the triple loop of tests/reference, on odd shapes, views and steps.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "gemm/backend_choice.hpp"
#include "gemm/blas_backend.hpp"
#include "gemm/dgemm_backend.hpp"
#include "gemm/sgemm_backend.hpp"
#include "nobias/blas.hpp"
#include "nobias/error.hpp"
#include "nobias/network.hpp"
#include "reference/reference.hpp"
#include "test_support.hpp"

#if NOBIAS_HAVE_ONEDNN
extern "C" int omp_get_max_threads(void) __attribute__((weak));
extern "C" void omp_set_num_threads(int) __attribute__((weak));
#endif

using nobias::Matrix;
using nobias::MatrixView;
using nobias::Op;
using nobias::detail::DgemmBackend;
using nobias::detail::SgemmBackend;
using test_support::max_relative_error;
using test_support::random_matrix;

namespace {

template <class T>
struct Backends;

template <>
struct Backends<float> {
  using Backend = SgemmBackend;
  static std::vector<Backend> all() {
    std::vector<Backend> all{Backend::Blas};
    if (nobias::detail::onednn_built_in()) all.push_back(Backend::OneDnn);
    return all;
  }
  static const char* name(Backend backend) {
    return backend == Backend::OneDnn ? "onednn" : "blas";
  }
  static void use(std::optional<Backend> backend) {
    nobias::detail::set_sgemm_backend_for_testing(backend);
  }
};

template <>
struct Backends<double> {
  using Backend = DgemmBackend;
  static std::vector<Backend> all() {
    std::vector<Backend> all{Backend::Blas};
    if (nobias::detail::eigen_avx512_usable()) all.push_back(Backend::EigenAvx512);
    return all;
  }
  static const char* name(Backend backend) {
    return backend == Backend::EigenAvx512 ? "eigen" : "blas";
  }
  static void use(std::optional<Backend> backend) {
    nobias::detail::set_dgemm_backend_for_testing(backend);
  }
};

// Sends type T's products to one backend for a scope, then back to the process's own choice.
template <class T>
struct UseBackend {
  explicit UseBackend(typename Backends<T>::Backend backend) { Backends<T>::use(backend); }
  ~UseBackend() { Backends<T>::use(std::nullopt); }
};

}  // namespace

TEST_CASE_TEMPLATE("gemm.each_backend_matches_the_triple_loop_on_odd_shapes", T, float, double) {
  // {m, k, n}: small, single-row (a matrix-vector product to oneDNN and Eigen), single-column
  // and blocked sizes, all odd; the last crosses Eigen's blocks (here about 500-800 deep, and
  // 130 of our rows).
  const std::size_t shapes[][3] = {{7, 13, 37}, {1, 29, 11},   {19, 1, 5},
                                   {23, 17, 1}, {67, 129, 45}, {301, 1031, 37}};
  for (const auto backend : Backends<T>::all()) {
    const UseBackend<T> use(backend);
    for (const auto& [m, k, n] : shapes) {
      for (Op op_a : {Op::N, Op::T}) {
        for (Op op_b : {Op::N, Op::T}) {
          for (const auto& [alpha, beta] :
               {std::pair{T(1), T(0)}, std::pair{T(-0.5), T(1)}, std::pair{T(2), T(-1)}}) {
            CAPTURE(Backends<T>::name(backend));
            CAPTURE(m);
            CAPTURE(k);
            CAPTURE(n);
            CAPTURE(op_a == Op::T);
            CAPTURE(op_b == Op::T);
            CAPTURE(beta);
            const Matrix<T> a =
                op_a == Op::N ? random_matrix<T>(m, k, 1) : random_matrix<T>(k, m, 1);
            const Matrix<T> b =
                op_b == Op::N ? random_matrix<T>(k, n, 2) : random_matrix<T>(n, k, 2);
            Matrix<T> c = random_matrix<T>(m, n, 3);
            Matrix<T> expected = c;
            nobias::gemm(op_a, a, op_b, b, alpha, beta, c);
            reference::gemm<T>(op_a, a, op_b, b, alpha, beta, expected);
            CHECK(max_relative_error<T>(c, expected) <= test_support::tolerance<T>(k));
          }
        }
      }
    }
  }
}

TEST_CASE_TEMPLATE("gemm.each_backend_reads_and_writes_views_with_a_leading_dimension", T, float,
                   double) {
  // The weight products' pieces: columns of a wider a, rows of the target, beta = 1.
  const Matrix<T> wide = random_matrix<T>(23, 41, 4);
  const Matrix<T> g = random_matrix<T>(23, 9, 5);
  for (const auto backend : Backends<T>::all()) {
    CAPTURE(Backends<T>::name(backend));
    const UseBackend<T> use(backend);
    Matrix<T> target = random_matrix<T>(41, 9, 6);
    Matrix<T> expected = target;
    const MatrixView<const T> columns = MatrixView<const T>(wide).col_block(5, 17);
    nobias::gemm(Op::T, columns, Op::N, g, T(-0.25), T(1), target.view().row_block(5, 17));
    reference::gemm<T>(Op::T, columns, Op::N, g, T(-0.25), T(1), expected.view().row_block(5, 17));
    CHECK(max_relative_error<T>(target, expected) <= test_support::tolerance<T>(23));
  }
}

TEST_CASE_TEMPLATE("gemm.each_backend_handles_every_operand_as_a_strided_view", T, float, double) {
  // a, b and c each a block of columns of a wider matrix (leading dimension > columns), for
  // every transpose pair; what lies outside c's block must stay as it was.
  constexpr std::size_t kPad = 5, kAt = 3;
  const std::size_t shapes[][3] = {{7, 13, 37}, {1, 29, 11}, {23, 17, 1}, {67, 129, 45}};
  for (const auto backend : Backends<T>::all()) {
    const UseBackend<T> use(backend);
    for (const auto& [m, k, n] : shapes) {
      for (Op op_a : {Op::N, Op::T}) {
        for (Op op_b : {Op::N, Op::T}) {
          CAPTURE(Backends<T>::name(backend));
          CAPTURE(m);
          CAPTURE(k);
          CAPTURE(n);
          CAPTURE(op_a == Op::T);
          CAPTURE(op_b == Op::T);
          const std::size_t a_rows = op_a == Op::N ? m : k, a_cols = op_a == Op::N ? k : m;
          const std::size_t b_rows = op_b == Op::N ? k : n, b_cols = op_b == Op::N ? n : k;
          const Matrix<T> a = random_matrix<T>(a_rows, a_cols + kPad, 21);
          const Matrix<T> b = random_matrix<T>(b_rows, b_cols + kPad, 22);
          Matrix<T> c = random_matrix<T>(m, n + kPad, 23);
          Matrix<T> expected = c;
          const auto a_view = MatrixView<const T>(a).col_block(kAt, a_cols);
          const auto b_view = MatrixView<const T>(b).col_block(kAt, b_cols);
          nobias::gemm(op_a, a_view, op_b, b_view, T(0.75), T(-0.5), c.view().col_block(kAt, n));
          reference::gemm<T>(op_a, a_view, op_b, b_view, T(0.75), T(-0.5),
                             expected.view().col_block(kAt, n));
          CHECK(max_relative_error<T>(c, expected) <= test_support::tolerance<T>(k));
        }
      }
    }
  }
}

TEST_CASE_TEMPLATE("gemm.beta_zero_ignores_nan_in_c_on_each_backend", T, float, double) {
  const Matrix<T> a = random_matrix<T>(5, 3, 7), b = random_matrix<T>(3, 9, 8);
  for (const auto backend : Backends<T>::all()) {
    CAPTURE(Backends<T>::name(backend));
    const UseBackend<T> use(backend);
    Matrix<T> c(5, 9), expected(5, 9);
    for (std::size_t i = 0; i < c.size(); ++i)
      c.data()[i] = T(NAN);
    nobias::gemm(Op::N, a, Op::N, b, T(1), T(0), c);
    reference::gemm<T>(Op::N, a, Op::N, b, T(1), T(0), expected);
    CHECK(max_relative_error<T>(c, expected) <= test_support::tolerance<T>(3));
  }
}

TEST_CASE_TEMPLATE("gemm.alpha_zero_reads_neither_a_nor_b_on_each_backend", T, float, double) {
  // As BLAS defines it: C = beta C, whatever a and b hold.
  Matrix<T> a = random_matrix<T>(6, 4, 24), b = random_matrix<T>(4, 5, 25);
  a(2, 1) = T(NAN);
  b(3, 0) = T(INFINITY);
  for (const auto backend : Backends<T>::all()) {
    CAPTURE(Backends<T>::name(backend));
    const UseBackend<T> use(backend);
    Matrix<T> c = random_matrix<T>(6, 5, 26);
    const Matrix<T> before = c;
    nobias::gemm(Op::N, a, Op::N, b, T(0), T(0.5), c);
    for (std::size_t i = 0; i < c.rows(); ++i)
      for (std::size_t j = 0; j < c.cols(); ++j)
        CHECK(c(i, j) == T(0.5) * before(i, j));
  }
}

TEST_CASE_TEMPLATE("gemm.backends_give_the_same_training_to_rounding", T, float, double) {
  // Ten steps of an odd network on each backend, from the same weights: the losses agree to
  // the precision's rounding.
  const Matrix<T> x = random_matrix<T>(53, 31, 9), y = random_matrix<T>(53, 3, 10);
  std::vector<std::vector<double>> losses;
  for (const auto backend : Backends<T>::all()) {
    const UseBackend<T> use(backend);
    nobias::Network<T> net({31, 17, 9, 3}, 11, nobias::Init::He);
    losses.emplace_back();
    for (int step = 0; step < 10; ++step)
      losses.back().push_back(net.train_step(x, y, T(1e-3)));
  }
  for (std::size_t step = 0; step < losses.front().size(); ++step) {
    CAPTURE(step);
    CHECK(losses.back()[step] ==
          doctest::Approx(losses.front()[step]).epsilon(std::is_same_v<T, float> ? 1e-5 : 1e-12));
  }
  CHECK(losses.front().back() < losses.front().front());  // it trained
}

#if NOBIAS_HAVE_ONEDNN
TEST_CASE("sgemm.onednn_leaves_the_callers_openmp_setting_as_it_was") {
  if (omp_get_max_threads == nullptr) return;  // oneDNN without OpenMP: nothing to leave
  const UseBackend<float> use(SgemmBackend::OneDnn);
  const int before = omp_get_max_threads();
  omp_set_num_threads(3);
  const Matrix<float> a = random_matrix<float>(64, 64, 12), b = random_matrix<float>(64, 64, 13);
  Matrix<float> c(64, 64);
  nobias::gemm(Op::N, a, Op::N, b, 1.0f, 0.0f, c);
  CHECK(omp_get_max_threads() == 3);
  omp_set_num_threads(before);
}

TEST_CASE("sgemm.description_names_onednn_and_who_chose_it") {
  const std::string description = nobias::blas_description();
  CAPTURE(description);
  const char* env = std::getenv("NOBIAS_SGEMM");
  if (env == nullptr) {
    CHECK(description.find("; float32 products on oneDNN ") != std::string::npos);
    CHECK(description.find("(chosen by nobias; NOBIAS_SGEMM=blas puts them on the BLAS)") !=
          std::string::npos);
  } else {
    CHECK(description.find(std::string("(chosen by the environment: NOBIAS_SGEMM=") + env + ")") !=
          std::string::npos);
  }
}
#endif

#if NOBIAS_HAVE_EIGEN
TEST_CASE("dgemm.says_when_eigen_goes_untested") {
  if (!nobias::detail::eigen_avx512_usable()) {
    MESSAGE(
        "Eigen's AVX-512 GEMM is built in, but this CPU cannot run it: the float64 "
        "backend tests ran on the BLAS alone");
  }
}

TEST_CASE("dgemm.description_names_eigen_where_the_cpu_has_avx512") {
  const std::string description = nobias::blas_description();
  CAPTURE(description);
  if (std::getenv("NOBIAS_DGEMM") != nullptr) return;  // the environment's choice, tested by cli
  if (nobias::detail::eigen_avx512_usable()) {
    CHECK(description.find("; float64 products on Eigen 3.") != std::string::npos);
    CHECK(description.find("compiled for AVX-512 (chosen by nobias; NOBIAS_DGEMM=blas puts them "
                           "on the BLAS)") != std::string::npos);
  } else {
    CHECK(description.find("; float64 products on the BLAS (Eigen's AVX-512 GEMM: this CPU") !=
          std::string::npos);
  }
}
#endif

namespace {

enum class Made { Up, Other, Missing };

// Sets a variable for a scope, then removes it.
struct ScopedVariable {
  ScopedVariable(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedVariable() { ::unsetenv(name_); }
  const char* name_;
};

Made choose_made() {
  using nobias::detail::BackendOption;
  return nobias::detail::backend_from_environment<Made>(
      "NOBIAS_TEST_BACKEND",
      {{"blas", Made::Up, ""}, {"other", Made::Other, ""}, {"missing", Made::Missing, "not here"}},
      Made::Other);
}

}  // namespace

TEST_CASE("gemm.backend_variables_name_a_backend_or_fail_with_what_was_expected") {
  ::unsetenv("NOBIAS_TEST_BACKEND");
  CHECK(choose_made() == Made::Other);  // unset: the fallback
  {
    const ScopedVariable v("NOBIAS_TEST_BACKEND", "blas");
    CHECK(choose_made() == Made::Up);
  }
  {
    const ScopedVariable v("NOBIAS_TEST_BACKEND", "mkl");
    CHECK_THROWS_WITH_AS(choose_made(),
                         "NOBIAS_TEST_BACKEND: expected \"blas\", \"other\" or \"missing\", got "
                         "\"mkl\"",
                         nobias::ValueError);
  }
  {
    const ScopedVariable v("NOBIAS_TEST_BACKEND", "missing");
    CHECK_THROWS_WITH_AS(choose_made(),
                         "NOBIAS_TEST_BACKEND=missing: not here; unset it, or set it to blas",
                         nobias::ValueError);
  }
  {
    const ScopedVariable v("NOBIAS_TEST_BACKEND", "");
    CHECK_THROWS_AS(choose_made(), nobias::ValueError);  // empty is not "unset"
  }
}

TEST_CASE("gemm.float32_warm_up_starts_a_thread_for_onednn_alone_and_changes_no_bits") {
  // A product while the warm-up runs (both may generate oneDNN's kernels: its call_once makes
  // one wait for the other) and after it: the same bits, the reference's values.
  const Matrix<float> a = random_matrix<float>(67, 129, 1), b = random_matrix<float>(129, 45, 2);
  Matrix<float> expected(67, 45);
  reference::gemm<float>(Op::N, a, Op::N, b, 1.0f, 0.0f, expected);
  for (const auto backend : Backends<float>::all()) {
    CAPTURE(Backends<float>::name(backend));
    const UseBackend<float> use(backend);
    Matrix<float> during(67, 45), after(67, 45);
    {
      const nobias::Float32WarmUp warm_up;
      CHECK(warm_up.started() == (backend == SgemmBackend::OneDnn));
      nobias::gemm(Op::N, a, Op::N, b, 1.0f, 0.0f, during);
    }
    nobias::gemm(Op::N, a, Op::N, b, 1.0f, 0.0f, after);
    CHECK(max_relative_error<float>(during, expected) <= test_support::tolerance<float>(129));
    CHECK(std::equal(during.data(), during.data() + 67 * 45, after.data()));
  }
}

// OpenBLAS starts its pool with this (weak: a serial build and other BLAS have none).
extern "C" int blas_thread_init(void) __attribute__((weak));

namespace {

// This process's threads (/proc/self/status), 0 where it cannot be read.
int process_threads() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  return 0;
}

}  // namespace

TEST_CASE("gemm.release_blas_threads_ends_openblas_pool_and_changes_no_bits") {
  // float64 products run on the BLAS (NOBIAS_DGEMM=blas): before, after, and after a second call.
  const UseBackend<double> use(DgemmBackend::Blas);
  const Matrix<double> a = random_matrix<double>(131, 67, 3), b = random_matrix<double>(67, 29, 4);
  Matrix<double> before(131, 29), after(131, 29), again(131, 29);
  nobias::gemm(Op::N, a, Op::N, b, 1.0, 0.0, before);
  // The pool as OpenBLAS starts it when loaded (an earlier test's fork ended it: OpenBLAS ends it
  // before a fork and starts it again only for a threaded product).
  if (blas_thread_init != nullptr) blas_thread_init();
  const int threads_before = process_threads();
  nobias::release_blas_threads();
  const int threads_after = process_threads();
  nobias::gemm(Op::N, a, Op::N, b, 1.0, 0.0, after);
  nobias::release_blas_threads();  // a second call: nothing left to end, no harm
  nobias::gemm(Op::N, a, Op::N, b, 1.0, 0.0, again);
  CHECK(std::equal(before.data(), before.data() + 131 * 29, after.data()));
  CHECK(std::equal(before.data(), before.data() + 131 * 29, again.data()));
  if (nobias::blas_has_thread_control()) CHECK(nobias::detail::blas_threads() == 1);
  CHECK(threads_after <= threads_before);
  // An OpenBLAS with a pool (the pthreads build, loaded on more than one core with no thread
  // count in the environment) had a thread per core but one: gone, and not started again by the
  // products after.
  const bool pool =
      blas_thread_init != nullptr && nobias::blas_description().rfind("OpenBLAS", 0) == 0 &&
      std::thread::hardware_concurrency() > 1 && std::getenv("OPENBLAS_NUM_THREADS") == nullptr &&
      std::getenv("GOTO_NUM_THREADS") == nullptr && std::getenv("OMP_NUM_THREADS") == nullptr &&
      nobias::blas_description().find("USE_OPENMP") == std::string::npos;
  if (pool) {
    CHECK(threads_after < threads_before);
    CHECK(process_threads() == threads_after);
  }
}
