// nobias-train: trains a bias-free MLP from the command line, either on the seed's experiment
// (standard normal x and y drawn from --seed) or on .npy data; by full-batch steps (--steps,
// the seed's mode) or by epochs of shuffled mini-batches (--epochs).
//
// Exit status: 0 success, 2 bad usage or bad input (nothing half-written is left behind),
// 3 training diverged (a non-finite loss), 1 an unexpected internal error.
//
// Legend: n = rows of the batch, d_in / d_out = first / last width.
#include <sys/ioctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <limits>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "nobias/atomic_file.hpp"
#include "nobias/blas.hpp"
#include "nobias/checkpoint.hpp"
#include "nobias/error.hpp"
#include "nobias/init.hpp"
#include "nobias/kernels.hpp"
#include "nobias/matrix.hpp"
#include "nobias/network.hpp"
#include "nobias/npy.hpp"
#include "nobias/optimizer.hpp"
#include "nobias/train.hpp"
#include "nobias/weights_io.hpp"

namespace {

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

constexpr int kExitOk = 0;
constexpr int kExitInternal = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitDiverged = 3;

// Wrong flags or flag values: reported with a pointer to --help, exit 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Dtype { F32, F64 };

// Every flag, parsed and checked; the only input of the training run.
struct Options {
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
  // Both modes.
  nobias::OptimizerConfig optimizer;
  nobias::Reduction reduction = nobias::Reduction::Sum;
  nobias::Init init = nobias::Init::StandardNormal;  // the seed's N(0, 1), or He's
};

// The flags as CLI11 hands them over: text, so that every number gets one strict parser and
// one message style (CLI11 would accept "-5" for an unsigned or "010" as octal).
struct RawFlags {
  std::string layers, rows, steps, lr, seed, dtype = "f32", threads, log_every;
  std::string x, y, weights_in, weights_out, loss_csv;
  bool layers_given = false, rows_given = false, lr_given = false, threads_given = false;
  bool log_every_given = false;
  bool quiet = false;
  std::string epochs, batch_size, optimizer = "sgd", momentum, weight_decay, loss = "sum";
  std::string val_x, val_y;
  bool steps_given = false, epochs_given = false, batch_size_given = false;
  bool momentum_given = false, weight_decay_given = false, nesterov = false, no_shuffle = false;
  std::string checkpoint, checkpoint_every, resume;
  bool checkpoint_every_given = false;
  std::string init = "normal";
};

std::string join(const std::vector<std::size_t>& values) {
  std::string out;
  for (std::size_t v : values)
    out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

std::string format_g(double value) {
  if (std::isnan(value)) return "nan";  // not "-nan": the sign of a NaN means nothing here
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

// ---- parsing flag values ----

// Decimal digits only, in [min, max].
std::uint64_t parse_unsigned(const std::string& flag, const std::string& text, std::uint64_t min,
                             std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec == std::errc::invalid_argument || ptr != end) {
    throw UsageError(flag + " must be a whole number, got '" + text + "'");
  }
  // from_chars leaves value alone when out of range, so that case is tested first.
  if (ec == std::errc::result_out_of_range || value > max) {
    throw UsageError(flag + " must be at most " + std::to_string(max) + ", got " + text);
  }
  if (value < min) {
    throw UsageError(flag + " must be at least " + std::to_string(min) + ", got " + text);
  }
  return value;
}

std::size_t parse_size(const std::string& flag, const std::string& text, std::size_t min,
                       std::uint64_t max = std::numeric_limits<std::size_t>::max()) {
  return static_cast<std::size_t>(parse_unsigned(flag, text, min, max));
}

std::vector<std::size_t> parse_layers(const std::string& text) {
  std::vector<std::size_t> widths;
  std::size_t begin = 0;
  while (true) {
    std::size_t comma = text.find(',', begin);
    std::string item = text.substr(begin, comma == std::string::npos ? comma : comma - begin);
    widths.push_back(parse_size("--layers: every width", item, 1));
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  if (widths.size() < 2) {
    throw UsageError("--layers needs at least two widths (d_in,...,d_out), got '" + text + "'");
  }
  return widths;
}

// A learning rate must also survive the conversion to T: 1e-50 is 0 in float, 1e39 is inf.
double parse_learning_rate(const std::string& text, Dtype dtype) {
  double lr = 0.0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, lr);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(lr) || lr <= 0.0) {
    throw UsageError("--lr must be a finite number > 0, got '" + text + "'");
  }
  if (dtype == Dtype::F32 && (lr > static_cast<double>(std::numeric_limits<float>::max()) ||
                              static_cast<float>(lr) == 0.0f)) {
    throw UsageError("--lr " + text + " is not representable in f32 (use --dtype f64)");
  }
  return lr;
}

// A finite real number in [min, max) (or [min, max] when max_inclusive).
double parse_real(const std::string& flag, const std::string& text, double min, double max,
                  const char* range) {
  double value = 0.0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value) || value < min ||
      value >= max) {
    throw UsageError(flag + " must be a number " + range + ", got '" + text + "'");
  }
  return value;
}

