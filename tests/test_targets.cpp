// Names and numbers (names.hpp), steps per epoch, labels and standardization (targets.hpp).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "nobias/error.hpp"
#include "nobias/fit.hpp"
#include "nobias/names.hpp"
#include "nobias/targets.hpp"
#include "reference/metrics_reference.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

using nobias::Matrix;
using nobias::ValueError;

using test_support::error_message;

namespace {}  // namespace

TEST_CASE("names.tables.round_trip_and_refuse_the_rest") {
  using nobias::from_name;
  using nobias::to_name;
  CHECK(std::string(to_name(nobias::OptimizerKind::Sgd)) == "sgd");
  CHECK(std::string(to_name(nobias::OptimizerKind::Momentum)) == "momentum");
  CHECK(std::string(to_name(nobias::OptimizerKind::Adam)) == "adam");
  CHECK(std::string(to_name(nobias::Reduction::Sum)) == "sum");
  CHECK(std::string(to_name(nobias::Reduction::Mean)) == "mean");
  CHECK(std::string(to_name(nobias::Init::StandardNormal)) == "normal");
  CHECK(std::string(to_name(nobias::Init::He)) == "he");
  CHECK(std::string(to_name(nobias::Dtype::F32)) == "f32");
  CHECK(std::string(to_name(nobias::Dtype::F64)) == "f64");
  CHECK(from_name<nobias::OptimizerKind>("adam") == nobias::OptimizerKind::Adam);
  CHECK(from_name<nobias::Reduction>("mean") == nobias::Reduction::Mean);
  CHECK(from_name<nobias::Init>("he") == nobias::Init::He);
  CHECK(from_name<nobias::Dtype>("f64") == nobias::Dtype::F64);
  for (const char* wrong : {"Adam", " adam", "adam ", "", "sgd\n"})
    CHECK_FALSE(from_name<nobias::OptimizerKind>(wrong).has_value());
  CHECK(nobias::accepted_names<nobias::OptimizerKind>() == "sgd, momentum, adam");
  CHECK(nobias::dtype_of<float>() == nobias::Dtype::F32);
  CHECK(nobias::dtype_of<double>() == nobias::Dtype::F64);
}

TEST_CASE("names.parse_name.lists_the_accepted_names") {
  CHECK_ERROR(ValueError, nobias::parse_name<nobias::OptimizerKind>("adamw", "--optimizer"),
              "--optimizer: unknown optimizer 'adamw' (expected one of sgd, momentum, adam)");
  CHECK_ERROR(ValueError, nobias::parse_name<nobias::Dtype>("f16", "--dtype"),
              "--dtype: unknown dtype 'f16' (expected one of f32, f64)");
  CHECK_ERROR(ValueError, nobias::parse_name<nobias::Reduction>(std::string("m\x1b[2J"), "--loss"),
              "unknown reduction 'm\\x1b[2J'");
  CHECK(nobias::parse_name<nobias::Init>("normal", "--init") == nobias::Init::StandardNormal);
}

TEST_CASE("names.format_number.shortest_exact_text") {
  using nobias::format_number;
  CHECK(format_number(0.1) == "0.1");
  CHECK(format_number(1.0) == "1");
  CHECK(format_number(-2.5) == "-2.5");
  CHECK(format_number(1e300) == "1e+300");
  CHECK(format_number(1e-4) == "1e-04");
  CHECK(format_number(0.001) == "0.001");
  CHECK(format_number(-0.0) == "-0");
  CHECK(format_number(std::numeric_limits<double>::quiet_NaN()) == "nan");
  CHECK(format_number(-std::numeric_limits<double>::quiet_NaN()) == "nan");
  CHECK(format_number(std::numeric_limits<double>::infinity()) == "inf");
  CHECK(format_number(-std::numeric_limits<double>::infinity()) == "-inf");
  // Two numbers that differ never print alike (issue 10: %g printed both as 0.0001).
  CHECK(format_number(0.00010000000000000002) != format_number(0.0001));
  // Every double reads back to itself.
  const Matrix<double> values = test_support::random_matrix<double>(1, 2000, 3, 1e3);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values.data()[i] * std::pow(10.0, static_cast<double>(i % 40) - 20);
    const std::string text = format_number(v);
    CAPTURE(text);
    CHECK(std::strtod(text.c_str(), nullptr) == v);
  }
  CHECK(std::strtod(format_number(std::numeric_limits<double>::denorm_min()).c_str(), nullptr) ==
        std::numeric_limits<double>::denorm_min());
}

