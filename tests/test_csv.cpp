// read_csv: each test states the file's bytes and what must come of them (the rules are
// include/nobias/csv.hpp's). What is done with a table, and the writers: test_csv_table.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "io/csv_scan.hpp"
#include "nobias/csv.hpp"
#include "nobias/error.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

#include <unistd.h>

using nobias::CsvHeader;
using nobias::CsvKind;
using nobias::CsvOptions;
using nobias::CsvTable;
using nobias::IoError;
using nobias::ValueError;

namespace {

bool same_table(const CsvTable& a, const CsvTable& b) {
  if (a.names != b.names || a.rows != b.rows || a.lines != b.lines ||
      a.has_header != b.has_header || a.delimiter != b.delimiter || a.cols() != b.cols()) {
    return false;
  }
  for (std::size_t j = 0; j < a.cols(); ++j) {
    const nobias::CsvColumn &x = a.columns[j], &y = b.columns[j];
    if (x.kind != y.kind || x.texts != y.texts || x.first_text != y.first_text ||
        x.first_text_line != y.first_text_line || x.number_count != y.number_count ||
        x.numbers.size() != y.numbers.size() ||
        (!x.numbers.empty() &&
         std::memcmp(x.numbers.data(), y.numbers.data(), x.numbers.size() * sizeof(double)))) {
      return false;
    }
  }
  return true;
}

// CsvRowReader on the same bytes, in a file and in memory read in small blocks (so that the
// second pass reads them again, across blocks): the same refusal, or the same table without
// values (none held, none reserved), then, every column kept and read a row and then the rest,
// the same table; its number columns read as a matrix are numeric_matrix's.
void check_row_reader(const std::string& bytes, const CsvOptions& options, const CsvTable& whole,
                      const std::string& whole_error) {
  const test_support::TempDir dir("csv-rows");
  const std::string path = dir.file("t.csv");
  test_support::write_bytes(path, bytes);
  const auto as_named = [&](std::string message) {  // the path as read_csv_bytes names it
    for (std::size_t at; (at = message.find(path)) != std::string::npos;)
      message.replace(at, path.size(), "t.csv");
    return message;
  };
  const auto open = [&](std::size_t block) {
    return block == 0 ? nobias::CsvRowReader(path, options)
                      : nobias::detail::csv_row_reader(
                            nobias::detail::memory_csv_input(bytes, block), "t.csv", options);
  };
  for (const std::size_t block : {0u, 1u, 7u}) {  // 0: the file
    CAPTURE(block);
    std::string error;
    try {
      nobias::CsvRowReader file = open(block);
      const CsvTable& shape = file.table();
      for (const nobias::CsvColumn& c : shape.columns)
        CHECK((c.numbers.capacity() == 0 && c.texts.capacity() == 0));
      std::vector<std::size_t> all(shape.cols()), numbers;
      for (std::size_t j = 0; j < shape.cols(); ++j) {
        all[j] = j;
        if (!shape.columns[j].is_text()) numbers.push_back(j);
      }
      nobias::CsvRowReader again = open(block);
      nobias::Matrix<double> m(shape.rows, numbers.size());
      again.read(m.view(), numbers);
      CHECK(test_support::same_bits(m, nobias::numeric_matrix<double>(whole, numbers)));
      const std::size_t first = std::min<std::size_t>(1, shape.rows);
      file.read_kept(first, all);
      file.read_kept(shape.rows - first, all);
      CHECK(file.rows_read() == shape.rows);
      CHECK(same_table(file.table(), whole));
    } catch (const nobias::Error& e) {
      error = as_named(e.what());
    }
    CHECK(error == whole_error);
  }
}

// Read as a file is, in windows that end inside records (1, 2, 3, 5 and 64 bytes): the same
// table as read whole, or the same refusal.
void check_blocks(const std::string& bytes, const CsvOptions& options) {
  std::string whole_error;
  CsvTable whole;
  try {
    whole = nobias::read_csv_bytes(bytes, "t.csv", options);
  } catch (const nobias::Error& e) {
    whole_error = e.what();
  }
  for (const std::size_t block : {1u, 2u, 3u, 5u, 64u}) {
    CAPTURE(block);
    const auto input = nobias::detail::memory_csv_input(bytes, block);
    CsvTable t;
    std::string error;
    try {
      t = nobias::detail::parse_csv(*input, "t.csv", options);
    } catch (const nobias::Error& e) {
      error = e.what();
    }
    CHECK(error == whole_error);
    CHECK(same_table(t, whole));
  }
  check_row_reader(bytes, options, whole, whole_error);
}

CsvTable read(const std::string& bytes, CsvOptions options = {}) {
  check_blocks(bytes, options);
  return nobias::read_csv_bytes(bytes, "t.csv", options);
}

CsvOptions header(CsvHeader h) {
  CsvOptions o;
  o.header = h;
  return o;
}

using Texts = std::vector<std::string>;
using Numbers = std::vector<double>;

}  // namespace

