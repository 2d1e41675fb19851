#include "model_inputs.hpp"

#include <CLI/CLI.hpp>
#include <utility>

#include "cli_common.hpp"
#include "csv_inputs.hpp"
#include "inputs.hpp"
#include "nobias/error.hpp"
#include "nobias/kernels.hpp"
#include "nobias/metrics.hpp"
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
  app.add_option(
         "--csv-header", flags.csv_header,
         "Whether the first row of every CSV input (--x; nobias-evaluate's --y) is a header: "
         "yes, no, or auto: detected, but a first row holding a number where the rows below "
         "hold numbers is data (a header such as 0,1,label is not detected: declare it) "
         "(default: auto)")
      ->type_name("auto|yes|no")
      ->transform(one_of("--csv-header", csv_header_names()));
}

nobias::ModelInfo apply_model_flags(const ModelFlags& flags) {
  apply_threads(flags.threads);
  set_csv_header(csv_header_named(flags.csv_header));
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

// read_array's refusals (tools/inputs.cpp) for a .npy: mapped in place when its layout allows,
// else opened to be read, and converted, as it is predicted.
template <class T>
ModelRows<T> open_array(const char* flag, const std::string& path) {
  try {
    if (nobias::npy_maps_in_place<T>(path)) return ModelRows<T>(nobias::map_npy<T>(path));
    return ModelRows<T>(nobias::NpyRowReader<T>(path));
  } catch (const nobias::Error& e) {
    throw nobias::IoError(std::string(flag) + ": " + e.what());
  }
}

}  // namespace

template <class T>
ModelRows<T>::ModelRows(nobias::NpyRows<T> mapped) : mapped_(std::move(mapped)) {}

template <class T>
ModelRows<T>::ModelRows(nobias::NpyRowReader<T> converted) : converted_(std::move(converted)) {}

template <class T>
ModelRows<T>::ModelRows(nobias::CsvRowReader csv, std::vector<std::size_t> columns)
    : csv_(std::move(csv)), columns_(std::move(columns)) {}

template <class T>
ModelRows<T>::ModelRows(ModelRows&&) noexcept = default;
template <class T>
ModelRows<T>::~ModelRows() = default;

template <class T>
std::size_t ModelRows<T>::rows() const {
  if (mapped_) return mapped_->rows();
  return converted_ ? converted_->rows() : csv_->table().rows;
}

template <class T>
std::size_t ModelRows<T>::cols() const {
  if (mapped_) return mapped_->cols();
  return converted_ ? converted_->cols() : columns_.size();
}

template <class T>
void ModelRows<T>::predict(const nobias::Network<T>& net, const nobias::Standardization& s,
                           const Sink& sink) {
  if (mapped_) {
    const nobias::MatrixView<const T> x = mapped_->view();
    nobias::predict_rows<T>(
        net, s, x, [&](std::size_t first, nobias::MatrixView<const T> p, bool hidden_finite) {
          sink(first, x.row_block(first, p.rows()), p, hidden_finite);
          mapped_->drop_rows(first, p.rows());
        });
    return;
  }
  nobias::predict_read<T>(
      net, s, rows(),
      [&](std::size_t first, nobias::MatrixView<T> to) {
        if (csv_) return read_csv_window<T>("--x", *csv_, to, columns_);
        try {
          converted_->read(first, to);
        } catch (const nobias::IoError& e) {
          throw nobias::IoError(std::string("--x: ") + e.what());
        }
      },
      sink);
}

template <class T>
ModelRows<T> read_model_x(const std::string& x_path, const std::string& model_dir,
                          const nobias::ModelInfo& info, const std::string& drop,
                          std::optional<nobias::CsvRowReader> csv) {
  // nobias-predict --target: a name no column of --x has, said when the columns do not fit.
  std::string unmatched;
  const auto rows = [&] {
    if (!is_csv_path(x_path)) return open_array<T>("--x", x_path);
    std::string dropped = drop;  // nobias-evaluate's --target: its targets' column, found
    if (!csv) {
      // nobias-predict's: never read, so never checked; the file may lack it.
      csv.emplace(open_csv_rows("--x", x_path, drop));
      dropped.clear();
      if (!drop.empty() && csv->unchecked_column() == csv->table().cols()) {
        unmatched = "; --target " + drop + " matched no column of it, so every column is an input";
        if (const auto near = nobias::column_named_ignoring_case(csv->table(), drop)) {
          unmatched += " (did you mean '" + csv->table().names[*near] + "'?)";
        }
      }
    }
    std::vector<std::size_t> columns;
    try {
      columns = csv_input_columns("--x", *csv, dropped);
    } catch (const nobias::IoError& e) {  // a text column: perhaps the targets', misnamed
      if (unmatched.empty()) throw;
      throw nobias::IoError(e.what() + unmatched);
    }
    return ModelRows<T>(std::move(*csv), std::move(columns));
  };
  ModelRows<T> x = rows();
  if (x.cols() != info.widths.front()) {
    throw nobias::ShapeError("--x " + x_path + " is " + nobias::shape_string(x.rows(), x.cols()) +
                             ", but the model in " + model_dir + " takes " +
                             std::to_string(info.widths.front()) + " columns (widths " +
                             join(info.widths) + ")" + unmatched);
  }
  return x;
}

namespace {

template <class T>
void require_finite_x(const std::string& x_path, nobias::MatrixView<const T> rows,
                      std::size_t first) {
  try {
    nobias::require_finite(rows, x_path, first);  // also float64 values beyond float's range
  } catch (const nobias::Error& e) {
    throw nobias::IoError(std::string("--x: ") + e.what());
  }
}

}  // namespace

template <class T>
void require_finite_window(const std::string& x_path, nobias::MatrixView<const T> inputs,
                           nobias::MatrixView<const T> p, std::size_t first, std::size_t rows,
                           bool hidden_finite) {
  if (!hidden_finite) require_finite_x<T>(x_path, inputs, first);
  try {
    nobias::require_finite_predictions<T>("--x " + x_path, p, inputs, first, rows);
  } catch (const nobias::ValueError&) {
    // Without a hidden layer, a bad input shows only in the outputs: the inputs first.
    if (hidden_finite) require_finite_x<T>(x_path, inputs, first);
    throw;
  }
}

template void require_finite_window<float>(const std::string&, nobias::MatrixView<const float>,
                                           nobias::MatrixView<const float>, std::size_t,
                                           std::size_t, bool);
template void require_finite_window<double>(const std::string&, nobias::MatrixView<const double>,
                                            nobias::MatrixView<const double>, std::size_t,
                                            std::size_t, bool);
template class ModelRows<float>;
template class ModelRows<double>;
template ModelRows<float> read_model_x<float>(const std::string&, const std::string&,
                                              const nobias::ModelInfo&, const std::string&,
                                              std::optional<nobias::CsvRowReader>);
template ModelRows<double> read_model_x<double>(const std::string&, const std::string&,
                                                const nobias::ModelInfo&, const std::string&,
                                                std::optional<nobias::CsvRowReader>);

}  // namespace nobias_tools
