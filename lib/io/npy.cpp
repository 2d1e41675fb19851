// .npy files of 2-D float arrays, read and written (format notes in npy_header.cpp).
#include "nobias/npy.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <ostream>
#include <sstream>
#include <streambuf>
#include <vector>

#include "core/printable.hpp"
#include "io/atomic_file.hpp"
#include "io/npy_reader.hpp"
#include "io/path_text.hpp"
#include "nobias/error.hpp"

namespace nobias {
namespace {

using detail::errno_text;
using detail::file_kind_text;
using detail::printable;

// Data is copied byte for byte; a big-endian host would need swaps that no one would test.
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "nobias .npy I/O assumes little-endian");
#endif
static_assert(std::numeric_limits<float>::is_iec559 && sizeof(float) == 4,
              "float must be binary32");
static_assert(std::numeric_limits<double>::is_iec559 && sizeof(double) == 8,
              "double must be binary64");

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLen = 6;
constexpr std::size_t kAlign = 64;
// Elements converted per chunk: bounds the extra memory of a converting read.
constexpr std::size_t kChunkElements = std::size_t{1} << 16;

template <class T>
constexpr const char* descr_of() {
  return std::is_same_v<T, float> ? "<f4" : "<f8";
}

// Reads count elements of Src from in, in file order, into m: at i*cols + j for C
// order, and transposed for Fortran order, where the file walks down columns.
template <class T, class Src>
void read_elements(std::istream& in, Matrix<T>& m, bool fortran_order, const std::string& prefix) {
  const std::size_t count = m.size();
  const std::size_t rows = m.rows(), cols = m.cols();
  if (std::is_same_v<T, Src> && (!fortran_order || rows == 1 || cols == 1)) {
    // Same layout and type: straight into the matrix, no staging copy.
    char* dst = reinterpret_cast<char*>(m.data());
    std::size_t left = count * sizeof(T);
    while (left > 0) {
      const std::size_t n = std::min<std::size_t>(left, std::size_t{1} << 30);
      in.read(dst, static_cast<std::streamsize>(n));
      if (!in) throw IoError(prefix + "read error in the data");
      dst += n;
      left -= n;
    }
    return;
  }
  std::vector<Src> buffer(std::min(count, kChunkElements));
  T* out = m.data();
  for (std::size_t done = 0; done < count;) {
    const std::size_t n = std::min(count - done, buffer.size());
    in.read(reinterpret_cast<char*>(buffer.data()), static_cast<std::streamsize>(n * sizeof(Src)));
    if (!in) throw IoError(prefix + "read error in the data");
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t idx = done + k;
      const std::size_t dst = fortran_order ? (idx % rows) * cols + idx / rows : idx;
      out[dst] = static_cast<T>(buffer[k]);
    }
    done += n;
  }
}

// The header of a numpy-compatible file: format 1.0, C order, data 64-byte aligned.
std::string header_bytes(const std::string& descr, const std::string& shape) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces so that the data, after the closing '\n', starts on a 64-byte boundary.
  const std::size_t unpadded = kMagicLen + 2 + 2 + dict.size() + 1;
  dict.append((kAlign - unpadded % kAlign) % kAlign, ' ');
  dict += '\n';
  const std::size_t header_len = dict.size();  // < 200: fits the 2 bytes of version 1.0
  const char preamble[4] = {1, 0, static_cast<char>(header_len & 0xff),
                            static_cast<char>(header_len >> 8)};
  return std::string(kMagic, kMagicLen) + std::string(preamble, 4) + dict;
}

}  // namespace

std::uintmax_t detail::npy_file_size(const std::string& path, const std::string& prefix) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int error = errno;
    if (error == ENOENT || error == ENOTDIR) throw IoError(prefix + "file does not exist");
    throw IoError(prefix + "cannot access the file (" + errno_text(error) + ")");
  }
  if (S_ISDIR(st.st_mode)) throw IoError(prefix + "expected a .npy file, found a directory");
  // A FIFO, a device, a socket: no size to check the header against, and a FIFO's open would
  // wait for a writer.
  if (!S_ISREG(st.st_mode)) {
    throw IoError(prefix + "is " + file_kind_text(st.st_mode) + ", expected a regular file");
  }
  return static_cast<std::uintmax_t>(st.st_size);
}

template <class T>
Matrix<T> read_npy(const std::string& path) {
  const std::string prefix = "read_npy: " + path + ": ";
  const std::uintmax_t file_size = detail::npy_file_size(path, prefix);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(prefix + "cannot open the file for reading");
  return detail::read_npy_stream<T>(in, file_size, prefix);
}

template <class T>
Matrix<T> read_npy_matrix_or_vector(const std::string& path) {
  const std::string prefix = "read_npy: " + path + ": ";
  const std::uintmax_t file_size = detail::npy_file_size(path, prefix);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(prefix + "cannot open the file for reading");
  return detail::read_npy_stream<T>(in, file_size, prefix, true);
}

