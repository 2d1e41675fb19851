// nobias-evaluate: how well a trained model predicts --y from --x.
//
//   nobias-evaluate --weights DIR --x X.npy --y Y.npy [--json]
//
// Prints the metrics of the model's task, one "name value" per line, or with --json exactly
// one JSON object on stdout: for a classifier rows, loss (the mean squared error per element
// of the one-hot targets) and accuracy; for a regression rows, loss, mse, mae and r2
// (scikit-learn's r2_score, uniform average over outputs). The task is model.json's (classes);
// bare weights are a classifier for integer labels or one-hot rows when they have more than
// one output. --y takes every form nobias-train takes (2-D, 1-D, integer labels; a classifier's
// labels also as whole-number floats, a regression's targets also as integers). Text labels
// (a CSV --y, or --target COL) are read by the model's class_names when it has them: a name it
// does not know is refused, naming the line.
// r2 is undefined for fewer than two rows or a constant --y column: printed as "undefined"
// (null in JSON, with "r2_undefined" saying why), never as scikit-learn's stand-in 0 or 1.
// A prediction or metric that comes out NaN or infinite is an error naming its row or metric.
// Exit status: 0 success, 2 bad usage or input, 1 internal error.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cli_common.hpp"
#include "csv_inputs.hpp"
#include "inputs.hpp"
#include "model_inputs.hpp"
#include "nobias/blas.hpp"
#include "nobias/error.hpp"
#include "nobias/metrics.hpp"
#include "nobias/model.hpp"
#include "nobias/names.hpp"
#include "nobias/npy.hpp"

