// The .npy format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
// A 6-byte magic, a 2-byte version, a little-endian header length (2 bytes in 1.0,
// 4 in 2.0 and 3.0), then an ASCII Python dict literal with exactly the keys 'descr',
// 'fortran_order' and 'shape', padded with spaces and ending in '\n', then raw data.
#include "nobias/npy.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <ostream>
#include <vector>

#include "nobias/atomic_file.hpp"
#include "nobias/error.hpp"
#include "npy_reader.hpp"
#include "printable.hpp"

namespace nobias {
namespace {

namespace fs = std::filesystem;
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

std::string shape_text(const std::vector<std::size_t>& dims) {
  std::string s = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(dims[i]);
  }
  if (dims.size() == 1) s += ",";
  return s + ")";
}

struct Header {
  bool descr_is_string = false;  // false for structured dtypes, which are lists
  std::string descr;
  std::string descr_raw;
  bool fortran_order = false;
  std::vector<std::size_t> shape;
};

// A parser for the one dict literal numpy writes, and the variations other writers
// produce: either quote style, any key order, any whitespace, a trailing comma,
// Python 2 long suffixes ("3L").
class HeaderParser {
 public:
  HeaderParser(const std::string& text, std::string prefix)
      : text_(text), prefix_(std::move(prefix)) {}

  Header parse() {
    Header h;
    bool seen_descr = false, seen_fortran = false, seen_shape = false;
    skip_space();
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = parse_string();
      skip_space();
      expect(':');
      skip_space();
      if (key == "descr") {
        check_unique(seen_descr, key);
        const std::size_t start = pos_;
        h.descr_is_string = peek() == '\'' || peek() == '"';
        if (h.descr_is_string) {
          h.descr = parse_string();
        } else {
          skip_value();
        }
        h.descr_raw = text_.substr(start, pos_ - start);
      } else if (key == "fortran_order") {
        check_unique(seen_fortran, key);
        h.fortran_order = parse_bool();
      } else if (key == "shape") {
        check_unique(seen_shape, key);
        h.shape = parse_shape();
      } else {
        fail("unexpected key '" + printable(key) + "'");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_space();
      if (peek() != '}') fail("expected ',' or '}'");
    }
    expect('}');
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the dict");
    if (!seen_descr) fail("missing key 'descr'");
    if (!seen_fortran) fail("missing key 'fortran_order'");
    if (!seen_shape) fail("missing key 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw IoError(prefix_ + "malformed .npy header: " + what + " at character " +
                  std::to_string(pos_) + " of \"" + printable(text_, 200) + "\"");
  }

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }

  void check_unique(bool& seen, const std::string& key) const {
    if (seen) fail("duplicate key '" + printable(key) + "'");
    seen = true;
  }

  std::string parse_string() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    const std::size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string s = text_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return s;
  }

  bool parse_bool() {
    if (text_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (text_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("expected True or False for 'fortran_order'");
  }

  // Structured dtypes are lists of tuples; skip one so that the dtype error can quote it.
  void skip_value() {
    int depth = 0;
    for (;;) {
      const char c = peek();
      if (c == '\0') fail("unterminated value");
      if (depth == 0 && (c == ',' || c == '}')) return;
      if (c == '\'' || c == '"') {
        parse_string();
        continue;
      }
      if (c == '[' || c == '(' || c == '{') {
        ++depth;
      } else if ((c == ']' || c == ')' || c == '}') && --depth < 0) {
        fail("unbalanced brackets");
      }
      ++pos_;
    }
  }

  std::vector<std::size_t> parse_shape() {
    std::vector<std::size_t> dims;
    expect('(');
    for (;;) {
      skip_space();
      if (peek() == ')') break;
      dims.push_back(parse_dim());
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != ')') fail("expected ',' or ')' in 'shape'");
    }
    expect(')');
    return dims;
  }

  std::size_t parse_dim() {
    if (peek() < '0' || peek() > '9') fail("expected a non-negative integer in 'shape'");
    std::size_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      const auto digit = static_cast<std::size_t>(peek() - '0');
      if (v > (std::numeric_limits<std::size_t>::max() - digit) / 10) {
        fail("dimension does not fit in size_t");
      }
      v = v * 10 + digit;
      ++pos_;
    }
    if (peek() == 'L') ++pos_;
    return v;
  }

  const std::string& text_;
  std::string prefix_;
  std::size_t pos_ = 0;
};

std::uint32_t little_endian(const unsigned char* p, std::size_t n) {
  std::uint32_t v = 0;
  for (std::size_t i = n; i-- > 0;)
    v = (v << 8) | p[i];
  return v;
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

}  // namespace

template <class T>
Matrix<T> read_npy(const std::string& path) {
  const std::string prefix = "read_npy: " + path + ": ";
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) throw IoError(prefix + "file does not exist");
  if (ec) throw IoError(prefix + "cannot access the file (" + ec.message() + ")");
  if (fs::is_directory(st)) throw IoError(prefix + "expected a .npy file, found a directory");
  const std::uintmax_t file_size = fs::file_size(path, ec);
  if (ec) throw IoError(prefix + "cannot get the file size (" + ec.message() + ")");

  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(prefix + "cannot open the file for reading");
  return detail::read_npy_stream<T>(in, file_size, prefix);
}

