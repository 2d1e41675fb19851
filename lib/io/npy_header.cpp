// The .npy format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
// A 6-byte magic, a 2-byte version, a little-endian header length (2 bytes in 1.0,
// 4 in 2.0 and 3.0), then an ASCII Python dict literal with exactly the keys 'descr',
// 'fortran_order' and 'shape', padded with spaces and ending in '\n', then raw data.
// This file reads everything up to the data; npy.cpp and npy_labels.cpp read the data.
#include <cstdint>
#include <istream>
#include <limits>
#include <string>
#include <vector>

#include "core/printable.hpp"
#include "io/npy_reader.hpp"
#include "nobias/error.hpp"

namespace nobias {
namespace {

using detail::NpyHeader;
using detail::printable;

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLen = 6;

}  // namespace

std::string detail::npy_shape_text(const std::vector<std::size_t>& dims) {
  std::string s = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(dims[i]);
  }
  if (dims.size() == 1) s += ",";
  return s + ")";
}

namespace {

// A parser for the one dict literal numpy writes, and the variations other writers
// produce: either quote style, any key order, any whitespace, a trailing comma,
// Python 2 long suffixes ("3L").
class HeaderParser {
 public:
  HeaderParser(const std::string& text, std::string prefix)
      : text_(text), prefix_(std::move(prefix)) {}

  NpyHeader parse() {
    NpyHeader h;
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

}  // namespace

NpyHeader detail::read_npy_header(std::istream& in, std::uintmax_t file_size,
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

  NpyHeader h = HeaderParser(header_text, prefix).parse();
  h.data_offset = data_offset;
  return h;
}

void detail::check_npy_data_size(const NpyHeader& h, std::size_t item_size,
                                 std::uintmax_t file_size, const std::string& prefix) {
  std::size_t count = 1;
  for (const std::size_t dim : h.shape) {
    if (dim != 0 && count > std::numeric_limits<std::size_t>::max() / dim / item_size) {
      // Only a product that is not 0 overflows: (huge, 0) holds no data.
      bool any_zero = false;
      for (const std::size_t d : h.shape)
        any_zero = any_zero || d == 0;
      if (!any_zero) {
        throw IoError(prefix + "shape " + npy_shape_text(h.shape) +
                      " has more bytes than fit in size_t");
      }
    }
    count *= dim;
  }
  const std::uintmax_t expected = static_cast<std::uintmax_t>(count) * item_size;
  const std::uintmax_t got = file_size - h.data_offset;
  const std::string what = "shape " + npy_shape_text(h.shape) + " of '" + h.descr + "'";
  if (got < expected) {
    throw IoError(prefix + "truncated data: expected " + std::to_string(expected) + " bytes for " +
                  what + ", got " + std::to_string(got));
  }
  if (got > expected) {
    throw IoError(prefix + "file has " + std::to_string(got) + " bytes of data but the header " +
                  "promises " + std::to_string(expected) + " for " + what +
                  " (trailing data or a wrong shape)");
  }
}

}  // namespace nobias
