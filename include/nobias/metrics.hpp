// How good predictions are: the numbers nobias-evaluate prints, computed the way
// scikit-learn computes them, in double whatever T is.
//
// Every function takes predictions p and targets y of one shape (n, d): ShapeError if the
// shapes differ, ValueError if there are no rows (or no columns). Values are not checked for
// NaN: a NaN in, a NaN out. A front door that reports predictions or metrics checks them with
// require_finite_predictions and require_finite_metrics (below): a NaN or an infinity there is
// an error, never a number to print or write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
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
// is not defined: NaN, as sklearn returns (it also warns). evaluate() says why in
// Metrics::r2_undefined, for either case.
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
  // Empty when R^2 is defined; otherwise why not: "fewer than two rows", or "target column 2
  // is constant (every row is 1.5)", where SS_tot is 0 and 1 - SS_res / SS_tot has no value.
  // r2 then holds r2_score's stand-in (scikit-learn's 1 or 0, NaN for one row), which a
  // report should not print as a score.
  std::string r2_undefined;
  std::optional<double> accuracy;
};

// All metrics of p against y; with_accuracy: also accuracy(p, y) (y one-hot).
template <class T>
Metrics evaluate(MatrixView<const T> p, MatrixView<const T> y, bool with_accuracy);

// An element of a matrix, with its value.
struct Element {
  std::size_t row = 0, col = 0;
  double value = 0.0;
};

// ---- Metrics a window of predictions at a time

// evaluate(p, y, with_accuracy) from predictions handed over a window of rows at a time, in
// order (as predict_rows hands them), so that all of p is never held: besides the targets it
// keeps two doubles per column. finish() gives evaluate's bits whatever the windows (every sum
// is the same sum in the same order; evaluate is one window of all rows).
//   MetricsAccumulator<float> scores(y, false);
//   predict_rows<float>(net, stats, x, [&](std::size_t first, MatrixView<const float> p, bool) {
//     scores.add(first, p);
//   });
//   const Metrics m = scores.finish();
//   require_finite_metrics<float>("--y y.npy", m, scores);
template <class T>
class MetricsAccumulator {
 public:
  // y: all the targets, n x d, viewed and not copied: the caller keeps them alive and unchanged
  // while the accumulator is used. ValueError if y has no rows or no columns.
  MetricsAccumulator(MatrixView<const T> y, bool with_accuracy);
  // Not from a temporary Matrix: the view would outlive it.
  MetricsAccumulator(Matrix<T>&& y, bool with_accuracy) = delete;

  // The predictions of rows first_row .. first_row + p_rows.rows() - 1 of y. Rows come in
  // order, each once: first_row is rows_added(), else ValueError; ShapeError for a column
  // count other than y's, or rows past y's last.
  void add(std::size_t first_row, MatrixView<const T> p_rows);
  std::size_t rows_added() const { return added_; }

  // evaluate(p, y, with_accuracy) for p the rows added. ValueError until every row of y was.
  Metrics finish() const;

  // What explains a metric that is not finite (require_finite_metrics names it), tracked as
  // rows are added: the first NaN or infinity among the predictions, row by row, and the
  // prediction farthest from its target (the first of equals), with the prediction's value.
  const std::optional<Element>& first_non_finite_prediction() const { return first_bad_; }
  const std::optional<Element>& largest_error() const { return largest_at_; }
  MatrixView<const T> targets() const { return y_; }

 private:
  MatrixView<const T> y_;
  bool with_accuracy_;
  std::size_t added_ = 0;
  double squares_ = 0.0, absolutes_ = 0.0;
  std::vector<double> residual_, spread_;  // R^2's sums per column
  std::string r2_undefined_;
  std::size_t hits_ = 0;  // rows whose argmax is the target's
  std::optional<Element> first_bad_, largest_at_;
  double largest_ = -1.0;
};

// ---- Non-finite results are errors

// The first NaN or infinity of m, row by row; none if every value is finite.
template <class T>
std::optional<Element> first_non_finite(MatrixView<const T> m);

// ValueError if a prediction p (of the inputs x, row for row) is a NaN or an infinity, naming
// the first such row and output and what in that row of x explains it: a NaN or an infinity
// of x, or finite inputs whose largest magnitude is shown against T's range:
//   "where: prediction row 3 of 200, output 0 is inf, from finite inputs: the network's values
//    passed float32's range (3.4028235e+38); the largest |x| in row 3 is 3e+38 (column 1): the
//    inputs, or the weights, are too large for float32"
// ShapeError if p and x have different row counts.
template <class T>
void require_finite_predictions(const std::string& where, MatrixView<const T> p,
                                MatrixView<const T> x);
// The same for rows first_row ... of a pass over total_rows rows (p and x those rows alone, as
// predict_rows hands them): the messages number rows in the whole pass.
template <class T>
void require_finite_predictions(const std::string& where, MatrixView<const T> p,
                                MatrixView<const T> x, std::size_t first_row,
                                std::size_t total_rows);

// ValueError naming the first metric of m (mse, mae, r2, accuracy) that is a NaN or an
// infinity, and why, from the predictions p and targets y it was computed from: a NaN or an
// infinity among them (named by row and column), or finite values whose errors are too large
// to sum in double (the largest |p - y| shown):
//   "where: mse is inf: the errors are too large for double: the largest |prediction - target|
//    is 2e+200 (row 3, output 0), and its square passes double's largest,
//    1.7976931348623157e+308"
// An undefined R^2 (m.r2_undefined set) is not an error: a report says so instead.
template <class T>
void require_finite_metrics(const std::string& where, const Metrics& m, MatrixView<const T> p,
                            MatrixView<const T> y);
// The same for metrics that scored computed (m = scored.finish()), with the same messages:
// the causes are those scored tracked. ValueError if scored has not had every row.
template <class T>
void require_finite_metrics(const std::string& where, const Metrics& m,
                            const MetricsAccumulator<T>& scored);

}  // namespace nobias
