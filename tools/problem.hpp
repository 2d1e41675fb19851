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
#include "nobias/targets.hpp"
#include "train_options.hpp"

namespace nobias_tools {

template <class T>
struct Problem {
  std::optional<Data<T>> data, validation;
  std::optional<Data<T>> user_validation;  // in the user's units, for the metrics
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
template <class T>
Problem<T> assemble(const TrainOptions& o);

// What the model directory says about how it was trained.
nobias::ModelInfo model_info(const TrainOptions& o, std::size_t classes,
                             const nobias::Standardization& stats,
                             const std::vector<std::string>& class_names);

}  // namespace nobias_tools
