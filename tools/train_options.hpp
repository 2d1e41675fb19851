// nobias-train's flags: what CLI11 binds (TrainFlags, nullopt when not given) and the resolved
// settings of a run (TrainOptions), checked before anything is read or written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "nobias/init.hpp"
#include "nobias/network.hpp"
#include "nobias/optimizer.hpp"

namespace nobias_tools {

// Chosen by measurement on the default run (64 rows, widths 1000,100,100,10, standard normal
// weights, 500 steps), whose first loss is ~1e9 because activations grow ~30x per layer.
// 5e-9 lowers the loss at every step, by 2e5x to 8e5x for seeds 0-4, f32 and f64 alike;
// from ~8e-9 the loss rises on some steps. The sweep is in the README.
constexpr double kDefaultLearningRate = 5e-9;
// Long enough for any run; short enough that the loss log can be reserved up front.
constexpr std::uint64_t kMaxSteps = 1000000000;
constexpr std::size_t kDefaultRows = 64;
constexpr std::size_t kDefaultSteps = 500;
const std::vector<std::size_t> kDefaultWidths = {1000, 100, 100, 10};
// Hidden widths when the data fixes d_in and d_out but --layers is not given.
const std::vector<std::size_t> kDefaultHiddenWidths = {100, 100};
constexpr std::size_t kDefaultBatchSize = 32;
// Adam's step is about lr per weight whatever the scale of the loss, so one default serves
// both reductions. Momentum and SGD with --loss mean have no such default: --lr is required.
constexpr double kDefaultAdamLearningRate = 1e-3;
constexpr double kDefaultMomentum = 0.9;

// Real data (--x/--y without --steps or --epochs): what works on data of unknown scale,
// as scikit-learn's MLP defaults do. He keeps activations O(1) through ReLU layers; Adam's
// step does not depend on the loss's scale; the mean loss does not grow with the batch.
constexpr nobias::Init kDataInit = nobias::Init::He;
constexpr nobias::OptimizerKind kDataOptimizer = nobias::OptimizerKind::Adam;
constexpr nobias::Reduction kDataReduction = nobias::Reduction::Mean;
// scikit-learn's max_iter, n_iter_no_change, tol and validation_fraction.
constexpr std::size_t kDataMaxEpochs = 200;
constexpr std::size_t kDefaultPatience = 10;
constexpr double kEarlyStopTolerance = 1e-4;
constexpr double kDefaultValidationFraction = 0.1;

// Every flag as given on the command line; nullopt (or false) when absent. CLI11 has already
// checked each value on its own (ranges, names) and the pairs it can (needs, excludes).
struct TrainFlags {
  std::optional<std::string> layers, lr, optimizer, loss, dtype, init;
  std::optional<std::size_t> rows, steps, epochs, batch_size, log_every, checkpoint_every;
  std::optional<std::uint64_t> seed;
  std::optional<int> threads;
  std::optional<double> momentum, weight_decay;
  std::optional<std::string> x, y, val_x, val_y, weights_in, weights_out, loss_csv;
  std::optional<std::string> checkpoint, resume, history;
  std::optional<std::size_t> patience;
  std::optional<double> validation_fraction;
  bool quiet = false, nesterov = false, no_shuffle = false, standardize = false;
};

// The settings of a run, every default resolved: the only input of the training run.
struct TrainOptions {
  std::optional<std::vector<std::size_t>> layers;  // nullopt: widths from weights, data or default
  std::size_t rows = kDefaultRows;
  std::size_t steps = kDefaultSteps;
  double lr = kDefaultLearningRate;
  std::uint64_t seed = 0;
  Dtype dtype = Dtype::F32;
  std::string x_path, y_path;  // both or neither
  std::string weights_in, weights_out, loss_csv;
  std::optional<int> threads;  // nullopt: the BLAS default
  std::size_t log_every = 1;
  bool quiet = false;
  // Epoch mode (--epochs); epochs == 0 is the full-batch --steps mode.
  std::size_t epochs = 0;
  std::size_t batch_size = kDefaultBatchSize;
  bool shuffle = true;
  std::string val_x_path, val_y_path;  // both or neither
  std::string checkpoint_dir;          // save every checkpoint_every epochs and at the end
  std::size_t checkpoint_every = 1;
  std::string resume_dir;  // continue from this checkpoint's state
  // Real-data mode: --x/--y without --steps or --epochs, with its own defaults.
  bool data_defaults = false;
  std::string defaults_line;  // " --init he --optimizer adam ...": the defaults it took
  // Early stopping: stop after patience epochs without the validation loss improving by
  // kEarlyStopTolerance, and keep the best epoch's weights; 0 never stops early.
  std::size_t patience = 0;
  double validation_fraction = 0.0;  // > 0: validate on this fraction of --x/--y's rows
  std::string history_csv;           // one row per epoch
  // Centre and scale x (and a regression y) by the training rows' statistics; they go into
  // the model directory so that prediction undoes them.
  bool standardize = false;
  // Both modes.
  nobias::OptimizerConfig optimizer;
  nobias::Reduction reduction = nobias::Reduction::Sum;
  nobias::Init init = nobias::Init::StandardNormal;  // the seed's N(0, 1), or He's
};

// Defines nobias-train's flags on app, bound to flags.
void define_train_flags(CLI::App& app, TrainFlags& flags);

// The checks CLI11 cannot make (those that depend on the mode or on other values), then the
// defaults. UsageError for the first problem found.
TrainOptions resolve_train_options(const TrainFlags& flags);

// Returns nullopt when --help or --version was asked for (and printed).
std::optional<TrainOptions> parse_train_command_line(int argc, char** argv);

}  // namespace nobias_tools
