// .npy reading and writing, the atomic write beneath it, and weight directories.
// Files that our writer would never produce (Fortran order, version 2.0, every kind of
// corruption) are built byte by byte here, so each test states exactly what is on disk.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "io/atomic_file.hpp"
#include "io/atomic_file_hook.hpp"
#include "nobias/error.hpp"
#include "nobias/matrix.hpp"
#include "nobias/npy.hpp"
#include "nobias/weights_io.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using nobias::IoError;
using nobias::Matrix;
using nobias::ShapeError;
using test_support::TempDir;

using test_support::error_message;
using test_support::raw_bytes;
using test_support::read_bytes;
using test_support::write_bytes;

namespace {

// A fresh directory per test, removed with everything in it at the end of the test.

// A complete .npy file around a header dict and data, padded as numpy pads.
std::string npy_file(const std::string& dict, const std::string& data, int major = 1) {
  const std::size_t preamble = 8 + (major == 1 ? 2u : 4u);
  std::string header = dict;
  while ((preamble + header.size() + 1) % 64 != 0)
    header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  const std::size_t len_bytes = preamble - 8;
  for (std::size_t i = 0; i < len_bytes; ++i) {
    out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  }
  return out + header + data;
}

std::string dict_of(const std::string& descr, bool fortran, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
         ", 'shape': " + shape + ", }";
}

// Distinct values, exact in float, whose position can be read off: 100 i + j + 0.25.
template <class T>
Matrix<T> numbered(std::size_t rows, std::size_t cols) {
  Matrix<T> m(rows, cols);
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = 0; j < cols; ++j) {
      m(i, j) = static_cast<T>(100.0 * static_cast<double>(i) + static_cast<double>(j) + 0.25);
    }
  }
  return m;
}

template <class A, class B>
bool same_values(const Matrix<A>& a, const Matrix<B>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (std::size_t i = 0; i < a.rows(); ++i) {
    for (std::size_t j = 0; j < a.cols(); ++j) {
      if (static_cast<double>(a(i, j)) != static_cast<double>(b(i, j))) return false;
    }
  }
  return true;
}

}  // namespace

// Expects expr to throw E with text somewhere in its message.
TEST_CASE_TEMPLATE("npy.roundtrip.odd_shape", T, float, double) {
  TempDir dir("roundtrip");
  const std::string path = dir.file("a.npy");
  const Matrix<T> m = numbered<T>(7, 13);
  nobias::write_npy(path, m);
  const Matrix<T> back = nobias::read_npy<T>(path);
  CHECK(same_values(m, back));

  // numpy's layout: version 1.0, data on a 64-byte boundary, header ending in '\n'.
  const std::string bytes = read_bytes(path);
  REQUIRE(bytes.size() > 10);
  CHECK(bytes.compare(0, 8, std::string("\x93NUMPY\x01\x00", 8)) == 0);
  const std::size_t header_len =
      static_cast<unsigned char>(bytes[8]) + 256u * static_cast<unsigned char>(bytes[9]);
  CHECK((10 + header_len) % 64 == 0);
  CHECK(bytes[10 + header_len - 1] == '\n');
  CHECK(bytes.size() == 10 + header_len + 7 * 13 * sizeof(T));
  CHECK(bytes.find(sizeof(T) == 4 ? "'<f4'" : "'<f8'") != std::string::npos);
  CHECK(dir.names() == std::vector<std::string>{"a.npy"});
}

TEST_CASE_TEMPLATE("npy.roundtrip.empty", T, float, double) {
  TempDir dir("empty");
  for (const auto& shape : {std::pair<std::size_t, std::size_t>{0, 5}, {3, 0}, {0, 0}}) {
    // Plain copies: C++17 lambdas (inside CAPTURE) cannot capture structured bindings.
    const std::size_t rows = shape.first, cols = shape.second;
    CAPTURE(rows);
    CAPTURE(cols);
    const std::string path = dir.file("e.npy");
    nobias::write_npy(path, Matrix<T>(rows, cols));
    const Matrix<T> back = nobias::read_npy<T>(path);
    CHECK(back.rows() == rows);
    CHECK(back.cols() == cols);
  }
}

