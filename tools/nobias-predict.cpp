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
// the file that trained predicts; that column is never read nor checked (the targets of new rows
// may be unknown: blank, NA, text), but a --target that can name no column (0, a number past the
// columns, a name in several) is refused; a --out ending in .csv gets a header row ("output 1",
// ..., or "label") and the same numbers, one ending in .tsv the same with tabs between fields;
// another extension is refused before anything is read (a name without one is a .npy). A
// prediction that comes out NaN or infinite (inputs or weights too large for the dtype) is refused,
// naming the row: nothing is written. Exit status: 0 success, 2 bad usage or input (nothing
// written), 1 internal error.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include "cli_common.hpp"
#include "csv_inputs.hpp"
#include "model_inputs.hpp"
#include "nobias/blas.hpp"
#include "nobias/csv.hpp"
#include "nobias/error.hpp"
#include "nobias/metrics.hpp"
#include "nobias/model.hpp"
#include "nobias/names.hpp"
#include "nobias/npy.hpp"
#include "nobias/staged.hpp"
#include "output_plan.hpp"

namespace nobias_tools {
namespace {

// What --out is written as, by its name (nobias::output_format): .npy, CSV, CSV with tabs; a
// name without an extension (a device, a FIFO) is a .npy, any other is refused.
const std::vector<std::string> kOutExtensions = {".npy", ".csv", ".tsv"};

struct PredictOptions {
  ModelFlags model;
  std::string out, target;
  bool labels = false;
};

std::optional<PredictOptions> parse(int argc, char** argv) {
  CLI::App app{
      "Writes a trained bias-free MLP's predictions for the rows of --x to --out (.npy, .csv or\n"
      ".tsv): the outputs in the units of the training targets, or with --labels the class of\n"
      "each row (the argmax of its scores) as int64.",
      "nobias-predict"};
  app.set_version_flag("--version", std::string("nobias-predict " NOBIAS_VERSION));
  PredictOptions o;
  define_model_flags(app, o.model);
  app.add_option("--out", o.out,
                 "Predictions to write: .npy, CSV in a .csv, tab-separated in a .tsv (another "
                 "extension is refused; none, as a device or FIFO: .npy)")
      ->type_name("P.npy")
      ->required();
  app.add_option("--target", o.target,
                 "A column of a CSV --x to leave out, never read, when it has it (the targets it "
                 "trained on, which new rows may lack or leave blank: a name, a number from 1, "
                 "or -1 for the last)")
      ->type_name("COL");
  app.add_flag("--labels", o.labels,
               "Write each row's class (argmax): int64, shape (n,); to a .csv --out its name when "
               "the model was trained on text labels (a .npy --out keeps the indices)");
  if (!parse_or_help(app, argc, argv)) return std::nullopt;
  return o;
}

// Class names as a CSV table of one column, "label".
nobias::CsvTable label_table(const std::vector<std::string>& names) {
  nobias::CsvTable table;
  table.names = {"label"};
  table.columns.resize(1);
  table.columns[0].kind = nobias::CsvKind::Text;
  table.columns[0].texts = names;
  table.rows = names.size();
  return table;
}

// The predictions of x into out, a window of rows at a time as predict_rows hands them, each
// checked, written and its rows of x dropped from memory before the next: neither the outputs
// nor a mapped x nor a CSV's rows are ever all in memory. A .npy of the outputs or of int64 labels
// (--labels); a CSV --out (tabs in a .tsv) has columns "output 1", ... or one column "label", a
// class's name when the model has names.
template <class T>
void write_predictions(std::ostream& out, const PredictOptions& o, const nobias::ModelInfo& info,
                       const nobias::Model<T>& model, ModelRows<T>& x) {
  const std::size_t n = x.rows(), d = model.network.output_width();
  const bool csv = nobias::output_format("--out", o.out, kOutExtensions) != 0,
             named = o.labels && !info.class_names.empty();
  const char delimiter = nobias::csv_delimiter_for(o.out);  // a tab in a .tsv
  // The header first: the whole array's shape, or the column names.
  if (!csv) {
    o.labels ? nobias::write_npy_labels_header(out, n) : nobias::write_npy_header<T>(out, n, d);
  } else if (named) {
    nobias::write_csv_stream(out, label_table({}), delimiter);
  } else if (o.labels) {
    nobias::write_csv_stream<double>(out, nobias::Matrix<double>(0, 1).view(), {"label"},
                                     delimiter);
  } else {
    std::vector<std::string> columns;
    for (std::size_t j = 0; j < d; ++j)
      columns.push_back("output " + std::to_string(j + 1));
    nobias::write_csv_stream<T>(out, nobias::Matrix<T>(0, d).view(), columns, delimiter);
  }
  const auto write_window = [&](std::size_t first, nobias::MatrixView<const T> inputs,
                                nobias::MatrixView<const T> p, bool hidden_finite) {
    try {
      require_finite_window<T>(o.model.x, inputs, p, first, n, hidden_finite);
    } catch (const nobias::ValueError& e) {  // the temporary goes: --out stays as it was
      throw nobias::ValueError(std::string(e.what()) + "; nothing written to --out " + o.out);
    }
    if (!o.labels) {
      csv ? nobias::write_csv_stream<T>(out, p, {}, delimiter) : nobias::write_npy_rows<T>(out, p);
    } else {
      const std::vector<std::int64_t> classes = nobias::argmax_rows<T>(p);
      if (!csv) {
        out.write(reinterpret_cast<const char*>(classes.data()),
                  static_cast<std::streamsize>(classes.size() * sizeof(std::int64_t)));
      } else if (named) {
        std::vector<std::string> texts;
        for (const std::int64_t k : classes)
          texts.push_back(info.class_names[static_cast<std::size_t>(k)]);
        nobias::write_csv_rows(out, label_table(texts), delimiter);
      } else {
        nobias::Matrix<double> column(classes.size(), 1);
        for (std::size_t i = 0; i < classes.size(); ++i)
          column(i, 0) = static_cast<double>(classes[i]);
        nobias::write_csv_stream<double>(out, column.view(), {}, delimiter);
      }
    }
  };
  x.predict(model.network, model.info.standardization, write_window);
}

// A float32 prediction of two rows or more starts oneDNN's kernel generation early (35-90 ms
// of one core, Float32WarmUp). One row is a matrix-vector product: oneDNN makes only its
// smaller gemv kernels for it (about 11 ms), and the warm-up would cost more than it saves.
template <class T>
bool wants_warm_up(std::size_t rows) {
  return std::is_same_v<T, float> && rows > 1;
}

int run(const PredictOptions& o) {
  nobias::PathPlan plan;
  plan.add_input("--weights", o.model.weights);
  plan.add_input("--x", o.model.x);
  plan.add_output_file("--out", o.out, kOutExtensions);
  plan.check();
  const nobias::ModelInfo info = apply_model_flags(o.model);
  if (o.labels && info.classes == 0) {
    throw UsageError("--labels: the model in " + o.model.weights +
                     " is a regression (trained without class labels or one-hot targets)");
  }
  if (!o.target.empty() && !is_csv_path(o.model.x)) {
    throw UsageError("--target " + o.target + " names a column of a CSV --x, but --x is " +
                     o.model.x);
  }
  return with_model_dtype(info, [&](auto zero) {
    using T = decltype(zero);
    // --x first (a .npy is only mapped here): its rows say whether the products will need
    // oneDNN's kernels, whose generation then runs beside the model's load.
    ModelRows<T> x = read_model_x<T>(o.model.x, o.model.weights, info, o.target);
    std::optional<nobias::Float32WarmUp> warm_up;
    if (wants_warm_up<T>(x.rows())) warm_up.emplace();
    const nobias::Model<T> model = nobias::load_model<T>(o.model.weights);
    // Written as computed, under a temporary renamed over --out at the end: a refused
    // prediction or a failed write leaves --out as it was.
    nobias::StagedFile(
        o.out, [&](std::ostream& out) { write_predictions<T>(out, o, info, model, x); }, "--out")
        .commit();
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
