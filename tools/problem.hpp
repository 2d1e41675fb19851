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
  // --val-x/--val-y, or the rows held out of data: in a copy of their own (the fraction's
  // rows, or a standardized --val-x) or as read, standardized as the training rows.
  std::optional<Data<T>> validation;
  // The validation targets in the user's units, for the metrics, when validation's are
  // standardized.
  std::optional<nobias::Matrix<T>> validation_y_as_given;
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
// The training rows are not copied: a held-out validation fraction is listed out of them
// (train_rows), and their standardization is applied as they are read (training_rows). The
// validation rows are copied where they are held out or standardized.
template <class T>
Problem<T> assemble(const TrainOptions& o);

// The rows that train, standardized as they are read; lives as long as p.
template <class T>
nobias::RowSource<T> training_rows(const Problem<T>& p);

// What the model directory says about how it was trained.
nobias::ModelInfo model_info(const TrainOptions& o, std::size_t classes,
                             const nobias::Standardization& stats,
                             const std::vector<std::string>& class_names);

}  // namespace nobias_tools