TEST_CASE("npy.cross_dtype.f64_read_as_f32") {
  TempDir dir("cross64");
  const std::string path = dir.file("a.npy");
  Matrix<double> m = numbered<double>(7, 13);
  m(3, 4) = 1.0 / 3.0;  // not exact in float: the read must round, not reinterpret
  nobias::write_npy(path, m);
  const Matrix<float> back = nobias::read_npy<float>(path);
  REQUIRE(back.rows() == 7);
  REQUIRE(back.cols() == 13);
  CHECK(back(3, 4) == static_cast<float>(1.0 / 3.0));
  m(3, 4) = static_cast<double>(back(3, 4));
  CHECK(same_values(m, back));
}

TEST_CASE("npy.cross_dtype.f32_read_as_f64") {
  TempDir dir("cross32");
  const std::string path = dir.file("a.npy");
  Matrix<float> m = numbered<float>(7, 13);
  m(6, 12) = 0.1f;
  nobias::write_npy(path, m);
  const Matrix<double> back = nobias::read_npy<double>(path);
  CHECK(back(6, 12) == static_cast<double>(0.1f));
  CHECK(same_values(m, back));
}

TEST_CASE_TEMPLATE("npy.fortran_order", T, float, double) {
  TempDir dir("fortran");
  // Both file dtypes into each T; the larger shape spans several conversion chunks.
  for (const std::size_t rows : {std::size_t{3}, std::size_t{301}}) {
    const std::size_t cols = rows == 3 ? 5 : 257;
    CAPTURE(rows);
    const Matrix<double> expected = numbered<double>(rows, cols);
    std::vector<double> col_major64;
    std::vector<float> col_major32;
    for (std::size_t j = 0; j < cols; ++j) {
      for (std::size_t i = 0; i < rows; ++i) {
        col_major64.push_back(expected(i, j));
        col_major32.push_back(static_cast<float>(expected(i, j)));
      }
    }
    const std::string shape = "(" + std::to_string(rows) + ", " + std::to_string(cols) + ")";
    const std::string p64 = dir.file("f8.npy"), p32 = dir.file("f4.npy");
    write_bytes(p64, npy_file(dict_of("<f8", true, shape), raw_bytes(col_major64)));
    write_bytes(p32, npy_file(dict_of("<f4", true, shape), raw_bytes(col_major32)));
    CHECK(same_values(nobias::read_npy<T>(p64), expected));
    CHECK(same_values(nobias::read_npy<T>(p32), expected));
  }
}

TEST_CASE("npy.fortran_order.single_column") {
  TempDir dir("fortran1");
  const std::string path = dir.file("c.npy");
  write_bytes(path,
              npy_file(dict_of("<f8", true, "(4, 1)"), raw_bytes(std::vector<double>{1, 2, 3, 4})));
  const Matrix<double> m = nobias::read_npy<double>(path);
  REQUIRE(m.rows() == 4);
  REQUIRE(m.cols() == 1);
  CHECK(m(3, 0) == 4.0);
}

TEST_CASE("npy.header.versions_2_and_3") {
  TempDir dir("v2");
  const std::vector<double> data = {1, 2, 3, 4, 5, 6};
  for (const int major : {2, 3}) {
    CAPTURE(major);
    const std::string path = dir.file("v.npy");
    write_bytes(path, npy_file(dict_of("<f8", false, "(2, 3)"), raw_bytes(data), major));
    const Matrix<double> m = nobias::read_npy<double>(path);
    REQUIRE(m.rows() == 2);
    REQUIRE(m.cols() == 3);
    CHECK(m(1, 0) == 4.0);
    CHECK(m(1, 2) == 6.0);
  }
}

TEST_CASE("npy.header.other_writers") {
  // Key order, double quotes, no trailing comma, Python 2 longs: all valid dict literals.
  TempDir dir("writers");
  const std::string path = dir.file("o.npy");
  write_bytes(path, npy_file("{\"shape\": (2L, 1L), \"fortran_order\": False, \"descr\": \"<f4\"}",
                             raw_bytes(std::vector<float>{7, 8})));
  const Matrix<float> m = nobias::read_npy<float>(path);
  REQUIRE(m.rows() == 2);
  CHECK(m(1, 0) == 8.0f);
}