TEST_CASE("csv.read.header_detected_over_numbers_and_text") {
  const CsvTable t = read("a,b,species\n1,2.5,setosa\n3,-4e2,virginica\n");
  CHECK(t.has_header);
  CHECK(t.delimiter == ',');
  CHECK(t.names == Texts{"a", "b", "species"});
  REQUIRE(t.rows == 2);
  REQUIRE(t.cols() == 3);
  CHECK(t.lines == std::vector<std::size_t>{2, 3});
  CHECK(t.columns[0].kind == CsvKind::Number);
  CHECK(t.columns[0].numbers == Numbers{1, 3});
  CHECK(t.columns[1].numbers == Numbers{2.5, -400});
  CHECK(t.columns[2].kind == CsvKind::Text);
  CHECK(t.columns[2].texts == Texts{"setosa", "virginica"});
  CHECK(t.columns[2].first_text == "setosa");
  CHECK(t.columns[2].first_text_line == 2);
}

TEST_CASE("csv.read.no_header_and_no_final_newline") {
  const CsvTable t = read("1,2\n3,4");
  CHECK_FALSE(t.has_header);
  CHECK(t.names == Texts{"column 1", "column 2"});
  REQUIRE(t.rows == 2);
  CHECK(t.columns[1].numbers == Numbers{2, 4});
  CHECK(t.lines == std::vector<std::size_t>{1, 2});
}

TEST_CASE("csv.read.header_of_numbers_is_not_detected_but_can_be_declared") {
  const CsvTable detected = read("1,2,3\n4,5,6\n");
  CHECK_FALSE(detected.has_header);
  CHECK(detected.rows == 2);
  const CsvTable declared = read("1,2,3\n4,5,6\n", header(CsvHeader::Yes));
  CHECK(declared.has_header);
  CHECK(declared.names == Texts{"1", "2", "3"});
  REQUIRE(declared.rows == 1);
  CHECK(declared.columns[2].numbers == Numbers{6});
}

TEST_CASE("csv.read.first_row_with_a_number_over_numbers_is_data_not_a_header") {
  // A typo (or a stray word) in the first row of a headerless file: the row is data, its
  // column text, and numeric_matrix names line 1; it is never dropped as a header.
  const CsvTable t = read("1,2x,3\n4,5,6\n7,8,9\n");
  CHECK_FALSE(t.has_header);
  CHECK(t.names == Texts{"column 1", "column 2", "column 3"});
  REQUIRE(t.rows == 3);
  CHECK(t.lines == std::vector<std::size_t>{1, 2, 3});
  CHECK(t.columns[0].numbers == Numbers{1, 4, 7});
  REQUIRE(t.columns[1].kind == CsvKind::Text);
  CHECK(t.columns[1].texts == Texts{"2x", "5", "8"});
  CHECK(t.columns[1].first_text_line == 1);
  CHECK_ERROR(nobias::ValueError, nobias::numeric_matrix<double>(t),
              "t.csv: column 2 holds text, not numbers (line 1: '2x'); 2 of its 3 values are "
              "numbers; line 1 is read as data, not as a header: it holds a number in column 1, "
              "as the rows below do");
  // So is a header holding a number where the rows below hold numbers: declare it.
  CHECK_FALSE(read("0,1,label\n4,5,0\n7,8,1\n").has_header);
  CHECK(read("0,1,label\n4,5,0\n", header(CsvHeader::Yes)).names == Texts{"0", "1", "label"});
  // A number over a column of text does not count, nor does a missing name.
  CHECK(read("x,7,\n1,a,2\n").has_header);
  // One record: a header when it has text and no number.
  CHECK(read("a,b\n").has_header);
  CHECK_FALSE(read("1,b\n").has_header);
  // A missing value on the first row is refused as a missing value, whatever the rest.
  CHECK_ERROR(IoError, read("1,NA,3\n4,5,6\n"), "line 1, column 2: missing value 'NA'");
  CHECK_ERROR(IoError, read("a,NA,3x\n4,5,6\n", header(CsvHeader::No)),
              "line 1, column 2: missing value 'NA'");
}

