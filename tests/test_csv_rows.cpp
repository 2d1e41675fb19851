// CsvRowReader: a file's rows read a window at a time give what read_csv and numeric_matrix give
// at once, with their refusals. (Every file of test_csv.cpp is also read by it, whole and a row
// at a time: check_row_reader.)
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/csv_scan.hpp"
#include "nobias/csv.hpp"
#include "nobias/error.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

using nobias::CsvRowReader;
using nobias::CsvTable;
using nobias::IoError;
using nobias::Matrix;
using nobias::ValueError;

namespace {

// rows x cols of numbers with every kind of spelling read_csv takes, a text column at
// text_column (or none), and a header naming the columns.
std::string table_text(std::size_t rows, std::size_t cols, std::size_t text_column) {
  std::string out;
  for (std::size_t j = 0; j < cols; ++j)
    out += (j ? "," : "") + std::string("c") + std::to_string(j);
  out += "\r\n";
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = 0; j < cols; ++j) {
      if (j) out += ",";
      const long v = static_cast<long>((i * 31 + j * 17) % 97) - 48;
      if (j == text_column) {
        out += i % 3 == 0 ? "\"a, b\"" : "class " + std::to_string(i % 4);
      } else if (j % 3 == 0) {
        out += std::to_string(v) + "e-3";
      } else if (j % 3 == 1) {
        out += " " + std::to_string(v) + ".25 ";  // spaces around a number are ignored
      } else {
        out += "\"" + std::to_string(v) + "\"";  // a quoted number is a number
      }
    }
    out += i % 2 ? "\n" : "\r\n";
  }
  return out;
}

// The file read by a CsvRowReader in windows of `window` rows: columns as T, kept kept.
template <class T>
Matrix<T> read_in_windows(CsvRowReader& file, const std::vector<std::size_t>& columns,
                          const std::vector<std::size_t>& kept, std::size_t window) {
  Matrix<T> m(file.table().rows, columns.size());
  for (std::size_t begin = 0; begin < m.rows(); begin += window) {
    const std::size_t count = std::min(window, m.rows() - begin);
    file.read(m.view().row_block(begin, count), columns, kept);
  }
  return m;
}

template <class T>
void check_windows_match_the_table() {
  const test_support::TempDir dir("csv-rows");
  for (const std::size_t rows : {1u, 2u, 7u, 33u}) {
    for (const std::size_t cols : {2u, 5u, 11u}) {
      CAPTURE(rows);
      CAPTURE(cols);
      const std::size_t text = cols / 2;
      const std::string path = dir.file("t.csv");
      test_support::write_bytes(path, table_text(rows, cols, text));
      const CsvTable whole = nobias::read_csv(path);
      std::vector<std::size_t> numbers = nobias::columns_except(whole, {text});
      std::reverse(numbers.begin(), numbers.end());  // any order, as numeric_matrix takes
      const Matrix<T> expected = nobias::numeric_matrix<T>(whole, numbers);
      for (const std::size_t window : {1u, 3u, 8u, 100u}) {
        CAPTURE(window);
        CsvRowReader file(path);
        const Matrix<T> m = read_in_windows<T>(file, numbers, {text, 0}, window);
        CHECK(test_support::same_bits(m, expected));
        CHECK(file.table().columns[text].texts == whole.columns[text].texts);
        CHECK(file.table().columns[0].numbers == whole.columns[0].numbers);
        CHECK(file.table().columns[1].numbers.empty());  // not kept
        CHECK(file.rows_read() == rows);
      }
    }
  }
}

// Bytes in memory in windows of `block`, counting the bytes each window() hands out: what a
// reader asked of its file.
class CountingInput : public nobias::detail::CsvInput {
 public:
  CountingInput(std::string_view bytes, std::size_t block, std::size_t& handed)
      : inner_(nobias::detail::memory_csv_input(bytes, block)), handed_(handed) {}
  std::string_view window(std::size_t offset, std::size_t want, bool& final) override {
    const std::string_view w = inner_->window(offset, want, final);
    handed_ += w.size();
    return w;
  }
  std::size_t size_hint() const override { return inner_->size_hint(); }

 private:
  std::unique_ptr<nobias::detail::CsvInput> inner_;
  std::size_t& handed_;
};