TEST_CASE("npy.reject.missing_file") {
  TempDir dir("missing");
  const std::string path = dir.file("nope.npy");
  CHECK_ERROR(IoError, nobias::read_npy<float>(path), path + ": file does not exist");
  CHECK_ERROR(IoError, nobias::read_npy<float>(dir.path().string()), "found a directory");
}

// A FIFO called x.npy said "cannot get the file size (Operation not supported)"; now it says
// what it is and what was expected, before anything opens it (a FIFO's open would wait).
TEST_CASE("npy.reject.a_file_that_is_not_regular") {
  TempDir dir("fifo-npy");
  const std::string fifo = dir.file("x.npy");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string expected = fifo + ": is a FIFO (named pipe), expected a regular file";
  CHECK_ERROR(IoError, nobias::read_npy<float>(fifo), "read_npy: " + expected);
  CHECK_ERROR(IoError, nobias::inspect_npy(fifo), "inspect_npy: " + expected);
  CHECK_ERROR(IoError, nobias::read_npy<double>("/dev/null"),
              "read_npy: /dev/null: is a character device, expected a regular file");
}

TEST_CASE("npy.reject.bad_magic") {
  TempDir dir("magic");
  const std::string path = dir.file("bad.npy");
  write_bytes(path, "PK\x03\x04 this is a zip file");
  CHECK_ERROR(IoError, nobias::read_npy<float>(path), path + ": not a .npy file");
  write_bytes(path, "");
  CHECK_ERROR(IoError, nobias::read_npy<float>(path), "not a .npy file");
}

TEST_CASE("npy.reject.version") {
  TempDir dir("version");
  const std::string path = dir.file("v4.npy");
  std::string bytes = npy_file(dict_of("<f8", false, "(1, 1)"), raw_bytes(std::vector<double>{1}));
  bytes[6] = 4;
  write_bytes(path, bytes);
  CHECK_ERROR(IoError, nobias::read_npy<double>(path), "unsupported .npy format version 4.0");
}

TEST_CASE("npy.reject.malformed_header") {
  TempDir dir("malformed");
  const std::string path = dir.file("m.npy");
  const std::string data = raw_bytes(std::vector<double>{1});
  for (const std::string dict :
       {"{'descr': '<f8', 'fortran_order': False}", "{'descr': '<f8', 'shape': (1, 1), }",
        "{'descr': '<f8' 'fortran_order': False, 'shape': (1, 1)}",
        "{'descr': '<f8', 'fortran_order': Maybe, 'shape': (1, 1)}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1, -1)}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), 'extra': 1}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1)} junk", "not a dict"}) {
    CAPTURE(dict);
    write_bytes(path, npy_file(dict, data));
    CHECK_ERROR(IoError, nobias::read_npy<double>(path), "malformed .npy header");
  }
}

TEST_CASE("npy.reject.binary_keys_are_quoted_printably") {
  // Found by the fuzzer: a key's raw bytes went into the message, terminal escapes and all.
  TempDir dir("binary-key");
  const std::string path = dir.file("k.npy");
  const std::string data = raw_bytes(std::vector<double>{1});
  write_bytes(path,
              npy_file("{'d\xbe\x1b[2J': '<f8', 'fortran_order': False, 'shape': (1, 1)}", data));
  CHECK_ERROR(IoError, nobias::read_npy<double>(path), "unexpected key 'd\\xbe\\x1b[2J'");
  write_bytes(path, npy_file("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, "
                             "'shape': (1, 1)}",
                             data));
  CHECK_ERROR(IoError, nobias::read_npy<double>(path), "duplicate key 'descr'");
  // Also found by the fuzzer: a dtype that only looked big-endian had its bytes echoed in advice.
  write_bytes(path, npy_file(dict_of(">f\x83", false, "(1, 1)"), data));
  CHECK_ERROR(IoError, nobias::read_npy<double>(path), "found '>f\\x83'");
  CHECK(error_message<IoError>([&] { nobias::read_npy<double>(path); }).find("big-endian") ==
        std::string::npos);
}