nobias::OptimizerKind parse_optimizer(const std::string& text) {
  if (text == "sgd") return nobias::OptimizerKind::Sgd;
  if (text == "momentum") return nobias::OptimizerKind::Momentum;
  if (text == "adam") return nobias::OptimizerKind::Adam;
  throw UsageError("--optimizer must be sgd, momentum or adam, got '" + text + "'");
}

nobias::Reduction parse_loss(const std::string& text) {
  if (text == "sum") return nobias::Reduction::Sum;
  if (text == "mean") return nobias::Reduction::Mean;
  throw UsageError("--loss must be sum or mean, got '" + text + "'");
}

Dtype parse_dtype(const std::string& text) {
  if (text == "f32") return Dtype::F32;
  if (text == "f64") return Dtype::F64;
  throw UsageError("--dtype must be f32 or f64, got '" + text + "'");
}

// Output locations are checked before any work so that a typo costs nothing and writes nothing.
// The check creates (and removes) a file there, as the outputs will be created: access() says
// yes to root everywhere, even in /proc or on a read-only mount, where a run would then fail
// at its end, after writing its other outputs.
void require_writable_directory(const std::string& flag, const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw UsageError(flag + ": '" + dir.string() + "' is not an existing directory");
  }
  std::string probe = (dir / ".nobias-train-probe-XXXXXX").string();
  const int fd = ::mkstemp(&probe[0]);
  if (fd < 0) {
    throw UsageError(flag + ": directory '" + dir.string() + "' is not writable (" +
                     std::strerror(errno) + ")");
  }
  ::close(fd);
  ::unlink(probe.c_str());
}

// A directory that exists and is writable, or can be created in a writable parent.
void require_checkpoint_location(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) return require_writable_directory("--checkpoint", dir);
  const std::filesystem::path parent = std::filesystem::path(dir).parent_path();
  require_writable_directory("--checkpoint", parent.empty() ? std::filesystem::path(".") : parent);
}

void require_writable_file_path(const std::string& flag, const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw UsageError(flag + ": '" + path + "' is a directory, expected a file name");
  }
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  require_writable_directory(flag, parent.empty() ? std::filesystem::path(".") : parent);
}

