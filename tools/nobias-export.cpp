// nobias-export: a model directory as an ONNX model, for runtimes that do not read nobias's.
//
//   nobias-export --weights DIR --onnx model.onnx
//
// DIR is a model directory (nobias-train --weights-out) or bare w*.npy. The ONNX graph holds
// the weights in their dtype and the model's standardization as nodes of their own
// (nobias/onnx.hpp, docs/onnx.md): an ONNX runtime's outputs for x are nobias-predict's.
// --onnx is replaced atomically: on any failure it is left as it was.
// Exit status: 0 success, 2 bad usage or input (nothing written), 1 internal error.
#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "cli_common.hpp"
#include "model_inputs.hpp"
#include "nobias/onnx.hpp"
#include "nobias/weights_io.hpp"
#include "output_plan.hpp"

namespace nobias_tools {
namespace {

struct ExportOptions {
  std::string weights, onnx;
};

std::optional<ExportOptions> parse(int argc, char** argv) {
  CLI::App app{
      "Writes a trained bias-free MLP as an ONNX model (opset 13): MatMul and Relu nodes, with\n"
      "the model's standardization as Sub/Div and Mul/Add nodes, so that an ONNX runtime\n"
      "predicts what nobias-predict does.",
      "nobias-export"};
  app.set_version_flag("--version", std::string("nobias-export " NOBIAS_VERSION));
  ExportOptions o;
  app.add_option("--weights", o.weights, "Model directory (nobias-train --weights-out)")
      ->type_name("DIR")
      ->required();
  app.add_option("--onnx", o.onnx, "ONNX model to write (a .onnx; another extension is refused)")
      ->type_name("model.onnx")
      ->required();
  if (!parse_or_help(app, argc, argv)) return std::nullopt;
  return o;
}

int run(const ExportOptions& o) {
  nobias::PathPlan plan;
  plan.add_input("--weights", o.weights, nobias::is_model_file_name);
  plan.add_output_file("--onnx", o.onnx, {".onnx"});
  plan.check();
  const nobias::ModelInfo info = read_info(o.weights);
  return with_model_dtype(info, [&](auto zero) {
    using T = decltype(zero);
    const nobias::Model<T> model = nobias::load_model<T>(o.weights);
    nobias::export_onnx<T>(o.onnx, model.network, model.info);
    return kExitOk;
  });
}

}  // namespace
}  // namespace nobias_tools

int main(int argc, char** argv) {
  using namespace nobias_tools;
  return run_tool("nobias-export", [&] {
    std::optional<ExportOptions> o = parse(argc, argv);
    return o ? run(*o) : kExitOk;
  });
}
