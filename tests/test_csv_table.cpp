// What is done with a table read (a column by name or number, a matrix, class labels), and
// write_csv / write_csv_stream: the bytes they write, their refusals, and that read_csv reads
// everything back exactly (every bit of float and double values).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "nobias/csv.hpp"
#include "nobias/error.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

using nobias::CsvHeader;
using nobias::CsvKind;
using nobias::CsvOptions;
using nobias::CsvTable;
using nobias::Matrix;
using nobias::ValueError;
using test_support::read_bytes;
using test_support::TempDir;

namespace {

using Texts = std::vector<std::string>;

CsvTable read(const std::string& bytes, CsvOptions options = {}) {
  return nobias::read_csv_bytes(bytes, "t.csv", options);
}

CsvOptions header(CsvHeader h) {
  CsvOptions o;
  o.header = h;
  return o;
}

template <class T>
std::string stream_bytes(const Matrix<T>& m, const Texts& names) {
  std::ostringstream out;
  nobias::write_csv_stream<T>(out, m.view(), names);
  return out.str();
}

// Finite values of every magnitude, by their bits, and the awkward ones.
template <class T, class Bits>
Matrix<T> awkward_values(std::size_t rows, std::size_t cols, const std::vector<T>& specials) {
  Matrix<T> m(rows, cols);
  std::mt19937_64 random(20);
  for (std::size_t k = 0; k < m.size(); ++k) {
    T value;
    do {
      const auto bits = static_cast<Bits>(random());
      std::memcpy(&value, &bits, sizeof value);
    } while (!std::isfinite(value));
    m.data()[k] = k < specials.size() ? specials[k] : value;
  }
  return m;
}

template <class T>
void check_round_trip(const Matrix<T>& m) {
  Texts names;
  for (std::size_t j = 0; j < m.cols(); ++j)
    names.push_back("c" + std::to_string(j));
  const CsvTable t = nobias::read_csv_bytes(stream_bytes(m, names), "rt.csv");
  REQUIRE(t.has_header);
  const Matrix<T> back = nobias::numeric_matrix<T>(t);
  REQUIRE(back.rows() == m.rows());
  REQUIRE(back.cols() == m.cols());
  std::size_t differing = 0;
  for (std::size_t k = 0; k < m.size(); ++k)
    if (std::memcmp(&m.data()[k], &back.data()[k], sizeof(T)) != 0) ++differing;
  CHECK(differing == 0);
}

}  // namespace

TEST_CASE("csv.find_column.by_name_number_or_from_the_end") {
  const CsvTable t = read("sepal,petal,species\n1,2,setosa\n");
  CHECK(nobias::find_column(t, "species") == 2);
  CHECK(nobias::find_column(t, "1") == 0);
  CHECK(nobias::find_column(t, "-1") == 2);
  CHECK(nobias::find_column(t, "-3") == 0);
  CHECK_ERROR(ValueError, nobias::find_column(t, "specis"),
              "t.csv: no column 'specis'; its columns: 'sepal', 'petal', 'species'; or a number "
              "from 1 to 3, or -1 to -3 from the end");
  CHECK_ERROR(ValueError, nobias::find_column(t, "Species"), "(did you mean 'species'?)");
  CHECK_ERROR(ValueError, nobias::find_column(t, "4"), "no column 4: there are 3 columns");
  CHECK_ERROR(ValueError, nobias::find_column(t, "0"), "no column 0");
  CHECK_ERROR(ValueError, nobias::find_column(t, "-4"), "no column -4");
  // A name wins over a number; a name in two columns needs the number.
  const CsvTable named = read("2,x,x\n1,2,3\n", header(CsvHeader::Yes));
  CHECK(nobias::find_column(named, "2") == 0);
  CHECK_ERROR(ValueError, nobias::find_column(named, "x"), "the name 'x' is in columns 2, 3");
  CHECK_ERROR(ValueError, nobias::find_column(read("1,2\n"), "y"),
              "no column 'y': the file has no header row");
}

