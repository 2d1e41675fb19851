// Internal: which OpenBLAS kernel ("core") this CPU should run, and who chose the one that
// runs. Pure functions of their inputs, so the policy is tested with made-up CPUs.
#pragma once

#include <string>

namespace nobias::detail {

// What the choice depends on: CPUID leaf 7 / leaf 1 feature bits and the OS's XCR0.
struct CpuFeatures {
  bool avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false;
  unsigned long long xcr0 = 0;  // which register states the OS saves (0 without OSXSAVE)
};

CpuFeatures this_cpu();

// Whether AVX-512 F, BW, DQ and VL code (and FMA) may run: the CPU has them and the OS saves the
// opmask and ZMM state (XCR0 bits 5-7) besides the YMM state (bits 1-2), OpenBLAS's own test.
bool avx512_usable(const CpuFeatures& cpu);

// The fastest OpenBLAS core nobias has verified for these features: "SkylakeX"
// (avx512_usable), "Haswell" (AVX2, FMA and the YMM state, XCR0 bits 1-2), or "" (leave it to
// OpenBLAS).
std::string best_core(const CpuFeatures& cpu);

// How fast a family of OpenBLAS cores is: 3 AVX-512, 2 AVX2, 1 AVX, 0 older or unknown.
int core_rank(const std::string& core);

// Who chose the core in use, for reports: the environment (OPENBLAS_CORETYPE set by the
// user), nobias (set by use_best_blas_kernel(), which marks it), or OpenBLAS by itself.
// coretype and marker are the values of OPENBLAS_CORETYPE and of nobias's marker variable,
// nullptr when unset.
std::string chooser(const char* coretype, const char* marker);

// The marker use_best_blas_kernel() leaves in the environment of the program it restarts.
constexpr const char* kChosenMarker = "NOBIAS_CHOSE_OPENBLAS_CORETYPE";

}  // namespace nobias::detail
