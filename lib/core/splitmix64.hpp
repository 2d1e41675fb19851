// Internal: splitmix64, the small, fully specified generator behind every seed in nobias
// (it seeds xoshiro for the weights and draws the shuffles), so results depend on the seed
// alone, on any platform.
#pragma once

#include <cstdint>

namespace nobias::detail {

inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace nobias::detail
