// libFuzzer target for the .npy reader. Every input must either parse or be refused with
// nobias::IoError; anything else (a crash, a sanitizer report, another exception, a hang)
// is a bug. Read as float and as double, the readings must agree: the same refusal, in
// printable text, or the same shape. An accepted file is then decoded again here, naively
// (data offset from the preamble, element size and order from the header's text), and
// every value must be the file's bits: the reader's own arithmetic is not trusted.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>

#include "nobias/error.hpp"
#include "npy_reader.hpp"

namespace {

template <class T>
struct Reading {
  std::optional<nobias::Matrix<T>> matrix;
  std::string error;
};

template <class T>
Reading<T> read(const std::string& bytes) {
  std::istringstream in(bytes);
  Reading<T> r;
  try {
    r.matrix = nobias::detail::read_npy_stream<T>(in, bytes.size(), "fuzz: ");
  } catch (const nobias::IoError& e) {
    r.error = e.what();
  }
  return r;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "npy_fuzzer: %s\n", what);
  std::abort();
}

bool printable(const std::string& text) {
  for (const char c : text)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

std::size_t little_endian(const std::string& bytes, std::size_t at, std::size_t count) {
  std::size_t value = 0;
  for (std::size_t i = count; i-- > 0;)
    value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

// Where the data starts and how it is laid out, read the obvious way.
struct Layout {
  std::size_t data_offset = 0;
  std::size_t item_size = 0;
  bool fortran_order = false;
};

Layout naive_layout(const std::string& bytes) {
  const std::size_t length_bytes = bytes[6] == 1 ? 2 : 4;
  const std::size_t header_length = little_endian(bytes, 8, length_bytes);
  const std::string header = bytes.substr(8 + length_bytes, header_length);
  Layout layout;
  layout.data_offset = 8 + length_bytes + header_length;
  layout.item_size = header.find("<f8") != std::string::npos ? 8 : 4;
  layout.fortran_order = header.find("True") != std::string::npos;
  return layout;
}

template <class Stored, class Read>
bool same_bits(Stored stored, Read read) {
  const auto as_read = static_cast<Read>(stored);
  if (std::isnan(as_read)) return std::isnan(read);
  if constexpr (std::is_same_v<Stored, Read>) return std::memcmp(&stored, &read, sizeof read) == 0;
  return as_read == read && std::signbit(as_read) == std::signbit(read);
}

template <class Stored>
void check_values(const std::string& bytes, const Layout& layout, const nobias::Matrix<float>& f,
                  const nobias::Matrix<double>& d) {
  const std::size_t rows = f.rows(), cols = f.cols();
  if (f.size() == 0) return;  // (1790921279, 0): many rows, no elements
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = 0; j < cols; ++j) {
      const std::size_t index = layout.fortran_order ? j * rows + i : i * cols + j;
      Stored stored;
      std::memcpy(&stored, bytes.data() + layout.data_offset + index * sizeof stored,
                  sizeof stored);
      if (!same_bits(stored, f(i, j)) || !same_bits(stored, d(i, j))) {
        fail("a value differs from the file's");
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const Reading<float> f = read<float>(bytes);
  const Reading<double> d = read<double>(bytes);
  if (f.matrix.has_value() != d.matrix.has_value()) fail("float and double readings disagree");
  if (!f.matrix) {
    if (f.error != d.error) fail("float and double readings refuse with different messages");
    if (f.error.rfind("fuzz: ", 0) != 0) fail("a refusal does not name its source");
    if (!printable(f.error)) fail("a refusal message is not printable text");
    return 0;
  }
  const auto& mf = *f.matrix;
  const auto& md = *d.matrix;
  if (mf.rows() != md.rows() || mf.cols() != md.cols()) fail("the readings differ in shape");
  const Layout layout = naive_layout(bytes);
  if (layout.data_offset + mf.size() * layout.item_size != size) {
    fail("preamble, header and data do not add up to the file's size");
  }
  if (layout.item_size == 4) {
    check_values<float>(bytes, layout, mf, md);
  } else {
    check_values<double>(bytes, layout, mf, md);
  }
  return 0;
}

// What the corpus replay checks for files named valid-* and broken-*.
bool nobias_fuzz_accepts(const std::string& bytes) {
  std::istringstream in(bytes);
  try {
    nobias::detail::read_npy_stream<double>(in, bytes.size(), "replay: ");
    return true;
  } catch (const nobias::IoError& e) {
    std::fprintf(stderr, "  refused: %s\n", e.what());
    return false;
  }
}