Options validate(const RawFlags& raw) {
  Options o;
  o.dtype = parse_dtype(raw.dtype);
  if (raw.layers_given) o.layers = parse_layers(raw.layers);
  o.steps = parse_size("--steps", raw.steps, 1, kMaxSteps);
  o.rows = parse_size("--rows", raw.rows, 1);
  if (raw.epochs_given) {
    if (raw.steps_given) {
      throw UsageError(
          "--steps and --epochs exclude each other: --steps runs full-batch steps, "
          "--epochs runs epochs of mini-batches");
    }
    o.epochs = parse_size("--epochs", raw.epochs, 1, kMaxSteps);
    if (raw.log_every_given) {
      throw UsageError("--log-every is for --steps; with --epochs progress is shown per epoch");
    }
    if (raw.batch_size_given) o.batch_size = parse_size("--batch-size", raw.batch_size, 1);
    o.shuffle = !raw.no_shuffle;
    if (raw.checkpoint_every_given) {
      if (raw.checkpoint.empty()) throw UsageError("--checkpoint-every needs --checkpoint DIR");
      o.checkpoint_every = parse_size("--checkpoint-every", raw.checkpoint_every, 1);
    }
    o.checkpoint_dir = raw.checkpoint;
    if (!o.checkpoint_dir.empty()) require_checkpoint_location(o.checkpoint_dir);
    o.resume_dir = raw.resume;
    if (!o.checkpoint_dir.empty()) {
      // A fresh run must not replace another run's checkpoint; continuing it is --resume.
      std::error_code ec;
      const bool holds_checkpoint =
          std::filesystem::exists(std::filesystem::path(o.checkpoint_dir) / "CURRENT", ec);
      const bool continues_it =
          !o.resume_dir.empty() && std::filesystem::equivalent(o.resume_dir, o.checkpoint_dir, ec);
      if (holds_checkpoint && !continues_it) {
        throw UsageError("--checkpoint " + o.checkpoint_dir +
                         " already holds a checkpoint: continue it with --resume " +
                         o.checkpoint_dir + ", or choose another directory");
      }
    }
    if (!o.resume_dir.empty() && !raw.weights_in.empty()) {
      throw UsageError(
          "--resume and --weights-in exclude each other: the checkpoint holds the "
          "weights");
    }
  } else {
    // Flags that only an epoch run reads would be silently ignored: a mistake.
    const std::pair<bool, const char*> epoch_only[] = {
        {raw.batch_size_given, "--batch-size"},
        {raw.no_shuffle, "--no-shuffle"},
        {!raw.val_x.empty() || !raw.val_y.empty(), "--val-x/--val-y"},
        {!raw.checkpoint.empty() || raw.checkpoint_every_given, "--checkpoint"},
        {!raw.resume.empty(), "--resume"}};
    for (const auto& [given, flag] : epoch_only) {
      if (given) throw UsageError(std::string(flag) + " needs --epochs (epoch-based training)");
    }
  }

  if (raw.init == "he") {
    o.init = nobias::Init::He;
  } else if (raw.init != "normal") {
    throw UsageError("--init must be normal or he, got '" + raw.init + "'");
  }
  o.optimizer.kind = parse_optimizer(raw.optimizer);
  o.reduction = parse_loss(raw.loss);
  const bool momentum = o.optimizer.kind == nobias::OptimizerKind::Momentum;
  if (raw.momentum_given) {
    if (!momentum) throw UsageError("--momentum needs --optimizer momentum");
    o.optimizer.momentum = parse_real("--momentum", raw.momentum, 0.0, 1.0, "in [0, 1)");
  } else {
    o.optimizer.momentum = kDefaultMomentum;
  }
  if (raw.nesterov && !momentum) throw UsageError("--nesterov needs --optimizer momentum");
  o.optimizer.nesterov = raw.nesterov;
  if (raw.weight_decay_given) {
    o.optimizer.weight_decay =
        parse_real("--weight-decay", raw.weight_decay, 0.0, std::numeric_limits<double>::infinity(),
                   "that is finite and >= 0");
  }
  if (raw.lr_given) {
    o.lr = parse_learning_rate(raw.lr, o.dtype);
  } else if (o.optimizer.kind == nobias::OptimizerKind::Adam) {
    o.lr = kDefaultAdamLearningRate;
  } else if (momentum || o.reduction == nobias::Reduction::Mean) {
    throw UsageError("--lr is required with --optimizer momentum or --loss mean (the default " +
                     format_g(kDefaultLearningRate) + " suits only sgd with --loss sum)");
  }
  o.optimizer.learning_rate = o.lr;
  o.seed = parse_unsigned("--seed", raw.seed, 0);
  if (raw.threads_given) {
    o.threads = static_cast<int>(
        parse_unsigned("--threads", raw.threads, 1, std::numeric_limits<int>::max()));
  }
  // Ten progress lines by default, however long the run.
  o.log_every = raw.log_every_given ? parse_size("--log-every", raw.log_every, 1)
                                    : std::max<std::size_t>(1, o.steps / 10);
  o.quiet = raw.quiet;

  if (raw.x.empty() != raw.y.empty()) {
    throw UsageError("--x and --y go together: give both or neither");
  }
  // With data the batch is all of its rows; a --rows that would be silently ignored is a mistake.
  if (!raw.x.empty() && raw.rows_given) {
    throw UsageError("--rows cannot be used with --x/--y: the data's row count is the batch size");
  }
  if (raw.val_x.empty() != raw.val_y.empty()) {
    throw UsageError("--val-x and --val-y go together: give both or neither");
  }
  o.x_path = raw.x;
  o.y_path = raw.y;
  o.val_x_path = raw.val_x;
  o.val_y_path = raw.val_y;
  o.weights_in = raw.weights_in;
  o.weights_out = raw.weights_out;
  o.loss_csv = raw.loss_csv;
  if (!o.weights_out.empty()) require_writable_directory("--weights-out", o.weights_out);
  if (!o.loss_csv.empty()) {
    require_writable_file_path("--loss-csv", o.loss_csv);
    for (const std::string& input : {o.x_path, o.y_path, o.val_x_path, o.val_y_path}) {
      std::error_code ec;
      if (!input.empty() && std::filesystem::equivalent(o.loss_csv, input, ec)) {
        throw UsageError("--loss-csv " + o.loss_csv + " is the input file " + input +
                         "; writing it would destroy the data");
      }
    }
  }
  return o;
}

