// The backend behind gemm(): its threads, and what the reports say, for
// whichever NOBIAS_BLAS this build chose (the suite runs on OpenBLAS and on netlib's BLAS;
// blas.gemm.same_result_on_any_thread_count checks results on both).
#include <doctest/doctest.h>

#include <string>

#include "gemm/blas_backend.hpp"
#include "nobias/blas.hpp"
#include "nobias/threads.hpp"
#include "test_support.hpp"

using nobias::Matrix;
using nobias::Op;

namespace {

// A product large enough that a threaded BLAS would use every thread.
void large_product() {
  const Matrix<double> a = test_support::random_matrix<double>(64, 256, 1);
  const Matrix<double> b = test_support::random_matrix<double>(256, 128, 2);
  Matrix<double> c(64, 128);
  nobias::gemm(Op::N, a, Op::N, b, 1.0, 0.0, c);
}

}  // namespace

TEST_CASE("blas.backend.products_run_on_one_blas_thread_whatever_set_threads_says") {
  const test_support::AutomaticThreadsAfterwards restore;
  if (!nobias::blas_has_thread_control()) {
    CHECK(nobias::blas_description().find("no thread control") != std::string::npos);
    return;
  }
  // Something else in the process (a user's own call, numpy) may have set more: the next
  // product of nobias puts it back, so a step's pieces never run threaded products.
  for (const int threads : {2, 0, 1}) {
    CAPTURE(threads);
    nobias::set_threads(threads);
    nobias::detail::use_blas_threads(2);
    large_product();
    CHECK(nobias::detail::blas_threads() == 1);
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
