// nobias-train's settings: the flags read through the table (flag_table.cpp) in the run's
// mode, the refusals made from it, the checks that depend on several values, and the
// defaults, resolved once into TrainOptions.
#include "train_options.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include "csv_inputs.hpp"
#include "nobias/checkpoint.hpp"
#include "nobias/error.hpp"
#include "nobias/names.hpp"
#include "nobias/weights_io.hpp"
#include "output_plan.hpp"
#include "outputs.hpp"
#include "paths.hpp"

namespace nobias_tools {

namespace {

// A learning rate must also survive the conversion to T: 1e-50 is 0 in float, 1e39 is inf.
double learning_rate(const std::string& text, Dtype dtype) {
  const double lr = parse_positive("--lr", text);
  if (dtype == Dtype::F32 && (lr > static_cast<double>(std::numeric_limits<float>::max()) ||
                              static_cast<float>(lr) == 0.0f)) {
    throw UsageError("--lr " + text + " is not representable in f32 (use --dtype f64)");
  }
  return lr;
}

// The flags read in the run's mode: the value given, else the table's default in that mode.
// Remembers the defaults it took, for the line a real-data run starts with.
class Values {
 public:
  explicit Values(const TrainFlags& flags) : flags_(flags), mode_(flags.mode()) {}
  Mode mode() const { return mode_; }
  bool given(std::string_view name) const { return flags_.given(name); }
  // "" when not given and without a default in this mode.
  std::string text(std::string_view name) {
    if (!flags_.given(name)) {
      const std::string& taken = train_flag(name).defaults[mode_index(mode_)];
      if (!taken.empty()) took(name, taken);
    }
    return flags_.value(name);
  }
  // Sets field to the value; leaves it as it is when there is none in this mode.
  template <class T>
  void read(std::string_view name, T& field) {
    const std::string value = text(name);
    if (value.empty()) return;
    const std::string flag(name);
    if constexpr (std::is_same_v<T, bool>) {
      field = true;  // a switch given
    } else if constexpr (std::is_same_v<T, std::string>) {
      field = value;
    } else if constexpr (std::is_same_v<T, double>) {
      field = parse_real(flag, value, -std::numeric_limits<double>::max(),
                         std::numeric_limits<double>::infinity(), "");
    } else {
      field = static_cast<T>(parse_unsigned(
          flag, value, 0, static_cast<std::uint64_t>(std::numeric_limits<T>::max())));
    }
  }
  // A default computed rather than the table's.
  void took(std::string_view name, const std::string& text) { taken_[std::string(name)] = text; }
  // " --init he --optimizer adam ...": every default in the real-data line that was taken.
  std::string defaults_line() const {
    return defaults_list([this](const FlagSpec& flag) {
      const auto it = taken_.find(flag.name);
      return it == taken_.end() ? std::string() : it->second;
    });
  }