TEST_CASE("train.steps_per_epoch") {
  CHECK(nobias::steps_per_epoch(0, 10) == 0);
  CHECK(nobias::steps_per_epoch(100, 0) == 1);
  CHECK(nobias::steps_per_epoch(100, 10) == 10);
  CHECK(nobias::steps_per_epoch(101, 10) == 11);
  CHECK(nobias::steps_per_epoch(7, 100) == 1);
  CHECK(nobias::steps_per_epoch(1, 1) == 1);
}

TEST_CASE_TEMPLATE("targets.one_hot", T, float, double) {
  const Matrix<T> m = nobias::one_hot<T>({2, 0, 1, 2});
  REQUIRE(m.rows() == 4);
  REQUIRE(m.cols() == 3);
  const T want[4][3] = {{0, 0, 1}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      CHECK(m(i, j) == want[i][j]);
  CHECK(nobias::one_hot<T>({0, 1}, 5).cols() == 5);
  CHECK(nobias::class_count({3, 9, 0}) == 10);
}

TEST_CASE("targets.one_hot.refuses_labels_out_of_range_naming_the_element") {
  CHECK_ERROR(ValueError, nobias::one_hot<float>({0, 1, -1, 2}),
              "class_count: label -1 at element 2 is negative");
  CHECK_ERROR(ValueError, nobias::one_hot<float>({0, 4, 7}, 5),
              "one_hot: label 7 at element 2 is >= the 5 classes (labels are 0..4)");
  CHECK_ERROR(ValueError, nobias::one_hot<float>({0, -3}, 5),
              "one_hot: label -3 at element 1 is negative");
  CHECK_ERROR(ValueError, nobias::one_hot<float>({}), "one_hot: no labels");
  CHECK_ERROR(ValueError, nobias::class_count({}), "class_count: no labels");
}

TEST_CASE_TEMPLATE("targets.one_hot_rows.refuses_other_numbers_naming_the_row", T, float, double) {
  const nobias::MatrixView<const T> none;
  Matrix<T> y = nobias::one_hot<T>({2, 0, 1, 2, 1, 0, 2});
  CHECK(nobias::is_one_hot<T>(y));
  nobias::require_one_hot<T>(y);
  // Scores, negatives, a row of two 1s, a row of 0s: each the first row named.
  Matrix<T> bad = y;
  bad(3, 0) = T(0.25);
  bad(3, 1) = T(-1.5);
  CHECK_FALSE(nobias::is_one_hot<T>(bad));
  CHECK_ERROR(ValueError, nobias::require_one_hot<T>(bad),
              "require_one_hot: row 3 is (0.25, -1.5, 1), not one-hot (a one-hot row is a single "
              "1 with 0 in every other column)");
  bad = y;
  bad(5, 2) = T(1);
  bad(6, 2) = T(0);
  CHECK_FALSE(nobias::is_one_hot<T>(bad));
  CHECK_ERROR(ValueError, nobias::require_one_hot<T>(bad), "row 5 is (1, 0, 1), not one-hot");
  bad = y;
  bad(1, 0) = T(0);
  CHECK_ERROR(ValueError, nobias::require_one_hot<T>(bad), "row 1 is (0, 0, 0), not one-hot");
  // Wide rows: the first values, then the width.
  Matrix<T> wide(2, 9);
  wide(0, 8) = T(1);
  wide(1, 3) = T(2);
  CHECK_ERROR(ValueError, nobias::require_one_hot<T>(wide),
              "row 1 is (0, 0, 0, 2, 0, 0, ... (9 columns)), not one-hot");
  // One column is labels, not one-hot rows; no rows are no targets.
  Matrix<T> column(4, 1);
  column(2, 0) = T(1);
  CHECK_FALSE(nobias::is_one_hot<T>(column));
  CHECK_ERROR(nobias::ShapeError, nobias::require_one_hot<T>(column),
              "require_one_hot: one-hot targets have a column per class, at least two; got 4x1");
  CHECK_FALSE(nobias::is_one_hot<T>(Matrix<T>(0, 3)));
  CHECK_ERROR(ValueError, nobias::require_one_hot<T>(Matrix<T>(0, 3)), "require_one_hot: no rows");
  CHECK_FALSE(nobias::is_one_hot<T>(none));
}

namespace {

// labels 0, 1, ..., values - 1, 0, 1, ...: rows of them.
std::vector<std::int64_t> cycle(std::size_t rows, std::int64_t values) {
  std::vector<std::int64_t> labels(rows);
  for (std::size_t i = 0; i < rows; ++i)
    labels[i] = static_cast<std::int64_t>(i) % values;
  return labels;
}

bool classes(const std::vector<std::int64_t>& labels) {
  return nobias::looks_like_classes(nobias::describe_targets(labels));
}

}  // namespace

TEST_CASE("targets.looks_like_classes.few_or_repeated_whole_numbers") {
  const nobias::TargetValues v = nobias::describe_targets({2, 0, 1, 2, 7, 0});
  CHECK(v.rows == 6);
  CHECK(v.distinct == 4);
  CHECK(v.whole);
  CHECK_FALSE(v.negative);
  CHECK(v.smallest == 0.0);
  CHECK(v.largest == 7.0);
  CHECK(v.classes() == 8);
  CHECK(v.least_values == std::vector<double>{0, 1, 2, 7});
  CHECK(nobias::looks_like_classes(v));
  CHECK(nobias::describe_targets(cycle(40, 9)).least_values == std::vector<double>{0, 1, 2, 3, 4});
  // A handful of values is classes however few the rows: a toy set of six rows, six classes.
  CHECK(classes(cycle(6, 6)));
  CHECK(classes(cycle(20, 20)));
  CHECK(classes({0, 1}));
  // Beyond kFewValues, at least two rows per value on average.
  CHECK(classes(cycle(42, 21)));
  CHECK_FALSE(classes(cycle(41, 21)));
  // At most kMaxGuessedClasses classes, counted as the largest label + 1.
  CHECK(classes(cycle(512, 256)));
  CHECK_FALSE(classes(cycle(514, 257)));
  CHECK_FALSE(classes({0, 1, 0, 1, 256}));
}

TEST_CASE("targets.looks_like_few_classes.two_to_twenty_values") {
  const auto few = [](const std::vector<std::int64_t>& labels) {
    return nobias::looks_like_few_classes(nobias::describe_targets(labels));
  };
  CHECK(few({0, 1, 1, 0}));
  CHECK(few(cycle(60, 20)));
  CHECK_FALSE(few({3, 3, 3}));           // one value: a constant, not classes
  CHECK_FALSE(few(cycle(60, 21)));       // classes, but not a handful
  CHECK_FALSE(few({0, 1, 2, -1}));       // not labels at all
  CHECK_FALSE(few({0, 1000, 0, 1000}));  // 1001 classes
}

TEST_CASE("targets.looks_like_classes.counts_negatives_and_fractions_do_not") {
  // Issue 20: counts of 2992 values became a classifier of 2992 outputs.
  const nobias::TargetValues counts = nobias::describe_targets(cycle(3000, 2992));
  CHECK(counts.distinct == 2992);
  CHECK(counts.classes() == 2992);
  CHECK_FALSE(nobias::looks_like_classes(counts));
  const nobias::TargetValues negative = nobias::describe_targets({0, 1, -1, 1});
  CHECK(negative.negative);
  CHECK(negative.classes() == 0);
  CHECK_FALSE(nobias::looks_like_classes(negative));
  Matrix<double> m(4, 1);
  m(0, 0) = 1.0;
  m(1, 0) = 0.0;
  m(2, 0) = 0.5;
  m(3, 0) = 1.0;
  const nobias::TargetValues fractions = nobias::describe_targets<double>(m);
  CHECK_FALSE(fractions.whole);
  CHECK(fractions.first_not_whole == 2);
  CHECK(fractions.classes() == 0);
  CHECK_FALSE(nobias::looks_like_classes(fractions));
  m(2, 0) = 2.0;  // whole numbers in floats, as numpy.loadtxt reads labels
  CHECK(nobias::looks_like_classes(nobias::describe_targets<double>(m)));
  m(2, 0) = 1e300;
  CHECK_FALSE(nobias::looks_like_classes(nobias::describe_targets<double>(m)));
}

TEST_CASE("targets.describe_targets.refusals") {
  CHECK_ERROR(ValueError, nobias::describe_targets(std::vector<std::int64_t>{}),
              "describe_targets: no labels");
  CHECK_ERROR(nobias::ShapeError, nobias::describe_targets<float>(Matrix<float>(3, 2)),
              "describe_targets: expected one column of targets, got 3x2");
  CHECK_ERROR(ValueError, nobias::describe_targets<float>(Matrix<float>(0, 1)),
              "describe_targets: no rows");
  Matrix<float> m(3, 1);
  m(1, 0) = std::numeric_limits<float>::quiet_NaN();
  CHECK_ERROR(ValueError, nobias::describe_targets<float>(m),
              "describe_targets: row 1 is nan; values must be finite");
}

TEST_CASE_TEMPLATE("targets.labels_from_values", T, float, double) {
  Matrix<T> m(4, 1);
  m(0, 0) = T(2);
  m(2, 0) = T(1);
  m(3, 0) = T(2);
  CHECK(nobias::labels_from_values<T>(m) == std::vector<std::int64_t>{2, 0, 1, 2});
  m(1, 0) = T(2.5);
  CHECK_ERROR(ValueError, nobias::labels_from_values<T>(m),
              "labels_from_values: row 1 is 2.5, not a whole number (class labels are 0, 1, ...)");
  m(1, 0) = T(-1);
  CHECK_ERROR(ValueError, nobias::labels_from_values<T>(m),
              "labels_from_values: row 1 is -1, a negative number (class labels are 0, 1, ...)");
  CHECK_ERROR(nobias::ShapeError, nobias::labels_from_values<T>(Matrix<T>(2, 3)),
              "labels_from_values: expected one column of targets, got 2x3");
}

TEST_CASE_TEMPLATE("targets.standardization.matches_the_reference", T, float, double) {
  Matrix<T> x = test_support::random_matrix<T>(37, 5, 1, 3.0);
  Matrix<T> y = test_support::random_matrix<T>(37, 2, 2, 0.5);
  for (std::size_t i = 0; i < 37; ++i) {
    x(i, 1) = static_cast<T>(100.0 + static_cast<double>(x(i, 1)));  // an offset
    x(i, 3) = T(7);                                                  // a constant column
    y(i, 0) = static_cast<T>(5.0 + static_cast<double>(y(i, 0)));
  }
  const nobias::Standardization s = nobias::fit_standardization<T>(x.view(), y.view());
  std::vector<double> mean, sd;
  reference::column_mean_and_std(x, mean, sd);
  REQUIRE(s.x_mean.size() == 5);
  for (std::size_t j = 0; j < 5; ++j) {
    CAPTURE(j);
    CHECK(s.x_mean[j] == doctest::Approx(mean[j]).epsilon(1e-14));
    CHECK(s.x_scale[j] == doctest::Approx(sd[j]).epsilon(1e-13));
  }
  CHECK(s.x_scale[3] == 1.0);  // constant: scale 1, documented
  reference::column_mean_and_std(y, mean, sd);
  CHECK(s.y_mean[0] == doctest::Approx(mean[0]).epsilon(1e-14));
  CHECK(s.y_scale[1] == doctest::Approx(sd[1]).epsilon(1e-13));

  Matrix<T> xs = x;
  nobias::standardize_x<T>(s, xs.view());
  for (std::size_t i = 0; i < 37; ++i) {
    CHECK(xs(i, 3) == T(0));
    CHECK(static_cast<double>(xs(i, 1)) ==
          doctest::Approx((static_cast<double>(x(i, 1)) - s.x_mean[1]) / s.x_scale[1]));
  }
  // unstandardize_y undoes standardize_y up to rounding in T.
  Matrix<T> ys = y;
  nobias::standardize_y<T>(s, ys.view());
  nobias::unstandardize_y<T>(s, ys.view());
  CHECK(test_support::max_relative_error<T>(ys.view(), y.view()) < (sizeof(T) == 4 ? 1e-6 : 1e-14));
}

TEST_CASE_TEMPLATE("targets.standardization.constant_columns_map_to_exactly_zero", T, float,
                   double) {
  // edges2 item 2: 0.7 thirty times has a mean of 0.6999999999999996 in double and a spread of
  // 3.3e-16, which was taken for the scale: the column standardized to -1, 0.8 to 3e14.
  Matrix<T> x = test_support::random_matrix<T>(30, 3, 5, 1.0);
  for (std::size_t i = 0; i < 30; ++i) {
    x(i, 1) = T(0.7);
    x(i, 2) = T(-3.3);
  }
  const nobias::Standardization s = nobias::fit_standardization<T>(x.view(), x.view());
  for (std::size_t j = 1; j < 3; ++j) {
    CAPTURE(j);
    CHECK(s.x_mean[j] == static_cast<double>(x(0, j)));
    CHECK(s.x_scale[j] == 1.0);
    CHECK(s.y_mean[j] == static_cast<double>(x(0, j)));
    CHECK(s.y_scale[j] == 1.0);
  }
  Matrix<T> xs = x;
  nobias::standardize_x<T>(s, xs.view());
  for (std::size_t i = 0; i < 30; ++i) {
    CAPTURE(i);
    CHECK(xs(i, 1) == T(0));
    CHECK(xs(i, 2) == T(0));
  }
  // One row: every column is constant.
  const nobias::Standardization one = nobias::fit_standardization<T>(x.row_block(3, 1));
  CHECK(one.x_mean == std::vector<double>{static_cast<double>(x(3, 0)), static_cast<double>(T(0.7)),
                                          static_cast<double>(T(-3.3))});
  CHECK(one.x_scale == std::vector<double>{1.0, 1.0, 1.0});
  // A constant column too large to sum: its value, not an overflow.
  Matrix<double> huge(3, 1);
  for (std::size_t i = 0; i < 3; ++i)
    huge(i, 0) = 1e308;
  const nobias::Standardization h = nobias::fit_standardization<double>(huge.view());
  CHECK(h.x_mean == std::vector<double>{1e308});
  CHECK(h.x_scale == std::vector<double>{1.0});
}

TEST_CASE("targets.standardization.refusals") {
  Matrix<double> x(3, 2), y(4, 1);
  CHECK_ERROR(nobias::ShapeError, nobias::fit_standardization<double>(x.view(), y.view()),
              "fit_standardization: x has 3 rows but y has 4");
  CHECK_ERROR(ValueError, nobias::fit_standardization<double>(Matrix<double>(0, 2).view()),
              "fit_standardization: x has no rows");
  x(1, 1) = std::numeric_limits<double>::infinity();
  CHECK_ERROR(ValueError, nobias::fit_standardization<double>(x.view()),
              "fit_standardization: x: element (1, 1) is inf");
  Matrix<double> huge(2, 1);
  huge(0, 0) = 1e308;
  huge(1, 0) = -1e308;
  CHECK_ERROR(ValueError, nobias::fit_standardization<double>(huge.view()),
              "fit_standardization: x column 0: its mean or spread overflows double");
  nobias::Standardization s;
  s.x_mean = {0, 0};
  s.x_scale = {1, 1};
  Matrix<float> three(2, 3);
  CHECK_ERROR(nobias::ShapeError, nobias::standardize_x<float>(s, three.view()),
              "standardize_x: x has 3 columns but the standardization has 2");
  s.y_mean = {0};
  s.y_scale = {std::numeric_limits<double>::quiet_NaN()};
  CHECK_ERROR(ValueError, nobias::check_standardization(s, 2, 1, "here"),
              "here: y_scale element 0 is nan; it must be finite and > 0");
  // Half a pair is not "no statistics", which would train unstandardized without a word.
  nobias::Standardization half;
  half.x_scale = {1, 1};
  CHECK_FALSE(half.empty());
  CHECK_ERROR(ValueError, nobias::check_standardization(half, 2, 1, "here"),
              "here: x_scale given without x_mean; expected both or neither");
  half = {};
  half.y_mean = {0};
  CHECK_ERROR(ValueError, nobias::check_standardization(half, 2, 1, "here"),
              "here: y_mean given without y_scale; expected both or neither");
}
