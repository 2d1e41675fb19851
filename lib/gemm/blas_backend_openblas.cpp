// NOBIAS_BLAS=OpenBLAS: linked against OpenBLAS, so its extensions are called directly.
#include "gemm/blas_backend.hpp"

#include <cblas.h>

// OpenBLAS's own shutdown of its thread pool (driver/others/blas_server.c; blas_server_omp.c
// has one too, which frees its per-thread buffers, harmless with one thread), exported but
// declared in no header; weak: a serial build has none.
extern "C" int blas_thread_shutdown_(void) __attribute__((weak));

namespace nobias::detail {

bool blas_has_thread_control() {
  return true;
}

void use_blas_threads(int threads) {
  // Asking is cheaper than setting: OpenBLAS's setter locks and may touch its thread pool.
  if (openblas_get_num_threads() != threads) openblas_set_num_threads(threads);
}

int blas_threads() {
  return openblas_get_num_threads();
}

void end_blas_thread_pool() {
  if (blas_thread_shutdown_ != nullptr) blas_thread_shutdown_();
}

std::string blas_backend_description() {
  // The configuration starts with "OpenBLAS 0.3.21".
  return std::string(openblas_get_config()) + ", core " + openblas_get_corename();
}

std::string blas_core_name() {
  return openblas_get_corename();
}

}  // namespace nobias::detail
