// How good predictions are: the numbers nobias-evaluate prints, computed the way
// scikit-learn computes them, in double whatever T is.
//
// Every function takes predictions p and targets y of one shape (n, d): ShapeError if the
// shapes differ, ValueError if there are no rows (or no columns). Values are not checked for
// NaN: a NaN in, a NaN out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "nobias/matrix.hpp"

namespace nobias {

// sum (p - y)^2 / (n d): the mean squared error per element (sklearn's mean_squared_error
// with its default uniform average over outputs; the "mean" training loss).
template <class T>
double mean_squared_error(MatrixView<const T> p, MatrixView<const T> y);

// sum |p - y| / (n d) (sklearn's mean_absolute_error, uniform average).
template <class T>
double mean_absolute_error(MatrixView<const T> p, MatrixView<const T> y);

// The coefficient of determination, exactly as sklearn's r2_score(y, p,
// multioutput='uniform_average'): per column j, 1 - SS_res_j / SS_tot_j with
// SS_res_j = sum_i (y_ij - p_ij)^2 and SS_tot_j = sum_i (y_ij - mean_j)^2, then the plain
// mean over columns. A constant target column (SS_tot_j = 0) scores 1 if predicted exactly
// (SS_res_j = 0) and 0 otherwise (sklearn's force_finite=True). With fewer than two rows R^2
// is not defined: NaN, as sklearn returns (it also warns).
template <class T>
double r2_score(MatrixView<const T> p, MatrixView<const T> y);

// The index of each row's largest score; ties go to the first, as numpy's argmax.
// A NaN score never wins (numpy's argmax would pick it: predictions here are finite).
// ValueError for a matrix with no columns.
template <class T>
std::vector<std::int64_t> argmax_rows(MatrixView<const T> scores);

// The fraction of rows whose argmax score is the label (sklearn's accuracy_score of
// argmax_rows(scores) and labels). ShapeError if the row counts differ, ValueError for no
// rows. A label outside [0, cols) simply never matches.
template <class T>
double accuracy(MatrixView<const T> scores, const std::vector<std::int64_t>& labels);

// The same against one-hot (or any score-like) targets: their argmax is the label.
template <class T>
double accuracy(MatrixView<const T> scores, MatrixView<const T> one_hot_targets);

// Everything nobias-evaluate prints. loss is mse (the "mean" loss). accuracy is set when
// the targets are class labels or one-hot.
struct Metrics {
  std::size_t rows = 0;
  double mse = 0.0;
  double mae = 0.0;
  double r2 = 0.0;
  std::optional<double> accuracy;
};

// All metrics of p against y; with_accuracy: also accuracy(p, y) (y one-hot).
template <class T>
Metrics evaluate(MatrixView<const T> p, MatrixView<const T> y, bool with_accuracy);

}  // namespace nobias
