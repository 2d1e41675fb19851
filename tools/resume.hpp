// --resume in the command line's words: the driver checks that a resumed run is the run it
// continues (nobias::resume); this names the flag of the setting that differs.
#pragma once

#include "cli_common.hpp"
#include "nobias/checkpoint.hpp"
#include "nobias/error.hpp"
#include "nobias/fit.hpp"
#include "train_options.hpp"

namespace nobias_tools {

// nobias::resume, with a ResumeMismatch reworded as resume_error does.
template <class T>
void resume_or_explain(const nobias::Checkpoint<T>& checkpoint, nobias::Optimizer<T>& optimizer,
                       nobias::FitOptions& options, const TrainOptions& o);

// "--lr is 0.5 but the checkpoint in ck was trained with 0.001; resume with the flags of the
// first run", from the mismatch's fields.
UsageError resume_error(const nobias::ResumeMismatch& e, const TrainOptions& o);

}  // namespace nobias_tools
