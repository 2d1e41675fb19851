// The backend behind gemm(): what set_threads() reaches, and what the reports say, for
// whichever NOBIAS_BLAS this build chose (the suite runs on OpenBLAS and on netlib's BLAS).
#include <doctest/doctest.h>

#include <string>

#include "blas_backend.hpp"
#include "nobias/blas.hpp"
#include "reference/reference.hpp"
#include "test_support.hpp"

using nobias::Matrix;
using nobias::Op;

namespace {

// Restores the automatic policy however the test ends.
struct ThreadsRestored {
  ~ThreadsRestored() { nobias::set_threads(0); }
};

// A product large enough that the automatic policy would give it every thread.
void large_product() {
  const Matrix<double> a = test_support::random_matrix<double>(64, 256, 1);
  const Matrix<double> b = test_support::random_matrix<double>(256, 128, 2);
  Matrix<double> c(64, 128);
  nobias::gemm(Op::N, a, Op::N, b, 1.0, 0.0, c);
}

}  // namespace

TEST_CASE("blas.backend.set_threads_reaches_a_backend_with_thread_control") {
  const ThreadsRestored restore;
  if (!nobias::blas_has_thread_control()) {
    CHECK(nobias::blas_description().find("no thread control") != std::string::npos);
    return;
  }
  // Both ways, so that a backend already at one of the counts cannot pass by accident.
  for (const int threads : {2, 1, 2}) {
    CAPTURE(threads);
    nobias::set_threads(threads);
    large_product();
    CHECK(nobias::detail::blas_threads() == threads);
  }
}

TEST_CASE("blas.backend.description_names_the_backend") {
  const std::string description = nobias::blas_description();
  CAPTURE(description);
  if (nobias::blas_has_thread_control()) {
    CHECK(description.find("OpenBLAS") != std::string::npos);
  } else {
    CHECK(description.find("generic CBLAS from ") == 0);
  }
}

TEST_CASE_TEMPLATE("blas.backend.results_do_not_depend_on_thread_control", T, float, double) {
  // With or without control, every thread setting gives the reference's result.
  const ThreadsRestored restore;
  const Matrix<T> a = test_support::random_matrix<T>(33, 70, 3);
  const Matrix<T> b = test_support::random_matrix<T>(45, 70, 4);
  Matrix<T> expected(33, 45);
  reference::gemm<T>(Op::N, a, Op::T, b, T(1), T(0), expected);
  for (int threads : {1, 2, 0}) {
    CAPTURE(threads);
    nobias::set_threads(threads);
    Matrix<T> c(33, 45);
    nobias::gemm(Op::N, a, Op::T, b, T(1), T(0), c);
    CHECK(test_support::max_relative_error<T>(c, expected) <= test_support::tolerance<T>(70));
  }
}