 private:
  const TrainFlags& flags_;
  Mode mode_;
  std::map<std::string, std::string> taken_;
};

// "--val-x/--val-y" for two flags that need each other, else the flag's name.
std::string shown_name(const FlagSpec& flag) {
  for (const std::string& other : flag.needs) {
    const std::vector<std::string>& back = train_flag(other).needs;
    if (std::find(back.begin(), back.end(), flag.name) != back.end()) {
      return flag.name + "/" + other;
    }
  }
  return flag.name;
}

// A flag given in a mode it does not belong to would be silently ignored: a mistake. (CLI11
// has refused those of the --epochs mode already, as excluding --epochs.) Then the flags that
// need another's value, as --momentum needs --optimizer momentum.
void refuse_misplaced_flags(const TrainFlags& f) {
  const Mode mode = f.mode();
  for (const FlagSpec& flag : train_flag_table()) {
    if (f.given(flag.name) &&
        (!(flag.modes & mode) || (flag.fixed_epochs && !f.given("--epochs")))) {
      throw UsageError(refusal(shown_name(flag), mode));
    }
  }
  for (const FlagSpec& flag : train_flag_table()) {
    if (!flag.needs_flag.empty() && f.given(flag.name) &&
        f.value(flag.needs_flag) != flag.needs_value) {
      throw UsageError(flag.name + " needs " + flag.needs_flag + " " + flag.needs_value);
    }
  }
}

// A fresh run must not replace another run's checkpoint; continuing it is --resume.
void check_checkpoint_location(const TrainOptions& o) {
  require_creatable_directory("--checkpoint", o.checkpoint_dir);
  std::error_code ec;
  const bool holds_checkpoint =
      std::filesystem::exists(std::filesystem::path(o.checkpoint_dir) / "CURRENT", ec);
  if (holds_checkpoint && !same_file(o.resume_dir, o.checkpoint_dir)) {
    throw UsageError("--checkpoint " + o.checkpoint_dir +
                     " already holds a checkpoint: continue it with --resume " + o.checkpoint_dir +
                     ", or choose another directory");
  }
}

// Every output in a writable place, none of them an input or another output.
void check_outputs(const TrainOptions& o) {
  if (!o.weights_out.empty()) require_creatable_directories("--weights-out", o.weights_out);
  const std::pair<const char*, const std::string*> files[] = {{"--loss-csv", &o.loss_csv},
                                                              {"--history", &o.history_csv}};
  for (const auto& [flag, path] : files) {
    if (path->empty()) continue;
    require_writable_file_path(flag, *path);
    for (const std::string& input : {o.x_path, o.y_path, o.val_x_path, o.val_y_path}) {
      if (same_file(*path, input)) {
        throw UsageError(std::string(flag) + " " + *path + " is the input file " + input +
                         "; writing it would destroy the data");
      }
    }
  }
  if (!o.loss_csv.empty() && o.loss_csv == o.history_csv) {
    throw UsageError("--loss-csv and --history are both " + o.loss_csv + ": give two files");
  }
  // Every other collision: an output inside another output or an input, by device and inode.
  nobias::PathPlan plan;
  plan.add_input("--x", o.x_path);
  plan.add_input("--y", o.y_path);
  plan.add_input("--val-x", o.val_x_path);
  plan.add_input("--val-y", o.val_y_path);
  // A weight or model directory owns only its own names (w1.npy, model.json, ...): other
  // files may live beside them, as they always could.
  plan.add_input("--weights-in", o.weights_in, nobias::is_model_file_name);
  plan.add_input("--resume", o.resume_dir);
  plan.add_output_directory("--weights-out", o.weights_out, nobias::is_model_file_name);
  plan.add_output_directory(o.resume_dir == o.checkpoint_dir ? "--resume" : "--checkpoint",
                            o.checkpoint_dir, {}, nobias::longest_name_in_checkpoint());
  plan.add_output_file("--loss-csv", o.loss_csv, csv_output_extensions());
  plan.add_output_file("--history", o.history_csv, csv_output_extensions());
  try {
    plan.check();
  } catch (const nobias::Error& e) {
    throw UsageError(e.what());
  }
}

// Epoch runs: --epochs E on generated data, or real data, which stops early on a validation
// set (within --epochs E when given).
void resolve_epochs(Values& v, TrainOptions& o) {
  v.read("--epochs", o.epochs);
  v.read("--batch-size", o.batch_size);
  bool no_shuffle = false;
  v.read("--no-shuffle", no_shuffle);
  o.shuffle = !no_shuffle;
  v.read("--checkpoint-every", o.checkpoint_every);
  v.read("--checkpoint", o.checkpoint_dir);
  v.read("--resume", o.resume_dir);
  if (!o.checkpoint_dir.empty()) check_checkpoint_location(o);
  if (!v.given("--val-x")) v.read("--validation-fraction", o.validation_fraction);
  o.validation_fraction_given = v.given("--validation-fraction");
  const bool validation = v.given("--val-x") || o.validation_fraction > 0.0;
  // Without a validation set there is nothing to stop on: --patience's default stays unread
  // (--validation-fraction 0 trains every epoch on every row).
  if (validation || v.given("--patience")) v.read("--patience", o.patience);
  o.patience_given = v.given("--patience");
  if (o.patience > 0 && !validation) {
    throw UsageError(
        "--patience needs a validation set: --val-x/--val-y or a --validation-fraction "
        "above 0");
  }
  v.read("--history", o.history_csv);
}

void resolve_optimizer(Values& v, TrainOptions& o) {
  // The table's check has accepted the names already.
  o.optimizer.kind =
      nobias::parse_name<nobias::OptimizerKind>(v.text("--optimizer"), "--optimizer");
  o.reduction = nobias::parse_name<nobias::Reduction>(v.text("--loss"), "--loss");
  v.read("--momentum", o.optimizer.momentum);
  v.read("--nesterov", o.optimizer.nesterov);
  v.read("--weight-decay", o.optimizer.weight_decay);
  if (v.given("--lr")) {
    o.lr = learning_rate(v.text("--lr"), o.dtype);
  } else {
    if (o.optimizer.kind == nobias::OptimizerKind::Adam) {
      o.lr = kDefaultAdamLearningRate;
    } else if (o.optimizer.kind == nobias::OptimizerKind::Momentum ||
               o.reduction == nobias::Reduction::Mean) {
      throw UsageError("--lr is required with --optimizer momentum or --loss mean (the default " +
                       format_g(kDefaultLearningRate) + " suits only sgd with --loss sum)");
    }
    v.took("--lr", format_g(o.lr));
  }
  o.optimizer.learning_rate = o.lr;
}

// Cuts text into lines of at most width characters, at spaces.
std::string wrap(const std::string& text, std::size_t width) {
  std::string out, line;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    std::size_t end = text.find(' ', begin);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(begin, end - begin);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    begin = end + 1;
  }
  return out + line;
}

// --help's description: the three modes, with the real-data defaults from the table.
std::string description() {
  const std::string data_defaults =
      defaults_list([](const FlagSpec& flag) { return flag.defaults[mode_index(kDataMode)]; });
  const std::string paragraphs[] = {
      "Trains a bias-free MLP (ReLU hidden layers, linear output, squared-error loss), in one of "
      "three modes; flags given always win, and each flag's line below gives its defaults.",
      "Without --x/--y: the seed's experiment, on standard normal x and y drawn from --seed, "
      "with the seed's defaults (sgd at 5e-9 on the summed loss, N(0, 1) weights): full-batch "
      "steps, or with --epochs E epochs of mini-batches.",
      "--x/--y: the defaults are for real data, whatever else is given:" + data_defaults +
          "; shuffled mini-batches, stopping when the validation loss (--val-x/--val-y, or "
          "--validation-fraction of the rows) has not improved for --patience epochs; --epochs "
          "E only sets the most epochs. --task says whether --y holds class labels or numbers.",
      "--steps N, with or without --x/--y: the seed's full-batch steps and its defaults, "
      "whatever the data.",
      "With --epochs or --x/--y: one line per epoch (on a terminal, a progress bar too); "
      "--loss-csv has one row per optimizer step, numbered across epochs."};
  std::string out;
  for (const std::string& paragraph : paragraphs) {
    out += (out.empty() ? "" : "\n") + wrap(paragraph, 90);
  }
  return out;
}

// --x takes its targets from --y, or from its own column with --target when it is a CSV file.
void check_target(const TrainOptions& o) {
  if (!o.target.empty() && o.x_path.empty()) {
    throw UsageError("--target " + o.target + " names a column of a CSV --x; give --x data.csv");
  }
  if (!o.target.empty() && !is_csv_path(o.x_path)) {
    throw UsageError("--target " + o.target + " needs a CSV --x (.csv or .tsv), but --x is " +
                     o.x_path + "; give the targets of a .npy --x as --y");
  }
  if (!o.x_path.empty() && o.y_path.empty() && o.target.empty()) {
    // CLI11's words, as before --target: --x requires --y.
    throw UsageError("--x requires --y (or, with a CSV --x, --target COL): --x " + o.x_path +
                     " came alone");
  }
}

}  // namespace

