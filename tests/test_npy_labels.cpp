// .npy beyond 2-D floats: inspect_npy, 1-D float targets, integer class labels.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "nobias/error.hpp"
#include "nobias/npy.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

using nobias::IoError;
using nobias::Matrix;
using nobias::NpyDtype;
using test_support::TempDir;

using test_support::error_message;
using test_support::raw_bytes;
using test_support::read_bytes;
using test_support::write_bytes;

namespace {

// A .npy file as numpy writes it (format 1.0, header padded to 64 bytes).
std::string npy_file(const std::string& descr, const std::string& shape, const std::string& data,
                     bool fortran = false) {
  std::string header = "{'descr': '" + descr +
                       "', 'fortran_order': " + (fortran ? "True" : "False") +
                       ", 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0)
    header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}

}  // namespace

TEST_CASE("npy.labels.int32_int64_uint8_in_either_shape") {
  TempDir dir("labels");
  const std::string path = dir.file("y.npy");
  const std::vector<std::int64_t> want{3, 0, 9, 1, 255};
  write_bytes(path, npy_file("<i4", "(5,)", raw_bytes(std::vector<std::int32_t>{3, 0, 9, 1, 255})));
  CHECK(nobias::read_npy_labels(path) == want);
  write_bytes(path, npy_file("<i8", "(5, 1)", raw_bytes(want)));
  CHECK(nobias::read_npy_labels(path) == want);
  write_bytes(path, npy_file("|u1", "(5,)", raw_bytes(std::vector<std::uint8_t>{3, 0, 9, 1, 255})));
  CHECK(nobias::read_npy_labels(path) == want);
  write_bytes(
      path, npy_file("<u1", "(5, 1)", raw_bytes(std::vector<std::uint8_t>{3, 0, 9, 1, 255}), true));
  CHECK(nobias::read_npy_labels(path) == want);
  // Negative labels read as they are: one_hot refuses them with the element.
  write_bytes(path, npy_file("<i8", "(2,)", raw_bytes(std::vector<std::int64_t>{-1, 4})));
  CHECK(nobias::read_npy_labels(path) == std::vector<std::int64_t>{-1, 4});
  write_bytes(path, npy_file("<i4", "(0,)", ""));
  CHECK(nobias::read_npy_labels(path).empty());
}

TEST_CASE("npy.labels.write_reads_back_as_int64") {
  TempDir dir("labels-out");
  const std::string path = dir.file("p.npy");
  const std::vector<std::int64_t> labels{4, 0, -2, 1LL << 40};
  nobias::write_npy_labels(path, labels);
  CHECK(nobias::read_npy_labels(path) == labels);
  const nobias::NpyInfo info = nobias::inspect_npy(path);
  CHECK(info.dtype == NpyDtype::I64);
  CHECK(info.shape == std::vector<std::size_t>{4});
  CHECK(read_bytes(path).size() % 64 == 32);  // 64-byte header, then 4 x 8 bytes
}

TEST_CASE("npy.labels.reject") {
  TempDir dir("labels-bad");
  const std::string path = dir.file("y.npy");
  write_bytes(path, npy_file("<f8", "(2,)", raw_bytes(std::vector<double>{1, 2})));
  CHECK_ERROR(IoError, nobias::read_npy_labels(path),
              "read_npy_labels: " + path +
                  ": expected class labels of dtype '<i4', '<i8' or '|u1', found '<f8' (floats are "
                  "targets, not labels)");
  write_bytes(path, npy_file("<i2", "(2,)", raw_bytes(std::vector<std::int16_t>{1, 2})));
  CHECK_ERROR(IoError, nobias::read_npy_labels(path), "found '<i2'");
  write_bytes(path, npy_file(">i8", "(1,)", std::string(8, '\0')));
  CHECK_ERROR(IoError, nobias::read_npy_labels(path), "found '>i8'");
  write_bytes(path, npy_file("<i4", "(2, 2)", std::string(16, '\0')));
  CHECK_ERROR(IoError, nobias::read_npy_labels(path),
              "expected class labels of shape (n,) or (n, 1), found shape (2, 2)");
  write_bytes(path, npy_file("<i4", "()", std::string(4, '\0')));
  CHECK_ERROR(IoError, nobias::read_npy_labels(path), "found shape ()");
  write_bytes(path, npy_file("<i4", "(3,)", std::string(8, '\0')));
  CHECK_ERROR(IoError, nobias::read_npy_labels(path), "truncated data: expected 12 bytes");
  write_bytes(path, npy_file("<i8", "(1,)", std::string(12, '\0')));
  CHECK_ERROR(IoError, nobias::read_npy_labels(path),
              "file has 12 bytes of data but the header promises 8");
  write_bytes(path, npy_file("<i8", "(2305843009213693952,)", ""));
  CHECK_ERROR(IoError, nobias::read_npy_labels(path), "more bytes than fit in size_t");
  CHECK_ERROR(IoError, nobias::read_npy_labels(dir.file("none.npy")), "file does not exist");
}

