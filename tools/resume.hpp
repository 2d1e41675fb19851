// --resume: a resumed run must be the run it continues.
#pragma once

#include "nobias/checkpoint.hpp"
#include "train_options.hpp"

namespace nobias_tools {

// UsageError naming the first flag whose value differs from the checkpoint's run.
template <class T>
void check_resume_matches(const TrainOptions& o, const nobias::Checkpoint<T>& checkpoint);

// What a checkpoint records of the data a run trains on (x and y as trained on, after any
// --standardize; for generated data, also how they were generated).
template <class T>
nobias::DataFingerprint training_data_fingerprint(const TrainOptions& o,
                                                  nobias::MatrixView<const T> x,
                                                  nobias::MatrixView<const T> y);

// UsageError when (x, y) are not the data the checkpoint was trained on, saying which input
// differs: --resume promises the run continues bit for bit, which other data cannot.
template <class T>
void check_resume_data(const TrainOptions& o, const nobias::Checkpoint<T>& checkpoint,
                       nobias::MatrixView<const T> x, nobias::MatrixView<const T> y);

}  // namespace nobias_tools
