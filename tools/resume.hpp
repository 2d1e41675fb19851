// --resume: a resumed run must be the run it continues.
#pragma once

#include "nobias/checkpoint.hpp"
#include "train_options.hpp"

namespace nobias_tools {

// UsageError naming the first flag whose value differs from the checkpoint's run.
template <class T>
void check_resume_matches(const TrainOptions& o, const nobias::Checkpoint<T>& checkpoint);

}  // namespace nobias_tools
