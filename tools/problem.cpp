#include "problem.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "nobias/defaults.hpp"
#include "nobias/names.hpp"
#include "nobias/targets.hpp"

namespace nobias_tools {
namespace {

// The targets of data at rows, in the user's units.
template <class T>
nobias::Matrix<T> targets_at(const Data<T>& data, const std::vector<std::size_t>& rows) {
  nobias::Matrix<T> y(rows.size(), data.y.cols());
  for (std::size_t i = 0; i < rows.size(); ++i)
    std::copy(&data.y(rows[i], 0), &data.y(rows[i], 0) + data.y.cols(), &y(i, 0));
  return y;
}

}  // namespace

template <class T>
Problem<T> assemble(const TrainOptions& o) {
  Problem<T> p;
  p.data = read_data<T>(o, p.note);
  p.validation = p.data ? read_validation<T>(o, p.data->classes, p.data->class_names)
                        : read_validation<T>(o, 0);
  p.weights = read_weights<T>(o);
  const nobias::ModelInfo start = read_weights_info(o);
  if (!o.resume_dir.empty()) {
    // nobias::resume checks the settings and the data against it (training.cpp).
    p.checkpoint = nobias::load_checkpoint<T>(o.resume_dir);
    p.weights = std::move(p.checkpoint->weights);  // resume() needs the rest
  }
  p.widths = choose_widths(o, p.data, p.weights);
  check_widths(p.widths);
  if (p.data) check_data("--x " + o.x_path, "--y " + o.y_path, p.widths, *p.data);
  if (p.validation) {
    check_data("--val-x " + o.val_x_path, "--val-y " + o.val_y_path, p.widths, *p.validation);
  }
  if (p.weights) check_weights(o, p.widths, *p.weights);
  if (!p.data) p.data = generate_data<T>(o.rows, p.widths.values, o.seed);
  if (!p.validation && o.validation_fraction > 0.0) {
    // By default a fraction is held out only when it is enough rows to stop on
    // (nobias/defaults.hpp); a --validation-fraction given is the user's call.
    const std::size_t rows = p.data->x.rows();
    if (o.validation_fraction_given ||
        nobias::defaults::early_stopping_rows(rows, o.validation_fraction) > 0) {
      nobias::RowSplit split = split_validation(rows, o.validation_fraction, o.seed);
      p.train_rows = std::move(split.train);
      p.held_out = std::move(split.validation);
    } else if (o.patience_given && o.patience > 0) {
      // The default fraction stands down on data this small, but early stopping was asked for:
      // refused as any --patience without a validation set, never dropped unsaid.
      throw UsageError("--patience " + std::to_string(o.patience) +
                       " needs a validation set, and by default none is held out of " +
                       std::to_string(rows) + " rows (a " +
                       nobias::format_number(o.validation_fraction) + " validation split holds " +
                       std::to_string(nobias::validation_rows(rows, o.validation_fraction)) +
                       ", fewer than " + std::to_string(nobias::defaults::kMinValidationRows) +
                       "): give --val-x/--val-y, or --validation-fraction F to hold out F of the "
                       "rows anyway, or leave out --patience to train on every row");
    } else {
      p.validation_note =
          std::to_string(rows) + " rows: no early stopping, every row trains (a " +
          nobias::format_number(o.validation_fraction) + " validation split holds " +
          std::to_string(nobias::validation_rows(rows, o.validation_fraction)) + ", fewer than " +
          std::to_string(nobias::defaults::kMinValidationRows) + ")";
    }
  }
  p.stats =
      run_standardization<T>(o, start, *p.data, p.train_rows.empty() ? nullptr : &p.train_rows);
  p.stats_from_model = !start.standardization.empty();
  // The training and validation rows of x and y are read where they lie, standardized as they
  // are gathered: no copy of them. The held-out targets are copied, in the user's units: the
  // validation metrics compare unstandardized predictions with them (a column per output,
  // usually far fewer than x's).
  if (!p.held_out.empty()) p.held_out_y = targets_at(*p.data, p.held_out);
  return p;
}

template <class T>
nobias::RowSource<T> training_rows(const Problem<T>& p) {
  return nobias::RowSource<T>(p.data->x.view(), p.data->y.view(),
                              p.train_rows.empty() ? nullptr : &p.train_rows,
                              p.stats.empty() ? nullptr : &p.stats);
}

template <class T>
nobias::RowSource<T> validation_source(const Problem<T>& p) {
  const nobias::Standardization* stats = p.stats.empty() ? nullptr : &p.stats;
  if (!p.held_out.empty()) {
    return nobias::RowSource<T>(p.data->x.view(), p.data->y.view(), &p.held_out, stats);
  }
  if (p.validation) {
    return nobias::RowSource<T>(p.validation->x.view(), p.validation->y.view(), nullptr, stats);
  }
  return {};
}

template <class T>
nobias::MatrixView<const T> validation_targets(const Problem<T>& p) {
  if (!p.held_out.empty()) return p.held_out_y.view();
  return p.validation ? p.validation->y.view() : nobias::MatrixView<const T>();
}

// What the model directory says about how it was trained.
nobias::ModelInfo model_info(const TrainOptions& o, std::size_t classes,
                             const nobias::Standardization& stats,
                             const std::vector<std::string>& class_names) {
  nobias::ModelInfo info;
  info.classes = classes;
  info.class_names = class_names;
  info.standardization = stats;
  info.settings = {{"optimizer", nobias::to_name(o.optimizer.kind)},
                   {"learning_rate", nobias::format_number(o.lr)},
                   {"loss", nobias::to_name(o.reduction)},
                   {"init", nobias::to_name(o.init)},
                   {"seed", std::to_string(o.seed)}};
  if (o.epochs > 0) {
    info.settings["epochs"] = std::to_string(o.epochs);
    info.settings["batch_size"] = std::to_string(o.batch_size);
  } else {
    info.settings["steps"] = std::to_string(o.steps);
  }
  return info;
}

template Problem<float> assemble<float>(const TrainOptions&);
template Problem<double> assemble<double>(const TrainOptions&);
template nobias::RowSource<float> training_rows<float>(const Problem<float>&);
template nobias::RowSource<double> training_rows<double>(const Problem<double>&);
template nobias::RowSource<float> validation_source<float>(const Problem<float>&);
template nobias::RowSource<double> validation_source<double>(const Problem<double>&);
template nobias::MatrixView<const float> validation_targets<float>(const Problem<float>&);
template nobias::MatrixView<const double> validation_targets<double>(const Problem<double>&);

}  // namespace nobias_tools
