// How work is cut: contiguous near-equal pieces, the first ones one longer.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>

namespace nobias::mpi::detail {

// [begin, begin + count) of `total` for `part` of `parts` pieces.
inline std::pair<std::size_t, std::size_t> piece(std::size_t total, std::size_t part,
                                                 std::size_t parts) {
  const std::size_t base = total / parts, extra = total % parts;
  const std::size_t begin = part * base + std::min(part, extra);
  return {begin, base + (part < extra ? 1 : 0)};
}

}  // namespace nobias::mpi::detail
