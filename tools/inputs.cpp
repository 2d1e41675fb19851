#include "inputs.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "csv_inputs.hpp"
#include "nobias/error.hpp"
#include "nobias/fit.hpp"
#include "nobias/init.hpp"
#include "nobias/kernels.hpp"
#include "nobias/model.hpp"
#include "nobias/names.hpp"
#include "nobias/npy.hpp"
#include "nobias/targets.hpp"
#include "nobias/weights_io.hpp"

namespace nobias_tools {

template <class T>
nobias::NpyRows<T> read_array(const char* flag, const std::string& path) {
  if (is_csv_path(path)) return nobias::NpyRows<T>(read_csv_inputs<T>(flag, path));
  // The library's message names the file; the flag says which input it was.
  try {
    nobias::NpyRows<T> m = nobias::map_npy<T>(path);
    nobias::require_finite(m.view(), path);  // also catches float64 values beyond float's range
    return m;
  } catch (const nobias::Error& e) {
    throw nobias::IoError(std::string(flag) + ": " + e.what());
  }
}

namespace {

// "0, 1, 2" or "0, 1, 2, 3, 4, ...": the smallest values of v.
std::string some_values(const nobias::TargetValues& v) {
  std::string out;
  for (double value : v.least_values)
    out += (out.empty() ? "" : ", ") + nobias::format_number(value);
  return out + (v.distinct > v.least_values.size() ? ", ..." : "");
}

// --task auto: integers that look like counts would make a classifier of an output per value,
// most of them seen once or never.
void refuse_counts(const std::string& named, const std::vector<std::int64_t>& labels) {
  const nobias::TargetValues v = nobias::describe_targets(labels);
  if (v.negative || nobias::looks_like_classes(v)) return;  // negatives: one_hot's to refuse
  const std::string why = v.classes() > nobias::kMaxGuessedClasses
                              ? "labels up to " + nobias::format_number(v.largest) +
                                    " would make " + std::to_string(v.classes()) +
                                    " classes (more than " +
                                    std::to_string(nobias::kMaxGuessedClasses) + ")"
                              : std::to_string(v.distinct) + " distinct values in " +
                                    std::to_string(v.rows) + " rows, fewer than two rows per value";
  throw UsageError(named + " holds integers that look like counts, not class labels: " + why +
                   "; pass --task regress to fit them as numbers, or --task classify to train a "
                   "classifier of " +
                   std::to_string(v.classes()) + " outputs anyway");
}

// --task auto on a column of floats: a few whole numbers may be classes that were read as
// floats (numpy.loadtxt); a regression is what the dtype says, and the note says so.
template <class T>
std::string few_classes_note(const std::string& named, const nobias::Matrix<T>& y) {
  if (y.cols() != 1) return "";
  const nobias::TargetValues v = nobias::describe_targets<T>(y);
  if (!nobias::looks_like_few_classes(v)) return "";
  return named + " holds " + std::to_string(v.distinct) + " distinct whole numbers (" +
         some_values(v) +
         "): training a regression of one output; if they are class labels, pass --task "
         "classify";
}

// Inputs and their targets as one data set: as many rows each, some rows.
template <class T>
Data<T> pair_of(const char* x_flag, const std::string& x_path, const char* y_flag,
                const std::string& y_path, const char* purpose, nobias::NpyRows<T> x,
                Targets<T> targets, std::string* note) {
  Data<T> data{std::move(x), std::move(targets.y), targets.classes, std::move(targets.class_names)};
  if (note != nullptr) *note = targets.note;
  const auto shapes = std::string(x_flag) + " " + x_path + " is " +
                      nobias::shape_string(data.x.rows(), data.x.cols()) + ", " + y_flag + " " +
                      y_path + " is " + nobias::shape_string(data.y.rows(), data.y.cols());
  if (data.x.rows() != data.y.rows()) throw nobias::ShapeError(shapes + ": row counts differ");
  if (data.x.rows() == 0) throw nobias::ShapeError(shapes + ": no rows to " + purpose);
  return data;
}

}  // namespace

template <class T>
Targets<T> read_targets(const char* flag, const std::string& path, Task task, std::size_t classes) {
  if (is_csv_path(path)) return read_csv_targets<T>(flag, path, task, classes);
  const std::string named = std::string(flag) + " " + path;
  Targets<T> out;
  try {
    if (nobias::inspect_npy(path).is_integer()) {
      const std::vector<std::int64_t> labels = nobias::read_npy_labels(path);
      if (task == Task::Regress) {
        out.y = nobias::Matrix<T>(labels.size(), 1);
        for (std::size_t i = 0; i < labels.size(); ++i)
          out.y(i, 0) = static_cast<T>(labels[i]);
        return out;
      }
      if (task == Task::Auto) refuse_counts(named, labels);
      out.classes = classes == 0 ? nobias::class_count(labels) : classes;
      out.y = nobias::one_hot<T>(labels, out.classes);
      return out;
    }
    out.y = nobias::read_npy_matrix_or_vector<T>(path);
    nobias::require_finite(out.y, path);
  } catch (const nobias::Error& e) {
    throw nobias::IoError(std::string(flag) + ": " + e.what());
  }
  if (task == Task::Classify && out.y.cols() == 1) {
    std::vector<std::int64_t> labels;
    try {
      labels = nobias::labels_from_values<T>(out.y);
    } catch (const nobias::ValueError& e) {
      throw UsageError(named + ": " + e.what() + "; a classifier trains on class labels");
    }
    out.classes = classes == 0 ? nobias::class_count(labels) : classes;
    try {
      out.y = nobias::one_hot<T>(labels, out.classes);
    } catch (const nobias::Error& e) {
      throw nobias::IoError(std::string(flag) + ": " + e.what());
    }
  } else if (task == Task::Classify) {
    // Wider targets of a classifier are one-hot rows: other numbers (scores, negatives) would
    // train as classes the columns of a regression, and accuracy would score an argmax of them.
    try {
      if (out.y.rows() > 0) nobias::require_one_hot<T>(out.y);  // no rows: pair_of's to refuse
    } catch (const nobias::Error& e) {
      throw UsageError(named + ": " + e.what() +
                       "; a classifier trains on class labels (integers, or one column of whole "
                       "numbers) or one-hot rows");
    }
    out.classes = classes == 0 ? out.y.cols() : classes;
  } else if (task == Task::Auto) {
    if (nobias::is_one_hot<T>(out.y)) {
      out.classes = classes == 0 ? out.y.cols() : classes;
    } else {
      out.note = few_classes_note(named, out.y);
    }
  }
  return out;
}

template <class T>
Data<T> read_pair(const char* x_flag, const std::string& x_path, const char* y_flag,
                  const std::string& y_path, const char* purpose, Task task, std::size_t classes,
                  std::string* note) {
  nobias::NpyRows<T> x = read_array<T>(x_flag, x_path);
  Targets<T> targets = read_targets<T>(y_flag, y_path, task, classes);
  return pair_of<T>(x_flag, x_path, y_flag, y_path, purpose, std::move(x), std::move(targets),
                    note);
}

template <class T>
std::optional<Data<T>> read_data(const TrainOptions& o, std::string& note) {
  if (o.x_path.empty()) return std::nullopt;
  set_csv_header(o.csv_header);
  if (!o.target.empty()) {
    return read_csv_pair<T>("--x", o.x_path, o.target, "train on", o.task, 0, &note);
  }
  return read_pair<T>("--x", o.x_path, "--y", o.y_path, "train on", o.task, 0, &note);
}

template <class T>
std::optional<Data<T>> read_validation(const TrainOptions& o, std::size_t classes,
                                       const std::vector<std::string>& class_names) {
  if (o.val_x_path.empty()) return std::nullopt;
  set_csv_header(o.csv_header);
  const Task task = classes > 0 ? Task::Classify : Task::Regress;
  if (class_names.empty() || !is_csv_path(o.val_y_path)) {
    return read_pair<T>("--val-x", o.val_x_path, "--val-y", o.val_y_path, "validate on", task,
                        classes);
  }
  // Text labels by the training data's names: the file's own sorted names would number its
  // classes differently when it lacks one, and validate against shifted labels.
  nobias::NpyRows<T> x = read_array<T>("--val-x", o.val_x_path);
  Targets<T> targets = read_csv_targets<T>("--val-y", o.val_y_path, task, classes, class_names);
  return pair_of<T>("--val-x", o.val_x_path, "--val-y", o.val_y_path, "validate on", std::move(x),
                    std::move(targets), nullptr);
}

template <class T>
std::optional<std::vector<nobias::Matrix<T>>> read_weights(const TrainOptions& o) {
  if (o.weights_in.empty()) return std::nullopt;
  try {
    std::vector<nobias::Matrix<T>> weights = nobias::load_weights<T>(o.weights_in);
    for (std::size_t k = 0; k < weights.size(); ++k) {
      nobias::require_finite(weights[k], "w" + std::to_string(k + 1) + ".npy");
    }
    return weights;
  } catch (const nobias::Error& e) {
    throw nobias::IoError("reading --weights-in " + o.weights_in + ": " + e.what());
  }
}

nobias::ModelInfo read_weights_info(const TrainOptions& o) {
  if (o.weights_in.empty()) return {};
  try {
    return nobias::read_model_info(o.weights_in);
  } catch (const nobias::Error& e) {
    throw nobias::IoError("reading --weights-in " + o.weights_in + ": " + e.what());
  }
}

namespace {

// "x_mean.npy, x_scale.npy": the statistics files a model directory has.
std::string statistics_files(const nobias::Standardization& s) {
  std::string files = s.has_x() ? "x_mean.npy, x_scale.npy" : "";
  if (s.has_y()) files += std::string(files.empty() ? "" : ", ") + "y_mean.npy, y_scale.npy";
  return files;
}

}  // namespace

template <class T>
nobias::Standardization run_standardization(const TrainOptions& o, const nobias::ModelInfo& start,
                                            const Data<T>& data,
                                            const std::vector<std::size_t>* train_rows) {
  const nobias::Standardization& saved = start.standardization;
  const std::string model = "--weights-in " + o.weights_in;
  if (!saved.empty()) {
    const std::string trained = model + " was trained on standardized data (its model.json names " +
                                statistics_files(saved) + ")";
    if (o.x_path.empty()) {
      throw UsageError(trained +
                       ": the generated data of a run without --x are not in its units; train "
                       "it on --x/--y with --standardize");
    }
    if (!o.standardize) {
      throw UsageError(trained + ": its weights expect data in those units; " +
                       (o.standardize_given ? "drop --no-standardize" : "add --standardize") +
                       " to keep training it in them (the model's statistics are used, not "
                       "recomputed from --x)");
    }
    if (saved.has_y() && data.classes != 0) {
      throw UsageError(model + " standardized its regression targets (y_mean.npy, y_scale.npy) " +
                       "but --y " + o.y_path + " holds " + std::to_string(data.classes) +
                       " classes, whose one-hot targets are never standardized");
    }
    if (!saved.has_y() && start.classes != 0 && data.classes == 0) {
      throw UsageError(model + " is a classifier of " + std::to_string(start.classes) +
                       " classes, its targets never standardized, but --y " + o.y_path +
                       " holds a regression's: --standardize would leave them unstandardized");
    }
    return saved;
  }
  // Not asked for: the default gives way to the model's own units.
  if (o.standardize && start.has_metadata && !o.standardize_given) return {};
  if (o.standardize && start.has_metadata) {
    throw UsageError("--standardize: " + model +
                     " was trained without standardization (its model.json names no statistics): "
                     "its weights were learned on data as it comes; drop --standardize to "
                     "keep training it on unstandardized data");
  }
  if (!o.standardize) return {};
  // A classifier's one-hot targets stay as they are.
  return nobias::fit_standardization<T>(
      data.x, data.classes == 0 ? data.y.view() : nobias::MatrixView<const T>(), train_rows);
}

template <class T>
Widths choose_widths(const TrainOptions& o, const std::optional<Data<T>>& data,
                     const std::optional<std::vector<nobias::Matrix<T>>>& weights) {
  if (o.layers) return {*o.layers, "--layers " + join(*o.layers)};
  if (weights && !weights->empty()) {
    std::vector<std::size_t> widths = {weights->front().rows()};
    for (const auto& w : *weights)
      widths.push_back(w.cols());
    return {widths, "widths " + join(widths) + " from --weights-in"};
  }
  if (data) {
    std::vector<std::size_t> widths = {data->x.cols()};
    widths.insert(widths.end(), kDefaultHiddenWidths.begin(), kDefaultHiddenWidths.end());
    widths.push_back(data->y.cols());
    return {widths, "widths " + join(widths) + " from --x/--y"};
  }
  return {kDefaultWidths, "default --layers " + join(kDefaultWidths)};
}

void check_widths(const Widths& widths) {
  if (widths.values.size() < 2 ||
      std::find(widths.values.begin(), widths.values.end(), 0) != widths.values.end()) {
    throw nobias::ShapeError("a network needs at least two widths, none zero; got " +
                             widths.origin);
  }
}

template <class T>
void check_data(const std::string& x_input, const std::string& y_input, const Widths& widths,
                const Data<T>& data) {
  auto mismatch = [&](const std::string& input, nobias::MatrixView<const T> m, const char* which,
                      std::size_t width) {
    return nobias::ShapeError(input + " is " + nobias::shape_string(m.rows(), m.cols()) +
                              ", but the " + which + " width is " + std::to_string(width) + " (" +
                              widths.origin + ")");
  };
  if (data.x.cols() != widths.values.front()) {
    throw mismatch(x_input, data.x.view(), "input", widths.values.front());
  }
  if (data.y.cols() != widths.values.back()) {
    throw mismatch(y_input, data.y.view(), "output", widths.values.back());
  }
}

template <class T>
void check_weights(const TrainOptions& o, const Widths& widths,
                   const std::vector<nobias::Matrix<T>>& weights) {
  const std::size_t layers = widths.values.size() - 1;
  // The weights come from --weights-in or from the checkpoint --resume continues.
  const std::string source = o.resume_dir.empty() ? "--weights-in " + o.weights_in
                                                  : "--resume " + o.resume_dir + " (checkpoint)";
  if (weights.size() != layers) {
    throw nobias::ShapeError(source + " holds " + std::to_string(weights.size()) +
                             " weight matrices, but " + widths.origin + " needs " +
                             std::to_string(layers));
  }
  for (std::size_t k = 0; k < layers; ++k) {
    const std::size_t rows = widths.values[k], cols = widths.values[k + 1];
    if (weights[k].rows() != rows || weights[k].cols() != cols) {
      throw nobias::ShapeError(source + ": w" + std::to_string(k + 1) + ".npy is " +
                               nobias::shape_string(weights[k].rows(), weights[k].cols()) +
                               ", but " + widths.origin + " needs " +
                               nobias::shape_string(rows, cols));
    }
  }
}

nobias::RowSplit split_validation(std::size_t rows, double fraction, std::uint64_t seed) {
  const std::size_t held = nobias::validation_rows(rows, fraction);
  if (held == 0 || held >= rows) {
    throw UsageError("--validation-fraction " + format_g(fraction) + " of " + std::to_string(rows) +
                     " rows leaves " +
                     (held == 0 ? "no row to validate on" : "no row to train on") +
                     "; give --val-x/--val-y or another fraction");
  }
  return nobias::split_rows(rows, held, seed);
}

template <class T>
Data<T> generate_data(std::size_t rows, const std::vector<std::size_t>& widths,
                      std::uint64_t seed) {
  nobias::Matrix<T> x(rows, widths.front()), y(rows, widths.back());
  nobias::NormalGenerator generator(seed, /*stream=*/1);
  nobias::fill_normal<T>(x, generator);
  nobias::fill_normal<T>(y, generator);
  return {nobias::NpyRows<T>(std::move(x)), std::move(y), 0, {}};
}

#define NOBIAS_TOOLS_INPUTS(T)                                                                    \
  template nobias::NpyRows<T> read_array<T>(const char*, const std::string&);                     \
  template Targets<T> read_targets<T>(const char*, const std::string&, Task, std::size_t);        \
  template Data<T> read_pair<T>(const char*, const std::string&, const char*, const std::string&, \
                                const char*, Task, std::size_t, std::string*);                    \
  template std::optional<Data<T>> read_data<T>(const TrainOptions&, std::string&);                \
  template std::optional<Data<T>> read_validation<T>(const TrainOptions&, std::size_t,            \
                                                     const std::vector<std::string>&);            \
  template std::optional<std::vector<nobias::Matrix<T>>> read_weights<T>(const TrainOptions&);    \
  template nobias::Standardization run_standardization<T>(                                        \
      const TrainOptions&, const nobias::ModelInfo&, const Data<T>&,                              \
      const std::vector<std::size_t>*);                                                           \
  template Widths choose_widths<T>(const TrainOptions&, const std::optional<Data<T>>&,            \
                                   const std::optional<std::vector<nobias::Matrix<T>>>&);         \
  template void check_data<T>(const std::string&, const std::string&, const Widths&,              \
                              const Data<T>&);                                                    \
  template void check_weights<T>(const TrainOptions&, const Widths&,                              \
                                 const std::vector<nobias::Matrix<T>>&);                          \
  template Data<T> generate_data<T>(std::size_t, const std::vector<std::size_t>&, std::uint64_t);
NOBIAS_TOOLS_INPUTS(float)
NOBIAS_TOOLS_INPUTS(double)
#undef NOBIAS_TOOLS_INPUTS

}  // namespace nobias_tools