namespace {

// A read-only stream over bytes in memory, without istringstream's copy of them.
class BytesBuf : public std::streambuf {
 public:
  explicit BytesBuf(const std::string& bytes) {
    char* begin = const_cast<char*>(bytes.data());  // only read: no put area
    setg(begin, begin, begin + bytes.size());
  }
};

}  // namespace

template <class T>
Matrix<T> read_npy_bytes(const std::string& bytes, const std::string& name) {
  BytesBuf buffer(bytes);
  std::istream in(&buffer);
  return detail::read_npy_stream<T>(in, bytes.size(), "read_npy: " + name + ": ");
}

template <class T>
Matrix<T> detail::read_npy_stream(std::istream& in, std::uintmax_t file_size,
                                  const std::string& prefix, bool allow_vector) {
  const NpyHeader h = read_npy_header(in, file_size, prefix);
  const bool is_f4 = require_float_array(h, file_size, prefix, allow_vector) == 4;
  const std::size_t rows = h.shape[0], cols = h.shape.size() == 2 ? h.shape[1] : 1;
  Matrix<T> m(rows, cols);
  if (is_f4) {
    read_elements<T, float>(in, m, h.fortran_order, prefix);
  } else {
    read_elements<T, double>(in, m, h.fortran_order, prefix);
  }
  return m;
}

std::size_t detail::require_float_array(const NpyHeader& h, std::uintmax_t file_size,
                                        const std::string& prefix, bool allow_vector) {
  const bool is_f4 = h.descr == "<f4", is_f8 = h.descr == "<f8";
  if (!is_f4 && !is_f8) {
    std::string msg = prefix + "expected dtype '<f4' or '<f8', found ";
    if (!h.descr_is_string) {
      msg += "structured dtype " + printable(h.descr_raw, 100);
    } else {
      msg += "'" + printable(h.descr) + "'";
      if (h.descr == ">f4" || h.descr == ">f8") {
        msg += " (big-endian; convert it with a.astype('<" + h.descr.substr(1) + "'))";
      }
    }
    throw IoError(msg);
  }
  if (h.shape.size() != 2 && !(allow_vector && h.shape.size() == 1)) {
    throw IoError(prefix +
                  (allow_vector ? "expected a 1-D or 2-D array, found shape "
                                : "expected a 2-D array, found shape ") +
                  npy_shape_text(h.shape));
  }
  check_npy_data_size(h, is_f4 ? 4 : 8, file_size, prefix);
  return is_f4 ? 4 : 8;
}

template <class T>
void write_npy_header(std::ostream& out, std::size_t rows, std::size_t cols) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  const std::string header =
      header_bytes(descr_of<T>(), "(" + std::to_string(rows) + ", " + std::to_string(cols) + ")");
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
}

template <class T>
void write_npy_rows(std::ostream& out, MatrixView<const T> m) {
  if (m.ld() == m.cols()) {  // contiguous: one write
    out.write(reinterpret_cast<const char*>(m.data()),
              static_cast<std::streamsize>(m.rows() * m.cols() * sizeof(T)));
    return;
  }
  // Row by row: a view of some columns has gaps between its rows.
  for (std::size_t i = 0; i < m.rows() && out; ++i) {
    out.write(reinterpret_cast<const char*>(m.row(i)),
              static_cast<std::streamsize>(m.cols() * sizeof(T)));
  }
}

void write_npy_labels_header(std::ostream& out, std::size_t n) {
  const std::string header = header_bytes("<i8", "(" + std::to_string(n) + ",)");
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
}

template <class T>
void write_npy_stream(std::ostream& out, MatrixView<const T> m) {
  write_npy_header<T>(out, m.rows(), m.cols());
  write_npy_rows<T>(out, m);
}

template <class T>
void write_npy(const std::string& path, MatrixView<const T> m) {
  write_file_atomically(
      path, [&](std::ostream& out) { write_npy_stream<T>(out, m); }, "write_npy");
}

void write_npy_labels(const std::string& path, const std::vector<std::int64_t>& labels) {
  write_file_atomically(
      path,
      [&](std::ostream& out) {
        write_npy_labels_header(out, labels.size());
        out.write(reinterpret_cast<const char*>(labels.data()),
                  static_cast<std::streamsize>(labels.size() * sizeof(std::int64_t)));
      },
      "write_npy_labels");
}

#define NOBIAS_NPY(T)                                                                              \
  template Matrix<T> read_npy<T>(const std::string&);                                              \
  template Matrix<T> read_npy_matrix_or_vector<T>(const std::string&);                             \
  template Matrix<T> read_npy_bytes<T>(const std::string&, const std::string&);                    \
  template Matrix<T> detail::read_npy_stream<T>(std::istream&, std::uintmax_t, const std::string&, \
                                                bool);                                             \
  template void write_npy_stream<T>(std::ostream&, MatrixView<const T>);                           \
  template void write_npy_header<T>(std::ostream&, std::size_t, std::size_t);                      \
  template void write_npy_rows<T>(std::ostream&, MatrixView<const T>);                             \
  template void write_npy<T>(const std::string&, MatrixView<const T>);
NOBIAS_NPY(float)
NOBIAS_NPY(double)
#undef NOBIAS_NPY

}  // namespace nobias
