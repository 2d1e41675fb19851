// libFuzzer target for the .npy reader. Every input must either parse or be refused with
// nobias::IoError; anything else (a crash, a sanitizer report, another exception, a hang)
// is a bug. Read as float and as double, the readings must agree: the same refusal, in
// printable text, or the same shape. An accepted file is then decoded again here, naively
// (data offset from the preamble, element size and order from the header's text), and
// every value must be the file's bits: the reader's own arithmetic is not trusted.
// The same bytes go through inspect_npy, the 1-D-as-column float reader and the label reader:
// each accepts or refuses in printable text, they agree with each other (inspect accepts a
// superset; floats are never labels), and accepted labels and columns are decoded naively too.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "io/npy_reader.hpp"
#include "nobias/error.hpp"

namespace {

template <class T>
struct Reading {
  std::optional<nobias::Matrix<T>> matrix;
  std::string error;
};

template <class T>
Reading<T> read(const std::string& bytes, bool allow_vector = false) {
  std::istringstream in(bytes);
  Reading<T> r;
  try {
    r.matrix = nobias::detail::read_npy_stream<T>(in, bytes.size(), "fuzz: ", allow_vector);
  } catch (const nobias::IoError& e) {
    r.error = e.what();
  }
  return r;
}

// Any reading: a value or the refusal's text.
template <class V, class F>
std::pair<std::optional<V>, std::string> attempt(F&& f) {
  try {
    return {f(), ""};
  } catch (const nobias::IoError& e) {
    return {std::nullopt, e.what()};
  }
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
  const bool eight =
      header.find("<f8") != std::string::npos || header.find("<i8") != std::string::npos;
  const bool one =
      header.find("u1'") != std::string::npos || header.find("u1\"") != std::string::npos;
  layout.item_size = eight ? 8 : one ? 1 : 4;
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

// The label at index, decoded from the file's bytes as the header's dtype says.
std::int64_t naive_label(const std::string& bytes, const Layout& layout, std::size_t index) {
  const char* at = bytes.data() + layout.data_offset + index * layout.item_size;
  if (layout.item_size == 1) return static_cast<unsigned char>(*at);
  if (layout.item_size == 4) {
    std::int32_t v;
    std::memcpy(&v, at, 4);
    return v;
  }
  std::int64_t v;
  std::memcpy(&v, at, 8);
  return v;
}

void check_refusal(const std::string& error) {
  if (error.rfind("fuzz: ", 0) != 0) fail("a refusal does not name its source");
  if (!printable(error)) fail("a refusal message is not printable text");
}

// inspect_npy, the 1-D-as-column reader and the label reader, against each other and against
// the 2-D float reading (accepted: matrix_accepted).
void check_other_readers(const std::string& bytes, bool matrix_accepted) {
  const auto info = attempt<nobias::NpyInfo>([&] {
    std::istringstream in(bytes);
    return nobias::detail::inspect_npy_stream(in, bytes.size(), "fuzz: ");
  });
  const auto labels = attempt<std::vector<std::int64_t>>([&] {
    std::istringstream in(bytes);
    return nobias::detail::read_npy_labels_stream(in, bytes.size(), "fuzz: ");
  });
  const Reading<double> column = read<double>(bytes, true);
  if (!info.first) check_refusal(info.second);
  if (!labels.first) check_refusal(labels.second);
  if (!column.matrix) check_refusal(column.error);
  if (!info.first) {
    if (matrix_accepted || labels.first || column.matrix)
      fail("inspect refuses what a reader accepts");
    return;
  }
  const nobias::NpyInfo& i = *info.first;
  if (i.shape.empty() || i.shape.size() > 2) fail("inspect accepts a rank other than 1 or 2");
  if (matrix_accepted != (i.is_float() && i.shape.size() == 2))
    fail("inspect and read_npy disagree");
  if (column.matrix.has_value() != i.is_float()) fail("inspect and the column reader disagree");
  if (labels.first.has_value() != (i.is_integer() && i.is_column())) {
    fail("inspect and the label reader disagree");
  }
  const Layout layout = naive_layout(bytes);
  std::size_t count = 1;
  for (const std::size_t d : i.shape)
    count *= d;
  if (layout.data_offset + count * layout.item_size != bytes.size()) {
    fail("inspect: preamble, header and data do not add up to the file's size");
  }
  if (column.matrix) {
    const auto& m = *column.matrix;
    if (m.rows() != i.rows() || m.cols() != i.cols()) fail("the column reader's shape is wrong");
    if (i.shape.size() == 1) {
      for (std::size_t k = 0; k < m.rows(); ++k) {
        const char* at = bytes.data() + layout.data_offset + k * layout.item_size;
        bool same = false;
        if (layout.item_size == 4) {
          float v;
          std::memcpy(&v, at, 4);
          same = same_bits(v, m(k, 0));
        } else {
          double v;
          std::memcpy(&v, at, 8);
          same = same_bits(v, m(k, 0));
        }
        if (!same) fail("a 1-D value differs from the file's");
      }
    }
  }
  if (labels.first) {
    const auto& l = *labels.first;
    if (l.size() != i.rows()) fail("the label reader's count is wrong");
    for (std::size_t k = 0; k < l.size(); ++k)
      if (l[k] != naive_label(bytes, layout, k)) fail("a label differs from the file's");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const Reading<float> f = read<float>(bytes);
  const Reading<double> d = read<double>(bytes);
  if (f.matrix.has_value() != d.matrix.has_value()) fail("float and double readings disagree");
  check_other_readers(bytes, f.matrix.has_value());
  if (!f.matrix) {
    if (f.error != d.error) fail("float and double readings refuse with different messages");
    check_refusal(f.error);
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

// What the corpus replay checks for files named valid-* and broken-*: read_npy; labels-*:
// the label reader; vector-*: the reader that takes a 1-D float array as a column.
bool nobias_fuzz_accepts(const std::string& reader, const std::string& bytes) {
  std::istringstream in(bytes);
  try {
    if (reader == "labels-") {
      nobias::detail::read_npy_labels_stream(in, bytes.size(), "replay: ");
    } else {
      nobias::detail::read_npy_stream<double>(in, bytes.size(), "replay: ", reader == "vector-");
    }
    return true;
  } catch (const nobias::IoError& e) {
    std::fprintf(stderr, "  refused: %s\n", e.what());
    return false;
  }
}