namespace nobias_tools {
namespace {

struct EvaluateOptions {
  ModelFlags model;
  std::string y, target;
  bool json = false;
};

std::optional<EvaluateOptions> parse(int argc, char** argv) {
  CLI::App app{
      "Scores a trained bias-free MLP on (--x, --y): rows and loss (mean squared error per\n"
      "element), then a classifier's accuracy, or a regression's mse, mae and r2.",
      "nobias-evaluate"};
  app.set_version_flag("--version", std::string("nobias-evaluate " NOBIAS_VERSION));
  EvaluateOptions o;
  define_model_flags(app, o.model);
  app.add_option("--y", o.y,
                 "Targets: n x d_out floats, n floats (one output), or n class labels (integers, "
                 "or whole numbers in floats)")
      ->type_name("Y.npy");
  app.add_option("--target", o.target,
                 "Instead of --y, with a CSV --x: its column holding the targets (a name, a "
                 "number from 1, or -1 for the last); the other columns are the inputs")
      ->type_name("COL")
      ->excludes("--y");
  app.add_flag("--json", o.json, "Print one JSON object instead of lines");
  if (!parse_or_help(app, argc, argv)) return std::nullopt;
  if (o.y.empty() && o.target.empty()) {
    throw UsageError("--y is required (or --target COL naming the targets' column of a CSV --x)");
  }
  if (!o.target.empty() && !is_csv_path(o.model.x)) {
    throw UsageError("--target " + o.target + " needs a CSV --x (.csv or .tsv), but --x is " +
                     o.model.x + "; give its targets as --y");
  }
  return o;
}

// A metric as printed: every one is finite (require_finite_metrics) but an undefined r2,
// which is "undefined" in text and null in JSON, never a stand-in number.
std::string text_of(const std::optional<double>& value, bool json) {
  if (value) return nobias::format_number(*value);
  return json ? "null" : "undefined";
}

// A string of printable ASCII (the library's reasons) as a JSON string.
std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text)
    out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

// A classifier's metrics (accuracy) or a regression's (mse, mae, r2): r2 of class scores
// means nothing.
void print(const nobias::Metrics& m, bool classifier, bool json) {
  const std::optional<double> r2 =
      classifier || m.r2_undefined.empty() ? std::optional<double>(m.r2) : std::nullopt;
  std::vector<std::pair<const char*, std::optional<double>>> values = {{"loss", m.mse}};
  if (classifier) {
    values.emplace_back("accuracy", m.accuracy.value_or(std::nan("")));
  } else {
    values.insert(values.end(), {{"mse", m.mse}, {"mae", m.mae}, {"r2", r2}});
  }
  if (json) {
    std::printf("{\"rows\": %zu", m.rows);
    for (const auto& [name, value] : values)
      std::printf(", \"%s\": %s", name, text_of(value, true).c_str());
    if (!r2) std::printf(", \"r2_undefined\": %s", json_string(m.r2_undefined).c_str());
    std::printf("}\n");
    return;
  }
  std::printf("rows %zu\n", m.rows);
  for (const auto& [name, value] : values)
    std::printf("%s %s\n", name, text_of(value, false).c_str());
  if (!r2) {
    flush_standard_output();
    std::fprintf(stderr, "nobias-evaluate: note: r2 is undefined: %s\n", m.r2_undefined.c_str());
  }
}

// The shape of --y as the file holds it, for messages: class labels of shape (n,) are read
// as n x classes one-hot rows, which is not what the user gave.
std::string file_shape(const std::string& path, std::size_t rows, std::size_t cols) {
  try {
    const std::vector<std::size_t> shape = nobias::inspect_npy(path).shape;
    if (shape.size() == 1) return "(" + std::to_string(shape[0]) + ",)";
    if (shape.size() == 2) return nobias::shape_string(shape[0], shape[1]);
  } catch (const nobias::Error&) {
    // It was read a moment ago; if it cannot be now, the rows read still tell the count.
  }
  return nobias::shape_string(rows, cols);
}

// How --y is read: as model.json says the model was trained. Bare weights say nothing: integer
// labels are classes of a model of several outputs and the numbers of a one-output model
// (counts, say); floats are numbers, or classes when they are one-hot rows.
Task task_of(const nobias::ModelInfo& info, const std::string& y_path, std::size_t& classes) {
  classes = info.classes;
  if (info.has_metadata) return info.classes > 0 ? Task::Classify : Task::Regress;
  bool integers = false;
  try {
    integers = is_csv_path(y_path) ? csv_holds_labels("--y", y_path)
                                   : nobias::inspect_npy(y_path).is_integer();
  } catch (const nobias::Error& e) {
    throw nobias::IoError(std::string("--y: ") + e.what());
  }
  if (!integers) return Task::Auto;
  if (info.widths.back() == 1) return Task::Regress;
  classes = info.widths.back();
  return Task::Classify;
}

// A --target column is read as model.json says the model was trained, or as nobias-train's
// --task auto reads it for bare weights.
Task csv_task(const nobias::ModelInfo& info) {
  if (!info.has_metadata) return Task::Auto;
  return info.classes > 0 ? Task::Classify : Task::Regress;
}

// Rows as Y: themselves, or float rows widened (exactly) into buffer, grown as needed.
template <class Y, class T>
nobias::MatrixView<const Y> rows_as(nobias::MatrixView<const T> rows, nobias::Matrix<Y>& buffer) {
  if constexpr (std::is_same_v<T, Y>) {
    (void)buffer;
    return rows;
  } else {
    if (buffer.rows() < rows.rows() || buffer.cols() != rows.cols())
      buffer = nobias::Matrix<Y>(rows.rows(), rows.cols());
    nobias::MatrixView<Y> to = buffer.row_block(0, rows.rows());
    for (std::size_t i = 0; i < rows.rows(); ++i)
      for (std::size_t j = 0; j < rows.cols(); ++j)
        to(i, j) = static_cast<Y>(rows(i, j));
    return to;
  }
}

// Whether a float32 model's targets are scored in double: a float64 .npy --y, or a CSV's
// numbers, are scored as given, as scikit-learn scores them against float32 predictions
// (rounded to float first they would score other values, and a finite 1e39 would be an
// infinity). A float32 or integer --y keeps the model's dtype: the same values, half the memory.
bool targets_in_double(const EvaluateOptions& o) {
  if (!o.target.empty() || is_csv_path(o.y)) return true;
  try {
    return nobias::inspect_npy(o.y).dtype == nobias::NpyDtype::F64;
  } catch (const nobias::Error&) {
    return false;  // read_targets says what is wrong with it
  }
}

// The model's predictions (T) scored against targets held as Y (T, or double).
template <class T, class Y>
int evaluate_as(const EvaluateOptions& o, const nobias::ModelInfo& info) {
  const std::string& weights = o.model.weights;
  std::size_t classes = info.classes;
  // Text labels by the model's class_names: the new file's own sorted names would number
  // its classes differently when it lacks one.
  const std::vector<std::string>& names = info.class_names;
  // --target: one reader, its first pass made once; the targets' column read in its second
  // pass, the inputs in a third (three reads of the file, a pipe's one, rather than four).
  std::optional<nobias::CsvRowReader> csv;
  if (!o.target.empty()) csv.emplace(open_csv_rows("--x", o.model.x));
  Targets<Y> targets =
      csv ? read_csv_target_column<Y>("--x", *csv, o.target, csv_task(info), classes, names)
      : is_csv_path(o.y) && !names.empty()
          ? read_csv_targets<Y>("--y", o.y, task_of(info, o.y, classes), classes, names)
          : read_targets<Y>("--y", o.y, task_of(info, o.y, classes), classes);
  ModelRows<T> x = read_model_x<T>(o.model.x, weights, info, o.target, std::move(csv));
  // As nobias-predict: oneDNN's kernel generation beside the model's load.
  std::optional<nobias::Float32WarmUp> warm_up;
  if (std::is_same_v<T, float> && x.rows() > 1) warm_up.emplace();
  const nobias::Model<T> model = nobias::load_model<T>(weights);
  const std::string y_input = o.target.empty() ? "--y " + o.y : "--target " + o.target;
  classes = targets.classes;
  const nobias::Matrix<Y> y = std::move(targets.y);
  const auto shapes = [&] {
    return "--x " + o.model.x + " is " + nobias::shape_string(x.rows(), x.cols()) + ", " + y_input +
           " is " + file_shape(o.y, y.rows(), y.cols());
  };
  if (y.rows() != x.rows()) throw nobias::ShapeError(shapes() + ": row counts differ");
  if (x.rows() == 0) throw nobias::ShapeError(shapes() + ": no rows to evaluate on");
  if (y.cols() != info.widths.back()) {
    throw nobias::ShapeError(y_input + " is " + file_shape(o.y, y.rows(), y.cols()) +
                             ", but the model in " + weights + " has " +
                             std::to_string(info.widths.back()) + " outputs");
  }
  // A window of rows at a time, each window's rows of a mapped --x dropped from memory once
  // predicted and its outputs once scored: neither all of --x nor all outputs are held.
  nobias::MetricsAccumulator<Y> scores(y, classes > 0);
  nobias::Matrix<Y> widened;
  x.predict(model.network, model.info.standardization,
            [&](std::size_t first, nobias::MatrixView<const T> inputs,
                nobias::MatrixView<const T> rows, bool hidden_finite) {
              require_finite_window<T>(o.model.x, inputs, rows, first, x.rows(), hidden_finite);
              scores.add(first, rows_as<Y>(rows, widened));
            });
  nobias::Metrics metrics = scores.finish();
  nobias::require_finite_metrics<Y>(y_input, metrics, scores);
  metrics.rows = x.rows();
  print(metrics, classes > 0, o.json);
  return kExitOk;
}

int run(const EvaluateOptions& o) {
  const nobias::ModelInfo info = apply_model_flags(o.model);
  return with_model_dtype(info, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (std::is_same_v<T, float>) {
      if (targets_in_double(o)) return evaluate_as<float, double>(o, info);
    }
    return evaluate_as<T, T>(o, info);
  });
}

}  // namespace
}  // namespace nobias_tools

int main(int argc, char** argv) {
  using namespace nobias_tools;
  return tool_main("nobias-evaluate", argv, [&] {
    std::optional<EvaluateOptions> o = parse(argc, argv);
    return o ? run(*o) : kExitOk;
  });
}
