// NOBIAS_BLAS=Generic: any CBLAS. Only the standard interface is linked; OpenBLAS's thread
// control is looked up at run time, because a generic libblas.so may still be OpenBLAS
// (Debian's alternatives system switches it under the program's feet).
#include "blas_backend.hpp"

#include <cblas.h>
#include <dlfcn.h>

namespace nobias::detail {
namespace {

struct OpenBlasExtensions {
  void (*set_num_threads)(int) = nullptr;
  int (*get_num_threads)() = nullptr;
  char* (*get_config)() = nullptr;
  char* (*get_corename)() = nullptr;
};

template <class Function>
void look_up(Function*& function, const char* name) {
  function = reinterpret_cast<Function*>(dlsym(RTLD_DEFAULT, name));
}

const OpenBlasExtensions& openblas() {
  static const OpenBlasExtensions found = [] {
    OpenBlasExtensions e;
    look_up(e.set_num_threads, "openblas_set_num_threads");
    look_up(e.get_num_threads, "openblas_get_num_threads");
    look_up(e.get_config, "openblas_get_config");
    look_up(e.get_corename, "openblas_get_corename");
    if (!e.set_num_threads || !e.get_num_threads) e = OpenBlasExtensions{};
    return e;
  }();
  return found;
}

// The shared object that provides cblas_dgemm, so a report names the library really used.
std::string library_of_cblas() {
  Dl_info info{};
  const auto address = reinterpret_cast<void*>(&cblas_dgemm);
  if (dladdr(address, &info) != 0 && info.dli_fname) return info.dli_fname;
  return "an unknown library";
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

std::string blas_backend_description() {
  std::string text = "generic CBLAS from " + library_of_cblas();
  const auto& e = openblas();
  if (e.get_config) text += std::string(" (") + e.get_config();  // "OpenBLAS 0.3.21 ..."
  if (e.get_config && e.get_corename) text += std::string(", core ") + e.get_corename();
  if (e.get_config) text += ")";
  if (!blas_has_thread_control()) text += ", no thread control";
  return text;
}

}  // namespace nobias::detail
