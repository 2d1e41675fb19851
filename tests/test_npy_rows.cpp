// NpyRowReader: a .npy's rows read in order with pread, read_npy's values and refusals, and an
// IoError rather than a fault for a file cut short after it was opened.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/row_chunks.hpp"
#include "nobias/error.hpp"
#include "nobias/matrix.hpp"
#include "nobias/model.hpp"
#include "nobias/network.hpp"
#include "nobias/npy.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

using namespace test_support;

namespace {

template <class T>
using Other = std::conditional_t<std::is_same_v<T, float>, double, float>;

// m as a Fortran-order .npy of U: the header write_npy writes with 'fortran_order': True (same
// length: "False" is one character longer than "True", given back as a space), then m's columns.
template <class U, class T>
void write_fortran_npy(const std::string& path, const nobias::Matrix<T>& m) {
  nobias::write_npy(path, nobias::Matrix<U>(m.rows(), m.cols()));
  std::string bytes = read_bytes(path);
  const std::size_t at = bytes.find("'fortran_order': False");
  REQUIRE(at != std::string::npos);
  bytes.replace(at, 22, "'fortran_order': True ");
  std::size_t offset = bytes.size() - m.rows() * m.cols() * sizeof(U);
  for (std::size_t j = 0; j < m.cols(); ++j) {
    for (std::size_t i = 0; i < m.rows(); ++i, offset += sizeof(U)) {
      const U value = static_cast<U>(m(i, j));
      std::memcpy(&bytes[offset], &value, sizeof(U));
    }
  }
  write_bytes(path, bytes);
}

// Every row of reader read in windows of `window` rows (the last shorter).
template <class T>
nobias::Matrix<T> read_in_windows(const nobias::NpyRowReader<T>& reader, std::size_t window) {
  nobias::Matrix<T> m(reader.rows(), reader.cols());
  for (std::size_t first = 0; first < m.rows(); first += window)
    reader.read(first, m.view().row_block(first, std::min(window, m.rows() - first)));
  return m;
}

}  // namespace

TEST_CASE_TEMPLATE("npy_rows.reads_read_npys_values_in_any_windows", T, float, double) {
  TempDir dir("npy-rows");
  // Both file dtypes, both orders; 301 x 257 spans several conversion chunks.
  const nobias::Matrix<double> m = random_matrix<double>(301, 257, 3);
  const std::string own = dir.file("own.npy"), other = dir.file("other.npy"),
                    fortran_own = dir.file("fortran-own.npy"),
                    fortran_other = dir.file("fortran-other.npy"), one = dir.file("one.npy");
  nobias::Matrix<T> own_m(m.rows(), m.cols());
  for (std::size_t i = 0; i < m.rows(); ++i)
    for (std::size_t j = 0; j < m.cols(); ++j)
      own_m(i, j) = static_cast<T>(m(i, j));
  nobias::write_npy(own, own_m);
  nobias::write_npy(other, nobias::read_npy<Other<T>>(own));
  write_fortran_npy<T>(fortran_own, nobias::read_npy<T>(own));
  write_fortran_npy<Other<T>>(fortran_other, nobias::read_npy<T>(own));
  nobias::write_npy(one, random_matrix<T>(1, 5, 4));
  for (const std::string& path : {own, other, fortran_own, fortran_other, one}) {
    CAPTURE(path);
    const nobias::Matrix<T> expected = nobias::read_npy<T>(path);
    const nobias::NpyRowReader<T> reader(path);
    REQUIRE(reader.rows() == expected.rows());
    REQUIRE(reader.cols() == expected.cols());
    for (const std::size_t window :
         {std::size_t(1), std::size_t(7), std::size_t(300), expected.rows()}) {
      CAPTURE(window);
      CHECK(same_bits(read_in_windows(reader, window), expected));
    }
    // Into rows with gaps between them (a view of some columns of a wider matrix).
    nobias::Matrix<T> wide(expected.rows(), expected.cols() + 3);
    reader.read(0,
                nobias::MatrixView<T>(wide.data(), expected.rows(), expected.cols(), wide.cols()));
    CHECK(same_bits<T>(
        nobias::MatrixView<const T>(wide.data(), expected.rows(), expected.cols(), wide.cols()),
        expected.view()));
  }
  // Moved, the file goes along.
  nobias::NpyRowReader<T> reader(own);
  nobias::NpyRowReader<T> moved(std::move(reader));
  CHECK(same_bits(read_in_windows(moved, 64), nobias::read_npy<T>(own)));
  // Rows past the end, or other columns: a ShapeError, nothing read.
  nobias::Matrix<T> to(2, m.cols());
  CHECK_THROWS_AS(moved.read(300, to.view()), nobias::ShapeError);
  CHECK_THROWS_AS(moved.read(0, nobias::Matrix<T>(2, 3).view()), nobias::ShapeError);
}

