// nobias-predict: a trained model's predictions for new inputs.
//
//   nobias-predict --weights DIR --x X.npy --out P.npy [--labels]
//   nobias-predict --weights DIR --x data.csv [--target COL] --out p.csv [--labels]
//
// DIR is a model directory (nobias-train --weights-out) or bare w*.npy. Writes the outputs
// (n x d_out, in the model's dtype, in the units of the training targets: the model's
// standardization is applied and undone), or with --labels each row's class (argmax) as int64.
// A model trained on text labels (model.json's class_names) writes each class's name to a .csv
// --out; a .npy --out holds the indices still (numpy's text arrays are no format of ours).
// A CSV --x is read as nobias-train reads it, without the --target column when it has one, so
// the file that trained predicts; a --out ending in .csv gets a header row ("output 1", ...,
// or "label") and the same numbers.
// A prediction that comes out NaN or infinite (inputs or weights too large for the dtype) is
// refused, naming the row: nothing is written.
// Exit status: 0 success, 2 bad usage or input (nothing written), 1 internal error.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "csv_inputs.hpp"
#include "model_inputs.hpp"
#include "nobias/blas.hpp"
#include "nobias/csv.hpp"
#include "nobias/error.hpp"
#include "nobias/metrics.hpp"
#include "nobias/npy.hpp"
#include "output_plan.hpp"

namespace nobias_tools {
namespace {

struct PredictOptions {
  ModelFlags model;
  std::string out, target;
  bool labels = false;
};

std::optional<PredictOptions> parse(int argc, char** argv) {
  CLI::App app{
      "Writes a trained bias-free MLP's predictions for the rows of --x to --out (.npy):\n"
      "the outputs in the units of the training targets, or with --labels the class of each\n"
      "row (the argmax of its scores) as int64.",
      "nobias-predict"};
  app.set_version_flag("--version", std::string("nobias-predict " NOBIAS_VERSION));
  PredictOptions o;
  define_model_flags(app, o.model);
  app.add_option("--out", o.out, "Predictions to write (.npy, or CSV when it ends in .csv)")
      ->type_name("P.npy")
      ->required();
  app.add_option("--target", o.target,
                 "A column of a CSV --x to leave out when it has it (the targets it trained on: "
                 "a name, a number from 1, or -1 for the last)")
      ->type_name("COL");
  app.add_flag("--labels", o.labels,
               "Write each row's class (argmax): int64, shape (n,); to a .csv --out its name when "
               "the model was trained on text labels (a .npy --out keeps the indices)");
  if (!parse_or_help(app, argc, argv)) return std::nullopt;
  return o;
}

// Outputs as columns "output 1", ...; with labels one column "label" of each row's class: its
// name when the model has names.
template <class T>
void write_predictions_csv(const std::string& path, const nobias::Matrix<T>& p, bool labels,
                           const std::vector<std::string>& class_names) {
  if (!labels) {
    std::vector<std::string> names;
    for (std::size_t j = 0; j < p.cols(); ++j)
      names.push_back("output " + std::to_string(j + 1));
    nobias::write_csv<T>(path, p, names);
    return;
  }
  const std::vector<std::int64_t> classes = nobias::argmax_rows<T>(p);
  if (!class_names.empty()) {
    std::vector<std::string> named;
    for (const std::int64_t k : classes)
      named.push_back(class_names[static_cast<std::size_t>(k)]);
    nobias::write_csv_labels(path, named, "label");
    return;
  }
  nobias::Matrix<double> column(classes.size(), 1);
  for (std::size_t i = 0; i < classes.size(); ++i)
    column(i, 0) = static_cast<double>(classes[i]);
  nobias::write_csv<double>(path, column, {"label"});
}

int run(const PredictOptions& o) {
  nobias::PathPlan plan;
  plan.add_input("--weights", o.model.weights);
  plan.add_input("--x", o.model.x);
  plan.add_output_file("--out", o.out);
  plan.check();
  const nobias::ModelInfo info = apply_model_flags(o.model);
  if (o.labels && info.classes == 0) {
    throw UsageError("--labels: the model in " + o.model.weights +
                     " is a regression (trained without class labels or one-hot targets)");
  }
  return with_model_dtype(info, [&](auto zero) {
    using T = decltype(zero);
    const nobias::Model<T> model = nobias::load_model<T>(o.model.weights);
    if (!o.target.empty() && !is_csv_path(o.model.x)) {
      throw UsageError("--target " + o.target + " names a column of a CSV --x, but --x is " +
                       o.model.x);
    }
    const nobias::NpyRows<T> x = read_model_x<T>(o.model.x, o.model.weights, info, o.target);
    const nobias::Matrix<T> p = model.predict(x.view());
    // Before the write: a refused prediction leaves --out as it was.
    try {
      nobias::require_finite_predictions<T>("--x " + o.model.x, p, x.view());
    } catch (const nobias::ValueError& e) {
      throw nobias::ValueError(std::string(e.what()) + "; nothing written to --out " + o.out);
    }
    if (is_csv_path(o.out)) {
      write_predictions_csv<T>(o.out, p, o.labels, info.class_names);
    } else if (o.labels) {
      nobias::write_npy_labels(o.out, nobias::argmax_rows<T>(p));
    } else {
      nobias::write_npy<T>(o.out, p);
    }
    return kExitOk;
  });
}

}  // namespace
}  // namespace nobias_tools

int main(int argc, char** argv) {
  using namespace nobias_tools;
  return tool_main("nobias-predict", argv, [&] {
    std::optional<PredictOptions> o = parse(argc, argv);
    return o ? run(*o) : kExitOk;
  });
}
