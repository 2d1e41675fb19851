// nobias-train's settings: the checks that depend on the mode or on several flags, and the
// defaults, resolved once into TrainOptions.
#include "train_options.hpp"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <system_error>
#include <utility>

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
      {f.resume.has_value(), "--resume"}};
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

void check_outputs(const TrainOptions& o) {
  if (!o.weights_out.empty()) require_writable_directory("--weights-out", o.weights_out);
  if (o.loss_csv.empty()) return;
  require_writable_file_path("--loss-csv", o.loss_csv);
  for (const std::string& input : {o.x_path, o.y_path, o.val_x_path, o.val_y_path}) {
    if (same_file(o.loss_csv, input)) {
      throw UsageError("--loss-csv " + o.loss_csv + " is the input file " + input +
                       "; writing it would destroy the data");
    }
  }
}

void resolve_optimizer(const TrainFlags& f, TrainOptions& o) {
  o.optimizer.kind = optimizer_kind(f.optimizer.value_or("sgd"));
  o.reduction = f.loss.value_or("sum") == "mean" ? nobias::Reduction::Mean : nobias::Reduction::Sum;
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
  if (f.epochs) {
    o.epochs = *f.epochs;
    o.batch_size = f.batch_size.value_or(kDefaultBatchSize);
    o.shuffle = !f.no_shuffle;
    o.checkpoint_every = f.checkpoint_every.value_or(1);
    o.checkpoint_dir = f.checkpoint.value_or("");
    o.resume_dir = f.resume.value_or("");
    if (!o.checkpoint_dir.empty()) check_checkpoint_location(o);
  } else {
    refuse_epoch_flags(f);
  }
  o.init = f.init.value_or("normal") == "he" ? nobias::Init::He : nobias::Init::StandardNormal;
  resolve_optimizer(f, o);
  o.seed = f.seed.value_or(0);
  o.threads = f.threads;
  // Ten progress lines by default, however long the run.
  o.log_every = f.log_every.value_or(std::max<std::size_t>(1, o.steps / 10));
  o.quiet = f.quiet;
  o.val_x_path = f.val_x.value_or("");
  o.val_y_path = f.val_y.value_or("");
  o.weights_in = f.weights_in.value_or("");
  o.weights_out = f.weights_out.value_or("");
  o.loss_csv = f.loss_csv.value_or("");
  check_outputs(o);
  return o;
}

std::optional<TrainOptions> parse_train_command_line(int argc, char** argv) {
  CLI::App app{
      "Trains a bias-free MLP (ReLU hidden layers, linear output, squared-error loss).\n"
      "Without --x/--y it trains on standard normal x and y drawn from --seed.\n"
      "Without --epochs: --steps full-batch steps (the seed's mode). With --epochs: epochs of\n"
      "mini-batches, shuffled from --seed; one line per epoch (on a terminal, a progress bar\n"
      "too); --loss-csv then has one row per optimizer step, numbered across epochs.",
      "nobias-train"};
  TrainFlags flags;
  define_train_flags(app, flags);
  if (!parse_or_help(app, argc, argv)) return std::nullopt;
  return resolve_train_options(flags);
}

}  // namespace nobias_tools
