#include "gemm/dgemm_backend.hpp"

#include <string>

#include "gemm/backend_choice.hpp"
#include "gemm/blas_kernel.hpp"
#include "nobias/error.hpp"

namespace nobias::detail {
namespace {

constexpr const char* kVariable = "NOBIAS_DGEMM";

std::string why_eigen_cannot_run() {
  if (NOBIAS_HAVE_EIGEN == 0) return "this nobias was built without Eigen (NOBIAS_EIGEN=OFF)";
  if (!avx512_usable(this_cpu())) {
    return "this CPU (or its OS) has no usable AVX-512 (F, BW, DQ, VL), which nobias's Eigen "
           "GEMM is compiled for";
  }
  return "";
}

DgemmBackend environment_choice() {
  // Read once; a bad value throws from every product until fixed (the initializer is retried).
  static const DgemmBackend choice = [] {
    const std::string unavailable = why_eigen_cannot_run();
    return backend_from_environment<DgemmBackend>(
        kVariable,
        {{"blas", DgemmBackend::Blas, ""}, {"eigen", DgemmBackend::EigenAvx512, unavailable}},
        unavailable.empty() ? DgemmBackend::EigenAvx512 : DgemmBackend::Blas);
  }();
  return choice;
}

BackendOverride<DgemmBackend> g_override;

}  // namespace

bool eigen_avx512_usable() {
  static const bool usable = why_eigen_cannot_run().empty();
  return usable;
}

DgemmBackend dgemm_backend() {
  if (const auto chosen = g_override.get()) return *chosen;
  return environment_choice();
}

void set_dgemm_backend_for_testing(std::optional<DgemmBackend> backend) {
  if (backend == DgemmBackend::EigenAvx512 && !eigen_avx512_usable()) {
    throw ValueError("set_dgemm_backend_for_testing: " + why_eigen_cannot_run());
  }
  g_override.set(backend);
}

std::string dgemm_description() {
#if NOBIAS_HAVE_EIGEN
  const std::string chooser = backend_chooser(kVariable, g_override.get().has_value());
  if (dgemm_backend() == DgemmBackend::Blas) {
    const std::string why = why_eigen_cannot_run();
    return "; float64 products on the BLAS (" +
           (why.empty() ? chooser : "Eigen's AVX-512 GEMM: " + why) + ")";
  }
  return std::string("; float64 products on Eigen ") + NOBIAS_EIGEN_VERSION +
         " GEMM compiled for AVX-512 (" + chooser + ")";
#else
  (void)dgemm_backend();  // a bad NOBIAS_DGEMM fails here as in every build
  return "";
#endif
}

#if !NOBIAS_HAVE_EIGEN
void eigen_avx512_dgemm(bool, bool, std::size_t, std::size_t, std::size_t, double, const double*,
                        std::size_t, const double*, std::size_t, double, double*, std::size_t) {
  throw Error("gemm: Eigen is not built into this nobias");
}
#endif

}  // namespace nobias::detail
