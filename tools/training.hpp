// The two training modes of nobias-train: full-batch --steps (the seed's) and --epochs of
// mini-batches through nobias::fit, with their progress lines.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "epoch_monitor.hpp"
#include "inputs.hpp"
#include "nobias/error.hpp"
#include "nobias/network.hpp"
#include "nobias/optimizer.hpp"
#include "train_options.hpp"

namespace nobias_tools {

// What a training loop did: optimizer steps and wall time; where it ended, for messages.
struct RunSummary {
  std::size_t steps = 0;
  double seconds = 0.0;
  std::string last_step;  // "(500)" or "(epoch 3, step 7)"
};

// The library's DivergenceError knows the loss but not the step; this message says both.
// (x, y) is the batch of the failed step.
template <class T>
nobias::DivergenceError divergence(nobias::Network<T>& net, nobias::MatrixView<const T> x,
                                   nobias::MatrixView<const T> y, const std::string& when,
                                   const TrainOptions& o);

// The seed's mode: o.steps full-batch steps. Records each step's loss in losses when given
// (reserved, so the loop allocates nothing). Plain SGD without decay is Network::train_step,
// bit for bit as before the optimizers existed.
template <class T>
RunSummary train_steps(nobias::Network<T>& net, nobias::Optimizer<T>& optimizer,
                       const Data<T>& data, const TrainOptions& o, std::vector<double>* losses);

// Epoch mode: nobias::fit, with the progress bar, the loss log, the checkpoints and the epoch
// lines fed by its callbacks.
template <class T>
RunSummary train_epochs(nobias::Network<T>& net, nobias::Optimizer<T>& optimizer,
                        const Data<T>& data, const std::optional<Data<T>>& validation,
                        const TrainOptions& o, std::size_t first_epoch, std::vector<double>* losses,
                        EpochMonitor<T>& monitor);

}  // namespace nobias_tools