template <class T>
Matrix<T> detail::read_npy_stream(std::istream& in, std::uintmax_t file_size,
                                  const std::string& prefix) {
  constexpr std::size_t kPreamble = kMagicLen + 2;
  std::string start(kPreamble, '\0');
  in.read(&start[0], static_cast<std::streamsize>(kPreamble));
  if (static_cast<std::size_t>(in.gcount()) < kMagicLen ||
      start.compare(0, kMagicLen, kMagic) != 0) {
    start.resize(static_cast<std::size_t>(in.gcount()));
    throw IoError(prefix + "not a .npy file: expected the magic string \"\\x93NUMPY\", found \"" +
                  printable(start) + "\"");
  }
  if (!in)
    throw IoError(prefix + "truncated .npy preamble: file is " + std::to_string(file_size) +
                  " bytes");
  const auto major = static_cast<unsigned char>(start[6]);
  const auto minor = static_cast<unsigned char>(start[7]);
  if (minor != 0 || major < 1 || major > 3) {
    throw IoError(prefix + "unsupported .npy format version " + std::to_string(major) + "." +
                  std::to_string(minor) + " (expected 1.0, 2.0 or 3.0)");
  }

  const std::size_t len_bytes = major == 1 ? 2 : 4;
  unsigned char len_buf[4] = {0, 0, 0, 0};
  in.read(reinterpret_cast<char*>(len_buf), static_cast<std::streamsize>(len_bytes));
  if (!in) throw IoError(prefix + "truncated .npy preamble: no header length");
  const std::size_t header_len = little_endian(len_buf, len_bytes);
  const std::uintmax_t data_offset = kPreamble + len_bytes + header_len;
  if (data_offset > file_size) {
    throw IoError(prefix + "truncated header: the header length is " + std::to_string(header_len) +
                  " bytes but the file is only " + std::to_string(file_size) + " bytes long");
  }
  std::string header_text(header_len, '\0');
  in.read(&header_text[0], static_cast<std::streamsize>(header_len));
  if (!in) throw IoError(prefix + "read error in the header");

  const Header h = HeaderParser(header_text, prefix).parse();

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
  if (h.shape.size() != 2) {
    throw IoError(prefix + "expected a 2-D array, found shape " + shape_text(h.shape));
  }
  const std::size_t rows = h.shape[0], cols = h.shape[1];
  const std::size_t item = is_f4 ? 4 : 8;
  if (cols != 0 && rows > std::numeric_limits<std::size_t>::max() / cols / item) {
    throw IoError(prefix + "shape " + shape_text(h.shape) + " has more bytes than fit in size_t");
  }
  const std::uintmax_t expected = rows * cols * item;
  const std::uintmax_t got = file_size - data_offset;
  const std::string what = "shape " + shape_text(h.shape) + " of '" + h.descr + "'";
  if (got < expected) {
    throw IoError(prefix + "truncated data: expected " + std::to_string(expected) + " bytes for " +
                  what + ", got " + std::to_string(got));
  }
  if (got > expected) {
    throw IoError(prefix + "file has " + std::to_string(got) + " bytes of data but the header " +
                  "promises " + std::to_string(expected) + " for " + what +
                  " (trailing data or a wrong shape)");
  }

  Matrix<T> m(rows, cols);
  if (is_f4) {
    read_elements<T, float>(in, m, h.fortran_order, prefix);
  } else {
    read_elements<T, double>(in, m, h.fortran_order, prefix);
  }
  return m;
}

template <class T>
void write_npy(const std::string& path, MatrixView<const T> m) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  std::string dict = std::string("{'descr': '") + descr_of<T>() +
                     "', 'fortran_order': False, 'shape': (" + std::to_string(m.rows()) + ", " +
                     std::to_string(m.cols()) + "), }";
  // Pad with spaces so that the data, after the closing '\n', starts on a 64-byte boundary.
  const std::size_t unpadded = kMagicLen + 2 + 2 + dict.size() + 1;
  dict.append((kAlign - unpadded % kAlign) % kAlign, ' ');
  dict += '\n';
  const std::size_t header_len = dict.size();  // < 200: fits the 2 bytes of version 1.0

  write_file_atomically(
      path,
      [&](std::ostream& out) {
        out.write(kMagic, static_cast<std::streamsize>(kMagicLen));
        const char preamble[4] = {1, 0, static_cast<char>(header_len & 0xff),
                                  static_cast<char>(header_len >> 8)};
        out.write(preamble, 4);
        out.write(dict.data(), static_cast<std::streamsize>(dict.size()));
        // Row by row: a view of some columns has gaps between its rows.
        for (std::size_t i = 0; i < m.rows() && out; ++i) {
          out.write(reinterpret_cast<const char*>(m.row(i)),
                    static_cast<std::streamsize>(m.cols() * sizeof(T)));
        }
      },
      "write_npy");
}

template Matrix<float> read_npy<float>(const std::string&);
template Matrix<double> read_npy<double>(const std::string&);
template Matrix<float> detail::read_npy_stream<float>(std::istream&, std::uintmax_t,
                                                      const std::string&);
template Matrix<double> detail::read_npy_stream<double>(std::istream&, std::uintmax_t,
                                                        const std::string&);
template void write_npy<float>(const std::string&, MatrixView<const float>);
template void write_npy<double>(const std::string&, MatrixView<const double>);

}  // namespace nobias
