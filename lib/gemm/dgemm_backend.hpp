// Internal: where float64 products run. With NOBIAS_EIGEN (the default where libeigen3-dev is
// found) they run on Eigen's GEMM compiled for AVX-512, where the CPU and OS have AVX-512;
// elsewhere, and with NOBIAS_DGEMM=blas in the environment, on the BLAS. Measured in
// bench/ANALYSIS.md ("float64 on AVX-512").
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace nobias::detail {

enum class DgemmBackend { Blas, EigenAvx512 };

// The backend of float64 products: NOBIAS_DGEMM if set ("blas" or "eigen"), else Eigen where
// it is built in and the CPU can run it, else the BLAS. A bad NOBIAS_DGEMM, or "eigen" where it
// cannot run, throws ValueError from every product.
DgemmBackend dgemm_backend();
// Tests only: overrides the choice above for the whole process; std::nullopt restores it.
void set_dgemm_backend_for_testing(std::optional<DgemmBackend> backend);
// Whether Eigen's AVX-512 GEMM is built in and this CPU can run it.
bool eigen_avx512_usable();

// "; float64 products on Eigen 3.4.0 GEMM, AVX-512 (chosen by nobias; ...)", or "" when this
// build has no Eigen.
std::string dgemm_description();

// Row-major C = alpha op(A) op(B) + beta C on the calling thread, with arguments already
// checked (m, n, k >= 1). Only where eigen_avx512_usable().
void eigen_avx512_dgemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n,
                        std::size_t k, double alpha, const double* a, std::size_t lda,
                        const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc);

}  // namespace nobias::detail
