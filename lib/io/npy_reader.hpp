// Internal: the .npy parser behind read_npy() and its relatives, on any stream, so that the
// fuzzer (tests/fuzz) can feed it bytes from memory.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "nobias/matrix.hpp"
#include "nobias/npy.hpp"

namespace nobias::detail {

// What the header dict says, and where the data starts.
struct NpyHeader {
  bool descr_is_string = false;  // false for structured dtypes, which are lists
  std::string descr;
  std::string descr_raw;
  bool fortran_order = false;
  std::vector<std::size_t> shape;
  std::uintmax_t data_offset = 0;
};

// "(3, 4)", "(5,)": numpy's way.
std::string npy_shape_text(const std::vector<std::size_t>& dims);

// Reads the preamble and the header dict from in (a file of file_size bytes), leaving in at
// the data. IoError (messages starting with prefix) for everything malformed up to there.
NpyHeader read_npy_header(std::istream& in, std::uintmax_t file_size, const std::string& prefix);

// IoError unless the data after the header is exactly the shape's elements of item_size bytes
// (and that product fits size_t).
void check_npy_data_size(const NpyHeader& h, std::size_t item_size, std::uintmax_t file_size,
                         const std::string& prefix);

// read_npy's refusals of a header, for a reader of its data: IoError unless the array is '<f4' or
// '<f8', 2-D (or 1-D with allow_vector), with exactly its elements' bytes after the header.
// Returns the element's size, 4 or 8.
std::size_t require_float_array(const NpyHeader& h, std::uintmax_t file_size,
                                const std::string& prefix, bool allow_vector = false);

// Parses a whole .npy of size bytes from in as a 2-D float array. Throws IoError whose
// messages start with prefix. allow_vector: a 1-D float array reads as one column.
template <class T>
Matrix<T> read_npy_stream(std::istream& in, std::uintmax_t size, const std::string& prefix,
                          bool allow_vector = false);

// inspect_npy and read_npy_labels on a stream.
NpyInfo inspect_npy_stream(std::istream& in, std::uintmax_t size, const std::string& prefix);
std::vector<std::int64_t> read_npy_labels_stream(std::istream& in, std::uintmax_t size,
                                                 const std::string& prefix);

// The file's size, after checking that it exists and is a regular file (IoError with the
// messages read_npy gives: "file does not exist", "expected a .npy file, found a directory",
// "is a FIFO (named pipe), expected a regular file", ...).
std::uintmax_t npy_file_size(const std::string& path, const std::string& prefix);

}  // namespace nobias::detail
