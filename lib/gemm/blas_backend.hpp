// Internal: what nobias needs from a BLAS beyond cblas_?gemm, which not every backend has.
// One implementation is compiled per NOBIAS_BLAS (blas_backend_openblas.cpp or
// blas_backend_generic.cpp).
#pragma once

#include <string>

namespace nobias::detail {

// Whether use_blas_threads() has any effect.
bool blas_has_thread_control();

// Runs the following products on this many threads, where the backend can be told;
// a no-op otherwise. Process-wide, like the backends' own settings.
void use_blas_threads(int threads);

// The backend's current thread count, or 1 where it cannot be asked.
int blas_threads();

// Ends the backend's idle thread pool where it has one (OpenBLAS's pthreads build: its
// blas_thread_shutdown_, which it undoes by itself if asked for threads again); a no-op
// elsewhere. Only while no other thread is inside the BLAS.
void end_blas_thread_pool();

std::string blas_backend_description();

// OpenBLAS's name for the kernels it runs ("Haswell"), or "" for a backend that is not
// OpenBLAS.
std::string blas_core_name();

}  // namespace nobias::detail