// Returns nullopt when --help was asked for (and printed).
std::optional<Options> parse_command_line(int argc, char** argv) {
  CLI::App app{
      "Trains a bias-free MLP (ReLU hidden layers, linear output, squared-error loss).\n"
      "Without --x/--y it trains on standard normal x and y drawn from --seed.\n"
      "Without --epochs: --steps full-batch steps (the seed's mode). With --epochs: epochs of\n"
      "mini-batches, shuffled from --seed; one line per epoch (on a terminal, a progress bar\n"
      "too); --loss-csv then has one row per optimizer step, numbered across epochs.",
      "nobias-train"};
  app.set_version_flag("--version", [] {
    return std::string("nobias-train " NOBIAS_VERSION "\nBLAS: ") + nobias::blas_description();
  });
  RawFlags raw;
  raw.rows = std::to_string(kDefaultRows);
  raw.steps = std::to_string(kDefaultSteps);
  raw.seed = "0";
  auto* layers = app.add_option("--layers", raw.layers,
                                "Widths d_in,d_1,...,d_out (default 1000,100,100,10, or from "
                                "--weights-in, or d_in,100,100,d_out from --x/--y)");
  layers->type_name("W,W,...");
  auto* rows = app.add_option("--rows", raw.rows, "Rows of the generated batch (default 64)");
  rows->type_name("N");
  auto* steps =
      app.add_option("--steps", raw.steps, "Full-batch steps (default 500); not with --epochs");
  steps->type_name("N");
  auto* epochs =
      app.add_option("--epochs", raw.epochs, "Train by epochs of mini-batches instead of --steps");
  epochs->type_name("E");
  auto* batch_size = app.add_option(
      "--batch-size", raw.batch_size,
      "Rows per mini-batch with --epochs (default " + std::to_string(kDefaultBatchSize) +
          "; >= 1; more than the rows: the whole set; the last batch may be smaller)");
  batch_size->type_name("B");
  app.add_flag("--no-shuffle", raw.no_shuffle,
               "With --epochs: keep the rows in file order (default: a new order every epoch)");
  app.add_option("--checkpoint", raw.checkpoint,
                 "With --epochs: save the whole training state into DIR (created if missing)")
      ->type_name("DIR");
  auto* checkpoint_every = app.add_option("--checkpoint-every", raw.checkpoint_every,
                                          "Epochs between checkpoints (default 1); the last "
                                          "epoch is always saved");
  checkpoint_every->type_name("E");
  app.add_option("--resume", raw.resume,
                 "With --epochs: continue from the checkpoint in DIR, bit for bit as if never "
                 "stopped; give the same flags as the first run")
      ->type_name("DIR");
  app.add_option("--val-x", raw.val_x, "Validation inputs with --epochs (needs --val-y)")
      ->type_name("X.npy");
  app.add_option("--val-y", raw.val_y, "Validation targets with --epochs (needs --val-x)")
      ->type_name("Y.npy");
  auto* lr = app.add_option("--lr", raw.lr,
                            "Learning rate (default " + format_g(kDefaultLearningRate) +
                                " for sgd with --loss sum, " + format_g(kDefaultAdamLearningRate) +
                                " for adam; required otherwise)");
  lr->type_name("L");
  app.add_option("--optimizer", raw.optimizer, "sgd (default), momentum or adam")
      ->type_name("sgd|momentum|adam");
  auto* momentum = app.add_option(
      "--momentum", raw.momentum,
      "Momentum in [0, 1) (default " + format_g(kDefaultMomentum) + "); only with momentum");
  momentum->type_name("M");
  app.add_flag("--nesterov", raw.nesterov, "Nesterov momentum; only with --optimizer momentum");
  auto* weight_decay =
      app.add_option("--weight-decay", raw.weight_decay, "L2 weight decay >= 0 (default 0)");
  weight_decay->type_name("D");
  app.add_option("--loss", raw.loss,
                 "sum (default) of squared errors, or mean (divided by rows x d_out)")
      ->type_name("sum|mean");
  app.add_option("--seed", raw.seed,
                 "Seed of the generated data, the weights and the shuffle (default 0)")
      ->type_name("S");
  app.add_option("--dtype", raw.dtype, "f32 (default) or f64")->type_name("f32|f64");
  app.add_option("--init", raw.init,
                 "Starting weights: normal (default, the seed's N(0, 1)) or he (N(0, 2 / d_in), "
                 "which keeps deep or wide networks trainable)")
      ->type_name("normal|he");
  app.add_option("--x", raw.x, "Inputs, an n x d_in .npy file (needs --y)")->type_name("X.npy");
  app.add_option("--y", raw.y, "Targets, an n x d_out .npy file (needs --x)")->type_name("Y.npy");
  app.add_option("--weights-in", raw.weights_in, "Start from w1.npy..wK.npy in DIR")
      ->type_name("DIR");
  app.add_option("--weights-out", raw.weights_out,
                 "Write the trained w1.npy..wK.npy into DIR (must exist)")
      ->type_name("DIR");
  app.add_option("--loss-csv", raw.loss_csv, "Write step,loss for every step to FILE")
      ->type_name("FILE");
  auto* threads =
      app.add_option("--threads", raw.threads,
                     "Threads of every product (default: chosen per product; NOBIAS_THREADS)");
  threads->type_name("N");
  auto* log_every =
      app.add_option("--log-every", raw.log_every,
                     "Print progress every K steps (default steps/10); not with --epochs");
  log_every->type_name("K");
  app.add_flag("--quiet", raw.quiet, "Print only the final line (no progress, no epoch lines)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      app.exit(e);  // --help: print it, exit 0
      return std::nullopt;
    }
    throw UsageError(e.what());
  }
  raw.layers_given = layers->count() > 0;
  raw.rows_given = rows->count() > 0;
  raw.lr_given = lr->count() > 0;
  raw.threads_given = threads->count() > 0;
  raw.log_every_given = log_every->count() > 0;
  raw.steps_given = steps->count() > 0;
  raw.epochs_given = epochs->count() > 0;
  raw.batch_size_given = batch_size->count() > 0;
  raw.momentum_given = momentum->count() > 0;
  raw.weight_decay_given = weight_decay->count() > 0;
  raw.checkpoint_every_given = checkpoint_every->count() > 0;
  return validate(raw);
}

// ---- the problem: data, widths and starting weights ----

template <class T>
struct Data {
  nobias::Matrix<T> x, y;
};

// The widths and where they came from, for messages.
struct Widths {
  std::vector<std::size_t> values;
  std::string origin;
};

// The library's message names the file; the flag says which input it was.
template <class T>
nobias::Matrix<T> read_array(const char* flag, const std::string& path) {
  try {
    nobias::Matrix<T> m = nobias::read_npy<T>(path);
    nobias::require_finite(m, path);  // also catches float64 values beyond float's range
    return m;
  } catch (const nobias::Error& e) {
    throw nobias::IoError(std::string(flag) + ": " + e.what());
  }
}

