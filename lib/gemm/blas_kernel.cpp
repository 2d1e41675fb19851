// OpenBLAS reads OPENBLAS_CORETYPE once, in its load-time constructor, before main. A
// program can still choose: restart itself with the variable set (execv, ~34 ms, once), or
// load OpenBLAS at run time after setenv. nobias restarts: it keeps OpenBLAS linked as
// before, so packaging, pkg-config and every consumer stay as they are, and a program
// opts in with one call at the top of main. A value the environment sets is always kept:
// on some CPUs it is there because older OpenBLAS misbehaves there.
#include "gemm/blas_kernel.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "gemm/blas_backend.hpp"
#include "nobias/blas.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace nobias {
namespace detail {

CpuFeatures this_cpu() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  f.fma = (c >> 12) & 1;
  const bool osxsave = (c >> 27) & 1;
  if (osxsave) {
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    f.xcr0 = (static_cast<unsigned long long>(hi) << 32) | lo;
  }
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    f.avx2 = (b >> 5) & 1;
    f.avx512f = (b >> 16) & 1;
    f.avx512dq = (b >> 17) & 1;
    f.avx512bw = (b >> 30) & 1;
    f.avx512vl = (b >> 31) & 1;
  }
#endif
  return f;
}

namespace {
constexpr unsigned long long kYmm = 0x6, kZmm = 0xe0;  // XCR0 bits 1-2 and 5-7
}

bool avx512_usable(const CpuFeatures& cpu) {
  const bool ymm = (cpu.xcr0 & kYmm) == kYmm, zmm = (cpu.xcr0 & kZmm) == kZmm;
  return ymm && zmm && cpu.fma && cpu.avx512f && cpu.avx512bw && cpu.avx512dq && cpu.avx512vl;
}

std::string best_core(const CpuFeatures& cpu) {
  if (avx512_usable(cpu)) return "SkylakeX";
  if ((cpu.xcr0 & kYmm) == kYmm && cpu.avx2 && cpu.fma) return "Haswell";
  return "";
}

int core_rank(const std::string& core) {
  for (const char* name : {"SkylakeX", "Cooperlake", "SapphireRapids"})
    if (core == name) return 3;
  for (const char* name : {"Haswell", "Zen"})
    if (core == name) return 2;
  for (const char* name : {"Sandybridge", "Bulldozer", "Piledriver", "Steamroller", "Excavator"})
    if (core == name) return 1;
  return 0;
}

std::string chooser(const char* coretype, const char* marker) {
  if (coretype == nullptr) return "chosen by OpenBLAS from the CPU";
  if (marker != nullptr && std::strcmp(marker, coretype) == 0) {
    return std::string("chosen by nobias for this CPU: OPENBLAS_CORETYPE=") + coretype;
  }
  return std::string("chosen by the environment: OPENBLAS_CORETYPE=") + coretype;
}

}  // namespace detail

std::string blas_kernel_note() {
  const std::string core = detail::blas_core_name();
  if (core.empty()) return "";
  return detail::chooser(std::getenv("OPENBLAS_CORETYPE"), std::getenv(detail::kChosenMarker));
}

bool use_best_blas_kernel(char** argv) {
  const std::string core = detail::blas_core_name();
  if (core.empty() || std::getenv("OPENBLAS_CORETYPE") != nullptr) return false;
  if (std::getenv(detail::kChosenMarker) != nullptr) return false;  // tried once already
  const std::string best = detail::best_core(detail::this_cpu());
  if (best.empty() || detail::core_rank(core) >= detail::core_rank(best)) return false;
  if (argv == nullptr || argv[0] == nullptr) return false;
  ::setenv("OPENBLAS_CORETYPE", best.c_str(), 1);
  ::setenv(detail::kChosenMarker, best.c_str(), 1);
  std::fflush(nullptr);
  ::execv("/proc/self/exe", argv);
  // Could not restart (no /proc, a sandbox): carry on with the kernel there is.
  ::unsetenv("OPENBLAS_CORETYPE");
  return false;
}

std::string slow_blas_kernel_advice() {
  const std::string core = detail::blas_core_name();
  if (core.empty() || std::getenv("OPENBLAS_CORETYPE") != nullptr) return "";
  const std::string best = detail::best_core(detail::this_cpu());
  if (best.empty() || detail::core_rank(core) >= detail::core_rank(best)) return "";
  return "nobias: OpenBLAS runs its " + core + " kernels, but this CPU can run " + best +
         "'s, about twice as fast; set OPENBLAS_CORETYPE=" + best +
         " before the program starts (or call nobias::use_best_blas_kernel(argv) first in "
         "main)";
}

bool warn_if_slow_blas_kernel() {
  static const bool warned = [] {
    const std::string advice = slow_blas_kernel_advice();
    if (!advice.empty()) std::fprintf(stderr, "%s\n", advice.c_str());
    return !advice.empty();
  }();
  return warned;
}

}  // namespace nobias
