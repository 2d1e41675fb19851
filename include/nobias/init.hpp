// Seeded weight initialization. The generator is our own (xoshiro256** and
// Box-Muller), so the same seed gives the same weights with any compiler or library.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nobias/matrix.hpp"

namespace nobias {

enum class Init {
  StandardNormal,  // N(0, 1), as in the seed's experiment
  He,              // N(0, 2 / fan_in): keeps activations O(1) through ReLU layers
  LeCun,           // N(0, 1 / fan_in): half He's variance
  Glorot,          // N(0, 2 / (fan_in + fan_out)): scikit-learn's MLP scale
  HalfGlorot,      // N(0, 1 / (2 (fan_in + fan_out))): Glorot's deviation halved; the real-data
                   // default (docs/real-data.md measures why)
};

// The standard deviation of a layer's weights drawn with init: 1, sqrt(2 / fan_in), ...
double init_scale(Init init, std::size_t fan_in, std::size_t fan_out);

// A deterministic source of standard normal numbers. One seed gives many independent
// streams: Network draws its weights from stream 0, so data drawn from the same seed
// must use another stream or it would repeat the weights.
class NormalGenerator {
 public:
  explicit NormalGenerator(std::uint64_t seed, std::uint64_t stream = 0);
  double next();

 private:
  std::uint64_t next_bits();
  std::uint64_t state_[4];
  double spare_ = 0.0;
  bool has_spare_ = false;
};

// Fills m with independent N(0, scale^2) draws, row by row. ValueError if scale is not finite.
template <class T>
void fill_normal(MatrixView<T> m, NormalGenerator& generator, double scale = 1.0);

}  // namespace nobias