TEST_CASE_TEMPLATE("npy_rows.reads_thin_and_empty_arrays_as_read_npy", T, float, double) {
  // One row or one column in Fortran order (the same bytes as C order), and no rows or no
  // columns: read_npy's values, and nothing to read.
  TempDir dir("npy-rows-thin");
  const std::string row = dir.file("row.npy"), column = dir.file("column.npy"),
                    no_rows = dir.file("no-rows.npy"), no_cols = dir.file("no-cols.npy");
  write_fortran_npy<Other<T>>(row, random_matrix<T>(1, 9, 5));
  write_fortran_npy<T>(column, random_matrix<T>(9, 1, 6));
  nobias::write_npy(no_rows, nobias::Matrix<Other<T>>(0, 4));
  nobias::write_npy(no_cols, nobias::Matrix<T>(6, 0));
  for (const std::string& path : {row, column, no_rows, no_cols}) {
    CAPTURE(path);
    const nobias::Matrix<T> expected = nobias::read_npy<T>(path);
    const nobias::NpyRowReader<T> reader(path);
    REQUIRE(reader.rows() == expected.rows());
    REQUIRE(reader.cols() == expected.cols());
    CHECK(same_bits(read_in_windows(reader, 2), expected));
  }
}

TEST_CASE("npy_rows.a_file_replaced_after_opening_is_read_as_opened") {
  // The header and the rows come from one descriptor: a file renamed over the path after the
  // reader opened it (the same size, another header) changes nothing that is read.
  TempDir dir("npy-rows-replaced");
  const std::string path = dir.file("x.npy"), other = dir.file("other.npy");
  const nobias::Matrix<float> m = random_matrix<float>(6, 8, 9);
  nobias::write_npy(path, m);
  const nobias::NpyRowReader<float> reader(path);
  nobias::write_npy(other, random_matrix<double>(6, 4, 10));  // the same bytes of data
  REQUIRE(read_bytes(other).size() == read_bytes(path).size());
  REQUIRE(std::rename(other.c_str(), path.c_str()) == 0);
  CHECK(reader.cols() == 8);
  CHECK(same_bits(read_in_windows(reader, 4), m));
}

TEST_CASE("npy_rows.refuses_as_read_npy_refuses") {
  TempDir dir("npy-rows-bad");
  const std::string missing = dir.file("missing.npy"), truncated = dir.file("short.npy"),
                    labels = dir.file("labels.npy");
  nobias::write_npy(truncated, random_matrix<float>(5, 3, 7));
  std::string bytes = read_bytes(truncated);
  bytes.resize(bytes.size() - 4);
  write_bytes(truncated, bytes);
  nobias::write_npy_labels(labels, {1, 2, 3});
  for (const std::string& path : {missing, truncated, labels, dir.path().string()}) {
    CAPTURE(path);
    const std::string expected =
        error_message<nobias::IoError>([&] { (void)nobias::read_npy<float>(path); });
    CHECK(expected.rfind("read_npy: ", 0) == 0);
    CHECK(error_message<nobias::IoError>([&] { nobias::NpyRowReader<float> r(path); }) == expected);
  }
}

