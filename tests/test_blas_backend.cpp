// The backend behind gemm(): what set_threads() reaches, and what the reports say, for
// whichever NOBIAS_BLAS this build chose (the suite runs on OpenBLAS and on netlib's BLAS;
// blas.gemm.same_result_on_any_thread_count checks results on both).
#include <doctest/doctest.h>

#include <string>

#include "blas_backend.hpp"
#include "nobias/blas.hpp"
#include "test_support.hpp"

using nobias::Matrix;
using nobias::Op;

namespace {

// A product large enough that the automatic policy would give it every thread.
void large_product() {
  const Matrix<double> a = test_support::random_matrix<double>(64, 256, 1);
  const Matrix<double> b = test_support::random_matrix<double>(256, 128, 2);
  Matrix<double> c(64, 128);
  nobias::gemm(Op::N, a, Op::N, b, 1.0, 0.0, c);
}

}  // namespace

TEST_CASE("blas.backend.set_threads_reaches_a_backend_with_thread_control") {
  const test_support::AutomaticThreadsAfterwards restore;
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