TEST_CASE("npy.reject.dtype") {
  TempDir dir("dtype");
  const std::string path = dir.file("d.npy");
  write_bytes(path, npy_file(dict_of("<i4", false, "(1, 2)"), raw_bytes(std::vector<int>{1, 2})));
  CHECK_ERROR(IoError, nobias::read_npy<float>(path),
              path + ": expected dtype '<f4' or '<f8', found '<i4'");

  write_bytes(path, npy_file(dict_of(">f8", false, "(1, 1)"), std::string(8, '\0')));
  CHECK_ERROR(IoError, nobias::read_npy<double>(path), "big-endian");

  write_bytes(path, npy_file(dict_of("<c16", false, "(1, 1)"), std::string(16, '\0')));
  CHECK_ERROR(IoError, nobias::read_npy<double>(path), "found '<c16'");

  write_bytes(path, npy_file("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1, 1)}",
                             std::string(8, '\0')));
  CHECK_ERROR(IoError, nobias::read_npy<double>(path), "found structured dtype");
}

TEST_CASE("npy.reject.rank") {
  TempDir dir("rank");
  const std::string path = dir.file("r.npy");
  write_bytes(path, npy_file(dict_of("<f8", false, "(5,)"), std::string(5 * 8, '\0')));
  CHECK_ERROR(IoError, nobias::read_npy<double>(path), "expected a 2-D array, found shape (5,)");

  write_bytes(path, npy_file(dict_of("<f4", false, "(2, 3, 4)"), std::string(24 * 4, '\0')));
  CHECK_ERROR(IoError, nobias::read_npy<double>(path), "found shape (2, 3, 4)");

  write_bytes(path, npy_file(dict_of("<f8", false, "()"), std::string(8, '\0')));
  CHECK_ERROR(IoError, nobias::read_npy<double>(path), "found shape ()");
}

TEST_CASE("npy.reject.size_mismatch") {
  TempDir dir("size");
  const std::string path = dir.file("s.npy");
  const std::string dict = dict_of("<f8", false, "(2, 3)");

  write_bytes(path, npy_file(dict, std::string(40, '\0')));
  CHECK_ERROR(IoError, nobias::read_npy<double>(path), "truncated data: expected 48 bytes");
  CHECK_ERROR(IoError, nobias::read_npy<double>(path), "got 40");

  // A header that lies: the file holds more than the shape promises.
  write_bytes(path, npy_file(dict, std::string(56, '\0')));
  CHECK_ERROR(IoError, nobias::read_npy<double>(path),
              "file has 56 bytes of data but the header promises 48");

  // A header length that runs past the end of the file.
  write_bytes(path, npy_file(dict, "").substr(0, 30));
  CHECK_ERROR(IoError, nobias::read_npy<double>(path), "truncated header");
}

TEST_CASE("npy.reject.overflow") {
  TempDir dir("overflow");
  const std::string path = dir.file("o.npy");
  write_bytes(path, npy_file(dict_of("<f8", false, "(4294967296, 4294967296)"), ""));
  CHECK_ERROR(IoError, nobias::read_npy<double>(path), "more bytes than fit in size_t");
  write_bytes(path, npy_file(dict_of("<f8", false, "(99999999999999999999999, 1)"), ""));
  CHECK_ERROR(IoError, nobias::read_npy<double>(path), "does not fit in size_t");
}

TEST_CASE_TEMPLATE("npy.write.atomic_on_failure", T, float, double) {
  TempDir dir("atomic");
  const std::string path = dir.file("keep.npy");
  nobias::write_npy(path, numbered<T>(2, 3));
  const std::string before = read_bytes(path);

  std::string seen_temp;
  {
    // A failure after the new data is fully written but before it replaces the old.
    nobias::detail::ScopedAtomicWriteHook hook([&](const std::string& temp) {
      seen_temp = temp;
      CHECK(fs::exists(temp));
      CHECK(fs::file_size(temp) > 0);
      throw std::runtime_error("simulated crash before rename");
    });
    CHECK_ERROR(std::runtime_error, nobias::write_npy(path, numbered<T>(7, 13)),
                "simulated crash before rename");
  }
  CHECK(seen_temp.rfind(dir.file(".nobias-tmp-"), 0) == 0);
  CHECK(read_bytes(path) == before);
  CHECK(dir.names() == std::vector<std::string>{"keep.npy"});

  // With the hook gone, writing works again and replaces the file.
  nobias::write_npy(path, numbered<T>(7, 13));
  CHECK(nobias::read_npy<T>(path).rows() == 7);
  CHECK(dir.names() == std::vector<std::string>{"keep.npy"});
}

