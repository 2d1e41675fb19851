// What is done with a table read: a column by name or number, a matrix, class labels.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "nobias/csv.hpp"
#include "nobias/error.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

using nobias::CsvHeader;
using nobias::CsvOptions;
using nobias::CsvTable;
using nobias::ValueError;

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
