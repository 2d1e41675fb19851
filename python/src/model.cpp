// Model directories (model.hpp): a network with its metadata and standardization statistics,
// written and read by the same C++ code as nobias-train --weights-out and nobias-predict.
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "any.hpp"
#include "arrays.hpp"
#include "bindings.hpp"
#include "nobias/defaults.hpp"
#include "nobias/fit.hpp"
#include "nobias/model.hpp"
#include "nobias/names.hpp"
#include "nobias/onnx.hpp"
#include "nobias/targets.hpp"
#include "numbers.hpp"

namespace nobias::python {
namespace {

py::object statistics_array(const std::vector<double>& v) {
  if (v.empty()) return py::none();
  return py::array_t<double>(static_cast<py::ssize_t>(v.size()), v.data());
}

py::dict info_dict(const ModelInfo& info) {
  py::dict d;
  d["format_version"] = info.format_version;
  d["nobias_version"] = info.nobias_version;
  d["dtype"] = to_name(info.dtype);
  d["widths"] = info.widths;
  d["classes"] = info.classes;
  d["class_names"] = info.class_names.empty() ? py::object(py::none()) : py::cast(info.class_names);
  d["x_mean"] = statistics_array(info.standardization.x_mean);
  d["x_scale"] = statistics_array(info.standardization.x_scale);
  d["y_mean"] = statistics_array(info.standardization.y_mean);
  d["y_scale"] = statistics_array(info.standardization.y_scale);
  d["settings"] = info.settings;
  d["has_metadata"] = info.has_metadata;
  return d;
}

}  // namespace

std::vector<double> statistics_from(py::handle values, const char* what) {
  if (values.is_none()) return {};
  py::array_t<double, py::array::c_style | py::array::forcecast> a;
  try {
    a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(values);
  } catch (const py::error_already_set&) {
  }
  if (!a || a.ndim() > 2 || (a.ndim() == 2 && a.shape(0) != 1)) {
    throw py::value_error(std::string(what) + ": expected a 1-D array of numbers (one per column)");
  }
  return {a.data(), a.data() + a.size()};
}

std::optional<std::vector<std::size_t>> row_indices(py::handle rows, const char* what) {
  if (rows.is_none()) return std::nullopt;
  const py::array a = py::array::ensure(rows);
  const char kind = a ? a.dtype().kind() : '?';
  // numpy makes [] an array of float64: no rows, refused by the caller as such.
  if (a && a.ndim() == 1 && a.size() == 0) return std::vector<std::size_t>();
  if (!a || a.ndim() != 1 || (kind != 'i' && kind != 'u')) {
    throw py::type_error(
        std::string(what) + ": expected a 1-D array of row indices (integers), got " +
        std::string(py::str(a ? py::object(a.dtype()) : py::object(py::type::of(rows)))) +
        (a && a.ndim() != 1 ? " of " + std::to_string(a.ndim()) + " dimensions" : ""));
  }
  std::vector<std::size_t> out(static_cast<std::size_t>(a.size()));
  if (kind == 'u') {  // read as they are: through int64, 2^63 and above would turn negative
    const auto u = py::array_t<std::uint64_t, py::array::c_style | py::array::forcecast>::ensure(a);
    std::copy(u.data(), u.data() + u.size(), out.begin());
    return out;
  }
  const auto ints = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::int64_t v = ints.data()[i];
    if (v < 0) {
      throw py::value_error(std::string(what) + ": row index " + std::to_string(v) +
                            " at position " + std::to_string(i) + "; expected indices >= 0");
    }
    out[i] = static_cast<std::size_t>(v);
  }
  return out;
}

