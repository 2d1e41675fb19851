// A training run of nobias-train and nobias-train-mpi, from resolved options to the final line:
// the problem assembled, the network built or resumed, nobias::fit's options and hooks (the
// progress bar, the loss log, the epoch lines), the outputs staged and committed last. The two
// tools differ only in how the steps are taken (Trainer) and in which process reports.
#pragma once

#include <functional>
#include <string>

#include "nobias/fit.hpp"
#include "train_options.hpp"

namespace nobias_tools {

// Takes the run's steps: nobias::fit in this process, or distributed_fit over the ranks.
template <class T>
using Trainer =
    std::function<nobias::FitResult(nobias::Network<T>&, nobias::Optimizer<T>&,
                                    const nobias::FitData<T>&, const nobias::FitOptions&)>;

// Runs body; for several processes, an error in any is thrown in all alike.
using Agreed = std::function<void(const std::function<void()>& body)>;

struct RunPlace {
  bool reports = true;  // prints, and writes the outputs (rank 0 of several)
  Agreed agreed = [](const std::function<void()>& body) { body(); };
  std::string on;                        // how the final line ends: "" or " on 2 ranks"
  const char* program = "nobias-train";  // what its notes and warnings begin with
};

// Returns the exit code; throws UsageError or nobias::Error (DivergenceError worded for the
// command line: the step, the library's reason, and "try a smaller --lr (was ...)").
template <class T>
int run_training(const TrainOptions& o, const Trainer<T>& train, const RunPlace& place = {});

}  // namespace nobias_tools
