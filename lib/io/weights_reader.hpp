// Internal: load_weights (nobias/weights_io.hpp) from a reader that already has the
// directory's manifest, so that a model directory's weights and metadata are checked against
// one reading of it (io/model.cpp).
#pragma once

#include <string>
#include <vector>

#include "io/file_set.hpp"
#include "nobias/matrix.hpp"

namespace nobias {

// "w<digits>.npy": every name load_weights considers one of its files.
bool looks_like_weight_file(const std::string& name);

template <class T>
std::vector<Matrix<T>> load_weights(const FileSetReader& reader);

}  // namespace nobias
