#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "nobias/blas.hpp"
#include "nobias/threads.hpp"

// The context block of every run names what computed it: results are meaningless without.
int main(int argc, char** argv) {
  nobias::use_best_blas_kernel(argv);  // restarts on a faster kernel when none is pinned
  nobias::warn_if_slow_blas_kernel();
  benchmark::AddCustomContext("blas", nobias::blas_description());
  benchmark::AddCustomContext("blas_threads_available",
                              std::to_string(nobias::available_threads()));
  for (const char* name :
       {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "NOBIAS_THREADS"}) {
    const char* value = std::getenv(name);
    benchmark::AddCustomContext(name, value ? value : "(unset)");
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