TEST_CASE("npy.write.failing_body_leaves_no_temporary") {
  TempDir dir("body");
  const std::string path = dir.file("x.bin");
  write_bytes(path, "old");
  CHECK_ERROR(IoError,
              nobias::write_file_atomically(
                  path, [](std::ostream&) { throw IoError("body failed"); }, "test"),
              "body failed");
  // A stream that goes bad without throwing is caught by the state checks.
  CHECK_ERROR(IoError,
              nobias::write_file_atomically(
                  path, [](std::ostream& out) { out.setstate(std::ios::badbit); }, "test"),
              "test: " + path);
  CHECK(read_bytes(path) == "old");
  CHECK(dir.names() == std::vector<std::string>{"x.bin"});
}

TEST_CASE("npy.write.missing_directory") {
  TempDir dir("nodir");
  const std::string missing = dir.file("no/such/dir");
  const std::string path = missing + "/a.npy";
  CHECK_ERROR(IoError, nobias::write_npy(path, numbered<float>(2, 2)),
              "directory '" + missing + "' does not exist");
  write_bytes(dir.file("plain"), "x");
  CHECK_ERROR(IoError, nobias::write_npy(dir.file("plain") + "/a.npy", numbered<float>(2, 2)),
              "is not a directory");
}

TEST_CASE("npy.write.over_a_directory") {
  TempDir dir("overdir");
  fs::create_directory(dir.file("taken.npy"));
  fs::create_directory(dir.file("taken.npy/child"));
  CHECK_ERROR(IoError, nobias::write_npy(dir.file("taken.npy"), numbered<double>(1, 1)),
              dir.file("taken.npy") + ": is a directory, expected a file");
  CHECK(dir.names() == std::vector<std::string>{"taken.npy"});
}

namespace {

template <class T>
std::vector<Matrix<T>> three_layers() {
  std::vector<Matrix<T>> w;
  w.push_back(numbered<T>(5, 7));
  w.push_back(numbered<T>(7, 3));
  w.push_back(numbered<T>(3, 2));
  return w;
}

}  // namespace

TEST_CASE_TEMPLATE("weights_io.roundtrip", T, float, double) {
  TempDir dir("weights");
  const std::vector<Matrix<T>> w = three_layers<T>();
  nobias::save_weights(dir.path().string(), w);
  CHECK(dir.names() ==
        std::vector<std::string>{"nobias-manifest.txt", "w1.npy", "w2.npy", "w3.npy"});
  const auto back = nobias::load_weights<T>(dir.path().string());
  REQUIRE(back.size() == 3);
  for (std::size_t k = 0; k < 3; ++k) {
    CAPTURE(k);
    CHECK(same_values(w[k], back[k]));
  }
  // Either dtype loads as either type.
  const auto other =
      nobias::load_weights<std::conditional_t<sizeof(T) == 4, double, float>>(dir.path().string());
  REQUIRE(other.size() == 3);
  CHECK(same_values(w[2], other[2]));
}

TEST_CASE("weights_io.save_leaves_other_files") {
  TempDir dir("others");
  write_bytes(dir.file("notes.txt"), "keep me");
  nobias::save_weights(dir.path().string(), three_layers<float>());
  CHECK(read_bytes(dir.file("notes.txt")) == "keep me");
  CHECK(nobias::load_weights<float>(dir.path().string()).size() == 3);
}

TEST_CASE("weights_io.save_removes_stale_deeper_layers") {
  TempDir dir("stale");
  nobias::save_weights(dir.path().string(), three_layers<float>());
  std::vector<Matrix<float>> shallow;
  shallow.push_back(numbered<float>(5, 4));
  nobias::save_weights(dir.path().string(), shallow);
  CHECK(dir.names() == std::vector<std::string>{"nobias-manifest.txt", "w1.npy"});
  const auto back = nobias::load_weights<float>(dir.path().string());
  REQUIRE(back.size() == 1);
  CHECK(same_values(shallow[0], back[0]));
}

TEST_CASE("weights_io.reject.directory") {
  TempDir dir("wdir");
  const std::string missing = dir.file("absent");
  CHECK_ERROR(IoError, nobias::load_weights<float>(missing), "'" + missing + "' does not exist");
  write_bytes(dir.file("file"), "x");
  CHECK_ERROR(IoError, nobias::load_weights<float>(dir.file("file")), "is not a directory");
}

