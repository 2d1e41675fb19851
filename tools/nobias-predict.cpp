// nobias-predict: a trained model's predictions for new inputs.
//
//   nobias-predict --weights DIR --x X.npy --out P.npy [--labels]
//
// DIR is a model directory (nobias-train --weights-out) or bare w*.npy. Writes the outputs
// (n x d_out, in the model's dtype, in the units of the training targets: the model's
// standardization is applied and undone), or with --labels each row's class (argmax) as int64.
// Exit status: 0 success, 2 bad usage or input (nothing written), 1 internal error.
#include <optional>
#include <string>

#include "cli_common.hpp"
#include "model_inputs.hpp"
#include "nobias/blas.hpp"
#include "nobias/metrics.hpp"
#include "nobias/npy.hpp"
#include "nobias/output_plan.hpp"

namespace nobias_tools {
namespace {

struct PredictOptions {
  std::string weights, x, out;
  bool labels = false;
  std::optional<int> threads;
};

std::optional<PredictOptions> parse(int argc, char** argv) {
  CLI::App app{
      "Writes a trained bias-free MLP's predictions for the rows of --x to --out (.npy):\n"
      "the outputs in the units of the training targets, or with --labels the class of each\n"
      "row (the argmax of its scores) as int64.",
      "nobias-predict"};
  app.set_version_flag("--version", std::string("nobias-predict " NOBIAS_VERSION));
  PredictOptions o;
  app.add_option("--weights", o.weights, "Model directory (nobias-train --weights-out)")
      ->type_name("DIR")
      ->required();
  app.add_option("--x", o.x, "Inputs, an n x d_in .npy file")->type_name("X.npy")->required();
  app.add_option("--out", o.out, "Predictions to write (.npy)")->type_name("P.npy")->required();
  app.add_flag("--labels", o.labels, "Write each row's class (argmax), int64, shape (n,)");
  app.add_option("--threads", o.threads, "Threads of every product (default: NOBIAS_THREADS)")
      ->type_name("N")
      ->transform(whole_number("--threads", 1, 2147483647));
  if (!parse_or_help(app, argc, argv)) return std::nullopt;
  return o;
}

int run(const PredictOptions& o) {
  nobias::PathPlan plan;
  plan.add_input("--weights", o.weights);
  plan.add_input("--x", o.x);
  plan.add_output_file("--out", o.out);
  plan.check();
  if (o.threads) nobias::set_threads(*o.threads);
  const nobias::ModelInfo info = read_info(o.weights);
  if (o.labels && info.classes == 0) {
    throw UsageError("--labels: the model in " + o.weights +
                     " is a regression (trained without class labels or one-hot targets)");
  }
  return with_model_dtype(info, [&](auto zero) {
    using T = decltype(zero);
    const nobias::Model<T> model = nobias::load_model<T>(o.weights);
    const nobias::Matrix<T> x = read_model_x<T>(o.x, o.weights, info);
    const nobias::Matrix<T> p = model.predict(x);
    if (o.labels) {
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
  // Before anything else: may restart this program on OpenBLAS's best kernel for the CPU.
  nobias::use_best_blas_kernel(argv);
  nobias::warn_if_slow_blas_kernel();
  return run_tool("nobias-predict", [&] {
    std::optional<PredictOptions> o = parse(argc, argv);
    return o ? run(*o) : kExitOk;
  });
}
