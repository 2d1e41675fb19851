// A run's inputs: the data (from .npy files or generated as in the seed's experiment), the
// widths and where they came from, and the starting weights; each checked against the others
// before training, with messages that name the flag and the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nobias/matrix.hpp"
#include "nobias/model.hpp"
#include "nobias/npy.hpp"
#include "train_options.hpp"

namespace nobias_tools {

template <class T>
struct Data {
  nobias::NpyRows<T> x;  // a .npy of the model's dtype in C order mapped, not copied
  nobias::Matrix<T> y;
  std::size_t classes = 0;               // > 0: y is one-hot, from class labels or as given
  std::vector<std::string> class_names;  // text labels: class k's name at k; else empty
};

// Targets as read, and what the run should say about them.
template <class T>
struct Targets {
  nobias::Matrix<T> y;
  std::size_t classes = 0;               // > 0: class targets, y one-hot rows of this many columns
  std::vector<std::string> class_names;  // text labels: class k's name at k; else empty
  // Task::Auto's note on a regression whose targets look like a few classes, "" otherwise:
  // "--y y.npy holds 3 distinct whole numbers (0, 1, 2): ...".
  std::string note;
};

// Targets in any form a user has them (a .npy of n x d or n floats, or n integer labels:
// int32/int64/uint8), read as task says:
// - Classify: class labels become one-hot columns: integers, or one column of whole-number
//   floats (numpy.loadtxt's labels; UsageError naming the first row that is not one); wider
//   floats must be one-hot rows (UsageError naming the first row that is not one-hot).
// - Regress: numbers: floats as they are, integers as their values (one column).
// - Auto: integers are class labels unless they look like counts (nobias::looks_like_classes;
//   UsageError asking for --task, before any one-hot matrix is made); floats are numbers, and
//   classes when they are one-hot rows; a column of a few whole numbers gets a note.
// classes: 0 to count the labels' classes, or the count they must fit (validation, a model).
template <class T>
Targets<T> read_targets(const char* flag, const std::string& path, Task task,
                        std::size_t classes = 0);

// The widths and where they came from, for messages.
struct Widths {
  std::vector<std::size_t> values;
  std::string origin;
};

// One array, finite; errors name the flag. A .npy is mapped where its layout allows
// (nobias::map_npy), else read and converted; a CSV is read.
template <class T>
nobias::NpyRows<T> read_array(const char* flag, const std::string& path);

// A pair of .npy files (--x/--y or --val-x/--val-y): finite, as many rows each, some rows.
// purpose completes "no rows to ..."; the targets are read as read_targets(task, classes)
// reads them, and its note goes to note when given.
template <class T>
Data<T> read_pair(const char* x_flag, const std::string& x_path, const char* y_flag,
                  const std::string& y_path, const char* purpose, Task task,
                  std::size_t classes = 0, std::string* note = nullptr);

// --x/--y with --task; note: read_targets' note.
template <class T>
std::optional<Data<T>> read_data(const TrainOptions& o, std::string& note);
// --val-x/--val-y, their targets of the training data's kind: classes (> 0) or numbers. A CSV
// --val-y of text labels is read by class_names (the training data's, when it has them): a
// name not among them is a UsageError naming the line.
template <class T>
std::optional<Data<T>> read_validation(const TrainOptions& o, std::size_t classes,
                                       const std::vector<std::string>& class_names = {});
// --weights-in, finite.
template <class T>
std::optional<std::vector<nobias::Matrix<T>>> read_weights(const TrainOptions& o);

// --weights-in's model.json (read_model_info: checked against its files), read after its
// weights: how they were trained, their standardization above all. has_metadata false for
// bare weights and without --weights-in.
nobias::ModelInfo read_weights_info(const TrainOptions& o);

// The statistics a run standardizes its data with, given start (read_weights_info) and the
// training rows: none without --standardize; the --weights-in model's own when it was trained
// standardized, since its weights were learned in those units (statistics recomputed from
// this data would move the units under them); else the training rows' (fit_standardization,
// x and a regression's y; train_rows: the rows of data that train, nullptr: all). UsageError,
// before training, where the flags and the model disagree: a standardized model without
// --standardize or without --x, --standardize with a model.json that names no statistics, a model's
// y statistics with class labels or a classifier's x statistics with regression targets. Bare
// weights say nothing of their units:
// --standardize is the user's call.
template <class T>
nobias::Standardization run_standardization(const TrainOptions& o, const nobias::ModelInfo& start,
                                            const Data<T>& data,
                                            const std::vector<std::size_t>* train_rows = nullptr);

// --layers wins; then the starting weights (they cannot change shape); then the data's d_in
// and d_out around default hidden widths; then the default experiment.
template <class T>
Widths choose_widths(const TrainOptions& o, const std::optional<Data<T>>& data,
                     const std::optional<std::vector<nobias::Matrix<T>>>& weights);

void check_widths(const Widths& widths);
template <class T>
void check_data(const std::string& x_input, const std::string& y_input, const Widths& widths,
                const Data<T>& data);
template <class T>
void check_weights(const TrainOptions& o, const Widths& widths,
                   const std::vector<nobias::Matrix<T>>& weights);

// Which round(fraction * rows) of rows rows validate, chosen by a permutation seeded by seed
// (nobias::split_rows), and which train, each in their order: positions into the data, which
// stay where they are (perhaps a mapped file; nobias::RowSource reads them). UsageError when
// either part would be empty.
nobias::RowSplit split_validation(std::size_t rows, double fraction, std::uint64_t seed);

// The seed's experiment: x (rows x d_in) then y (rows x d_out), standard normal, from
// stream 1 of seed (the network's weights come from stream 0, so they are independent).
template <class T>
Data<T> generate_data(std::size_t rows, const std::vector<std::size_t>& widths, std::uint64_t seed);

}  // namespace nobias_tools
