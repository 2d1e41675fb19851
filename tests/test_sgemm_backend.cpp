// float32 products on each backend this build has (the BLAS always; oneDNN with NOBIAS_ONEDNN)
// against the triple loop of tests/reference, on odd shapes, views and steps.
#include <doctest/doctest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "nobias/blas.hpp"
#include "nobias/network.hpp"
#include "reference/reference.hpp"
#include "sgemm_backend.hpp"
#include "test_support.hpp"

#if NOBIAS_HAVE_ONEDNN
extern "C" int omp_get_max_threads(void) __attribute__((weak));
extern "C" void omp_set_num_threads(int) __attribute__((weak));
#endif

using nobias::Matrix;
using nobias::MatrixView;
using nobias::Op;
using nobias::detail::SgemmBackend;
using test_support::max_relative_error;
using test_support::random_matrix;

namespace {

std::vector<SgemmBackend> backends() {
  std::vector<SgemmBackend> all{SgemmBackend::Blas};
  if (nobias::detail::onednn_built_in()) all.push_back(SgemmBackend::OneDnn);
  return all;
}

const char* name(SgemmBackend backend) {
  return backend == SgemmBackend::OneDnn ? "onednn" : "blas";
}

// Sends float32 products to one backend for a scope, then back to the process's own choice.
struct UseBackend {
  explicit UseBackend(SgemmBackend backend) {
    nobias::detail::set_sgemm_backend_for_testing(backend);
  }
  ~UseBackend() { nobias::detail::set_sgemm_backend_for_testing(std::nullopt); }
};

}  // namespace

TEST_CASE("sgemm.each_backend_matches_the_triple_loop_on_odd_shapes") {
  // Small, single-row (a matrix-vector product to oneDNN) and blocked sizes, all odd.
  const std::size_t shapes[][3] = {{7, 13, 37}, {1, 29, 11}, {19, 1, 5}, {67, 129, 45}};
  for (const SgemmBackend backend : backends()) {
    const UseBackend use(backend);
    for (const auto& [m, k, n] : shapes) {
      for (Op op_a : {Op::N, Op::T}) {
        for (Op op_b : {Op::N, Op::T}) {
          for (const auto& [alpha, beta] : {std::pair{1.0f, 0.0f}, std::pair{-0.5f, 1.0f}}) {
            CAPTURE(name(backend));
            CAPTURE(m);
            CAPTURE(k);
            CAPTURE(n);
            CAPTURE(op_a == Op::T);
            CAPTURE(op_b == Op::T);
            CAPTURE(beta);
            const Matrix<float> a =
                op_a == Op::N ? random_matrix<float>(m, k, 1) : random_matrix<float>(k, m, 1);
            const Matrix<float> b =
                op_b == Op::N ? random_matrix<float>(k, n, 2) : random_matrix<float>(n, k, 2);
            Matrix<float> c = random_matrix<float>(m, n, 3);
            Matrix<float> expected = c;
            nobias::gemm(op_a, a, op_b, b, alpha, beta, c);
            reference::gemm<float>(op_a, a, op_b, b, alpha, beta, expected);
            CHECK(max_relative_error<float>(c, expected) <= test_support::tolerance<float>(k));
          }
        }
      }
    }
  }
}

TEST_CASE("sgemm.each_backend_reads_and_writes_views_with_a_leading_dimension") {
  // The weight products' pieces: columns of a wider a, rows of the target, beta = 1.
  const Matrix<float> wide = random_matrix<float>(23, 41, 4);
  const Matrix<float> g = random_matrix<float>(23, 9, 5);
  for (const SgemmBackend backend : backends()) {
    CAPTURE(name(backend));
    const UseBackend use(backend);
    Matrix<float> target = random_matrix<float>(41, 9, 6);
    Matrix<float> expected = target;
    const MatrixView<const float> columns = MatrixView<const float>(wide).col_block(5, 17);
    nobias::gemm(Op::T, columns, Op::N, g, -0.25f, 1.0f, target.view().row_block(5, 17));
    reference::gemm<float>(Op::T, columns, Op::N, g, -0.25f, 1.0f,
                           expected.view().row_block(5, 17));
    CHECK(max_relative_error<float>(target, expected) <= test_support::tolerance<float>(23));
  }
}

TEST_CASE("sgemm.beta_zero_ignores_nan_in_c_on_each_backend") {
  const Matrix<float> a = random_matrix<float>(5, 3, 7), b = random_matrix<float>(3, 9, 8);
  for (const SgemmBackend backend : backends()) {
    CAPTURE(name(backend));
    const UseBackend use(backend);
    Matrix<float> c(5, 9), expected(5, 9);
    for (std::size_t i = 0; i < c.size(); ++i)
      c.data()[i] = NAN;
    nobias::gemm(Op::N, a, Op::N, b, 1.0f, 0.0f, c);
    reference::gemm<float>(Op::N, a, Op::N, b, 1.0f, 0.0f, expected);
    CHECK(max_relative_error<float>(c, expected) <= test_support::tolerance<float>(3));
  }
}

TEST_CASE("sgemm.backends_give_the_same_training_to_float32_rounding") {
  // Ten steps of an odd network on each backend, from the same weights: the losses agree.
  const Matrix<float> x = random_matrix<float>(53, 31, 9), y = random_matrix<float>(53, 3, 10);
  std::vector<std::vector<double>> losses;
  for (const SgemmBackend backend : backends()) {
    const UseBackend use(backend);
    nobias::Network<float> net({31, 17, 9, 3}, 11, nobias::Init::He);
    losses.emplace_back();
    for (int step = 0; step < 10; ++step)
      losses.back().push_back(net.train_step(x, y, 1e-3f));
  }
  for (std::size_t step = 0; step < losses.front().size(); ++step) {
    CAPTURE(step);
    CHECK(losses.back()[step] == doctest::Approx(losses.front()[step]).epsilon(1e-5));
  }
  CHECK(losses.front().back() < losses.front().front());  // it trained
}

#if NOBIAS_HAVE_ONEDNN
TEST_CASE("sgemm.onednn_leaves_the_callers_openmp_setting_as_it_was") {
  if (omp_get_max_threads == nullptr) return;  // oneDNN without OpenMP: nothing to leave
  const UseBackend use(SgemmBackend::OneDnn);
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