TEST_CASE_TEMPLATE("npy_rows.a_file_cut_short_while_read_is_an_io_error", T, float, double) {
  // Opened whole, then cut after row 10 of 20 (a writer truncating it mid-pass): rows before the
  // cut read, a window reaching past it is an IoError naming the row, never a SIGBUS.
  TempDir dir("npy-rows-cut");
  const std::string path = dir.file("x.npy");
  const nobias::Matrix<T> m = random_matrix<T>(20, 9, 8);
  nobias::write_npy(path, m);
  const nobias::NpyRowReader<T> reader(path);
  const std::string bytes = read_bytes(path);
  write_bytes(path, bytes.substr(0, bytes.size() - 10 * 9 * sizeof(T) - 2));  // in place
  nobias::Matrix<T> to(9, 9);
  reader.read(0, to.view());
  CHECK(same_bits<T>(to.view(), m.view().row_block(0, 9)));
  const std::string message = error_message<nobias::IoError>([&] { reader.read(5, to.view()); });
  CHECK(message.rfind("read_npy: " + path + ": ", 0) == 0);
  CHECK(message.find("in row 10 of 20") != std::string::npos);
  CHECK(message.find("cut short") != std::string::npos);
}

TEST_CASE_TEMPLATE("npy_rows.predict_read_on_it_has_predict_rows_bits", T, float, double) {
  // What nobias-predict runs: the file's rows read into predict_read's windows give the outputs
  // predict_rows gives on the rows mapped (map_npy), every window's inputs as the file holds them.
  const std::vector<std::size_t> widths = {300, 16, 3};
  nobias::Network<T> net(random_weights<T>(widths, 41, 2.0));
  const std::size_t block = nobias::detail::block_rows<T>(widths), rows = 5 * block + 7;
  TempDir dir("npy-rows-predict");
  const std::string path = dir.file("x.npy");
  nobias::write_npy(path, random_matrix<T>(rows, widths.front(), 9));
  const nobias::NpyRows<T> mapped = nobias::map_npy<T>(path);
  const nobias::NpyRowReader<T> reader(path);
  for (const bool standardized : {false, true}) {
    CAPTURE(standardized);
    const nobias::Standardization s =
        standardized ? varied_statistics(widths.front()) : nobias::Standardization{};
    nobias::Matrix<T> expected(rows, widths.back()), got(rows, widths.back());
    nobias::predict_rows<T>(
        net, s, mapped.view(), [&](std::size_t first, nobias::MatrixView<const T> p, bool) {
          for (std::size_t i = 0; i < p.rows(); ++i)
            std::copy(p.row(i), p.row(i) + p.cols(), expected.view().row(first + i));
        });
    std::size_t given = 0;
    nobias::predict_read<T>(
        net, s, rows, [&](std::size_t first, nobias::MatrixView<T> to) { reader.read(first, to); },
        [&](std::size_t first, nobias::MatrixView<const T> inputs, nobias::MatrixView<const T> p,
            bool) {
          CHECK(same_bits<T>(inputs, mapped.view().row_block(first, p.rows())));
          for (std::size_t i = 0; i < p.rows(); ++i)
            std::copy(p.row(i), p.row(i) + p.cols(), got.view().row(first + i));
          given += p.rows();
        },
        2 * block);
    CHECK(given == rows);
    CHECK(same_bits(got, expected));
  }
}

TEST_CASE_TEMPLATE("npy_rows.maps_in_place_only_its_own_dtype_in_c_order", T, float, double) {
  // What the tools map (map_npy's view of the file itself), and what they read and convert.
  TempDir dir("npy-rows-maps");
  const nobias::Matrix<T> m = random_matrix<T>(7, 5, 3);
  const std::string own = dir.file("own.npy"), other = dir.file("other.npy"),
                    fortran = dir.file("fortran.npy"), empty = dir.file("empty.npy");
  nobias::write_npy(own, m);
  nobias::write_npy(other, nobias::Matrix<Other<T>>(7, 5));
  write_fortran_npy<T>(fortran, m);
  nobias::write_npy(empty, nobias::Matrix<T>(0, 5));
  CHECK(nobias::npy_maps_in_place<T>(own));
  CHECK(nobias::map_npy<T>(own).mapped());
  for (const std::string& path : {other, fortran, empty}) {
    CAPTURE(path);
    CHECK_FALSE(nobias::npy_maps_in_place<T>(path));
    CHECK_FALSE(nobias::map_npy<T>(path).mapped());
  }
  CHECK_THROWS_AS(nobias::npy_maps_in_place<T>(dir.file("missing.npy")), nobias::IoError);
}