TEST_CASE("csv.numeric_matrix.columns_in_order") {
  const CsvTable t = read("a,b,label,c\n1,2,x,3\n4,5,y,6\n");
  const auto x = nobias::numeric_matrix<double>(t, nobias::columns_except(t, {2}));
  REQUIRE(x.rows() == 2);
  REQUIRE(x.cols() == 3);
  CHECK(x(0, 0) == 1);
  CHECK(x(0, 2) == 3);
  CHECK(x(1, 1) == 5);
  const auto ca = nobias::numeric_matrix<float>(t, {3, 0});
  CHECK(ca(1, 0) == 6.0f);
  CHECK(ca(1, 1) == 4.0f);
  CHECK_ERROR(ValueError, nobias::numeric_matrix<float>(t),
              "t.csv: column 3 ('label') holds text, not numbers (line 2: 'x')");
  CHECK_ERROR(ValueError, nobias::numeric_matrix<float>(t, {4}), "column index 4 (from 0)");
  CHECK_ERROR(ValueError,
              nobias::numeric_matrix<float>(read("x\n1\n2\nabc\n", header(CsvHeader::Yes))),
              "(line 4: 'abc'); 2 of its 3 values are numbers");
  CHECK_ERROR(ValueError, nobias::numeric_matrix<float>(read("a,b\n1,2\n3,1e39\n")),
              "t.csv: line 3, column 2 ('b'): 1e+39 is beyond the range of float32");
  CHECK(nobias::numeric_matrix<double>(read("a,b\n1,2\n3,1e39\n"))(1, 1) == 1e39);
}

TEST_CASE("csv.class_labels.texts_sorted_or_integers") {
  const CsvTable t = read("x,species,n\n1,virginica,2\n2,setosa,0\n3,virginica,-1\n4,b,2\n");
  const nobias::CsvLabels names = nobias::class_labels(t, 1);
  CHECK(names.classes == Texts{"b", "setosa", "virginica"});
  CHECK(names.labels == std::vector<std::int64_t>{2, 1, 2, 0});
  const nobias::CsvLabels ints = nobias::class_labels(t, 2);
  CHECK(ints.classes.empty());
  CHECK(ints.labels == std::vector<std::int64_t>{2, 0, -1, 2});
  CHECK_ERROR(ValueError, nobias::class_labels(read("y\n1\n2.5\n"), 0),
              "t.csv: line 3, column 1 ('y'): 2.5 is not a class label: expected an integer");
  CHECK_ERROR(ValueError, nobias::class_labels(read("y\n1e300\n"), 0),
              "1e+300 is not a class label: expected an integer in int64's range");
}

TEST_CASE("csv.write.float_round_trip_is_bit_exact") {
  using L = std::numeric_limits<float>;
  // 7.038531e-26 is the one float whose shortest text, read as a double and rounded to float,
  // is the next float: it is written with a double's digits.
  const std::vector<float> specials{7.038531e-26f, -7.038531e-26f, L::denorm_min(), L::min(),
                                    L::max(),      -L::max(),      -0.0f,           0.1f,
                                    1.0f / 3.0f,   16777217.0f};
  check_round_trip(awkward_values<float, std::uint32_t>(997, 7, specials));
  CHECK(stream_bytes(Matrix<float>(1, 1), {}) == "0\n");
  Matrix<float> tenth(1, 2);
  tenth(0, 0) = 0.1f;
  tenth(0, 1) = 7.038531e-26f;
  CHECK(stream_bytes(tenth, {}) == "0.1,7.038530691851209e-26\n");
}

TEST_CASE("csv.write.double_round_trip_is_bit_exact") {
  using L = std::numeric_limits<double>;
  const std::vector<double> specials{
      L::denorm_min(), L::min(), L::max(), -L::max(), -0.0, 0.1, 1e23, 5e-324};
  check_round_trip(awkward_values<double, std::uint64_t>(1013, 5, specials));
}

