#include "model_inputs.hpp"

#include "cli_common.hpp"
#include "inputs.hpp"
#include "nobias/error.hpp"

namespace nobias_tools {

nobias::ModelInfo read_info(const std::string& model_dir) {
  try {
    return nobias::read_model_info(model_dir);
  } catch (const nobias::Error& e) {
    throw nobias::IoError("--weights " + model_dir + ": " + e.what());
  }
}

template <class T>
nobias::Matrix<T> read_model_x(const std::string& x_path, const std::string& model_dir,
                               const nobias::ModelInfo& info) {
  nobias::Matrix<T> x = read_array<T>("--x", x_path);
  if (x.cols() != info.widths.front()) {
    throw nobias::ShapeError("--x " + x_path + " is " + nobias::shape_string(x.rows(), x.cols()) +
                             ", but the model in " + model_dir + " takes " +
                             std::to_string(info.widths.front()) + " columns (widths " +
                             join(info.widths) + ")");
  }
  return x;
}

template nobias::Matrix<float> read_model_x<float>(const std::string&, const std::string&,
                                                   const nobias::ModelInfo&);
template nobias::Matrix<double> read_model_x<double>(const std::string&, const std::string&,
                                                     const nobias::ModelInfo&);

}  // namespace nobias_tools
