// What nobias-predict and nobias-evaluate share: a model directory and the inputs checked
// against it, with messages that name the flag, the file and the model.
#pragma once

#include <optional>
#include <string>

#include "nobias/matrix.hpp"
#include "nobias/model.hpp"
#include "nobias/npy.hpp"

namespace CLI {
class App;
}  // namespace CLI

namespace nobias_tools {

// The flags both programs take: the model, the inputs, and the threads to run on.
struct ModelFlags {
  std::string weights, x;
  std::optional<int> threads;
};
// Adds --weights and --x (required) and --threads to app, bound to flags.
void define_model_flags(CLI::App& app, ModelFlags& flags);
// --threads applied (nobias::set_threads), then the model directory's metadata.
nobias::ModelInfo apply_model_flags(const ModelFlags& flags);

// x from --x (.npy, or CSV: without the column drop names when it has one), in the model's
// dtype; ShapeError when its columns are not the model's d_in. A .npy of the model's dtype in C
// order is mapped, not copied (nobias::map_npy). Its values are not checked here: the caller
// checks each block of rows as it reads them (require_finite_x), so a file larger than memory
// is read once.
template <class T>
nobias::NpyRows<T> read_model_x(const std::string& x_path, const std::string& model_dir,
                                const nobias::ModelInfo& info, const std::string& drop = "");

// IoError "--x: PATH: element (i, j) is nan; values must be finite" for the first NaN or
// infinity of rows, which are rows first ... of --x (numbered so in the message).
template <class T>
void require_finite_x(const std::string& x_path, nobias::MatrixView<const T> rows,
                      std::size_t first);

// Calls body<float> or body<double>, as the model directory's weights are stored.
template <class Body>
int with_model_dtype(const nobias::ModelInfo& info, Body&& body) {
  return info.dtype == nobias::Dtype::F64 ? body(double{}) : body(float{});
}

// The model directory's metadata, its errors prefixed by the flag.
nobias::ModelInfo read_info(const std::string& model_dir);

}  // namespace nobias_tools