TEST_CASE("csv.read.header_declared_absent_makes_text_columns") {
  const CsvTable t = read("a,b\n1,2\n3,x\n", header(CsvHeader::No));
  CHECK(t.names == Texts{"column 1", "column 2"});
  REQUIRE(t.rows == 3);
  CHECK(t.columns[0].texts == Texts{"a", "1", "3"});  // the numbers read again as written
  CHECK(t.columns[0].first_text == "a");
  CHECK(t.columns[0].first_text_line == 1);
  CHECK(t.columns[0].number_count == 2);
  CHECK(t.columns[1].texts == Texts{"b", "2", "x"});
}

TEST_CASE("csv.read.all_text_column_is_not_a_header") {
  const CsvTable t = read("setosa\nversicolor\n");
  CHECK_FALSE(t.has_header);
  CHECK(t.columns[0].texts == Texts{"setosa", "versicolor"});
}

TEST_CASE("csv.read.column_turning_text_late_keeps_every_text") {
  const CsvTable t = read("x,y\n1,2\n3,04\n5,abc\n");
  CHECK(t.has_header);
  REQUIRE(t.columns[1].kind == CsvKind::Text);
  CHECK(t.columns[1].texts == Texts{"2", "04", "abc"});
  CHECK(t.columns[1].first_text_line == 4);
  CHECK(t.columns[1].number_count == 2);
  CHECK(t.columns[0].numbers == Numbers{1, 3, 5});
}

TEST_CASE("csv.read.pandas_index_column_with_an_empty_name") {
  const CsvTable t = read(",a,b\n0,1,2\n1,3,4\n");
  CHECK(t.has_header);
  CHECK(t.names == Texts{"column 1", "a", "b"});
  CHECK(t.rows == 2);
}

TEST_CASE("csv.read.quoted_texts_and_numbers") {
  const CsvTable t = read(
      "name,x,n\n"
      "\"say \"\"hi\"\"\",\"a,b\",1\n"
      "\"two\r\nlines\", plain ,\" 2 \"\n");
  CHECK(t.has_header);
  REQUIRE(t.rows == 2);
  CHECK(t.columns[0].texts == Texts{"say \"hi\"", "two\r\nlines"});
  CHECK(t.columns[1].texts == Texts{"a,b", "plain"});
  CHECK(t.columns[2].kind == CsvKind::Number);  // quoted numbers are numbers
  CHECK(t.columns[2].numbers == Numbers{1, 2});
  CHECK(t.lines == std::vector<std::size_t>{2, 3});
  CHECK_ERROR(IoError, read("a,b\n\"x\ny\",1\n2\n"), "t.csv: line 4 has 1 field, expected 2");
}

TEST_CASE("csv.read.line_breaks_bom_and_blank_ends") {
  const Numbers expected{1, 3};
  for (const std::string bytes : {"a,b\n1,2\n3,4\n", "a,b\r\n1,2\r\n3,4\r\n",
                                  "\xef\xbb\xbf"
                                  "a,b\r\n1,2\r\n3,4",
                                  "a,b\r1,2\r3,4\r", "\n\r\na,b\n1,2\n3,4\n\n\r\n"}) {
    CAPTURE(bytes);
    const CsvTable t = read(bytes);
    CHECK(t.names == Texts{"a", "b"});
    CHECK(t.columns[0].numbers == expected);
  }
  // Leading blank lines are counted.
  CHECK(read("\n\na,b\n1,2\n").lines == std::vector<std::size_t>{4});
  CHECK_ERROR(IoError, read("a,b\n1,2\n\n3,4\n"), "t.csv: line 3 is empty: expected 2 fields");
}

TEST_CASE("csv.read.spaces_around_numbers") {
  const CsvTable t = read("a , b\n 1 , +2.5 \n\t3\t,  .5e1\n");
  CHECK(t.names == Texts{"a", "b"});
  CHECK(t.columns[0].numbers == Numbers{1, 3});
  CHECK(t.columns[1].numbers == Numbers{2.5, 5});
}