// A pair of .npy files (--x/--y or --val-x/--val-y): finite, as many rows each, some rows.
template <class T>
Data<T> read_pair(const char* x_flag, const std::string& x_path, const char* y_flag,
                  const std::string& y_path, const char* purpose) {
  Data<T> data{read_array<T>(x_flag, x_path), read_array<T>(y_flag, y_path)};
  const auto shapes = std::string(x_flag) + " " + x_path + " is " +
                      nobias::shape_string(data.x.rows(), data.x.cols()) + ", " + y_flag + " " +
                      y_path + " is " + nobias::shape_string(data.y.rows(), data.y.cols());
  if (data.x.rows() != data.y.rows()) throw nobias::ShapeError(shapes + ": row counts differ");
  if (data.x.rows() == 0) throw nobias::ShapeError(shapes + ": no rows to " + purpose);
  return data;
}

template <class T>
std::optional<Data<T>> read_data(const Options& o) {
  if (o.x_path.empty()) return std::nullopt;
  return read_pair<T>("--x", o.x_path, "--y", o.y_path, "train on");
}

template <class T>
std::optional<Data<T>> read_validation(const Options& o) {
  if (o.val_x_path.empty()) return std::nullopt;
  return read_pair<T>("--val-x", o.val_x_path, "--val-y", o.val_y_path, "validate on");
}

template <class T>
std::optional<std::vector<nobias::Matrix<T>>> read_weights(const Options& o) {
  if (o.weights_in.empty()) return std::nullopt;
  try {
    std::vector<nobias::Matrix<T>> weights = nobias::load_weights<T>(o.weights_in);
    for (std::size_t k = 0; k < weights.size(); ++k) {
      nobias::require_finite(weights[k], "w" + std::to_string(k + 1) + ".npy");
    }
    return weights;
  } catch (const nobias::Error& e) {
    throw nobias::IoError("reading --weights-in " + o.weights_in + ": " + e.what());
  }
}

// --layers wins; then the starting weights (they cannot change shape); then the data's d_in and
// d_out around default hidden widths; then the default experiment.
template <class T>
Widths choose_widths(const Options& o, const std::optional<Data<T>>& data,
                     const std::optional<std::vector<nobias::Matrix<T>>>& weights) {
  if (o.layers) return {*o.layers, "--layers " + join(*o.layers)};
  if (weights && !weights->empty()) {
    std::vector<std::size_t> widths = {weights->front().rows()};
    for (const auto& w : *weights)
      widths.push_back(w.cols());
    return {widths, "widths " + join(widths) + " from --weights-in"};
  }
  if (data) {
    std::vector<std::size_t> widths = {data->x.cols()};
    widths.insert(widths.end(), kDefaultHiddenWidths.begin(), kDefaultHiddenWidths.end());
    widths.push_back(data->y.cols());
    return {widths, "widths " + join(widths) + " from --x/--y"};
  }
  return {kDefaultWidths, "default --layers " + join(kDefaultWidths)};
}

template <class T>
void check_data(const std::string& x_input, const std::string& y_input, const Widths& widths,
                const Data<T>& data) {
  auto mismatch = [&](const std::string& input, const nobias::Matrix<T>& m, const char* which,
                      std::size_t width) {
    return nobias::ShapeError(input + " is " + nobias::shape_string(m.rows(), m.cols()) +
                              ", but the " + which + " width is " + std::to_string(width) + " (" +
                              widths.origin + ")");
  };
  if (data.x.cols() != widths.values.front()) {
    throw mismatch(x_input, data.x, "input", widths.values.front());
  }
  if (data.y.cols() != widths.values.back()) {
    throw mismatch(y_input, data.y, "output", widths.values.back());
  }
}

template <class T>
void check_weights(const Options& o, const Widths& widths,
                   const std::vector<nobias::Matrix<T>>& weights) {
  const std::size_t layers = widths.values.size() - 1;
  if (weights.size() != layers) {
    throw nobias::ShapeError("--weights-in " + o.weights_in + " holds " +
                             std::to_string(weights.size()) + " weight matrices, but " +
                             widths.origin + " needs " + std::to_string(layers));
  }
  for (std::size_t k = 0; k < layers; ++k) {
    const std::size_t rows = widths.values[k], cols = widths.values[k + 1];
    if (weights[k].rows() != rows || weights[k].cols() != cols) {
      throw nobias::ShapeError(
          "--weights-in " + o.weights_in + ": w" + std::to_string(k + 1) + ".npy is " +
          nobias::shape_string(weights[k].rows(), weights[k].cols()) + ", but " + widths.origin +
          " needs " + nobias::shape_string(rows, cols));
    }
  }
}

void check_widths(const Widths& widths) {
  if (widths.values.size() < 2 ||
      std::find(widths.values.begin(), widths.values.end(), 0) != widths.values.end()) {
    throw nobias::ShapeError("a network needs at least two widths, none zero; got " +
                             widths.origin);
  }
}

