// Internal: load_weights (nobias/weights_io.hpp) from a reader that already has the
// directory's manifest, so that a model directory's weights and metadata are checked against
// one reading of it (io/model.cpp).
#pragma once

#include <vector>

#include "io/file_set.hpp"
#include "nobias/matrix.hpp"

namespace nobias {

template <class T>
std::vector<Matrix<T>> load_weights(const FileSetReader& reader);

}  // namespace nobias
