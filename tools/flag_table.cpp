// The table of nobias-train's flags (flag_table.hpp says what is made from it; flag_help.cpp
// makes the --help text).
#include "flag_table.hpp"

#include <limits>
#include <stdexcept>
#include <utility>

#include "cli_common.hpp"
#include "csv_inputs.hpp"
#include "nobias/defaults.hpp"
#include "nobias/targets.hpp"
#include "train_options.hpp"

namespace nobias_tools {

namespace {

constexpr std::uint64_t kMaxSize = std::numeric_limits<std::size_t>::max();
constexpr double kInfinity = std::numeric_limits<double>::infinity();

std::string decimal(std::size_t value) {
  return std::to_string(value);
}

Check check_of(Check::Kind kind) {
  Check c;
  c.kind = kind;
  return c;
}

// One entry of the table: the name, the value's type name ("" for a switch), the help and the
// check, then what differs from FlagSpec's defaults (every mode, both programs, no default).
class Flag {
 public:
  Flag(std::string name, std::string type_name, std::string help, Check check) {
    spec_.name = std::move(name);
    spec_.type_name = std::move(type_name);
    spec_.help = std::move(help);
    spec_.check = std::move(check);
  }
  // Only in these modes; given in another it is refused.
  Flag& in(unsigned modes) {
    spec_.modes = modes;
    return *this;
  }
  // The default in every mode, or in each.
  Flag& by_default(const std::string& value) { return by_default(value, value, value); }
  Flag& by_default(std::string steps, std::string epochs, std::string data) {
    spec_.defaults = {std::move(steps), std::move(epochs), std::move(data)};
    return *this;
  }
  Flag& computed_default(std::string how) {
    spec_.computed_default = std::move(how);
    return *this;
  }
  Flag& in_defaults_line(int position) {
    spec_.defaults_line = position;
    return *this;
  }
  Flag& needs(std::vector<std::string> names) {
    spec_.needs = std::move(names);
    return *this;
  }
  Flag& excludes(std::vector<std::string> names) {
    spec_.excludes = std::move(names);
    return *this;
  }
  Flag& needs_value(std::string flag, std::string value) {
    spec_.needs_flag = std::move(flag);
    spec_.needs_value = std::move(value);
    return *this;
  }
  Flag& selects(Mode mode) {
    spec_.selects = mode;
    return *this;
  }
  Flag& fixed_epochs() {
    spec_.fixed_epochs = true;
    return *this;
  }
  Flag& only_in(unsigned programs) {
    spec_.programs = programs;
    return *this;
  }
  operator FlagSpec() const { return spec_; }  // NOLINT: the table's entries convert