// The seed's experiment: x (rows x d_in) then y (rows x d_out), standard normal, from
// stream 1 of --seed (the network's weights come from stream 0, so they are independent).
template <class T>
Data<T> generate_data(std::size_t rows, const std::vector<std::size_t>& widths,
                      std::uint64_t seed) {
  Data<T> data{nobias::Matrix<T>(rows, widths.front()), nobias::Matrix<T>(rows, widths.back())};
  nobias::NormalGenerator generator(seed, /*stream=*/1);
  nobias::fill_normal<T>(data.x, generator);
  nobias::fill_normal<T>(data.y, generator);
  return data;
}

// ---- training ----

// The library's DivergenceError knows the loss but not the step; this message says both.
// (x, y) is the batch of the failed step.
template <class T>
nobias::DivergenceError divergence(nobias::Network<T>& net, nobias::MatrixView<const T> x,
                                   nobias::MatrixView<const T> y, const std::string& when,
                                   const Options& o) {
  std::string loss = "not finite";
  try {
    // The weights are those before the failed step, so this is the loss that step saw.
    loss = "loss is " + format_g(net.loss(x, y, o.reduction));
  } catch (const nobias::Error&) {
  }
  return nobias::DivergenceError("training diverged " + when + ": " + loss +
                                 "; try a smaller --lr (was " + format_g(o.lr) + ")");
}

// step,loss with steps from 1; %.17g so that every double reads back exactly.
// Steps are numbered from first_step: a resumed run continues the numbering.
void write_loss_csv(const std::string& path, const std::vector<double>& losses,
                    std::size_t first_step) {
  nobias::write_file_atomically(
      path,
      [&](std::ostream& out) {
        out << "step,loss\n";
        char line[64];
        for (std::size_t i = 0; i < losses.size(); ++i) {
          std::snprintf(line, sizeof line, "%zu,%.17g\n", first_step + i, losses[i]);
          out << line;
        }
      },
      "--loss-csv");
}

// What a training loop did: optimizer steps and wall time; where it ended, for messages.
struct RunSummary {
  std::size_t steps = 0;
  double seconds = 0.0;
  std::string last_step;  // "(500)" or "(epoch 3, step 7)"
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The seed's mode: o.steps full-batch steps. Records each step's loss in losses when given
// (reserved, so the loop allocates nothing). Plain SGD without decay is Network::train_step,
// bit for bit as before the optimizers existed.
template <class T>
RunSummary train_steps(nobias::Network<T>& net, nobias::Optimizer<T>& optimizer,
                       const Data<T>& data, const Options& o, std::vector<double>* losses) {
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t step = 1; step <= o.steps; ++step) {
    double loss = 0.0;
    try {
      loss = optimizer.step(net, data.x, data.y, o.reduction);
    } catch (const nobias::DivergenceError&) {
      throw divergence<T>(net, data.x, data.y, "at step " + std::to_string(step), o);
    }
    if (losses != nullptr) losses->push_back(loss);
    // Step 1 too: the first loss is what the rest is measured against.
    if (!o.quiet && (step == 1 || step % o.log_every == 0)) {
      std::printf("step %zu/%zu loss %.3e\n", step, o.steps, loss);
    }
  }
  return {o.steps, seconds_since(start), "(" + std::to_string(o.steps) + ")"};
}

// "m:ss", or "h:mm:ss" from an hour on; "?" before a rate is known.
std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e8) return "?";
  const auto total = static_cast<unsigned long long>(seconds + 0.5);
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%llu:%02llu:%02llu", total / 3600, total / 60 % 60,
                  total % 60);
  } else {
    std::snprintf(text, sizeof text, "%llu:%02llu", total / 60, total % 60);
  }
  return text;
}

// The current epoch's progress on a terminal, redrawn in place (\r) at most 10 times a second.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}

  void start_epoch(std::size_t epoch, std::size_t epochs, std::size_t rows) {
    epoch_ = epoch;
    epochs_ = epochs;
    rows_ = rows;
    start_ = std::chrono::steady_clock::now();
    last_draw_ = start_;  // the first draw waits too: a rate from one step means nothing
  }

  void update(std::size_t done, double loss) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = static_cast<double>(done) / std::max(elapsed, 1e-9);
    constexpr std::size_t kWidth = 30;
    const std::size_t filled = rows_ == 0 ? kWidth : done * kWidth / rows_;
    const std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
    char line[256];
    std::snprintf(line, sizeof line, "epoch %zu/%zu [%s] %zu/%zu loss %.3e %.0f samples/s ETA %s",
                  epoch_, epochs_, bar.c_str(), done, rows_, loss, rate,
                  format_duration(static_cast<double>(rows_ - done) / rate).c_str());
    // A line wider than the terminal wraps, and \r then redraws only its last part.
    winsize size{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 1 &&
        std::strlen(line) >= size.ws_col) {
      line[size.ws_col - 1] = '\0';
    }
    const std::size_t length = std::strlen(line);
    // Pad over the rest of a longer previous line.
    std::printf("\r%s%s", line, std::string(length < shown_ ? shown_ - length : 0, ' ').c_str());
    std::fflush(stdout);
    shown_ = std::max(shown_, length);
  }

  // Erases the bar, leaving the cursor at the start of the empty line.
  void clear() {
    if (!enabled_ || shown_ == 0) return;
    std::printf("\r%s\r", std::string(shown_, ' ').c_str());
    std::fflush(stdout);
    shown_ = 0;
  }

 private:
  bool enabled_;
  std::size_t epoch_ = 0, epochs_ = 0, rows_ = 0, shown_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// Optimizer steps per epoch: batches of batch_size rows, the last one partial.
