// The fingerprints of a run's training and validation data, and the comparisons that say which
// input differs.
#include <algorithm>
#include <string>
#include <type_traits>

#include "io/checksum.hpp"
#include "nobias/checkpoint.hpp"
#include "nobias/error.hpp"

namespace nobias {
namespace {

template <class T>
std::uint64_t hash_rows(MatrixView<const T> m) {
  detail::Checksum64 sum;
  for (std::size_t i = 0; i < m.rows(); ++i)
    sum.update(m.row(i), m.cols() * sizeof(T));
  return sum.value();
}

}  // namespace

template <class T>
DataFingerprint fingerprint_data(MatrixView<const T> x, MatrixView<const T> y,
                                 const std::string& source) {
  if (x.rows() == 0 || x.rows() != y.rows()) {
    throw ShapeError("fingerprint_data: x has " + std::to_string(x.rows()) + " rows and y " +
                     std::to_string(y.rows()) + "; expected the same count, at least 1");
  }
  for (const char c : source) {
    if (c < 0x20 || c > 0x7e) {
      throw ValueError("fingerprint_data: source must be one line of printable ASCII");
    }
  }
  DataFingerprint f;
  f.rows = x.rows();
  f.x_cols = x.cols();
  f.y_cols = y.cols();
  f.dtype = std::is_same_v<T, float> ? "f32" : "f64";
  f.x_hash = hash_rows(x);
  f.y_hash = hash_rows(y);
  f.source = source;
  return f;
}

namespace {

// Which input of given differs from saved's, named as the caller calls them ("the data", "x",
// "y"); empty for none. Sources are compared by the caller.
std::string shape_or_values_difference(const DataFingerprint& saved, const DataFingerprint& given,
                                       const std::string& data, const char* x, const char* y) {
  if (saved.dtype != given.dtype) {
    return data + "'s dtype differs: " + given.dtype + " now, " + saved.dtype +
           " in the checkpoint";
  }
  if (saved.rows != given.rows) {
    return data + " differ: " + std::to_string(given.rows) + " rows now, " +
           std::to_string(saved.rows) + " in the checkpoint";
  }
  const auto differs = [](const char* name, std::size_t cols_now, std::size_t cols_then,
                          std::uint64_t hash_now, std::uint64_t hash_then) -> std::string {
    if (cols_now != cols_then) {
      return std::string(name) + " differs: " + std::to_string(cols_now) + " columns now, " +
             std::to_string(cols_then) + " in the checkpoint";
    }
    if (hash_now != hash_then) return std::string(name) + " differs: same shape, other values";
    return "";
  };
  std::string what = differs(x, given.x_cols, saved.x_cols, given.x_hash, saved.x_hash);
  if (what.empty()) what = differs(y, given.y_cols, saved.y_cols, given.y_hash, saved.y_hash);
  return what;
}

}  // namespace

std::string data_difference(const DataFingerprint& saved, const DataFingerprint& given) {
  if (!saved.recorded()) return "";
  const auto quoted = [](const std::string& s) { return s.empty() ? "none" : "'" + s + "'"; };
  if (saved.source != given.source) {
    return "the data's source differs: " + quoted(given.source) + " now, " + quoted(saved.source) +
           " in the checkpoint";
  }
  return shape_or_values_difference(saved, given, "the data", "x", "y");
}

std::string validation_difference(const ValidationFingerprint& saved,
                                  const ValidationFingerprint& given) {
  if (!saved.recorded) return "";
  const auto rows = [](const DataFingerprint& f) {
    return f.recorded() ? std::to_string(f.rows) + " rows" : std::string("none");
  };
  if (saved.data.recorded() != given.data.recorded()) {
    return "the validation data differ: " + rows(given.data) + " now, " + rows(saved.data) +
           " in the checkpoint";
  }
  if (!saved.data.recorded()) return "";
  return shape_or_values_difference(saved.data, given.data, "the validation data", "val_x",
                                    "val_y");
}

template <class T>
ValidationFingerprint fingerprint_validation(const RowSource<T>& rows) {
  ValidationFingerprint f;
  f.recorded = true;
  if (rows.rows() > 0) f.data = fingerprint_data<T>(rows);
  return f;
}

template <class T>
DataFingerprint fingerprint_data(const RowSource<T>& rows, const std::string& source) {
  if (rows.in_place()) return fingerprint_data<T>(rows.x(), rows.y(), source);
  if (rows.rows() == 0) throw ShapeError("fingerprint_data: no rows; expected at least 1");
  // The fields and refusals of one row's fingerprint; the hashes follow.
  DataFingerprint f = fingerprint_data<T>(rows.x().row_block(rows.row_of(0), 1),
                                          rows.y().row_block(rows.row_of(0), 1), source);
  // The same bytes in the same order as hash_rows over a copy.
  constexpr std::size_t kBlock = 256;
  Matrix<T> bx(std::min(kBlock, rows.rows()), rows.x_cols());
  Matrix<T> by(std::min(kBlock, rows.rows()), rows.y_cols());
  detail::Checksum64 x_sum, y_sum;
  for (std::size_t begin = 0; begin < rows.rows(); begin += kBlock) {
    const std::size_t count = std::min(kBlock, rows.rows() - begin);
    const MatrixView<T> x = bx.row_block(0, count), y = by.row_block(0, count);
    rows.gather(x, y, nullptr, begin);
    for (std::size_t i = 0; i < count; ++i) {
      x_sum.update(x.row(i), x.cols() * sizeof(T));
      y_sum.update(y.row(i), y.cols() * sizeof(T));
    }
  }
  f.rows = rows.rows();
  f.x_hash = x_sum.value();
  f.y_hash = y_sum.value();
  return f;
}

template ValidationFingerprint fingerprint_validation<float>(const RowSource<float>&);
template ValidationFingerprint fingerprint_validation<double>(const RowSource<double>&);
template DataFingerprint fingerprint_data<float>(const RowSource<float>&, const std::string&);
template DataFingerprint fingerprint_data<double>(const RowSource<double>&, const std::string&);
template DataFingerprint fingerprint_data<float>(MatrixView<const float>, MatrixView<const float>,
                                                 const std::string&);
template DataFingerprint fingerprint_data<double>(MatrixView<const double>,
                                                  MatrixView<const double>, const std::string&);

}  // namespace nobias