TEST_CASE("csv.write.header_quoting_and_numbers") {
  Matrix<double> m(2, 3);
  m(0, 0) = 1;
  m(0, 1) = 0.5;
  m(0, 2) = -2e-7;
  m(1, 0) = 1e21;
  m(1, 1) = 123456.75;
  m(1, 2) = -0.0;
  CHECK(stream_bytes(m, {"a", "b c", "x,y"}) ==
        "a,b c,\"x,y\"\n1,0.5,-2e-07\n1e+21,123456.75,-0\n");
  CHECK(stream_bytes(m, {}) == "1,0.5,-2e-07\n1e+21,123456.75,-0\n");
  // Names that need quotes keep them; an empty name becomes the name read_csv gives it.
  const std::string odd = stream_bytes(Matrix<float>(0, 4), {" s", "q\"", "", "a;b"});
  CHECK(odd == "\" s\",\"q\"\"\",column 3,\"a;b\"\n");
  const CsvTable back = nobias::read_csv_bytes(odd, "h.csv", {CsvHeader::Yes, '\0', ""});
  CHECK(back.delimiter == ',');
  CHECK(back.names == Texts{" s", "q\"", "column 3", "a;b"});
}

TEST_CASE("csv.write.refusals_leave_the_file_as_it_was") {
  TempDir dir("csv-write");
  const std::string path = dir.file("p.csv");
  test_support::write_bytes(path, "before\n");
  Matrix<float> m(2, 2);
  m(1, 0) = std::numeric_limits<float>::infinity();
  CHECK_ERROR(ValueError, nobias::write_csv(path, m, {"a", "b"}),
              "write_csv: " + path + ": row 2, column 1 ('a'): inf is not a finite number");
  m(1, 0) = std::nanf("");
  CHECK_ERROR(ValueError, nobias::write_csv(path, m, {}), "row 2, column 1: nan is not a finite");
  m(1, 0) = 1;
  CHECK_ERROR(ValueError, nobias::write_csv(path, m, {"a"}), "1 names for 2 columns");
  CHECK_ERROR(ValueError, nobias::write_csv(path, m, {"a", std::string("b\0", 2)}),
              "the name of column 2: 'b\\x00' holds a NUL byte");
  CHECK_ERROR(ValueError, nobias::write_csv_labels(path, {"x", "NA"}, "y"),
              "row 2, column 1 ('y'): 'NA' would read back as a missing value");
  CHECK_ERROR(ValueError, nobias::write_csv_labels(path, {"-inf"}, "y"), "is not a finite number");
  CHECK(read_bytes(path) == "before\n");
  CHECK(dir.names() == Texts{"p.csv"});
  std::ostringstream out;
  CHECK_THROWS_AS(nobias::write_csv_stream<float>(out, m.view(), {"a"}), ValueError);
  CHECK(out.str().empty());
}

TEST_CASE("csv.write.table_with_texts_round_trip") {
  CsvTable t;
  t.names = {"text", "x"};
  t.rows = 8;
  t.columns.resize(2);
  t.columns[0].kind = CsvKind::Text;
  t.columns[0].texts = {"plain",
                        "a,b",
                        "say \"hi\"",
                        "two\nlines",
                        " padded ",
                        "tab\there",
                        "007",
                        "\xef\xbb\xbf"
                        "bom"};
  t.columns[1].numbers = {1, -2.5, 3e-300, 0, 5, 6, 7, 8};
  std::ostringstream out;
  nobias::write_csv_stream(out, t);
  const CsvTable back = nobias::read_csv_bytes(out.str(), "t.csv", {CsvHeader::Yes, '\0', ""});
  CHECK(back.delimiter == ',');
  CHECK(back.names == t.names);
  REQUIRE(back.rows == t.rows);
  CHECK(back.columns[0].texts == t.columns[0].texts);
  CHECK(back.columns[1].numbers == t.columns[1].numbers);
  // The first field of the file, starting with a byte-order mark's bytes, stays text.
  t.names = {
      "\xef\xbb\xbf"
      "n",
      "x"};
  std::ostringstream bom;
  nobias::write_csv_stream(bom, t);
  CHECK(nobias::read_csv_bytes(bom.str(), "b.csv").names == t.names);
  t.rows = 9;
  CHECK_ERROR(ValueError, nobias::write_csv_stream(out, t), "column 1 has 8 values for 9 rows");
}