TEST_CASE("weights_io.reject.missing_w1") {
  TempDir dir("now1");
  nobias::write_npy(dir.file("w2.npy"), numbered<float>(2, 2));
  CHECK_ERROR(IoError, nobias::load_weights<float>(dir.path().string()), "w1.npy is missing");
}

TEST_CASE("weights_io.reject.gap") {
  TempDir dir("gap");
  const std::vector<Matrix<double>> w = three_layers<double>();
  nobias::write_npy(dir.file("w1.npy"), w[0]);
  nobias::write_npy(dir.file("w2.npy"), w[1]);
  nobias::write_npy(dir.file("w4.npy"), w[2]);
  nobias::write_npy(dir.file("w10.npy"), w[2]);
  CHECK_ERROR(IoError, nobias::load_weights<double>(dir.path().string()),
              "w3.npy is missing but w4.npy exists");
}

TEST_CASE("weights_io.reject.shape_chain") {
  TempDir dir("chain");
  nobias::write_npy(dir.file("w1.npy"), numbered<float>(5, 7));
  nobias::write_npy(dir.file("w2.npy"), numbered<float>(6, 3));
  const std::string message =
      error_message<ShapeError>([&] { nobias::load_weights<float>(dir.path().string()); });
  CHECK_MESSAGE(message.find("w2.npy is 6x3") != std::string::npos, message);
  CHECK_MESSAGE(message.find("w1.npy is 5x7") != std::string::npos, message);

  std::vector<Matrix<float>> bad;
  bad.push_back(numbered<float>(5, 7));
  bad.push_back(numbered<float>(6, 3));
  TempDir out("chain-save");
  CHECK_ERROR(ShapeError, nobias::save_weights(out.path().string(), bad), "w2.npy is 6x3");
  CHECK(out.names().empty());
}

// ---------------------------------------------------------------------------------------------
// Bad input, as docs/errors.md lists it.

TEST_CASE("npy.reject.truncated_at_every_length") {
  // Every proper prefix of a good file, from the empty file to one byte short: each an IoError
  // naming the file, never a crash or a short matrix.
  TempDir dir("prefix");
  const std::string good = dir.file("good.npy"), path = dir.file("cut.npy");
  nobias::write_npy(good, numbered<float>(3, 5));
  const std::string bytes = read_bytes(good);
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    CAPTURE(length);
    write_bytes(path, bytes.substr(0, length));
    const std::string message = error_message<IoError>([&] { nobias::read_npy<double>(path); });
    CHECK_MESSAGE(message.rfind("read_npy: " + path + ": ", 0) == 0, message);
    const bool named =
        message.find(length < 6 ? "not a .npy file" : "truncated") != std::string::npos;
    CHECK_MESSAGE(named, message);
  }
}

TEST_CASE("npy.reject.big_endian_and_integer_dtypes_into_either_type") {
  TempDir dir("dtypes");
  const std::string path = dir.file("d.npy");
  for (const std::string descr : {">f4", ">f8", "<i4", "<i8", "|u1", "<f2", "|b1"}) {
    CAPTURE(descr);
    write_bytes(path, npy_file(dict_of(descr, false, "(1, 1)"), std::string(8, '\0')));
    CHECK_ERROR(IoError, nobias::read_npy<float>(path), "found '" + descr + "'");
    CHECK_ERROR(IoError, nobias::read_npy<double>(path), "expected dtype '<f4' or '<f8'");
  }
}

TEST_CASE("npy.reject.header_that_lies_about_the_shape") {
  // The data of a 4x3 float64 array under headers that promise other shapes.
  TempDir dir("lies");
  const std::string path = dir.file("l.npy");
  const std::string data = raw_bytes(std::vector<double>(12, 1.0));
  write_bytes(path, npy_file(dict_of("<f8", false, "(4, 4)"), data));  // more than it holds
  CHECK_ERROR(IoError, nobias::read_npy<double>(path), "truncated data: expected 128 bytes");
  write_bytes(path, npy_file(dict_of("<f8", false, "(3, 3)"), data));  // less than it holds
  CHECK_ERROR(IoError, nobias::read_npy<double>(path),
              "file has 96 bytes of data but the header promises 72");
  write_bytes(path, npy_file(dict_of("<f4", false, "(4, 3)"), data));  // the wrong item size
  CHECK_ERROR(IoError, nobias::read_npy<float>(path), "header promises 48");
  // A shape whose element count fits but whose bytes do not: no allocation is attempted.
  write_bytes(path, npy_file(dict_of("<f8", false, "(2305843009213693952, 1)"), data));
  CHECK_ERROR(IoError, nobias::read_npy<double>(path), "more bytes than fit in size_t");
}

