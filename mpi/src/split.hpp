// How work is cut: the library's contiguous near-equal pieces (the first ones one longer), the
// same cut the step's threads use.
#pragma once

#include "gemm/parallel.hpp"

namespace nobias::mpi::detail {

using nobias::detail::piece_range;

}  // namespace nobias::mpi::detail
