// The networks the benchmarks run, and the exact floating-point work of one step.
#pragma once

#include <cstddef>
#include <vector>

#include "bench_shapes.hpp"

namespace bench {

// kBatchSizes and the widths kSeedWidths, kMnistWidths, kDeepWidths come from
// bench/shapes.json (the scripts read the same file).

// Multiply-adds count 2: forward 2n sum d_{k-1} d_k, weight gradients the same, input
// gradients for k >= 2 (the first layer's input gradient is never formed).
inline double step_flops(const std::vector<std::size_t>& widths, std::size_t n) {
  double forward = 0, input_gradients = 0;
  for (std::size_t k = 1; k < widths.size(); ++k) {
    const double layer = 2.0 * static_cast<double>(n * widths[k - 1] * widths[k]);
    forward += layer;
    if (k >= 2) input_gradients += layer;
  }
  return 2 * forward + input_gradients;
}

inline double forward_flops(const std::vector<std::size_t>& widths, std::size_t n) {
  double forward = 0;
  for (std::size_t k = 1; k < widths.size(); ++k)
    forward += 2.0 * static_cast<double>(n * widths[k - 1] * widths[k]);
  return forward;
}

}  // namespace bench