 private:
  FlagSpec spec_;
};

constexpr unsigned kEpochRuns = kEpochsMode | kDataMode;  // the modes that train by epochs

// Every flag of nobias-train and nobias-train-mpi, in --help's order. The real-data mode's
// defaults are what works on data of unknown scale, as scikit-learn's MLP defaults do: He
// keeps activations O(1) through ReLU layers, Adam's step does not depend on the loss's
// scale, the mean loss does not grow with the batch; 200 epochs, a patience of 10 and a
// validation fraction of 0.1 are scikit-learn's max_iter, n_iter_no_change and
// validation_fraction.
std::vector<FlagSpec> make_table() {
  return {
      Flag("--layers", "W,W,...", "Widths d_in,d_1,...,d_out", layers())
          .computed_default(join(kDefaultWidths) + ", or from --weights-in, or d_in," +
                            join(kDefaultHiddenWidths) + ",d_out from --x/--y"),
      // With data the batch is all of its rows: a --rows that would be ignored is a mistake.
      Flag("--rows", "N", "Rows of the generated batch", whole(1, kMaxSize))
          .by_default(decimal(kDefaultRows))
          .excludes({"--x"}),
      Flag("--steps", "N", "Full-batch steps, with the seed's defaults whatever the data",
           whole(1, kMaxSteps))
          .in(kStepsMode)
          .by_default(decimal(kDefaultSteps), "", "")
          .selects(kStepsMode),
      // With data it caps the run and changes no other default: the seed's defaults (sgd at
      // 5e-9 on a summed loss) diverge on data of unknown scale.
      Flag("--epochs", "E",
           "Train by epochs of mini-batches instead of --steps; with --x/--y the most epochs "
           "(early stopping may end the run sooner; the real-data defaults stay)",
           whole(1, kMaxSteps))
          .in(kEpochRuns)
          .by_default("", "", "200 (at most)")
          .in_defaults_line(6)
          .selects(kEpochsMode),
      Flag("--batch-size", "B",
           "Rows per mini-batch (>= 1; more than the rows: the whole set; the last batch may be "
           "smaller)",
           whole(1, kMaxSize))
          .in(kEpochRuns)
          .by_default("", decimal(kDefaultBatchSize), decimal(kDefaultBatchSize))
          .in_defaults_line(5),
      Flag("--no-shuffle", "",
           "Keep the rows in file order (not given: a new order every epoch, from --seed)",
           switch_flag())
          .in(kEpochRuns),
      Flag("--checkpoint", "DIR",
           "Save the whole training state into DIR (created if missing; its parent must exist)",
           text())
          .in(kEpochRuns)
          .fixed_epochs(),
      Flag("--checkpoint-every", "E", "Epochs between checkpoints; the last epoch is always saved",
           whole(1, kMaxSize))
          .in(kEpochRuns)
          .fixed_epochs()
          .by_default("", "1", "1")
          .needs({"--checkpoint"}),
      // The checkpoint holds the weights.
      Flag("--resume", "DIR",
           "Continue from the checkpoint in DIR, bit for bit as if never stopped; give the same "
           "flags as the first run",
           text())
          .in(kEpochRuns)
          .fixed_epochs()
          .excludes({"--weights-in"}),
      Flag("--val-x", "X.npy", "Validation inputs", text()).in(kEpochRuns).needs({"--val-y"}),
      Flag("--val-y", "Y.npy", "Validation targets", text()).in(kEpochRuns).needs({"--val-x"}),
      // Computed in train_options.cpp; the data mode's is what it comes to with adam.
      Flag("--lr", "L", "Learning rate", positive())
          .by_default("", "", format_g(kDefaultAdamLearningRate))
          .computed_default(format_g(kDefaultLearningRate) + " for sgd with --loss sum, " +
                            format_g(kDefaultAdamLearningRate) + " for adam; required otherwise")
          .in_defaults_line(3),
      Flag("--optimizer", "sgd|momentum|adam", "sgd, momentum or adam",
           choice(nobias::names_of<nobias::OptimizerKind>()))
          .by_default(nobias::to_name(nobias::OptimizerKind::Sgd),
                      nobias::to_name(nobias::OptimizerKind::Sgd),
                      nobias::to_name(nobias::OptimizerKind::Adam))
          .in_defaults_line(2),
      Flag("--momentum", "M", "Momentum in [0, 1)", real(0.0, 1.0, "in [0, 1)"))
          .by_default("0.9")
          .needs_value("--optimizer", "momentum"),
      Flag("--nesterov", "", "Nesterov momentum", switch_flag())
          .needs_value("--optimizer", "momentum"),
      Flag("--weight-decay", "D", "L2 weight decay >= 0",
           real(0.0, kInfinity, "that is finite and >= 0"))
          .by_default("0"),
      Flag("--loss", "sum|mean", "sum of squared errors, or mean (divided by rows x d_out)",
           choice(nobias::names_of<nobias::Reduction>()))
          .by_default(nobias::to_name(nobias::Reduction::Sum),
                      nobias::to_name(nobias::Reduction::Sum),
                      nobias::to_name(nobias::Reduction::Mean))
          .in_defaults_line(4),
      Flag("--seed", "S", "Seed of the generated data, the weights and the shuffle", whole(0))
          .by_default("0")
          .in_defaults_line(9),
      Flag("--dtype", "f32|f64", "f32 or f64", choice(nobias::names_of<nobias::Dtype>()))
          .by_default(nobias::to_name(nobias::Dtype::F32))
          .in_defaults_line(10),
      Flag("--init", "normal|he|lecun|glorot|half_glorot",
           "Starting weights: normal (the seed's N(0, 1)), he (N(0, 2 / d_in)), lecun "
           "(N(0, 1 / d_in)), glorot (N(0, 2 / (d_in + d_out)), scikit-learn's scale) or "
           "half_glorot (glorot's deviation halved)",
           choice(nobias::names_of<nobias::Init>()))
          .by_default(nobias::to_name(nobias::Init::StandardNormal),
                      nobias::to_name(nobias::Init::StandardNormal),
                      nobias::to_name(nobias::defaults::kInit))
          .in_defaults_line(1),
      // --x needs --y or --target: resolve_train_options says so, CLI11 cannot.
      Flag("--x", "X.npy",
           "Inputs, an n x d_in .npy file, or a CSV file (.csv, .tsv) of numbers with a header "
           "row or not",
           text()),
      Flag("--target", "COL",
           "With a CSV --x instead of --y: its column holding the targets (a name, a number from "
           "1, or -1 for the last); every other column is an input. A text column is class "
           "labels, the names sorted give classes 0, 1, ... (model.json records the count, not "
           "the names); a number column is read as --task says",
           text())
          .excludes({"--y"}),
      Flag("--y", "Y.npy",
           "Targets, a .npy file: n x d_out or n floats, or n integer class labels (see --task)",
           text())
          .needs({"--x"}),
      Flag("--task", "auto|classify|regress",
           "What --y holds. classify: class labels (integers, or whole numbers in floats as "
           "numpy.loadtxt reads them; or one-hot rows), one output per class. regress: numbers, "
           "integers too. auto: integers are class labels unless they look like counts (more "
           "than " +
               decimal(nobias::kMaxGuessedClasses) + " classes, or more than " +
               decimal(nobias::kFewValues) +
               " distinct values with fewer than two rows each: then refused, asking for --task); "
               "floats are numbers (one-hot rows are classes)",
           choice({"auto", "classify", "regress"}))
          .by_default("auto")
          .needs({"--x"}),
      Flag("--csv-header", "auto|yes|no",
           "Whether the first row of every CSV input (--x, --y, --val-x, --val-y) is a header. "
           "auto: detected, but a first row holding a number where the rows below hold numbers "
           "is data, so a header such as 0,1,label (pandas' integer column names), or one over "
           "columns of text only, is not: declare it with yes. no: the first row is data",
           choice(csv_header_names()))
          .by_default("auto")
          .needs({"--x"}),
      Flag("--weights-in", "DIR", "Start from w1.npy..wK.npy in DIR", text()),
      Flag("--weights-out", "DIR",
           "Write the trained model (w1.npy..wK.npy, model.json) into DIR (created, with its "
           "missing parents, if missing)",
           text()),
      Flag("--loss-csv", "FILE",
           "Write step,loss for every step to FILE: CSV in a .csv, tab-separated in a .tsv "
           "(another extension is refused)",
           text()),
      Flag("--threads", "N", "Threads of every product",
           whole(1, static_cast<std::uint64_t>(std::numeric_limits<int>::max())))
          .computed_default("chosen per product; NOBIAS_THREADS"),
      // With --epochs progress is shown per epoch. A real-data run accepts it unread, as it
      // always has.
      Flag("--log-every", "K", "Print progress every K steps", whole(1, kMaxSize))
          .in(kStepsMode | kDataMode)
          .computed_default("steps/10"),
      Flag("--quiet", "", "Print only the final line (no progress, no epoch lines)", switch_flag()),
      Flag("--patience", "N",
           "Stop when the validation loss has not improved by " + format_g(kEarlyStopTolerance) +
               " for this many epochs, keeping the best epoch's weights; 0: never",
           whole(0, kMaxSize))
          .in(kEpochRuns)
          .by_default("", "0", "10")
          .in_defaults_line(7),
      Flag("--validation-fraction", "F",
           "Hold out this fraction of --x/--y's rows (seeded by --seed) to validate on, unless "
           "--val-x/--val-y; 0: none, train on every row (no early stopping then, unless "
           "--patience is given)",
           real(0.0, 1.0, "in [0, 1)"))
          .in(kEpochRuns)
          .by_default("", "", "0.1")
          .in_defaults_line(8)
          .needs({"--x"})
          .excludes({"--val-x", "--val-y"}),
      Flag("--standardize", "",
           "Centre and scale the columns of --x, and of a regression --y, by the training rows' "
           "mean and standard deviation (saved with --weights-out; prediction undoes it): the "
           "default with --x, since a bias-free network has f(0) = 0 and cannot remove an offset",
           switch_flag())
          .needs({"--x"}),
      Flag("--no-standardize", "",
           "Train on --x and --y as they are: the model stays positively homogeneous in their "
           "units, f(a x) = a f(x) (docs/real-data.md says when that is better)",
           switch_flag())
          .needs({"--x"})
          .excludes({"--standardize"}),
      Flag("--history", "FILE.csv",
           "Write one CSV row per epoch: train and validation loss, the validation metrics, "
           "seconds (tab-separated in a .tsv; another extension is refused)",
           text())
          .in(kEpochRuns),
      Flag("--mpi-mode", "deterministic|fast",
           "deterministic: the same weights for any rank count; fast: summed per layer while "
           "backpropagation runs, last bits depend on the rank count",
           choice({"deterministic", "fast"}))
          .by_default("deterministic")
          .only_in(kTrainMpiProgram),
  };
}

}  // namespace

Check switch_flag() {
  return check_of(Check::Switch);
}
Check text() {
  return check_of(Check::Text);
}
Check whole(std::uint64_t min, std::uint64_t max) {
  Check c = check_of(Check::Whole);
  c.min = min;
  c.max = max;
  return c;
}
Check real(double low, double high, const char* range, bool open_low) {
  Check c = check_of(Check::Real);
  c.low = low;
  c.high = high;
  c.range = range;
  c.open_low = open_low;
  return c;
}
Check positive() {
  return check_of(Check::Positive);
}
Check choice(std::vector<std::string> names) {
  Check c = check_of(Check::Choice);
  c.names = std::move(names);
  return c;
}
Check layers() {
  return check_of(Check::Layers);
}

const std::vector<FlagSpec>& train_flag_table() {
  static const std::vector<FlagSpec> table = make_table();
  return table;
}

std::size_t train_flag_index(std::string_view name) {
  const std::vector<FlagSpec>& table = train_flag_table();
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (table[i].name == name) return i;
  }
  throw std::logic_error("no flag " + std::string(name) + " in the flag table");
}

const FlagSpec& train_flag(std::string_view name) {
  return train_flag_table()[train_flag_index(name)];
}

}  // namespace nobias_tools