TEST_CASE("csv.read.delimiters_detected_or_given") {
  const CsvTable semi = read("a;b\n1.5;2\n");
  CHECK(semi.delimiter == ';');
  CHECK(semi.columns[0].numbers == Numbers{1.5});
  const CsvTable tab = read("a\tb c\n1\t2\n");
  CHECK(tab.delimiter == '\t');
  CHECK(tab.names == Texts{"a", "b c"});
  // A text with ';' in a comma file: the first record does not split on ';' alike.
  CHECK(read("x,note\n1,a;b\n2,c;d\n").delimiter == ',');
  CsvOptions pipe;
  pipe.delimiter = '|';
  CHECK(read("a|b\n1|2\n", pipe).columns[1].numbers == Numbers{2});
  pipe.delimiter = '.';
  CHECK_ERROR(ValueError, read("a\n", pipe), "delimiter '.' refused");
  // Decimal commas: ';' detected, the column is text, and numeric_matrix says why.
  const CsvTable decimal = read("a;b\n1,5;2\n");
  CHECK(decimal.columns[0].kind == CsvKind::Text);
  CHECK_ERROR(ValueError, nobias::numeric_matrix<double>(decimal),
              "t.csv: column 1 ('a') holds text, not numbers (line 2: '1,5', a decimal comma?");
}

TEST_CASE("csv.read.ragged_rows_name_the_line_and_counts") {
  CHECK_ERROR(
      IoError, read("a,b,c\n1,2,3\n4,5\n"),
      "read_csv: t.csv: line 3 has 2 fields, expected 3 fields as on line 1 (delimiter ',')");
  CHECK_ERROR(IoError, read("a,b\n1,2\n3,4,5,6\n"), "line 3 has 4 fields, expected 2");
  // A decimal comma in a comma file is one field too many.
  CHECK_ERROR(IoError, read("x,y\n1,5,2\n"), "line 2 has 3 fields, expected 2");
}

TEST_CASE("csv.read.missing_values_name_line_and_column") {
  CHECK_ERROR(IoError, read("a,age\n1,2\n3,NA\n"),
              "read_csv: t.csv: line 3, column 2 ('age'): missing value 'NA'; every value must");
  for (const std::string token : {"?", "nan", "NaN", "null", "None", "n/a", "#N/A", "-nan"}) {
    CAPTURE(token);
    CHECK_ERROR(IoError, read("a,b\n1," + token + "\n"), "line 2, column 2 ('b'): missing value");
  }
  CHECK_ERROR(IoError, read("a,b\n1,\n"),
              "missing value (an empty field: the line ends with the delimiter)");
  CHECK_ERROR(IoError, read("a,b\n,1\n"), "line 2, column 1 ('a'): missing value (an empty field)");
  CHECK_ERROR(IoError, read("a,b\n\"\",1\n"), "missing value (an empty field)");
  CHECK_ERROR(IoError, read("1,2\n3, NA \n"), "line 2, column 2: missing value 'NA'");
  // In a text column too.
  CHECK_ERROR(IoError, read("x,label\n1,setosa\n2,NA\n"), "line 3, column 2 ('label')");
  // The first row's, when it is data, comes first.
  CHECK_ERROR(IoError, read("1,?\n2,NA\n"), "line 1, column 2: missing value '?'");
  // A one-column file's blank line is a missing value.
  CHECK_ERROR(IoError, read("y\n1\n\n2\n"), "line 3, column 1 ('y'): missing value");
}

TEST_CASE("csv.read.non_finite_and_tiny_numbers") {
  CHECK_ERROR(IoError, read("a,b\n1,inf\n"),
              "line 2, column 2 ('b'): 'inf' is not a finite number");
  CHECK_ERROR(IoError, read("a,b\n1,-Infinity\n"), "'-Infinity' is not a finite number");
  CHECK_ERROR(IoError, read("a,b\n1,1e999\n"), "'1e999' is beyond the range of a double");
  CHECK_ERROR(IoError, read("a\n\"-1e400\"\n"), "'-1e400' is beyond the range of a double");
  const CsvTable t = read("a\n1e-400\n-1e-400\n4.9e-324\n");
  REQUIRE(t.rows == 3);
  CHECK(t.columns[0].numbers[0] == 0.0);
  CHECK(std::signbit(t.columns[0].numbers[1]));
  CHECK(t.columns[0].numbers[2] == std::numeric_limits<double>::denorm_min());
}

