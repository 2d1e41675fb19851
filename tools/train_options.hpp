// nobias-train's flags as given (TrainFlags, one slot per entry of flag_table.cpp's table)
// and the resolved settings of a run (TrainOptions), checked before anything is read or written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli_common.hpp"
#include "flag_table.hpp"
#include "nobias/csv.hpp"
#include "nobias/defaults.hpp"
#include "nobias/fit.hpp"
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
constexpr std::size_t kDefaultBatchSize = nobias::defaults::kBatchSize;
// Adam's step is about lr per weight whatever the scale of the loss, so one default serves
// both reductions. Momentum and SGD with --loss mean have no such default: --lr is required.
constexpr double kDefaultAdamLearningRate = nobias::defaults::kLearningRate;
// scikit-learn's tol: the least improvement of the validation loss that resets --patience.
constexpr double kEarlyStopTolerance = nobias::EarlyStopping{}.tolerance;  // the library's
// The other defaults, and those of the real-data mode, are in the flag table (flag_table.cpp).

class TrainFlags;

// What --y holds (--task): class labels (a classifier), numbers (a regression), or what its
// dtype and values say (auto: nobias::looks_like_classes for integers).
enum class Task { Auto, Classify, Regress };

// Defines the flags of program (nobias-train, or nobias-train-mpi with --mpi-mode) from the
// table on app, bound to flags.
void define_train_flags(CLI::App& app, TrainFlags& flags, Program program = kTrainProgram);

// Every flag as given on the command line, one slot per entry of train_flag_table(), bound
// by define_train_flags. CLI11 has already checked each value on its own (ranges, names) and
// the pairs it can (needs, excludes); resolve_train_options checks the rest.
class TrainFlags {
 public:
  bool given(std::string_view name) const;
  // The mode the given flags choose.
  Mode mode() const;
  // The value given (numbers as CLI11's validators rewrote them), else the table's default
  // in this mode ("" if it has none there); a switch's is "true" or "".
  std::string value(std::string_view name) const;

 private:
  friend void define_train_flags(CLI::App& app, TrainFlags& flags, Program program);
  struct Slot {
    std::optional<std::string> text;
    bool on = false;  // a switch
  };
  const Slot& slot(std::string_view name) const;
  std::vector<Slot> slots_;  // by train_flag_index; empty: nothing given
};

// The settings of a run, every default resolved: the only input of the training run.
struct TrainOptions {
  std::optional<std::vector<std::size_t>> layers;  // nullopt: widths from weights, data or default
  std::size_t rows = kDefaultRows;
  std::size_t steps = kDefaultSteps;
  double lr = kDefaultLearningRate;
  std::uint64_t seed = 0;
  Dtype dtype = Dtype::F32;
  std::string x_path, y_path;  // x with y, or a CSV x with target
  std::string target;          // --target: the column of x_path holding the targets
  Task task = Task::Auto;
  nobias::CsvHeader csv_header = nobias::CsvHeader::Auto;  // every CSV input's (--csv-header)
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
  // Real-data mode: --x/--y without --steps, with its own defaults (--epochs only caps it).
  bool data_defaults = false;
  std::string defaults_line;  // " --init he --optimizer adam ...": the defaults it took
  // Early stopping: stop after patience epochs without the validation loss improving by
  // kEarlyStopTolerance, and keep the best epoch's weights; 0 never stops early.
  std::size_t patience = 0;
  bool patience_given = false;  // the user's --patience: refused, never dropped, without validation
  double validation_fraction = 0.0;  // > 0: validate on this fraction of --x/--y's rows
  std::string history_csv;           // one row per epoch
  // Centre and scale x (and a regression y) by the training rows' statistics; they go into
  // the model directory so that prediction undoes them.
  bool standardize = false;        // resolved: given, or the default with --x
  bool standardize_given = false;  // --standardize or --no-standardize on the command line
  bool validation_fraction_given = false;
  // Both modes.
  nobias::OptimizerConfig optimizer;
  nobias::Reduction reduction = nobias::Reduction::Sum;
  nobias::Init init = nobias::Init::StandardNormal;  // the seed's N(0, 1), or He's
};

// The checks CLI11 cannot make (those that depend on the mode or on other values), then the
// defaults. UsageError for the first problem found.
TrainOptions resolve_train_options(const TrainFlags& flags);

// Returns nullopt when --help or --version was asked for (and printed).
std::optional<TrainOptions> parse_train_command_line(int argc, char** argv);

}  // namespace nobias_tools
