// nobias-train: trains a bias-free MLP by full-batch gradient descent from the command line,
// either on the seed's experiment (standard normal x and y drawn from --seed) or on .npy data.
//
// Exit status: 0 success, 2 bad usage or bad input (nothing half-written is left behind),
// 3 training diverged (a non-finite loss), 1 an unexpected internal error.
//
// Legend: n = rows of the batch, d_in / d_out = first / last width.
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
#include "nobias/error.hpp"
#include "nobias/init.hpp"
#include "nobias/kernels.hpp"
#include "nobias/matrix.hpp"
#include "nobias/network.hpp"
#include "nobias/npy.hpp"
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
};

// The flags as CLI11 hands them over: text, so that every number gets one strict parser and
// one message style (CLI11 would accept "-5" for an unsigned or "010" as octal).
struct RawFlags {
  std::string layers, rows, steps, lr, seed, dtype = "f32", threads, log_every;
  std::string x, y, weights_in, weights_out, loss_csv;
  bool layers_given = false, rows_given = false, lr_given = false, threads_given = false;
  bool log_every_given = false;
  bool quiet = false;
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

Dtype parse_dtype(const std::string& text) {
  if (text == "f32") return Dtype::F32;
  if (text == "f64") return Dtype::F64;
  throw UsageError("--dtype must be f32 or f64, got '" + text + "'");
}

// Output locations are checked before any work so that a typo costs nothing and writes nothing.
void require_writable_directory(const std::string& flag, const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw UsageError(flag + ": '" + dir.string() + "' is not an existing directory");
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw UsageError(flag + ": directory '" + dir.string() + "' is not writable (" +
                     std::strerror(errno) + ")");
  }
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
  if (raw.lr_given) o.lr = parse_learning_rate(raw.lr, o.dtype);
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
  o.x_path = raw.x;
  o.y_path = raw.y;
  o.weights_in = raw.weights_in;
  o.weights_out = raw.weights_out;
  o.loss_csv = raw.loss_csv;
  if (!o.weights_out.empty()) require_writable_directory("--weights-out", o.weights_out);
  if (!o.loss_csv.empty()) {
    require_writable_file_path("--loss-csv", o.loss_csv);
    for (const std::string& input : {o.x_path, o.y_path}) {
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
      "Trains a bias-free MLP (ReLU hidden layers, linear output, sum-of-squares loss) by\n"
      "full-batch gradient descent. Without --x/--y it trains on standard normal x and y\n"
      "drawn from --seed.",
      "nobias-train"};
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
  app.add_option("--steps", raw.steps, "Gradient descent steps (default 500)")->type_name("N");
  auto* lr = app.add_option("--lr", raw.lr,
                            "Learning rate (default " + format_g(kDefaultLearningRate) + ")");
  lr->type_name("L");
  app.add_option("--seed", raw.seed, "Seed of the generated data and weights (default 0)")
      ->type_name("S");
  app.add_option("--dtype", raw.dtype, "f32 (default) or f64")->type_name("f32|f64");
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
  auto* log_every = app.add_option("--log-every", raw.log_every,
                                   "Print progress every K steps (default steps/10)");
  log_every->type_name("K");
  app.add_flag("--quiet", raw.quiet, "Print only the final line");

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

template <class T>
std::optional<Data<T>> read_data(const Options& o) {
  if (o.x_path.empty()) return std::nullopt;
  Data<T> data{read_array<T>("--x", o.x_path), read_array<T>("--y", o.y_path)};
  const auto shapes = "--x " + o.x_path + " is " +
                      nobias::shape_string(data.x.rows(), data.x.cols()) + ", --y " + o.y_path +
                      " is " + nobias::shape_string(data.y.rows(), data.y.cols());
  if (data.x.rows() != data.y.rows()) throw nobias::ShapeError(shapes + ": row counts differ");
  if (data.x.rows() == 0) throw nobias::ShapeError(shapes + ": no rows to train on");
  return data;
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
void check_data(const Options& o, const Widths& widths, const Data<T>& data) {
  auto mismatch = [&](const std::string& input, const nobias::Matrix<T>& m, const char* which,
                      std::size_t width) {
    return nobias::ShapeError(input + " is " + nobias::shape_string(m.rows(), m.cols()) +
                              ", but the " + which + " width is " + std::to_string(width) + " (" +
                              widths.origin + ")");
  };
  if (data.x.cols() != widths.values.front()) {
    throw mismatch("--x " + o.x_path, data.x, "input", widths.values.front());
  }
  if (data.y.cols() != widths.values.back()) {
    throw mismatch("--y " + o.y_path, data.y, "output", widths.values.back());
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
template <class T>
nobias::DivergenceError divergence(nobias::Network<T>& net, const Data<T>& data,
                                   const std::string& when, const Options& o) {
  std::string loss = "not finite";
  try {
    // The weights are those before the failed step, so this is the loss that step saw.
    loss = "loss is " + format_g(net.loss(data.x, data.y));
  } catch (const nobias::Error&) {
  }
  return nobias::DivergenceError("training diverged " + when + ": " + loss +
                                 "; try a smaller --lr (was " + format_g(o.lr) + ")");
}

// step,loss with steps from 1; %.17g so that every double reads back exactly.
void write_loss_csv(const std::string& path, const std::vector<double>& losses) {
  nobias::write_file_atomically(
      path,
      [&](std::ostream& out) {
        out << "step,loss\n";
        char line[64];
        for (std::size_t i = 0; i < losses.size(); ++i) {
          std::snprintf(line, sizeof line, "%zu,%.17g\n", i + 1, losses[i]);
          out << line;
        }
      },
      "--loss-csv");
}

// Runs the steps, recording each step's loss in losses when given (reserved, so the loop
// allocates nothing); returns the wall time of the loop in seconds.
template <class T>
double train(nobias::Network<T>& net, const Data<T>& data, const Options& o,
             std::vector<double>* losses) {
  const T lr = static_cast<T>(o.lr);
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t step = 1; step <= o.steps; ++step) {
    double loss = 0.0;
    try {
      loss = net.train_step(data.x, data.y, lr);
    } catch (const nobias::DivergenceError&) {
      throw divergence(net, data, "at step " + std::to_string(step), o);
    }
    if (losses != nullptr) losses->push_back(loss);
    // Step 1 too: the first loss is what the rest is measured against.
    if (!o.quiet && (step == 1 || step % o.log_every == 0)) {
      std::printf("step %zu/%zu loss %.3e\n", step, o.steps, loss);
    }
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

template <class T>
int run_typed(const Options& o) {
  std::optional<Data<T>> data = read_data<T>(o);
  std::optional<std::vector<nobias::Matrix<T>>> weights = read_weights<T>(o);
  const Widths widths = choose_widths(o, data, weights);
  check_widths(widths);
  if (data) check_data(o, widths, *data);
  if (weights) check_weights(o, widths, *weights);

  if (!data) data = generate_data<T>(o.rows, widths.values, o.seed);
  nobias::Network<T> net =
      weights ? nobias::Network<T>(std::move(*weights)) : nobias::Network<T>(widths.values, o.seed);

  std::vector<double> losses;
  if (!o.loss_csv.empty()) losses.reserve(o.steps);
  const double seconds = train(net, *data, o, o.loss_csv.empty() ? nullptr : &losses);

  // The last update can itself blow up the weights, which only a fresh loss shows.
  const double final_loss = net.loss(data->x, data->y);
  if (!std::isfinite(final_loss)) {
    throw divergence(net, *data, "after the last step (" + std::to_string(o.steps) + ")", o);
  }
  if (!o.weights_out.empty()) nobias::save_weights<T>(o.weights_out, net.weights());
  if (!o.loss_csv.empty()) write_loss_csv(o.loss_csv, losses);
  const double rate = static_cast<double>(o.steps) / std::max(seconds, 1e-9);
  std::printf("final loss %.6g after %zu steps, %.1f steps/s\n", final_loss, o.steps, rate);
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
