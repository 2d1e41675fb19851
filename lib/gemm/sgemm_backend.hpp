// Internal: where float32 products run. With NOBIAS_ONEDNN (the default where libdnnl-dev is
// found) they run on oneDNN's dnnl_sgemm, which chooses its instruction set from the CPU at
// run time (AVX-512 where the CPU and OS have it) whatever core OpenBLAS was given; float64
// products stay on the BLAS, which is also the fallback: NOBIAS_SGEMM=blas in the
// environment sends float32 there too. Measured in bench/ANALYSIS.md ("The kernel").
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace nobias::detail {

enum class SgemmBackend { Blas, OneDnn };

// The backend of float32 products: NOBIAS_SGEMM if set ("blas" or "onednn"), else oneDNN when
// built in, else the BLAS. A bad NOBIAS_SGEMM throws ValueError from every product.
SgemmBackend sgemm_backend();
// Tests only: overrides the choice above for the whole process; std::nullopt restores it.
void set_sgemm_backend_for_testing(std::optional<SgemmBackend> backend);
// Whether this build has oneDNN at all.
bool onednn_built_in();

// "; float32 products on oneDNN 2.6.3 sgemm, ISA avx512_core (chosen by nobias; ...)", or
// "" when they run on the BLAS because oneDNN is not built in.
std::string sgemm_description();

// Row-major C = alpha op(A) op(B) + beta C on oneDNN, on the calling thread alone, with
// arguments already checked (m, n, k >= 1). Error when oneDNN refuses them.
void onednn_sgemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k,
                  float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                  float beta, float* c, std::size_t ldc);

}  // namespace nobias::detail
