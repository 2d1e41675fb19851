// NOBIAS_BLAS=Generic: any CBLAS. Only the standard interface is linked; OpenBLAS's thread
// control is looked up at run time, because a generic libblas.so may still be OpenBLAS
// (Debian's alternatives system switches it under the program's feet).
#include "gemm/blas_backend.hpp"

#include <cblas.h>
#include <dlfcn.h>

namespace nobias::detail {
namespace {

struct OpenBlasExtensions {
  void (*set_num_threads)(int) = nullptr;
  int (*get_num_threads)() = nullptr;
  char* (*get_config)() = nullptr;
  char* (*get_corename)() = nullptr;
  int (*thread_shutdown)() = nullptr;  // its blas_thread_shutdown_ (pthreads and OpenMP builds)
};

// The shared object that provides cblas_dgemm: the library that computes our products.
bool locate_cblas(Dl_info& info) {
  const auto address = reinterpret_cast<void*>(&cblas_dgemm);
  return dladdr(address, &info) != 0 && info.dli_fname != nullptr;
}

std::string library_of_cblas() {
  Dl_info info{};
  return locate_cblas(info) ? info.dli_fname : "an unknown library";
}

template <class Function>
void look_up(void* library, Function*& function, const char* name) {
  function = reinterpret_cast<Function*>(dlsym(library, name));
}

// Looked up in that library and what it loads, never process-wide: an OpenBLAS that
// something else loaded (numpy, a plugin) must not be mistaken for the one computing.
const OpenBlasExtensions& openblas() {
  static const OpenBlasExtensions found = [] {
    OpenBlasExtensions e;
    Dl_info info{};
    // RTLD_NOLOAD: a handle to the loaded library, never a second copy. The handle is kept
    // for the life of the process, as the library itself is.
    void* library = locate_cblas(info) ? dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD) : nullptr;
    if (!library) return e;
    look_up(library, e.set_num_threads, "openblas_set_num_threads");
    look_up(library, e.get_num_threads, "openblas_get_num_threads");
    look_up(library, e.get_config, "openblas_get_config");
    look_up(library, e.get_corename, "openblas_get_corename");
    look_up(library, e.thread_shutdown, "blas_thread_shutdown_");
    if (!e.set_num_threads || !e.get_num_threads) e = OpenBlasExtensions{};
    return e;
  }();
  return found;
}

}  // namespace

bool blas_has_thread_control() {
  return openblas().set_num_threads != nullptr;
}

void use_blas_threads(int threads) {
  const auto& e = openblas();
  if (e.set_num_threads && e.get_num_threads() != threads) e.set_num_threads(threads);
}

int blas_threads() {
  const auto& e = openblas();
  return e.get_num_threads ? e.get_num_threads() : 1;
}

void end_blas_thread_pool() {
  const auto& e = openblas();
  if (e.thread_shutdown) e.thread_shutdown();
}

std::string blas_backend_description() {
  std::string text = "generic CBLAS from " + library_of_cblas();
  const auto& e = openblas();
  if (e.get_config) text += std::string(" (") + e.get_config();  // "OpenBLAS 0.3.21 ..."
  if (e.get_config && e.get_corename) text += std::string(", core ") + e.get_corename();
  if (e.get_config) text += ")";
  if (!blas_has_thread_control()) text += ", no thread control";
  return text;
}

std::string blas_core_name() {
  const auto& e = openblas();
  return e.get_corename ? e.get_corename() : "";
}

}  // namespace nobias::detail