TEST_CASE("npy.inspect.reports_dtype_and_shape_without_reading_the_data") {
  TempDir dir("inspect");
  const std::string path = dir.file("a.npy");
  nobias::write_npy(path, Matrix<float>(3, 4));
  nobias::NpyInfo info = nobias::inspect_npy(path);
  CHECK(info.dtype == NpyDtype::F32);
  CHECK(info.is_float());
  CHECK(info.shape == std::vector<std::size_t>{3, 4});
  CHECK(info.rows() == 3);
  CHECK(info.cols() == 4);
  CHECK_FALSE(info.is_column());
  write_bytes(path, npy_file("<f8", "(6,)", std::string(48, '\0')));
  info = nobias::inspect_npy(path);
  CHECK(info.dtype == NpyDtype::F64);
  CHECK(info.cols() == 1);
  CHECK(info.is_column());
  write_bytes(path, npy_file("|u1", "(6, 1)", std::string(6, '\0')));
  info = nobias::inspect_npy(path);
  CHECK(info.is_integer());
  CHECK(std::string(nobias::npy_dtype_name(info.dtype)) == "uint8");
  write_bytes(path, npy_file("<f4", "(2, 2, 2)", std::string(32, '\0')));
  CHECK_ERROR(IoError, nobias::inspect_npy(path),
              "inspect_npy: " + path + ": expected a 1-D or 2-D array, found shape (2, 2, 2)");
  write_bytes(path, npy_file("<c8", "(2,)", std::string(16, '\0')));
  CHECK_ERROR(IoError, nobias::inspect_npy(path),
              "expected dtype '<f4', '<f8', '<i4', '<i8' or '|u1', found '<c8'");
  write_bytes(path, npy_file("<f4", "(3,)", std::string(8, '\0')));
  CHECK_ERROR(IoError, nobias::inspect_npy(path), "truncated data");
}

TEST_CASE_TEMPLATE("npy.matrix_or_vector.reads_a_1d_float_array_as_one_column", T, float, double) {
  TempDir dir("vector");
  const std::string path = dir.file("y.npy");
  write_bytes(path, npy_file("<f8", "(3,)", raw_bytes(std::vector<double>{1.5, -2, 0.25})));
  const Matrix<T> m = nobias::read_npy_matrix_or_vector<T>(path);
  REQUIRE(m.rows() == 3);
  REQUIRE(m.cols() == 1);
  CHECK(m(1, 0) == T(-2));
  // read_npy itself still refuses it: everything it refused stays refused.
  CHECK_ERROR(IoError, nobias::read_npy<T>(path), "expected a 2-D array, found shape (3,)");
  // 2-D reads as read_npy; integers and other ranks are refused.
  nobias::write_npy(path, Matrix<T>(2, 5));
  CHECK(nobias::read_npy_matrix_or_vector<T>(path).cols() == 5);
  write_bytes(path, npy_file("<i8", "(3,)", std::string(24, '\0')));
  CHECK_ERROR(IoError, nobias::read_npy_matrix_or_vector<T>(path),
              "expected dtype '<f4' or '<f8', found '<i8'");
  write_bytes(path, npy_file("<f4", "(1, 1, 1)", std::string(4, '\0')));
  CHECK_ERROR(IoError, nobias::read_npy_matrix_or_vector<T>(path),
              "expected a 1-D or 2-D array, found shape (1, 1, 1)");
}
