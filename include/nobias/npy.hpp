// Arrays as numpy .npy files, so data moves between nobias, numpy and PyTorch unchanged.
// Only what a dense layer needs: 2-D float32 / float64, little-endian.
#pragma once

#include <string>
#include <type_traits>

#include "nobias/matrix.hpp"

namespace nobias {

// Reads a 2-D .npy (format 1.0, 2.0 or 3.0) of dtype '<f4' or '<f8', in C or Fortran
// order, into a row-major Matrix<T>, converting the element type if it differs.
// An array with 0 rows or 0 columns reads fine; callers that need data reject it.
// Throws IoError (naming the file, what was expected and what was found) for a missing
// file, a file that is not .npy, any other dtype or rank, or a data size that does not
// match the header exactly.
template <class T>
Matrix<T> read_npy(const std::string& path);

// Writes m as a format 1.0, C-order .npy of dtype '<f4' (float) or '<f8' (double),
// with the data 64-byte aligned as numpy does it. Atomic: the file is written under a
// temporary name and renamed, so on failure (IoError naming the path) the previous
// file is intact. The directory must already exist.
template <class T>
void write_npy(const std::string& path, MatrixView<const T> m);

// Conveniences so that write_npy(path, matrix) deduces T.
template <class T>
void write_npy(const std::string& path, const Matrix<T>& m) {
  write_npy<T>(path, m.view());
}
template <class T, class = std::enable_if_t<!std::is_const_v<T>>>
void write_npy(const std::string& path, MatrixView<T> m) {
  write_npy<T>(path, MatrixView<const T>(m));
}

}  // namespace nobias
