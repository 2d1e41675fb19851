// nobias-train's settings: the checks that depend on the mode or on several flags, and the
// defaults, resolved once into TrainOptions.
#include "train_options.hpp"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <system_error>
#include <utility>

#include "nobias/error.hpp"
#include "nobias/output_plan.hpp"
#include "nobias/weights_io.hpp"
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

nobias::OptimizerKind optimizer_kind(const std::string& name) {
  if (name == "momentum") return nobias::OptimizerKind::Momentum;
  if (name == "adam") return nobias::OptimizerKind::Adam;
  return nobias::OptimizerKind::Sgd;
}

// Flags that only an epoch run reads would be silently ignored in a --steps run: a mistake.
void refuse_epoch_flags(const TrainFlags& f) {
  const std::pair<bool, const char*> epoch_only[] = {
      {f.batch_size.has_value(), "--batch-size"},
      {f.no_shuffle, "--no-shuffle"},
      {f.val_x.has_value() || f.val_y.has_value(), "--val-x/--val-y"},
      {f.checkpoint.has_value(), "--checkpoint"},
      {f.resume.has_value(), "--resume"},
      {f.patience.has_value(), "--patience"},
      {f.validation_fraction.has_value(), "--validation-fraction"},
      {f.history.has_value(), "--history"}};
  for (const auto& [given, flag] : epoch_only) {
    if (given) throw UsageError(std::string(flag) + " needs --epochs (epoch-based training)");
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
                            o.checkpoint_dir);
  plan.add_output_file("--loss-csv", o.loss_csv);
  plan.add_output_file("--history", o.history_csv);
  try {
    plan.check();
  } catch (const nobias::Error& e) {
    throw UsageError(e.what());
  }
}

// Epoch runs: --epochs E, or real data alone, which stops early on a validation set.
void resolve_epochs(const TrainFlags& f, TrainOptions& o) {
  o.epochs = f.epochs.value_or(kDataMaxEpochs);
  o.batch_size = f.batch_size.value_or(kDefaultBatchSize);
  o.shuffle = !f.no_shuffle;
  o.checkpoint_every = f.checkpoint_every.value_or(1);
  o.checkpoint_dir = f.checkpoint.value_or("");
  o.resume_dir = f.resume.value_or("");
  if (o.data_defaults) {
    // A checkpoint continues a run of known length; an early stop's state is not kept.
    if (f.checkpoint) throw UsageError("--checkpoint needs --epochs (a fixed number of epochs)");
    if (f.resume) throw UsageError("--resume needs --epochs (a fixed number of epochs)");
  }
  if (!o.checkpoint_dir.empty()) check_checkpoint_location(o);
  o.patience = f.patience.value_or(o.data_defaults ? kDefaultPatience : 0);
  const bool default_fraction = o.data_defaults && !f.val_x;
  o.validation_fraction =
      f.validation_fraction.value_or(default_fraction ? kDefaultValidationFraction : 0.0);
  if (f.validation_fraction && *f.validation_fraction <= 0.0) {
    throw UsageError("--validation-fraction must be a number in (0, 1), got '0'");
  }
  if (o.patience > 0 && !f.val_x && o.validation_fraction == 0.0) {
    throw UsageError("--patience needs a validation set: --val-x/--val-y or --validation-fraction");
  }
  o.history_csv = f.history.value_or("");
}

// The line a real-data run starts with: every default it took, so nothing is hidden.
std::string defaults_line(const TrainFlags& f, const TrainOptions& o) {
  std::string line;
  const auto add = [&line](bool given, const std::string& text) {
    if (!given) line += " " + text;
  };
  add(f.init.has_value(), "--init he");
  add(f.optimizer.has_value(), "--optimizer adam");
  add(f.lr.has_value(), "--lr " + format_g(o.lr));
  add(f.loss.has_value(), "--loss mean");
  add(f.batch_size.has_value(), "--batch-size " + std::to_string(o.batch_size));
  add(false, "--epochs " + std::to_string(o.epochs) + " (at most)");
  add(f.patience.has_value(), "--patience " + std::to_string(o.patience));
  add(f.validation_fraction.has_value() || f.val_x.has_value(),
      "--validation-fraction " + format_g(o.validation_fraction));
  add(f.seed.has_value(), "--seed " + std::to_string(o.seed));
  add(f.dtype.has_value(), std::string("--dtype ") + dtype_name(o.dtype));
  return line;
}

