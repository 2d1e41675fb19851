// libFuzzer target for the .npy reader. Every input must either parse or be refused with
// nobias::IoError; anything else (a crash, a sanitizer report, another exception, a hang)
// is a bug. Parsed as float and as double, the two readings must agree: same refusal, or
// the same shape and the same values up to the float conversion.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>

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

bool same_value(float from_float_read, double from_double_read) {
  const auto converted = static_cast<float>(from_double_read);
  if (std::isnan(converted)) return std::isnan(from_float_read);
  return converted == from_float_read;
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
    return 0;
  }
  const auto& mf = *f.matrix;
  const auto& md = *d.matrix;
  if (mf.rows() != md.rows() || mf.cols() != md.cols()) fail("the readings differ in shape");
  if (mf.size() > size) fail("more elements than bytes in the file");
  // Element by element, not row by row: a (1790921279, 0) array has no elements but many rows.
  for (std::size_t e = 0; e < mf.size(); ++e)
    if (!same_value(mf.data()[e], md.data()[e])) fail("the readings differ in a value");
  return 0;
}
