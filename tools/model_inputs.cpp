#include "model_inputs.hpp"

#include <CLI/CLI.hpp>

#include "cli_common.hpp"
#include "csv_inputs.hpp"
#include "inputs.hpp"
#include "nobias/error.hpp"
#include "nobias/kernels.hpp"
#include "nobias/threads.hpp"

namespace nobias_tools {

void define_model_flags(CLI::App& app, ModelFlags& flags) {
  app.add_option("--weights", flags.weights, "Model directory (nobias-train --weights-out)")
      ->type_name("DIR")
      ->required();
  app.add_option("--x", flags.x,
                 "Inputs, an n x d_in .npy file, or a CSV file (.csv, .tsv) of numbers")
      ->type_name("X.npy")
      ->required();
  app.add_option("--threads", flags.threads, "Threads of every product (default: NOBIAS_THREADS)")
      ->type_name("N")
      ->transform(whole_number("--threads", 1, 2147483647));
}

nobias::ModelInfo apply_model_flags(const ModelFlags& flags) {
  if (flags.threads) nobias::set_threads(*flags.threads);
  return read_info(flags.weights);
}

nobias::ModelInfo read_info(const std::string& model_dir) {
  try {
    return nobias::read_model_info(model_dir);
  } catch (const nobias::Error& e) {
    throw nobias::IoError("--weights " + model_dir + ": " + e.what());
  }
}

namespace {

// read_array's refusals (tools/inputs.cpp), the .npy mapped where it can be.
template <class T>
nobias::NpyRows<T> map_array(const char* flag, const std::string& path) {
  try {
    return nobias::map_npy<T>(path);
  } catch (const nobias::Error& e) {
    throw nobias::IoError(std::string(flag) + ": " + e.what());
  }
}

}  // namespace

template <class T>
nobias::NpyRows<T> read_model_x(const std::string& x_path, const std::string& model_dir,
                                const nobias::ModelInfo& info, const std::string& drop) {
  nobias::NpyRows<T> x = is_csv_path(x_path)
                             ? nobias::NpyRows<T>(read_csv_inputs<T>("--x", x_path, drop))
                             : map_array<T>("--x", x_path);
  if (x.cols() != info.widths.front()) {
    throw nobias::ShapeError("--x " + x_path + " is " + nobias::shape_string(x.rows(), x.cols()) +
                             ", but the model in " + model_dir + " takes " +
                             std::to_string(info.widths.front()) + " columns (widths " +
                             join(info.widths) + ")");
  }
  return x;
}

template <class T>
void require_finite_x(const std::string& x_path, nobias::MatrixView<const T> rows,
                      std::size_t first) {
  try {
    nobias::require_finite(rows, x_path, first);  // also float64 values beyond float's range
  } catch (const nobias::Error& e) {
    throw nobias::IoError(std::string("--x: ") + e.what());
  }
}

template void require_finite_x<float>(const std::string&, nobias::MatrixView<const float>,
                                      std::size_t);
template void require_finite_x<double>(const std::string&, nobias::MatrixView<const double>,
                                       std::size_t);
template nobias::NpyRows<float> read_model_x<float>(const std::string&, const std::string&,
                                                    const nobias::ModelInfo&, const std::string&);
template nobias::NpyRows<double> read_model_x<double>(const std::string&, const std::string&,
                                                      const nobias::ModelInfo&, const std::string&);

}  // namespace nobias_tools