TEST_CASE("weights_io.reject.stray_weight_names") {
  TempDir dir("stray");
  nobias::write_npy(dir.file("w1.npy"), numbered<float>(5, 7));
  nobias::write_npy(dir.file("w2.npy"), numbered<float>(7, 3));
  nobias::write_npy(dir.file("w0.npy"), numbered<float>(3, 3));
  CHECK_ERROR(IoError, nobias::load_weights<float>(dir.path().string()), "unexpected w0.npy");
  fs::remove(dir.file("w0.npy"));
  nobias::write_npy(dir.file("w02.npy"), numbered<float>(7, 3));
  CHECK_ERROR(IoError, nobias::load_weights<float>(dir.path().string()), "unexpected w02.npy");
  fs::remove(dir.file("w02.npy"));
  // Files that are not weight names are no business of load_weights.
  write_bytes(dir.file("w1.npy.bak"), "x");
  write_bytes(dir.file("wx.npy"), "x");
  CHECK(nobias::load_weights<float>(dir.path().string()).size() == 2);
  // A bad file among them is named with its path.
  write_bytes(dir.file("w2.npy"),
              npy_file(dict_of("<i4", false, "(7, 3)"), std::string(7 * 3 * 4, '\0')));
  CHECK_ERROR(IoError, nobias::load_weights<float>(dir.path().string()),
              "read_npy: " + dir.file("w2.npy") + ": expected dtype '<f4' or '<f8', found '<i4'");
}

TEST_CASE("weights_io.reject.a_missing_layer_file") {
  // One file of a saved network deleted: the middle one is a gap, the last one a shallower
  // network whose shapes the caller must then check (nobias-train does).
  TempDir dir("missing-layer");
  nobias::save_weights(dir.path().string(), three_layers<double>());
  fs::remove(dir.file("w2.npy"));
  CHECK_ERROR(IoError, nobias::load_weights<double>(dir.path().string()),
              "w2.npy is missing but w3.npy exists");
  fs::remove(dir.file("w1.npy"));
  CHECK_ERROR(IoError, nobias::load_weights<double>(dir.path().string()), "w1.npy is missing");
}

TEST_CASE("weights_io.save.bad_arguments_write_nothing") {
  TempDir dir("save-bad");
  CHECK_ERROR(nobias::ValueError,
              nobias::save_weights(dir.path().string(), std::vector<Matrix<float>>{}),
              "save_weights: no weight matrices to save");
  write_bytes(dir.file("plain"), "x");
  CHECK_ERROR(IoError, nobias::save_weights(dir.file("plain"), three_layers<float>()),
              "save_weights: cannot create '" + dir.file("plain") + "': '" + dir.file("plain") +
                  "' is not a directory");
  CHECK_ERROR(IoError, nobias::save_weights(dir.file("plain") + "/sub", three_layers<float>()),
              "save_weights: cannot create '" + dir.file("plain") + "/sub': '" + dir.file("plain") +
                  "' is not a directory");
  CHECK(dir.names() == std::vector<std::string>{"plain"});
}

// A save interrupted midway: test_file_set.cpp
// weights_io.save.interrupted_at_every_step_loads_old_or_is_refused (the set is atomic now).

TEST_CASE("npy.write.unwritable_directory") {
  // Root may write anywhere permissions are concerned; nobody can create a file in /proc.
  CHECK_ERROR(IoError, nobias::write_npy("/proc/nobias-test.npy", numbered<float>(2, 2)),
              "write_npy: /proc/nobias-test.npy: cannot create a temporary file in directory "
              "'/proc'");
  CHECK_ERROR(IoError, nobias::save_weights("/proc", three_layers<float>()),
              "cannot create a temporary file in directory '/proc'");
  CHECK_FALSE(fs::exists("/proc/nobias-test.npy"));
  CHECK_FALSE(fs::exists("/proc/w1.npy"));
}
