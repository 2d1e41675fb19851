// Internal: the .npy parser behind read_npy(), on any stream, so that the fuzzer
// (tests/fuzz) can feed it bytes from memory.
#pragma once

#include <cstdint>
#include <istream>
#include <string>

#include "nobias/matrix.hpp"

namespace nobias::detail {

// Parses a whole .npy of size bytes from in. Throws IoError whose messages start with prefix.
template <class T>
Matrix<T> read_npy_stream(std::istream& in, std::uintmax_t size, const std::string& prefix);

}  // namespace nobias::detail
