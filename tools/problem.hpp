// The problem a training run works on, assembled from its options: every input read,
// checked against the others, split and standardized. Shared by nobias-train and
// nobias-train-mpi, whose every rank assembles the same problem.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "inputs.hpp"
#include "nobias/checkpoint.hpp"
#include "nobias/matrix.hpp"
#include "nobias/model.hpp"
#include "nobias/row_source.hpp"
#include "nobias/targets.hpp"
#include "train_options.hpp"

namespace nobias_tools {

template <class T>
struct Problem {
  std::optional<Data<T>> data;          // every row read, as read (not standardized)
  std::vector<std::size_t> train_rows;  // the rows of data that train; empty: all of them
  // The rows of data held out to validate on (validation_source reads them where they lie);
  // empty: none, or --val-x.
  std::vector<std::size_t> held_out;
  // --val-x/--val-y as read (a .npy mapped where its layout allows), not standardized.
  std::optional<Data<T>> validation;
  // The held-out rows' targets in the user's units, for the metrics (--val-y's are its own).
  nobias::Matrix<T> held_out_y;
  std::optional<std::vector<nobias::Matrix<T>>> weights;
  std::optional<nobias::Checkpoint<T>> checkpoint;
  Widths widths;
  nobias::Standardization stats;
  std::vector<std::string>
      class_names;                // --y's text labels, class k's at k (model.json keeps them)
  bool stats_from_model = false;  // stats are --weights-in's, not the training rows'
  std::string note;               // about --y, for the reporting process to print
  std::string validation_note;    // why no validation fraction was held out, for the defaults line
};

// UsageError or nobias::Error for any input that does not fit the others, before training.
// No rows are copied (but where a file's layout needs converting, inputs.hpp): a held-out
// validation fraction is listed out of data (train_rows, held_out), and the standardization is
// applied as rows are read (training_rows, validation_source).
template <class T>
Problem<T> assemble(const TrainOptions& o);

// The rows that train, standardized as they are read; lives as long as p.
template <class T>
nobias::RowSource<T> training_rows(const Problem<T>& p);

// Whether the run validates: on rows held out of data, or on --val-x/--val-y.
template <class T>
bool validates(const Problem<T>& p) {
  return !p.held_out.empty() || p.validation.has_value();
}

// The rows to validate on, standardized as the training rows as they are read (no rows: no
// validation); lives as long as p.
template <class T>
nobias::RowSource<T> validation_source(const Problem<T>& p);

// The validation targets in the user's units, for the metrics (empty: no validation).
template <class T>
nobias::MatrixView<const T> validation_targets(const Problem<T>& p);

// What the model directory says about how it was trained.
nobias::ModelInfo model_info(const TrainOptions& o, std::size_t classes,
                             const nobias::Standardization& stats,
                             const std::vector<std::string>& class_names);

}  // namespace nobias_tools