TEST_CASE("csv.write.labels_and_files") {
  TempDir dir("csv-labels");
  const std::string path = dir.file("labels.csv");
  nobias::write_csv_labels(path, {"virginica", "setosa", "virginica"}, "species");
  CHECK(read_bytes(path) == "species\nvirginica\nsetosa\nvirginica\n");
  // A column of text alone has no header read_csv could detect: it is declared.
  CHECK_FALSE(nobias::read_csv(path).has_header);
  const nobias::CsvLabels l =
      nobias::class_labels(nobias::read_csv(path, {CsvHeader::Yes, '\0', ""}), 0);
  CHECK(l.classes == Texts{"setosa", "virginica"});
  CHECK(l.labels == std::vector<std::int64_t>{1, 0, 1});
  // A symlink is followed: the file it leads to is replaced, the link stays a link.
  std::filesystem::create_symlink("target.csv", dir.file("link.csv"));
  nobias::write_csv(dir.file("link.csv"), Matrix<double>(1, 1), {"z"});
  CHECK(std::filesystem::is_symlink(dir.file("link.csv")));
  CHECK(read_bytes(dir.file("target.csv")) == "z\n0\n");
}

TEST_CASE("csv.write.tsv_files_get_tabs_and_read_back") {
  CHECK(nobias::csv_delimiter_for("p.tsv") == '\t');
  CHECK(nobias::csv_delimiter_for("dir.csv/P.TSV") == '\t');
  CHECK(nobias::csv_delimiter_for("p.csv") == ',');
  CHECK(nobias::csv_delimiter_for("p.tsv.gz") == ',');
  CHECK(nobias::csv_delimiter_for("tsv") == ',');
  TempDir dir("csv-tsv");
  Matrix<double> m(2, 3);
  m(0, 0) = 1;
  m(0, 1) = -0.5;
  m(0, 2) = 3;
  m(1, 0) = 1e21;
  m(1, 1) = 7;
  m(1, 2) = 8;
  const std::string path = dir.file("p.tsv");
  nobias::write_csv(path, m, {"a", "b,c", "d e"});
  // A name holding ',' is quoted as ever: read_csv's detection counts all three delimiters.
  CHECK(read_bytes(path) == "a\t\"b,c\"\td e\n1\t-0.5\t3\n1e+21\t7\t8\n");
  const CsvTable back = nobias::read_csv(path);
  CHECK(back.has_header);
  CHECK(back.delimiter == '\t');
  CHECK(back.names == Texts{"a", "b,c", "d e"});
  CHECK(nobias::numeric_matrix<double>(back).data()[3] == 1e21);
  // A table, and a stream told the delimiter.
  nobias::write_csv_labels(dir.file("l.TSV"), {"x y", "z"}, "label");
  CHECK(read_bytes(dir.file("l.TSV")) == "label\nx y\nz\n");
  std::ostringstream out;
  nobias::write_csv_stream<double>(out, m.view(), {}, '\t');
  nobias::write_csv_rows(out, back, '\t');
  CHECK(out.str() == "1\t-0.5\t3\n1e+21\t7\t8\n1\t-0.5\t3\n1e+21\t7\t8\n");
  CHECK_ERROR(ValueError, nobias::write_csv_stream<double>(out, m.view(), {}, ';'),
              "write_csv: delimiter ';': expected ',' or tab");
}
