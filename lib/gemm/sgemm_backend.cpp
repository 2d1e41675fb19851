#include "gemm/sgemm_backend.hpp"

#include <cstdlib>
#include <string>
#include <system_error>

#include "gemm/backend_choice.hpp"
#include "gemm/signal_safety.hpp"
#include "nobias/blas.hpp"
#include "nobias/error.hpp"

#if NOBIAS_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#if DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP
// oneDNN's OpenMP runtime (libgomp, loaded with libdnnl). Declared weak so that nobias needs no
// OpenMP of its own to link; resolved at load time from the library oneDNN brought.
extern "C" int omp_get_max_threads(void) __attribute__((weak));
extern "C" void omp_set_num_threads(int) __attribute__((weak));
#endif
#endif

namespace nobias::detail {
namespace {

constexpr const char* kVariable = "NOBIAS_SGEMM";

SgemmBackend environment_choice() {
  // Read once; a bad value throws from every product until fixed (the initializer is retried).
  static const SgemmBackend choice = backend_from_environment<SgemmBackend>(
      kVariable,
      {{"blas", SgemmBackend::Blas, ""},
       {"onednn", SgemmBackend::OneDnn,
        onednn_built_in() ? "" : "this nobias was built without oneDNN (NOBIAS_ONEDNN=OFF)"}},
      onednn_built_in() ? SgemmBackend::OneDnn : SgemmBackend::Blas);
  return choice;
}

BackendOverride<SgemmBackend> g_override;

}  // namespace

bool onednn_built_in() {
  return NOBIAS_HAVE_ONEDNN != 0;
}

SgemmBackend sgemm_backend() {
  if (const auto chosen = g_override.get()) return *chosen;
  return environment_choice();
}

void set_sgemm_backend_for_testing(std::optional<SgemmBackend> backend) {
  g_override.set(backend);
}

std::string sgemm_description() {
  const SgemmBackend backend = sgemm_backend();  // a bad NOBIAS_SGEMM fails here in every build
  if (!onednn_built_in()) return "";
  const std::string chooser = backend_chooser(kVariable, g_override.get().has_value());
  if (backend == SgemmBackend::Blas) return "; float32 products on the BLAS (" + chooser + ")";
  std::string text = "; float32 products on oneDNN";
#if NOBIAS_HAVE_ONEDNN
  const dnnl_version_t* version = dnnl_version();
  text += " " + std::to_string(version->major) + "." + std::to_string(version->minor) + "." +
          std::to_string(version->patch) + " sgemm, ISA ";
  std::string isa = dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa());
  const std::string prefix = "cpu_isa_";
  text += isa.compare(0, prefix.size(), prefix) == 0 ? isa.substr(prefix.size()) : isa;
#endif
  return text + " (" + chooser + ")";
}

void onednn_sgemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k,
                  float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                  float beta, float* c, std::size_t ldc) {
#if NOBIAS_HAVE_ONEDNN
  // oneDNN's kernel is unsafe under a signal handler that runs on the thread's stack: see
  // signal_safety.hpp.
  ensure_signal_stack();
  const SignalHold held(float32_call_holds_signals(static_cast<double>(m) * static_cast<double>(n) *
                                                   static_cast<double>(k)),
                        true);
#if DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP
  // One thread, as every product of nobias: a step's pieces are its parallelism, and a piece
  // must compute the same bits on whichever thread runs it. oneDNN sizes its OpenMP team from
  // the calling thread's setting, which belongs to the caller: set for this call, then put back.
  const int caller_threads = omp_get_max_threads != nullptr ? omp_get_max_threads() : 1;
  if (caller_threads != 1) omp_set_num_threads(1);
#endif
  const dnnl_status_t status =
      dnnl_sgemm(transpose_a ? 'T' : 'N', transpose_b ? 'T' : 'N', static_cast<dnnl_dim_t>(m),
                 static_cast<dnnl_dim_t>(n), static_cast<dnnl_dim_t>(k), alpha, a,
                 static_cast<dnnl_dim_t>(lda), b, static_cast<dnnl_dim_t>(ldb), beta, c,
                 static_cast<dnnl_dim_t>(ldc));
#if DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP
  if (caller_threads != 1) omp_set_num_threads(caller_threads);
#endif
  if (status != dnnl_success) {
    throw Error("gemm: oneDNN's sgemm refused a " + std::to_string(m) + " x " + std::to_string(n) +
                " x " + std::to_string(k) + " product (status " + std::to_string(status) +
                "); NOBIAS_SGEMM=blas runs float32 products on the BLAS");
  }
#else
  (void)transpose_a, (void)transpose_b, (void)m, (void)n, (void)k, (void)alpha, (void)a;
  (void)lda, (void)b, (void)ldb, (void)beta, (void)c, (void)ldc;
  throw Error("gemm: oneDNN is not built into this nobias");
#endif
}

}  // namespace nobias::detail

namespace nobias {

Float32WarmUp::Float32WarmUp() {
  bool onednn = false;
  try {
    onednn = detail::sgemm_backend() == detail::SgemmBackend::OneDnn;
  } catch (...) {  // a bad NOBIAS_SGEMM: the first product says so
  }
  if (!onednn) return;
  try {
    thread_ = std::thread([] {
      detail::hold_signals_for_life();  // as the team's helpers: handlers run on other threads
      // 8 x 8 x 8 (N, N, beta 0, as every product of a prediction) makes oneDNN 2.6.3 generate
      // its f32 kernels, gemv's included: after it, the first 1536 x 784 x 512 product took
      // 12-17 ms against 88-99 ms cold, a first 1 x 784 x 512 0.14 ms against 11 ms (load 4).
      float a[64] = {}, b[64] = {}, c[64];
      try {
        detail::onednn_sgemm(false, false, 8, 8, 8, 1.0f, a, 8, b, 8, 0.0f, c, 8);
      } catch (...) {  // refused: the real product will say so, with its shapes
      }
    });
  } catch (const std::system_error&) {  // no thread: the first product does it, as before
  }
}

Float32WarmUp::~Float32WarmUp() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace nobias