TrainOptions resolve_train_options(const TrainFlags& f) {
  refuse_misplaced_flags(f);
  Values v(f);
  TrainOptions o;
  o.data_defaults = v.mode() == kDataMode;
  o.dtype = nobias::parse_name<nobias::Dtype>(v.text("--dtype"), "--dtype");
  if (v.given("--layers")) o.layers = parse_layers(v.text("--layers"));
  v.read("--steps", o.steps);
  v.read("--rows", o.rows);
  v.read("--x", o.x_path);
  v.read("--y", o.y_path);
  v.read("--target", o.target);
  check_target(o);
  const std::string task = v.text("--task");
  o.task = task == "classify" ? Task::Classify : task == "regress" ? Task::Regress : Task::Auto;
  o.csv_header = csv_header_named(v.text("--csv-header"));
  v.read("--val-x", o.val_x_path);
  v.read("--val-y", o.val_y_path);
  if (v.mode() != kStepsMode) resolve_epochs(v, o);
  o.init = nobias::parse_name<nobias::Init>(v.text("--init"), "--init");
  resolve_optimizer(v, o);
  v.read("--seed", o.seed);
  int threads = 0;
  v.read("--threads", threads);
  if (threads > 0) o.threads = threads;
  // Ten progress lines by default, however long the run.
  o.log_every = std::max<std::size_t>(1, o.steps / 10);
  v.read("--log-every", o.log_every);
  v.read("--quiet", o.quiet);
  // With data the columns are standardized unless --no-standardize (nobias/defaults.hpp);
  // a --weights-in model's own units win over the default (run_standardization).
  bool standardize = false, no_standardize = false;
  v.read("--standardize", standardize);
  v.read("--no-standardize", no_standardize);
  o.standardize_given = standardize || no_standardize;
  o.standardize =
      standardize || (!no_standardize && o.data_defaults && nobias::defaults::kStandardize);
  v.read("--weights-in", o.weights_in);
  v.read("--weights-out", o.weights_out);
  v.read("--loss-csv", o.loss_csv);
  check_outputs(o);
  if (o.data_defaults) o.defaults_line = v.defaults_line();
  return o;
}

std::optional<TrainOptions> parse_train_command_line(int argc, char** argv) {
  CLI::App app{description(), "nobias-train"};
  TrainFlags flags;
  define_train_flags(app, flags);
  if (!parse_or_help(app, argc, argv)) return std::nullopt;
  return resolve_train_options(flags);
}

}  // namespace nobias_tools