std::size_t steps_per_epoch(std::size_t rows, std::size_t batch_size) {
  const std::size_t batch = std::min(batch_size, rows);
  return rows / batch + (rows % batch != 0 ? 1 : 0);
}

// Epoch mode: nobias::fit, with the progress bar, the loss log and the epoch lines fed by
// its callbacks.
template <class T>
RunSummary train_epochs(nobias::Network<T>& net, nobias::Optimizer<T>& optimizer,
                        const Data<T>& data, const std::optional<Data<T>>& validation,
                        const Options& o, std::size_t first_epoch, std::vector<double>* losses) {
  const std::size_t rows = data.x.rows();
  ProgressBar bar(!o.quiet && ::isatty(STDOUT_FILENO) == 1);
  RunSummary summary;
  const auto on_step = [&](const nobias::StepReport& step) {
    if (step.step == 1) bar.start_epoch(step.epoch, o.epochs, rows);
    ++summary.steps;
    summary.last_step =
        "(epoch " + std::to_string(step.epoch) + ", step " + std::to_string(step.step) + ")";
    if (losses != nullptr) losses->push_back(step.loss);
    bar.update(step.rows_done, step.loss);
  };
  const auto on_epoch = [&](const nobias::EpochReport& epoch) {
    bar.clear();
    if (!o.checkpoint_dir.empty() &&
        (epoch.epoch % o.checkpoint_every == 0 || epoch.epoch == o.epochs)) {
      // The epoch's last update may have blown the weights up: such a state must not
      // replace a good checkpoint.
      for (std::size_t k = 0; k < net.layers(); ++k) {
        for (std::size_t i = 0; i < net.weight(k).size(); ++i) {
          if (!std::isfinite(net.weight(k).data()[i])) {
            throw nobias::DivergenceError("epoch " + std::to_string(epoch.epoch) +
                                          ": the weights are no longer finite");
          }
        }
      }
      nobias::save_checkpoint<T>(o.checkpoint_dir, net, optimizer,
                                 {epoch.epoch, o.seed, o.batch_size, o.shuffle, o.reduction});
    }
    if (o.quiet) return true;
    std::string line = "epoch " + std::to_string(epoch.epoch) + "/" + std::to_string(o.epochs) +
                       " train_loss " + format_g(epoch.train_loss);
    if (validation) line += " val_loss " + format_g(epoch.validation_loss);
    std::printf("%s samples/s %.0f\n", line.c_str(), epoch.samples_per_second);
    std::fflush(stdout);
    return true;
  };
  nobias::FitOptions options;
  options.epochs = o.epochs;
  options.batch_size = o.batch_size;
  options.shuffle = o.shuffle;
  options.seed = o.seed;
  options.reduction = o.reduction;
  options.first_epoch = first_epoch;
  const auto start = std::chrono::steady_clock::now();
  try {
    nobias::fit<T>(net, optimizer, data.x, data.y, options, on_epoch,
                   validation ? validation->x.view() : nobias::MatrixView<const T>(),
                   validation ? validation->y.view() : nobias::MatrixView<const T>(), on_step);
  } catch (const nobias::DivergenceError& e) {
    bar.clear();
    throw nobias::DivergenceError(std::string("training diverged: ") + e.what() + " (--lr was " +
                                  format_g(o.lr) + ")");
  }
  summary.seconds = seconds_since(start);
  return summary;
}

// A resumed run must be the run it continues: the same optimizer and the same seed.
template <class T>
void check_resume_matches(const Options& o, const nobias::Checkpoint<T>& checkpoint) {
  const nobias::OptimizerConfig& given = o.optimizer;
  const nobias::OptimizerConfig& saved = checkpoint.optimizer;
  const nobias::TrainingProgress& run = checkpoint.progress;
  const std::uint64_t saved_seed = run.seed;
  const auto differ = [&](const char* flag, const std::string& now, const std::string& then) {
    throw UsageError(std::string(flag) + " is " + now + " but the checkpoint in " + o.resume_dir +
                     " was trained with " + then + "; resume with the flags of the first run");
  };
  if (given.kind != saved.kind) differ("--optimizer", "different", "another optimizer");
  if (given.learning_rate != saved.learning_rate) {
    differ("--lr", format_g(given.learning_rate), format_g(saved.learning_rate));
  }
  if (given.weight_decay != saved.weight_decay) {
    differ("--weight-decay", format_g(given.weight_decay), format_g(saved.weight_decay));
  }
  if (saved.kind == nobias::OptimizerKind::Momentum &&
      (given.momentum != saved.momentum || given.nesterov != saved.nesterov)) {
    differ("--momentum/--nesterov", "different", "other values");
  }
  if (o.seed != saved_seed) {
    differ("--seed", std::to_string(o.seed), std::to_string(saved_seed));
  }
  const std::string dtype = o.dtype == Dtype::F64 ? "f64" : "f32";
  if (dtype != checkpoint.dtype) differ("--dtype", dtype, checkpoint.dtype);
  if (o.batch_size != run.batch_size) {
    differ("--batch-size", std::to_string(o.batch_size), std::to_string(run.batch_size));
  }
  if (o.shuffle != run.shuffle) differ("--no-shuffle", "different", "the other setting");
  if (o.reduction != run.reduction) differ("--loss", "different", "the other reduction");
}