// What f throws, or "" when it returns.
template <class F>
std::string refusal(F f) {
  try {
    f();
  } catch (const nobias::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("csv_rows.windows_of_any_size_give_numeric_matrix_and_the_kept_values") {
  check_windows_match_the_table<float>();
  check_windows_match_the_table<double>();
}

TEST_CASE("csv_rows.refuses_what_numeric_matrix_refuses_in_its_words") {
  const test_support::TempDir dir("csv-rows");
  const std::string path = dir.file("t.csv");
  test_support::write_bytes(path, "a,b,c\n1,2,x\n3,1e300,4\n5,6,7\n");
  const CsvTable whole = nobias::read_csv(path);
  const std::string text = refusal([&] { nobias::numeric_matrix<float>(whole, {0, 2}); });
  REQUIRE(text.find("holds text, not numbers") != std::string::npos);
  CsvRowReader file(path);
  Matrix<float> m(3, 2);
  CHECK(refusal([&] { file.read(m.view(), {0, 2}); }) == text);
  CHECK(file.rows_read() == 0);  // refused before any row

  const std::string range = refusal([&] { nobias::numeric_matrix<float>(whole, {0, 1}); });
  REQUIRE(range.find("line 3, column 2 ('b'): 1e+300 is beyond the range of float32") !=
          std::string::npos);
  CHECK(refusal([&] { file.read(m.view(), {0, 1}); }) == range);
  // After a refusal in the rows, nothing more is handed (the rows before it are gone).
  const std::string after = refusal([&] { file.read(m.view().row_block(0, 1), {0, 0}); });
  CHECK_MESSAGE(after.find("called after a refusal") != std::string::npos, after);

  CsvRowReader doubles(path);
  Matrix<double> d(3, 2);
  doubles.read(d.view(), {0, 1});  // 1e300 is a double
  CHECK(d(1, 1) == 1e300);
}

TEST_CASE("csv_rows.refuses_a_wrong_call") {
  const test_support::TempDir dir("csv-rows");
  const std::string path = dir.file("t.csv");
  test_support::write_bytes(path, "1,2\n3,4\n5,6\n");
  CsvRowReader file(path);
  Matrix<double> three(3, 3), two(2, 2), four(4, 2);
  CHECK_THROWS_AS(file.read(three.view(), {0, 1}), ValueError);  // out's columns
  CHECK(refusal([&] {
          file.read(two.view(), {0, 2});
        }).find("column index 2") != std::string::npos);
  CHECK(refusal([&] { file.read_kept(1, {5}); }).find("column index 5") != std::string::npos);
  CHECK(refusal([&] {
          file.read(four.view(), {0, 1});
        }).find("4 rows asked, 3 left of 3") != std::string::npos);
  file.read(two.view(), {1, 0});
  CHECK(two(1, 0) == 4);
  CHECK(two(1, 1) == 3);
  CHECK(refusal([&] {
          file.read(two.view(), {0, 1});
        }).find("2 rows asked, 1 left of 3") != std::string::npos);
  file.read_kept(1, {});
  CHECK(file.rows_read() == 3);
}

TEST_CASE("csv_rows.a_file_changed_between_the_passes_is_refused_at_its_line") {
  const test_support::TempDir dir("csv-rows");
  const std::string path = dir.file("t.csv");
  // Past the reader's 4 MiB block, so that the second pass reads the file again.
  std::string rest;
  for (int i = 0; i < 1200000; ++i)
    rest += "5,6\n";
  for (const std::string& changed : {"x,y\n1,2\n3,oops\n" + rest,   // text now
                                     "x,y\n1,2\n3\n" + rest,        // a field fewer
                                     std::string("x,y\n1,2\n")}) {  // rows fewer
    CAPTURE(changed.substr(0, 16));
    test_support::write_bytes(path, "x,y\n1,2\n3,4\n" + rest);
    CsvRowReader file(path);
    test_support::write_bytes(path, changed);
    Matrix<float> m(file.table().rows, 2);
    const std::string error = refusal([&] { file.read(m.view(), {0, 1}); });
    CHECK(error.find("the file changed while it was read (line 3 is no longer what it was)") !=
          std::string::npos);
    CHECK(error.rfind("read_csv: " + path + ": ", 0) == 0);
  }
}

TEST_CASE("csv_rows.a_headerless_file_and_an_empty_table") {
  const test_support::TempDir dir("csv-rows");
  const std::string path = dir.file("t.csv");
  test_support::write_bytes(path, "\n\n1;2\n3;4\n");  // blank lines first, ';' detected
  CsvRowReader file(path);
  CHECK_FALSE(file.table().has_header);
  CHECK(file.table().lines == std::vector<std::size_t>{3, 4});
  Matrix<double> m(2, 2);
  file.read(m.view(), {0, 1});
  CHECK(m(0, 0) == 1);
  CHECK(m(1, 1) == 4);

  test_support::write_bytes(path, "a,b\n");  // a header alone: no rows
  CsvRowReader header_only(path);
  CHECK(header_only.table().rows == 0);
  Matrix<float> none(0, 2);
  header_only.read(none.view(), {0, 1});
  CHECK(header_only.rows_read() == 0);
}

TEST_CASE("csv_rows.the_first_pass_holds_and_reserves_no_value") {
  // read_csv reserves room for the rest of a file's values after its first 64 rows; the first
  // pass keeps none (it reserved a table's worth of address space).
  const test_support::TempDir dir("csv-rows");
  const std::string path = dir.file("t.csv");
  test_support::write_bytes(path, table_text(300, 4, 1));
  CsvRowReader file(path);
  CHECK(file.table().rows == 300);
  for (const nobias::CsvColumn& c : file.table().columns)
    CHECK((c.numbers.capacity() == 0 && c.texts.capacity() == 0));
}

TEST_CASE("csv_rows.refuses_a_column_kept_twice_and_a_bad_delimiter_first") {
  const test_support::TempDir dir("csv-rows");
  const std::string path = dir.file("t.csv");
  test_support::write_bytes(path, "1,2\n3,4\n");
  CsvRowReader file(path);
  CHECK(refusal([&] {
          file.read_kept(1, {0, 1, 0});
        }).find("column index 0 kept twice") != std::string::npos);
  file.read_kept(2, {1});  // the refusal came before any row
  CHECK(file.table().columns[1].numbers == std::vector<double>{2, 4});
  // As read_csv: the option is refused before the file is looked for.
  nobias::CsvOptions letter;
  letter.delimiter = 'a';
  const std::string expected = refusal([&] { nobias::read_csv(dir.file("none.csv"), letter); });
  CHECK(expected.find("delimiter 'a' refused") != std::string::npos);
  CHECK(refusal([&] { CsvRowReader(dir.file("none.csv"), letter); }) == expected);
}

TEST_CASE("csv_rows.an_unchecked_column_is_never_refused_nor_read") {
  // nobias-predict --target: new rows' targets may be unknown (blank, NA, 1e999, text).
  const test_support::TempDir dir("csv-rows");
  const std::string path = dir.file("t.csv");
  test_support::write_bytes(path, "a,y,b\n1,,2\n3,NA,4\n5,1e999,6\n7,cat,8\n9,\"\",10\n");
  const auto options = [](const std::string& spec) {
    nobias::CsvOptions o;
    o.unchecked_column = spec;
    return o;
  };
  // Unchecked, by name or number: the other columns read as ever.
  for (const std::string spec : {"y", "2", "-2"}) {
    CAPTURE(spec);
    CsvRowReader file(path, options(spec));
    REQUIRE(file.unchecked_column() == 1);
    CHECK(file.table().has_header);
    CHECK(file.table().rows == 5);
    Matrix<double> m(5, 2);
    file.read(m.view(), {0, 2});
    CHECK(m(4, 0) == 9);
    CHECK(m(4, 1) == 10);
    // Never read: neither as numbers nor kept.
    file.rewind();
    const std::string error = refusal([&] { file.read_kept(5, {1}); });
    CHECK(error.find("CsvRowReader::read: column 2 ('y') is the unchecked column") !=
          std::string::npos);
    CHECK(refusal([&] {
            file.read(m.view(), {0, 1});
          }).find("column 2 ('y') holds text") != std::string::npos);  // refused first
  }
  // A number column with a blank: unchecked, and not read as numbers either.
  test_support::write_bytes(path, "a,y,b\n1,,2\n3,4,5\n");
  CsvRowReader numbers(path, options("y"));
  CHECK_FALSE(numbers.table().columns[1].is_text());
  Matrix<float> two(2, 2);
  CHECK(refusal([&] {
          numbers.read(two.view(), {1, 2});
        })
            .find("column 2 ('y') is the unchecked column (CsvOptions::unchecked_column): its "
                  "values were not checked, so they are not read") != std::string::npos);
  numbers.read(two.view(), {2, 0});
  CHECK(two(1, 0) == 5);
  test_support::write_bytes(path, "a,y,b\n1,,2\n3,NA,4\n5,1e999,6\n7,cat,8\n9,\"\",10\n");
  // Without it, or naming another column, the first refused value is refused as ever.
  const std::string missing = "line 2, column 2 ('y'): missing value (an empty field)";
  CHECK(refusal([&] { CsvRowReader{path}; }).find(missing) != std::string::npos);
  CHECK(refusal([&] { CsvRowReader(path, options("a")); }).find(missing) != std::string::npos);
  // A name no column has is no column; a spec that can name none is refused, before the values.
  CHECK(refusal([&] { CsvRowReader(path, options("label")); }).find(missing) != std::string::npos);
  test_support::write_bytes(path, "a,b\n1,2\n");
  CHECK(CsvRowReader(path, options("label")).unchecked_column() == 2);
  test_support::write_bytes(path, "a,y,y\n1,,2\n");
  CHECK(refusal([&] { CsvRowReader(path, options("y")); }) ==
        path + ": the name 'y' is in columns 2, 3: give the column's number instead");
  for (const std::string spec : {"0", "4", "-4"}) {
    CHECK(refusal([&] {
            CsvRowReader(path, options(spec));
          }).find(path + ": no column " + spec + ": there are 3 columns") == 0);
  }
  // The first value refused is the first in the file but the unchecked column's: by row, then
  // by column, a headerless file's first row first.
  test_support::write_bytes(path, "1,NA,2\n3,4,?\n,,5\n");
  CHECK(refusal([&] {
          CsvRowReader(path, options("2"));
        }).find("line 2, column 3: missing value '?'") != std::string::npos);
  CHECK(refusal([&] {
          CsvRowReader(path, options("3"));
        }).find("line 1, column 2: missing value 'NA'") != std::string::npos);
  CHECK(refusal([&] {
          CsvRowReader(path, options("1"));
        }).find("line 1, column 2: missing value 'NA'") != std::string::npos);
  // The structure is checked first, that column's fields counted too.
  test_support::write_bytes(path, "a,y\n1,\n2\n");
  CHECK(refusal([&] { CsvRowReader(path, options("y")); }).find("line 3 has 1 field") !=
        std::string::npos);
  // read_csv keeps every value: the option is CsvRowReader's.
  CHECK(refusal([&] {
          nobias::read_csv(path, options("y"));
        }).find("CsvOptions::unchecked_column ('y') is CsvRowReader's") != std::string::npos);
  CHECK(refusal([&] {
          nobias::read_csv_bytes("1\n", "b.csv", options("y"));
        }).find("is CsvRowReader's") != std::string::npos);
}

TEST_CASE("csv_rows.rewind_reads_the_rows_again_without_the_first_pass") {
  // nobias-evaluate --target: the targets' column, then the inputs, from one first pass.
  const std::string bytes = table_text(50, 4, 1);
  const CsvTable whole = nobias::read_csv_bytes(bytes, "t.csv");
  std::size_t handed = 0;
  CsvRowReader file = nobias::detail::csv_row_reader(
      std::make_unique<CountingInput>(bytes, 64, handed), "t.csv", {});
  const std::size_t first_pass = handed;
  REQUIRE(first_pass >= bytes.size());
  file.read_kept(20, {1});
  file.rewind();  // also midway
  CHECK(file.rows_read() == 0);
  CHECK((file.table().columns[1].texts.empty() && file.table().columns[1].texts.capacity() == 0));
  std::size_t before = handed;
  file.read_kept(50, {1, 0});
  const std::size_t second_pass = handed - before;
  CHECK(file.table().columns[1].texts == whole.columns[1].texts);
  CHECK(file.table().columns[0].numbers == whole.columns[0].numbers);
  before = handed;
  file.rewind();
  CHECK(handed == before);  // nothing read: the first pass is not made again
  CHECK(
      (file.table().columns[0].numbers.empty() && file.table().columns[0].numbers.capacity() == 0));
  const Matrix<double> m = read_in_windows<double>(file, {3, 0, 2}, {}, 7);
  CHECK(test_support::same_bits(m, nobias::numeric_matrix<double>(whole, {3, 0, 2})));
  CHECK(handed - before == second_pass);  // the same windows of the input as the pass before
  CHECK(file.table().rows == 50);
  CHECK(file.table().lines == whole.lines);

  // After a refused call the reader reads again from the first row.
  CHECK_FALSE(refusal([&] { file.read_kept(51, {0}); }).empty());
  file.rewind();
  file.read_kept(50, {0});
  CHECK(file.table().columns[0].numbers == whole.columns[0].numbers);
  CsvRowReader moved = std::move(file);
  CHECK(refusal([&] { file.rewind(); }).find("moved-from") != std::string::npos);  // NOLINT

  // A refusal midway through the rows (a value past float's range), which drops the reader's
  // place in the file: a rewind reads again from the first row.
  const std::string wide = "a,b\n1,2\n1e39,3\n4,5\n";
  std::size_t wide_handed = 0;
  CsvRowReader past_float = nobias::detail::csv_row_reader(
      std::make_unique<CountingInput>(wide, 64, wide_handed), "w.csv", {});
  Matrix<float> as_float(3, 1);
  CHECK(refusal([&] { past_float.read<float>(as_float.view(), {0}); }).find("line 3") !=
        std::string::npos);
  past_float.rewind();
  Matrix<double> as_double(3, 2);
  past_float.read<double>(as_double.view(), {0, 1});
  CHECK(as_double(1, 0) == 1e39);
  CHECK(as_double(2, 1) == 5.0);
}