void resolve_optimizer(const TrainFlags& f, TrainOptions& o) {
  const bool data = o.data_defaults;
  o.optimizer.kind = f.optimizer ? optimizer_kind(*f.optimizer)
                     : data      ? kDataOptimizer
                                 : nobias::OptimizerKind::Sgd;
  o.reduction = f.loss ? (*f.loss == "mean" ? nobias::Reduction::Mean : nobias::Reduction::Sum)
                : data ? kDataReduction
                       : nobias::Reduction::Sum;
  const bool momentum = o.optimizer.kind == nobias::OptimizerKind::Momentum;
  if (f.momentum && !momentum) throw UsageError("--momentum needs --optimizer momentum");
  o.optimizer.momentum = f.momentum.value_or(kDefaultMomentum);
  if (f.nesterov && !momentum) throw UsageError("--nesterov needs --optimizer momentum");
  o.optimizer.nesterov = f.nesterov;
  o.optimizer.weight_decay = f.weight_decay.value_or(0.0);
  if (f.lr) {
    o.lr = learning_rate(*f.lr, o.dtype);
  } else if (o.optimizer.kind == nobias::OptimizerKind::Adam) {
    o.lr = kDefaultAdamLearningRate;
  } else if (momentum || o.reduction == nobias::Reduction::Mean) {
    throw UsageError("--lr is required with --optimizer momentum or --loss mean (the default " +
                     format_g(kDefaultLearningRate) + " suits only sgd with --loss sum)");
  }
  o.optimizer.learning_rate = o.lr;
}

}  // namespace

TrainOptions resolve_train_options(const TrainFlags& f) {
  TrainOptions o;
  o.dtype = f.dtype.value_or("f32") == "f64" ? Dtype::F64 : Dtype::F32;
  if (f.layers) o.layers = parse_layers(*f.layers);
  o.steps = f.steps.value_or(kDefaultSteps);
  o.rows = f.rows.value_or(kDefaultRows);
  o.x_path = f.x.value_or("");
  o.y_path = f.y.value_or("");
  o.data_defaults = f.x && !f.steps && !f.epochs;
  o.val_x_path = f.val_x.value_or("");
  o.val_y_path = f.val_y.value_or("");
  if (f.epochs || o.data_defaults) {
    resolve_epochs(f, o);
  } else {
    refuse_epoch_flags(f);
  }
  o.init = f.init            ? (*f.init == "he" ? nobias::Init::He : nobias::Init::StandardNormal)
           : o.data_defaults ? kDataInit
                             : nobias::Init::StandardNormal;
  resolve_optimizer(f, o);
  o.seed = f.seed.value_or(0);
  o.threads = f.threads;
  // Ten progress lines by default, however long the run.
  o.log_every = f.log_every.value_or(std::max<std::size_t>(1, o.steps / 10));
  o.quiet = f.quiet;
  o.standardize = f.standardize;
  o.weights_in = f.weights_in.value_or("");
  o.weights_out = f.weights_out.value_or("");
  o.loss_csv = f.loss_csv.value_or("");
  check_outputs(o);
  if (o.data_defaults) o.defaults_line = defaults_line(f, o);
  return o;
}

std::optional<TrainOptions> parse_train_command_line(int argc, char** argv) {
  CLI::App app{
      "Trains a bias-free MLP (ReLU hidden layers, linear output, squared-error loss).\n"
      "Without --x/--y it trains on standard normal x and y drawn from --seed (the seed's\n"
      "experiment), by --steps full-batch steps of sgd unless --epochs is given.\n"
      "With --x/--y alone (no --steps, no --epochs), the defaults are for real data: --init he,\n"
      "--optimizer adam --lr 0.001, --loss mean, shuffled mini-batches of 32 for up to 200\n"
      "epochs, stopping when the validation loss (--val-x/--val-y, or --validation-fraction 0.1\n"
      "of the rows) has not improved for --patience 10 epochs. Flags given always win.\n"
      "--steps N: full-batch steps with the seed's defaults, in every mode. --epochs E: epochs\n"
      "of mini-batches, shuffled from --seed; one line per epoch (on a terminal, a progress\n"
      "bar too); --loss-csv then has one row per optimizer step, numbered across epochs.",
      "nobias-train"};
  TrainFlags flags;
  define_train_flags(app, flags);
  if (!parse_or_help(app, argc, argv)) return std::nullopt;
  return resolve_train_options(flags);
}

}  // namespace nobias_tools