void bind_model(py::module_& m) {
  m.def(
      "save_model",
      [](py::handle dir, AnyNetwork& network, const WholeNumber& classes_given, py::handle x_mean,
         py::handle x_scale, py::handle y_mean, py::handle y_scale,
         std::map<std::string, std::string> settings,
         std::optional<std::vector<std::string>> class_names) {
        ModelInfo info;
        info.classes = whole_number(classes_given, "classes");
        if (class_names) info.class_names = std::move(*class_names);
        info.standardization.x_mean = statistics_from(x_mean, "x_mean");
        info.standardization.x_scale = statistics_from(x_scale, "x_scale");
        info.standardization.y_mean = statistics_from(y_mean, "y_mean");
        info.standardization.y_scale = statistics_from(y_scale, "y_scale");
        info.settings = std::move(settings);
        const std::string p = path_from(dir);
        dispatch(network.dtype(), [&](auto tag) {
          using T = decltype(tag);
          Exclusive busy(network);
          save_model<T>(p, network.get<T>(), info);
        });
      },
      py::arg("dir"), py::arg("network"), py::kw_only(), py::arg("classes") = 0,
      py::arg("x_mean") = py::none(), py::arg("x_scale") = py::none(),
      py::arg("y_mean") = py::none(), py::arg("y_scale") = py::none(),
      py::arg("settings") = std::map<std::string, std::string>{},
      py::arg("class_names") = py::none(),
      "Writes network as a model directory (w*.npy, model.json, statistics), one atomic set; "
      "classes 0 for a regression; class_names (None, or one unique name per class) names "
      "class k at k. nobias-predict and nobias-evaluate read it.");
  m.def(
      "load_model",
      [](py::handle dir, py::handle dtype) {
        const std::string p = path_from(dir);
        return dispatch(dtype_from(dtype), [&](auto tag) {
          using T = decltype(tag);
          std::unique_ptr<Model<T>> model;
          {
            py::gil_scoped_release nogil;
            model = std::make_unique<Model<T>>(load_model<T>(p));
          }
          py::dict info = info_dict(model->info);
          return py::make_tuple(std::make_unique<AnyNetwork>(std::move(model->network)), info);
        });
      },
      py::arg("dir"), py::arg("dtype") = py::module_::import("numpy").attr("float32"),
      "(network, info) from a model directory (or a directory of bare w*.npy); info holds "
      "widths, dtype, classes, class_names (None or a list), the statistics "
      "x_mean/x_scale/y_mean/y_scale (or None), settings.");
  m.def(
      "read_model_info",
      [](py::handle dir) {
        const std::string p = path_from(dir);
        ModelInfo info;
        {
          py::gil_scoped_release nogil;
          info = read_model_info(p);
        }
        return info_dict(info);
      },
      py::arg("dir"), "A model directory's metadata only (its dtype: what to load it as).");
  m.def(
      "export_onnx",
      [](py::handle path, py::handle model, const WholeNumber& classes_given, py::handle x_mean,
         py::handle x_scale, py::handle y_mean, py::handle y_scale,
         std::optional<std::vector<std::string>> class_names) {
        const std::uint64_t classes = whole_number(classes_given, "classes");
        const std::string out = path_from(path);
        output_format("export_onnx", out, {".onnx"});
        if (py::isinstance<AnyNetwork>(model)) {
          ModelInfo info;
          info.classes = classes;
          if (class_names) info.class_names = std::move(*class_names);
          info.standardization.x_mean = statistics_from(x_mean, "x_mean");
          info.standardization.x_scale = statistics_from(x_scale, "x_scale");
          info.standardization.y_mean = statistics_from(y_mean, "y_mean");
          info.standardization.y_scale = statistics_from(y_scale, "y_scale");
          AnyNetwork& network = model.cast<AnyNetwork&>();
          dispatch(network.dtype(), [&](auto tag) {
            using T = decltype(tag);
            Exclusive busy(network);
            export_onnx<T>(out, network.get<T>(), info);
          });
          return;
        }
        // A model directory carries its own classes and statistics: others given with it
        // would be ignored, so they are refused.
        if (classes != 0 || class_names || !x_mean.is_none() || !x_scale.is_none() ||
            !y_mean.is_none() || !y_scale.is_none()) {
          throw py::value_error(
              "export_onnx: classes, class_names and the statistics go with a Network; a model "
              "directory carries its own");
        }
        const std::string dir = path_from(model);
        py::gil_scoped_release nogil;
        export_onnx(out, dir);
      },
      py::arg("path"), py::arg("model"), py::kw_only(), py::arg("classes") = 0,
      py::arg("x_mean") = py::none(), py::arg("x_scale") = py::none(),
      py::arg("y_mean") = py::none(), py::arg("y_scale") = py::none(),
      py::arg("class_names") = py::none(),
      "Writes model (a Network, with save_model's classes, class_names and statistics; or a "
      "model directory's path) to path (a .onnx in any case, or a name without an extension; "
      "another extension is a ValueError) as an ONNX model, atomically: MatMul and Relu nodes, "
      "the statistics as Sub/Div and Mul/Add nodes, opset 13 (docs/onnx.md).");
  m.def(
      "shuffled_order",
      [](const WholeNumber& rows, const WholeNumber& seed, const WholeNumber& epoch) {
        return shuffled_order(whole_number(rows, "rows"), whole_number(seed, "seed"),
                              whole_number(epoch, "epoch"));
      },
      py::arg("rows"), py::arg("seed"), py::arg("epoch"),
      "The order of rows fit() uses for an epoch: a permutation of range(rows) from (seed, "
      "epoch) alone; epoch 0 is the command line's validation split.");
  m.def(
      "split_rows",
      [](const WholeNumber& rows_given, const RealNumber& fraction_given,
         const WholeNumber& seed_given) {
        const std::size_t rows = whole_number(rows_given, "rows");
        const double fraction = real_number(fraction_given, "fraction");
        const std::uint64_t seed = whole_number(seed_given, "seed");
        const RowSplit split =
            nobias::split_rows(rows, defaults::early_stopping_rows(rows, fraction), seed);
        const auto indices = [](const std::vector<std::size_t>& rows_of) {
          py::array_t<std::int64_t> out(static_cast<py::ssize_t>(rows_of.size()));
          std::copy(rows_of.begin(), rows_of.end(), out.mutable_data());
          return out;
        };
        return py::make_tuple(indices(split.train), indices(split.validation));
      },
      py::arg("rows"), py::arg("fraction"), py::arg("seed"),
      "(train, validation) row indices, ascending: the validation set every front door holds "
      "out for early stopping, round(fraction * rows) rows chosen by seed (nobias-train's "
      "--validation-fraction), or none when that is fewer than data_defaults()"
      "['min_validation_rows'] or leaves no row to train on.");
  m.def(
      "data_defaults",
      [] {
        py::dict d;
        d["standardize"] = defaults::kStandardize;
        d["init"] = to_name(defaults::kInit);
        d["optimizer"] = to_name(defaults::kOptimizer);
        d["learning_rate"] = defaults::kLearningRate;
        d["batch_size"] = defaults::kBatchSize;
        d["max_epochs"] = defaults::kMaxEpochs;
        d["n_iter_no_change"] = defaults::kPatience;
        d["tol"] = defaults::kTolerance;
        d["validation_fraction"] = defaults::kValidationFraction;
        d["min_validation_rows"] = defaults::kMinValidationRows;
        py::list hidden;
        for (const std::size_t width : defaults::kHiddenWidths)
          hidden.append(width);
        d["hidden_layer_sizes"] = py::tuple(hidden);
        return d;
      },
      "The library's recipe for real data (nobias/defaults.hpp), which nobias-train and the "
      "estimators share, under the estimators' parameter names.");
  m.def(
      "describe_targets",
      [](py::handle values) {
        py::array_t<double, py::array::c_style | py::array::forcecast> a;
        try {
          a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(values);
        } catch (const py::error_already_set&) {
        }
        if (!a || a.ndim() != 1) {
          throw py::value_error("describe_targets: expected a 1-D array of numbers");
        }
        const MatrixView<const double> column(a.data(), static_cast<std::size_t>(a.shape(0)), 1);
        TargetValues v;
        {
          py::gil_scoped_release nogil;
          v = nobias::describe_targets<double>(column);
        }
        py::dict d;
        d["rows"] = v.rows;
        d["distinct"] = v.distinct;
        d["whole"] = v.whole;
        d["negative"] = v.negative;
        d["smallest"] = v.smallest;
        d["largest"] = v.largest;
        d["least_values"] = v.least_values;
        d["classes"] = v.classes();
        d["looks_like_classes"] = looks_like_classes(v);
        d["looks_like_few_classes"] = looks_like_few_classes(v);
        return d;
      },
      py::arg("values"),
      "The facts of a 1-D array of targets (rows, distinct values, whole, negative, smallest, "
      "largest, least_values, classes: largest + 1) and the library's verdicts: "
      "looks_like_classes (class labels rather than counts; nobias-train's --task auto) and "
      "looks_like_few_classes (2 to 20 of them).");
  m.def(
      "column_statistics",
      [](py::handle x, py::handle rows) {
        const std::optional<std::vector<std::size_t>> listed = row_indices(rows, "rows");
        return dispatch(array_dtype(x, "x"), [&](auto tag) {
          using T = decltype(tag);
          const MatrixView<const T> view = input_view<T>(x, "x");
          Standardization s;
          {
            py::gil_scoped_release nogil;
            s = listed ? fit_standardization<T>(view, {}, &*listed) : fit_standardization<T>(view);
          }
          return py::make_tuple(statistics_array(s.x_mean), statistics_array(s.x_scale));
        });
      },
      py::arg("x"), py::arg("rows") = py::none(),
      "(mean, scale) of x's columns as float64 arrays, as --standardize computes them (two "
      "passes in double; scale is the population standard deviation, 1 for a constant column); "
      "rows: of these rows only (an index array, as over x[rows] without copying them).");
}

std::string path_from(py::handle path) {
  return py::bytes(py::module_::import("os").attr("fsencode")(path));
}

}  // namespace nobias::python
