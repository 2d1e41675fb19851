// nobias-evaluate: how well a trained model predicts --y from --x.
//
//   nobias-evaluate --weights DIR --x X.npy --y Y.npy [--json]
//
// Prints rows, loss (the mean squared error per element), mse, mae, r2 (scikit-learn's
// r2_score, uniform average over outputs) and, when the model is a classifier or --y holds
// labels or one-hot rows, accuracy; one "name value" per line, or with --json exactly one
// JSON object on stdout. --y takes every form nobias-train takes (2-D, 1-D, integer labels).
// Exit status: 0 success, 2 bad usage or input, 1 internal error.
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli_common.hpp"
#include "inputs.hpp"
#include "model_inputs.hpp"
#include "nobias/blas.hpp"
#include "nobias/error.hpp"
#include "nobias/metrics.hpp"
#include "nobias/names.hpp"

namespace nobias_tools {
namespace {

struct EvaluateOptions {
  ModelFlags model;
  std::string y;
  bool json = false;
};

std::optional<EvaluateOptions> parse(int argc, char** argv) {
  CLI::App app{
      "Scores a trained bias-free MLP on (--x, --y): rows, loss (mean squared error per\n"
      "element), mse, mae, r2, and accuracy for a classifier or class targets.",
      "nobias-evaluate"};
  app.set_version_flag("--version", std::string("nobias-evaluate " NOBIAS_VERSION));
  EvaluateOptions o;
  define_model_flags(app, o.model);
  app.add_option("--y", o.y,
                 "Targets: n x d_out floats, n floats (one output), or n integer class labels")
      ->type_name("Y.npy")
      ->required();
  app.add_flag("--json", o.json, "Print one JSON object instead of lines");
  if (!parse_or_help(app, argc, argv)) return std::nullopt;
  return o;
}

// JSON has no NaN or infinity: such a metric (r2 of one row) is null.
std::string json_number(double value) {
  return std::isfinite(value) ? nobias::format_number(value) : "null";
}

void print(const nobias::Metrics& m, bool json) {
  std::vector<std::pair<const char*, double>> values = {
      {"loss", m.mse}, {"mse", m.mse}, {"mae", m.mae}, {"r2", m.r2}};
  if (m.accuracy) values.emplace_back("accuracy", *m.accuracy);
  if (json) {
    std::printf("{\"rows\": %zu", m.rows);
    for (const auto& [name, value] : values)
      std::printf(", \"%s\": %s", name, json_number(value).c_str());
    std::printf("}\n");
    return;
  }
  std::printf("rows %zu\n", m.rows);
  for (const auto& [name, value] : values)
    std::printf("%s %s\n", name, nobias::format_number(value).c_str());
}

int run(const EvaluateOptions& o) {
  const nobias::ModelInfo info = apply_model_flags(o.model);
  const std::string& weights = o.model.weights;
  return with_model_dtype(info, [&](auto zero) {
    using T = decltype(zero);
    const nobias::Model<T> model = nobias::load_model<T>(weights);
    const nobias::Matrix<T> x = read_model_x<T>(o.model.x, weights, info);
    std::size_t classes = info.classes;
    const nobias::Matrix<T> y = read_targets<T>("--y", o.y, classes);
    const std::string shapes = "--x " + o.model.x + " is " +
                               nobias::shape_string(x.rows(), x.cols()) + ", --y " + o.y + " is " +
                               nobias::shape_string(y.rows(), y.cols());
    if (y.rows() != x.rows()) throw nobias::ShapeError(shapes + ": row counts differ");
    if (x.rows() == 0) throw nobias::ShapeError(shapes + ": no rows to evaluate on");
    if (y.cols() != info.widths.back()) {
      throw nobias::ShapeError("--y " + o.y + " is " + nobias::shape_string(y.rows(), y.cols()) +
                               ", but the model in " + weights + " has " +
                               std::to_string(info.widths.back()) + " outputs");
    }
    const nobias::Matrix<T> p = model.predict(x);
    nobias::Metrics metrics = nobias::evaluate<T>(p, y, classes > 0);
    metrics.rows = x.rows();
    print(metrics, o.json);
    return kExitOk;
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