TEST_CASE("csv.read.structure_is_refused_before_values") {
  CHECK_ERROR(IoError, read("a,b\n1,NA\n1,2,3\n"), "line 3 has 3 fields");
  CHECK_ERROR(IoError, read("a,b\n1,2\n\"open,3\n4,5\n"),
              "line 3: a quoted field starts here and is never closed");
  CHECK_ERROR(IoError, read("a,b\n\"x\"y,1\n"),
              "line 2: 'y' after the closing quote of a field: expected the delimiter ','");
  CHECK_ERROR(IoError, read(std::string("a,b\n1,2\n3,x\0y\n", 15)),
              "line 3: a NUL byte: expected text");
  CHECK_ERROR(IoError,
              read(std::string("\xff\xfe"
                               "a\0,\0b\0",
                               8)),
              "line 1: the file is UTF-16");
}

TEST_CASE("csv.read.single_column") {
  const CsvTable t = read("y\n1\n2\n3\n");
  CHECK(t.has_header);
  CHECK(t.names == Texts{"y"});
  CHECK(t.columns[0].numbers == Numbers{1, 2, 3});
  CHECK(read("7").columns[0].numbers == Numbers{7});
}

TEST_CASE("csv.read.empty_file_and_header_only") {
  for (const std::string bytes : {"", "\n", "\r\n\r\n", "\xef\xbb\xbf", "\xef\xbb\xbf\n"}) {
    CAPTURE(bytes);
    CHECK_ERROR(IoError, read(bytes), "read_csv: t.csv: the file is empty: expected a header row");
  }
  const CsvTable t = read("a,b,c\n");
  CHECK(t.has_header);
  CHECK(t.names == Texts{"a", "b", "c"});
  CHECK(t.rows == 0);
  CHECK(t.columns[2].numbers.empty());
  CHECK(nobias::numeric_matrix<float>(t).rows() == 0);
}

TEST_CASE("csv.read.huge_fields") {
  const std::string big(1 << 20, 'x');
  const CsvTable t = read("a,b\n\"" + big + "\",1\n" + big + ",2\n");
  CHECK(t.columns[0].texts == Texts{big, big});
  // 800 digits and an exponent: still the correctly rounded double.
  const std::string digits = "0." + std::string(799, '0') + "1e799";
  CHECK(read("a\n" + digits + "\n").columns[0].numbers == Numbers{0.1});
}

TEST_CASE("csv.read.files") {
  test_support::TempDir dir("csv");
  test_support::write_bytes(dir.file("x.csv"), "a,b\n1,2\n");
  const CsvTable t = nobias::read_csv(dir.file("x.csv"));
  CHECK(t.source == dir.file("x.csv"));
  CHECK(t.columns[1].numbers == Numbers{2});
  CHECK_ERROR(IoError, nobias::read_csv(dir.file("none.csv")),
              "read_csv: " + dir.file("none.csv") + ": file does not exist");
  CHECK_ERROR(IoError, nobias::read_csv(dir.path().string()),
              "expected a CSV file, found a directory");
  // In blocks of 3 bytes, as a big file is read in blocks of 4 MiB.
  const std::string bytes = "a,\"b\r\nc\"\r\n1,\"x\"\"y\"\r\n22, 3 \r\n";
  test_support::write_bytes(dir.file("y.csv"), bytes);
  const auto small = nobias::detail::file_csv_input(dir.file("y.csv"), "", 3);
  CHECK(same_table(nobias::detail::parse_csv(*small, "t.csv", {}), read(bytes)));
  // A pipe is read whole (it can be read once), in blocks that grow past 1 MiB.
  int ends[2];
  REQUIRE(::pipe(ends) == 0);
  std::string rows = "x,y\n";
  for (int i = 0; rows.size() < (3u << 20); ++i)
    rows += std::to_string(i) + ",\"" + std::to_string(i % 7) + "\"\n";
  std::thread writer([&] {
    for (std::size_t at = 0; at < rows.size();) {
      const ssize_t put = ::write(ends[1], rows.data() + at, rows.size() - at);
      if (put <= 0) break;
      at += static_cast<std::size_t>(put);
    }
    ::close(ends[1]);
  });
  const CsvTable piped = nobias::read_csv("/dev/fd/" + std::to_string(ends[0]));
  writer.join();
  ::close(ends[0]);
  CHECK(same_table(piped, nobias::read_csv_bytes(rows, "/dev/fd/" + std::to_string(ends[0]))));
  CHECK(piped.rows > 200000);
  test_support::write_bytes(dir.file("bad.csv"), "a,b\n1,2\n3\n");
  CHECK_ERROR(IoError, nobias::read_csv(dir.file("bad.csv")),
              "read_csv: " + dir.file("bad.csv") + ": line 3 has 1 field");
}
