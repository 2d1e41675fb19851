// From a user's data to what a bias-free network trains on: class labels as one-hot
// targets, and standardized columns.
//
// Why standardize: a bias-free network is positively homogeneous, f(a x) = a f(x) for a >= 0
// and f(0) = 0, so it cannot fit an offset by itself (y = 5 + x0 is out of reach). Centring
// the columns of x and of a regression y with the training rows' statistics takes the offset
// out of the problem; prediction adds it back. The network itself stays bias-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nobias/matrix.hpp"

namespace nobias {

// max(labels) + 1. ValueError for no labels or a negative one (naming the element).
std::size_t class_count(const std::vector<std::int64_t>& labels);

// ---- Class labels, or numbers?
//
// Targets do not always say what they are: integers may be class labels or counts, and class
// labels read by numpy.loadtxt are floats. A front door that must guess (nobias-train's
// --task auto, the estimators' warnings) asks looks_like_classes, one rule for all of them:
// whole numbers >= 0 look like class labels when they make at most kMaxGuessedClasses classes
// (the largest + 1), and either take at most kFewValues distinct values or repeat, at least
// two rows per distinct value on average. More classes than that, or values that are mostly
// unique, look like counts or measurements: a classifier would get an output per value, most
// of them seen once or never.
inline constexpr std::size_t kMaxGuessedClasses = 256;
inline constexpr std::size_t kFewValues = 20;

// The facts of one column of targets that the rule reads, and that a message can name.
struct TargetValues {
  std::size_t rows = 0;
  std::size_t distinct = 0;  // distinct values
  bool whole = true;         // every value a whole number
  bool negative = false;     // some value below 0
  double smallest = 0.0, largest = 0.0;
  std::size_t first_not_whole = 0;   // the row of the first value that is not whole (!whole)
  std::vector<double> least_values;  // the smallest distinct values, at most 5, ascending
  // largest + 1 for whole numbers >= 0 (the classes they would make as labels), else 0.
  std::size_t classes() const;
};

// The facts of labels (any integers), or of a one-column matrix of values. ValueError for no
// rows; ShapeError for a matrix of more than one column; values must be finite (ValueError
// naming the row otherwise).
TargetValues describe_targets(const std::vector<std::int64_t>& labels);
template <class T>
TargetValues describe_targets(MatrixView<const T> column);

// The rule above.
bool looks_like_classes(const TargetValues& v);

// Classes of a handful: looks_like_classes with 2 to kFewValues distinct values. Targets like
// these are probably labels even when they came as floats, or were handed to a regression (the
// note of nobias-train's --task auto, the estimators' Regressor warning).
bool looks_like_few_classes(const TargetValues& v);

// Whole-number values (a column of floats, as numpy.loadtxt gives labels) as class labels.
// ValueError naming the first row that is not a whole number >= 0: "labels_from_values: row 3
// is 2.5, not a whole number (class labels are 0, 1, ...)"; ShapeError for more than one
// column.
template <class T>
std::vector<std::int64_t> labels_from_values(MatrixView<const T> column);

// One-hot rows, the other form a classifier's targets take: at least two columns, each row a
// single 1 and 0 in every other column (what one_hot makes). Scores, probabilities or any other
// numbers are not: a classifier fitted to them would count as classes the columns of numbers.
// is_one_hot: whether y's rows are (false for no rows or fewer than two columns).
// require_one_hot: ValueError naming the first row that is not and what one-hot means,
// "require_one_hot: row 0 is (0.25, -1.5, 2), not one-hot (a one-hot row is a single 1 with 0 in
// every other column)"; ShapeError for fewer than two columns; ValueError for no rows.
template <class T>
bool is_one_hot(MatrixView<const T> y);
template <class T>
void require_one_hot(MatrixView<const T> y);

// labels (n) -> an n x classes matrix with a 1 at (i, labels[i]) and 0 elsewhere.
// classes 0: class_count(labels). ValueError naming the element for a negative label or one
// >= classes: "one_hot: label 7 at element 12 is >= the 5 classes (labels are 0..4)";
// for no labels.
template <class T>
Matrix<T> one_hot(const std::vector<std::int64_t>& labels, std::size_t classes = 0);

// Per-column statistics of the training rows, as scikit-learn's StandardScaler computes them:
// mean, and scale = the population standard deviation (divided by n, not n - 1), both in
// double whatever T is. A column whose values are all equal gets scale 1 (not 0), so it maps
// to 0 and back, never to a division by zero; scikit-learn does the same.
// Empty vectors mean "not standardized": a classifier's y (one-hot) is never standardized.
struct Standardization {
  std::vector<double> x_mean, x_scale;  // one per column of x, or none
  std::vector<double> y_mean, y_scale;  // one per column of y, or none

  bool has_x() const { return !x_mean.empty(); }
  bool has_y() const { return !y_mean.empty(); }
  // No statistic at all: a scale given without its mean is not "none" but half a pair, which
  // check_standardization refuses.
  bool empty() const {
    return x_mean.empty() && x_scale.empty() && y_mean.empty() && y_scale.empty();
  }
};

// The statistics of x's columns and, if y is not empty (0 columns or 0 rows means none),
// of y's. ValueError if x has no rows, or a NaN or an infinity in x or y (naming the element),
// or if a column's statistics overflow double.
template <class T>
Standardization fit_standardization(MatrixView<const T> x, MatrixView<const T> y = {});
// The same over the listed rows of x and y (as over a copy of them, in that order, bit for
// bit): the training rows of a split held as positions (RowSource). ValueError for no rows or
// a row past x's; all of x and y must be finite.
template <class T>
Standardization fit_standardization(MatrixView<const T> x, MatrixView<const T> y,
                                    const std::vector<std::size_t>* rows);

// Checks s against the widths it is used with: ValueError if x's statistics are not
// d_in long (when present), y's not d_out long, a scale not finite and > 0 or a mean not
// finite, or half a pair: "x_scale given without x_mean; expected both or neither". `what`
// starts the message.
void check_standardization(const Standardization& s, std::size_t d_in, std::size_t d_out,
                           const std::string& what);

// In place, column j: x <- (x - x_mean[j]) / x_scale[j], computed in double, rounded to T
// once. No-op without x statistics. ShapeError if x's columns differ from the statistics'.
template <class T>
void standardize_x(const Standardization& s, MatrixView<T> x);

// The same for a regression target y, with y's statistics (training targets).
template <class T>
void standardize_y(const Standardization& s, MatrixView<T> y);

// Undoes standardize_y on predictions, in place: p <- p * y_scale[j] + y_mean[j], in double.
// No-op without y statistics. ShapeError if the columns differ.
template <class T>
void unstandardize_y(const Standardization& s, MatrixView<T> predictions);

// A validation set held out of the training data, as every front door holds it out:
// validation_rows(rows, fraction) rows, round(fraction * rows) (halves away from 0); which ones
// split_rows says: the first `held` of shuffled_order(rows, seed, 0) (epoch 0: fit's epochs
// count from 1, so this order is none of theirs), both sets in the data's order.
std::size_t validation_rows(std::size_t rows, double fraction);

struct RowSplit {
  std::vector<std::size_t> train, validation;  // row indices, ascending
};

// ValueError when held > rows.
RowSplit split_rows(std::size_t rows, std::size_t held, std::uint64_t seed);

}  // namespace nobias
