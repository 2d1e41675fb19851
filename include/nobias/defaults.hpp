// What nobias does with a user's data when told nothing else: one recipe, used by nobias-train
// (and nobias-train-mpi) and by the Python estimators, chosen from measurements over seeds and
// data sets against scikit-learn's MLP defaults and a bias-free PyTorch reference
// (bench/defaults_study.py, table in docs/real-data.md).
//
// Why each value:
//  - standardize: a bias-free network is positively homogeneous (f(a x) = a f(x), f(0) = 0);
//    columns it cannot centre or rescale itself cost wine 97.8% -> 40%. Inputs, and a
//    regression's targets, are centred and scaled by the training rows' statistics, and
//    predictions are put back in the targets' units. Turned off, the model stays homogeneous
//    in the user's units (nobias-train --no-standardize, standardize=False).
//  - half Glorot's scale, N(0, 1 / (2 (fan_in + fan_out))): the scale of the first weights
//    matters to a bias-free network, and smaller is better on every data set measured: He's
//    2 / fan_in costs wine 97.8% -> 93%, and Glorot's own 2 / (fan_in + fan_out) leaves breast
//    cancer a test row below the reference (over 20 seeds, docs/real-data.md).
//  - Adam at 1e-3, the mean loss, batches of 32, at most 200 epochs: scikit-learn's and the
//    reference's; the step does not depend on the loss's scale.
//  - early stopping on a held-out tenth with a patience of 10 epochs, keeping the best epoch's
//    weights, but only when the tenth holds at least kMinValidationRows rows: on fewer the
//    validation loss is noise (iris, 11 rows: 79% with it, 89% without); then every row trains
//    for all the epochs.
#pragma once

#include <cstddef>

#include "nobias/init.hpp"
#include "nobias/optimizer.hpp"

namespace nobias::defaults {

inline constexpr bool kStandardize = true;
inline constexpr Init kInit = Init::HalfGlorot;
inline constexpr OptimizerKind kOptimizer = OptimizerKind::Adam;
inline constexpr double kLearningRate = 1e-3;
inline constexpr std::size_t kBatchSize = 32;
inline constexpr std::size_t kMaxEpochs = 200;
inline constexpr std::size_t kPatience = 10;
inline constexpr double kTolerance = 1e-4;
inline constexpr double kValidationFraction = 0.1;
inline constexpr std::size_t kMinValidationRows = 20;
inline constexpr std::size_t kHiddenWidths[] = {100, 100};

// The rows held out for early stopping out of `rows` at `fraction`: validation_rows(rows,
// fraction) when that is at least kMinValidationRows and leaves a row to train on, else 0 (no
// early stopping: every row trains). ValueError for a fraction outside [0, 1].
std::size_t early_stopping_rows(std::size_t rows, double fraction = kValidationFraction);

}  // namespace nobias::defaults