template <class T>
int run_typed(const Options& o) {
  std::optional<Data<T>> data = read_data<T>(o);
  std::optional<Data<T>> validation = read_validation<T>(o);
  std::optional<std::vector<nobias::Matrix<T>>> weights = read_weights<T>(o);
  std::optional<nobias::Checkpoint<T>> checkpoint;
  std::size_t first_epoch = 1;
  if (!o.resume_dir.empty()) {
    checkpoint = nobias::load_checkpoint<T>(o.resume_dir);
    check_resume_matches(o, *checkpoint);
    first_epoch = checkpoint->progress.epochs_done + 1;
    if (first_epoch > o.epochs) {
      throw UsageError("the checkpoint in " + o.resume_dir + " has done " +
                       std::to_string(checkpoint->progress.epochs_done) +
                       " epochs already; ask for more with --epochs");
    }
    weights = std::move(checkpoint->weights);
  }
  const Widths widths = choose_widths(o, data, weights);
  check_widths(widths);
  if (data) check_data("--x " + o.x_path, "--y " + o.y_path, widths, *data);
  if (validation) {
    check_data("--val-x " + o.val_x_path, "--val-y " + o.val_y_path, widths, *validation);
  }
  if (weights) check_weights(o, widths, *weights);

  if (!data) data = generate_data<T>(o.rows, widths.values, o.seed);
  const std::size_t planned_steps =
      o.epochs == 0 ? o.steps : steps_per_epoch(data->x.rows(), o.batch_size);
  if (o.epochs > 0 && o.epochs > kMaxSteps / planned_steps) {
    throw UsageError("--epochs " + std::to_string(o.epochs) + " of " +
                     std::to_string(planned_steps) + " steps each exceeds " +
                     std::to_string(kMaxSteps) + " steps");
  }
  nobias::Network<T> net = weights ? nobias::Network<T>(std::move(*weights))
                                   : nobias::Network<T>(widths.values, o.seed, o.init);
  nobias::Optimizer<T> optimizer(o.optimizer, net);
  if (checkpoint) nobias::restore_optimizer(optimizer, *checkpoint);

  std::vector<double> losses;
  if (!o.loss_csv.empty()) losses.reserve(o.epochs == 0 ? o.steps : o.epochs * planned_steps);
  std::vector<double>* log = o.loss_csv.empty() ? nullptr : &losses;
  const RunSummary summary =
      o.epochs == 0 ? train_steps(net, optimizer, *data, o, log)
                    : train_epochs(net, optimizer, *data, validation, o, first_epoch, log);

  // The last update can itself blow up the weights, which only a fresh loss shows.
  const double final_loss = net.loss(data->x, data->y, o.reduction);
  // Beyond T's range counts as diverged, as it does inside a step.
  if (!(std::abs(final_loss) <= static_cast<double>(std::numeric_limits<T>::max()))) {
    throw divergence<T>(net, data->x, data->y, "after the last step " + summary.last_step, o);
  }
  if (!o.weights_out.empty()) nobias::save_weights<T>(o.weights_out, net.weights());
  if (!o.loss_csv.empty()) {
    write_loss_csv(o.loss_csv, losses, checkpoint ? checkpoint->optimizer_steps + 1 : 1);
  }
  const double rate = static_cast<double>(summary.steps) / std::max(summary.seconds, 1e-9);
  std::printf("final loss %.6g after %zu steps, %.1f steps/s\n", final_loss, summary.steps, rate);
  return kExitOk;
}

int run(const Options& o) {
  if (o.threads) nobias::set_threads(*o.threads);
  return o.dtype == Dtype::F64 ? run_typed<double>(o) : run_typed<float>(o);
}

void report(const std::string& message) {
  std::fflush(stdout);  // keep progress lines before the error when both go to one terminal
  std::cerr << "nobias-train: " << message << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::optional<Options> options = parse_command_line(argc, argv);
    return options ? run(*options) : kExitOk;
  } catch (const UsageError& e) {
    report(std::string(e.what()) + "\nRun 'nobias-train --help' for the flags.");
    return kExitBadInput;
  } catch (const nobias::DivergenceError& e) {
    report(e.what());
    return kExitDiverged;
  } catch (const nobias::Error& e) {
    report(e.what());
    return kExitBadInput;
  } catch (const std::bad_alloc&) {
    report("out of memory: the widths, --rows or the data are too large for this machine");
    return kExitBadInput;
  } catch (const std::exception& e) {
    report(std::string("internal error: ") + e.what());
    return kExitInternal;
  }
}
