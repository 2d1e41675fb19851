// Files written a block of rows at a time (nobias-predict's streamed predictions): the pieces
// make the same bytes as the one-call writers, so a streamed file is the file written whole.
#include <doctest/doctest.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "nobias/csv.hpp"
#include "nobias/matrix.hpp"
#include "nobias/npy.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

using test_support::TempDir;

TEST_CASE_TEMPLATE("written_in_pieces.npy_rows_make_write_npys_bytes", T, float, double) {
  // 37 rows in pieces of 5, 0, 19, 13; from a view of some columns too (rows with gaps).
  const nobias::Matrix<T> wide = test_support::random_matrix<T>(37, 11, 3);
  for (const std::size_t cols : {std::size_t(11), std::size_t(7)}) {
    CAPTURE(cols);
    const nobias::MatrixView<const T> m(wide.data(), 37, cols, 11);
    std::ostringstream whole, pieces;
    nobias::write_npy_stream<T>(whole, m);
    nobias::write_npy_header<T>(pieces, 37, cols);
    std::size_t first = 0;
    for (const std::size_t count :
         {std::size_t(5), std::size_t(0), std::size_t(19), std::size_t(13)}) {
      nobias::write_npy_rows<T>(pieces, m.row_block(first, count));
      first += count;
    }
    CHECK(pieces.str() == whole.str());
  }
}

TEST_CASE("written_in_pieces.npy_labels_header_and_values_make_write_npy_labels_file") {
  TempDir dir("pieces-labels");
  const std::vector<std::int64_t> labels = {3, 0, -1, 7, 2};
  nobias::write_npy_labels(dir.file("l.npy"), labels);
  std::ostringstream pieces;
  nobias::write_npy_labels_header(pieces, labels.size());
  pieces.write(reinterpret_cast<const char*>(labels.data()),
               static_cast<std::streamsize>(labels.size() * sizeof(std::int64_t)));
  CHECK(pieces.str() == test_support::read_bytes(dir.file("l.npy")));
}

TEST_CASE_TEMPLATE("written_in_pieces.csv_blocks_make_write_csvs_bytes", T, float, double) {
  const nobias::Matrix<T> m = test_support::random_matrix<T>(23, 3, 4);
  const std::vector<std::string> names = {"output 1", "output 2", "a, quoted \"name\""};
  std::ostringstream whole, pieces;
  nobias::write_csv_stream<T>(whole, m.view(), names);
  nobias::write_csv_stream<T>(pieces, nobias::Matrix<T>(0, 3).view(), names);  // header alone
  nobias::write_csv_stream<T>(pieces, m.row_block(0, 10), {});
  nobias::write_csv_stream<T>(pieces, m.row_block(10, 13), {});
  CHECK(pieces.str() == whole.str());
}

TEST_CASE("written_in_pieces.csv_table_rows_follow_their_header") {
  nobias::CsvTable all, header, rest;
  for (nobias::CsvTable* t : {&all, &header, &rest}) {
    t->names = {"label"};
    t->columns.resize(1);
    t->columns[0].kind = nobias::CsvKind::Text;
  }
  all.columns[0].texts = {"setosa", "a, b", "say \"hi\"", "virginica"};
  all.rows = 4;
  rest.columns[0].texts = {"a, b", "say \"hi\"", "virginica"};
  rest.rows = 3;
  header.columns[0].texts = {"setosa"};
  header.rows = 1;
  std::ostringstream whole, pieces;
  nobias::write_csv_stream(whole, all);
  nobias::write_csv_stream(pieces, header);
  nobias::write_csv_rows(pieces, rest);
  CHECK(pieces.str() == whole.str());
}
