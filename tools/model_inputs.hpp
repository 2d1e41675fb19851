// What nobias-predict and nobias-evaluate share: a model directory and the inputs checked
// against it, with messages that name the flag, the file and the model.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "nobias/csv.hpp"
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
  std::string csv_header = "auto";  // --csv-header: how every CSV input finds its header row
};
// Adds --weights and --x (required), --threads and --csv-header to app, bound to flags.
void define_model_flags(CLI::App& app, ModelFlags& flags);
// --threads applied, or NOBIAS_THREADS checked (apply_threads), --csv-header set for every CSV
// input (set_csv_header), then the model directory's metadata.
nobias::ModelInfo apply_model_flags(const ModelFlags& flags);

// The rows of --x in the model's dtype. A .npy of the model's dtype in C order is mapped, not
// copied (nobias::map_npy), and its rows leave the process's memory once predicted. Any other
// .npy (the other float dtype, Fortran order) and a CSV are read as they are predicted, a window
// at a time (nobias::predict_read): the .npy's with pread, converted as read_npy converts
// (nobias::NpyRowReader), the CSV's parsed (nobias::CsvRowReader). So no copy of the inputs is
// ever held, and a file larger than memory is predicted, once through.
template <class T>
class ModelRows {
 public:
  using Sink = std::function<void(std::size_t, nobias::MatrixView<const T>,
                                  nobias::MatrixView<const T>, bool)>;
  explicit ModelRows(nobias::NpyRows<T> mapped);
  explicit ModelRows(nobias::NpyRowReader<T> converted);
  ModelRows(nobias::CsvRowReader csv, std::vector<std::size_t> columns);
  ModelRows(ModelRows&&) noexcept;
  ~ModelRows();

  std::size_t rows() const;
  std::size_t cols() const;
  // The model's predictions of every row (predict_rows, or predict_read: the same bits), a
  // window at a time: sink(first, inputs, outputs, hidden_finite) for rows first, first + 1, ...
  // in order (hidden_finite: predict_rows').
  // IoError "--x: ..." for a converted .npy cut short and for a CSV's refusals (a value beyond
  // float's range, a file changed since its first pass).
  void predict(const nobias::Network<T>& net, const nobias::Standardization& s, const Sink& sink);

 private:
  std::optional<nobias::NpyRows<T>> mapped_;
  std::optional<nobias::NpyRowReader<T>> converted_;
  std::optional<nobias::CsvRowReader> csv_;
  std::vector<std::size_t> columns_;
};

// x from --x (.npy, or CSV: without the column drop names), in the model's dtype; ShapeError
// when its columns are not the model's d_in (saying so when drop matched no column), and a CSV's
// text column refused, before any row is predicted. Without csv (nobias-predict), drop's column
// is never read nor checked, and a file may lack it (open_csv_rows' unchecked); with csv
// (nobias-evaluate), it is the targets' column, read already. Its values are not checked here: the
// caller checks each window of rows as it comes (require_finite_window), so a file larger than
// memory is read once. csv: the CSV --x already open at its first row (open_csv_rows;
// nobias-evaluate
// --target read its targets from it and rewound it), its first pass not made again.
template <class T>
ModelRows<T> read_model_x(const std::string& x_path, const std::string& model_dir,
                          const nobias::ModelInfo& info, const std::string& drop = "",
                          std::optional<nobias::CsvRowReader> csv = std::nullopt);

// A window of predictions checked as the user reads the causes: first bad data, IoError "--x:
// PATH: element (i, j) is nan; values must be finite" for the first NaN or infinity of inputs
// (rows first ... of --x, numbered so), then ValueError "--x PATH: prediction row i of rows,
// output j is inf, ..." (require_finite_predictions). The inputs are read only when the pass saw
// a hidden value or an output that was not finite (hidden_finite false, or p), the only ways a
// bad input shows (nobias::predict_rows): nobias-predict on 100,000 finite rows of 784 columns
// read 300 MB less, 13-17 ms of its ~0.5 s.
template <class T>
void require_finite_window(const std::string& x_path, nobias::MatrixView<const T> inputs,
                           nobias::MatrixView<const T> p, std::size_t first, std::size_t rows,
                           bool hidden_finite);

// Calls body<float> or body<double>, as the model directory's weights are stored.
template <class Body>
int with_model_dtype(const nobias::ModelInfo& info, Body&& body) {
  return info.dtype == nobias::Dtype::F64 ? body(double{}) : body(float{});
}

// The model directory's metadata, its errors prefixed by the flag.
nobias::ModelInfo read_info(const std::string& model_dir);

}  // namespace nobias_tools
