// Files through the C++ code: .npy arrays, weight directories, checkpoints. The Python side
// never parses or writes these formats itself, so the two cannot drift apart.
#include <pybind11/stl.h>

#include <string>
#include <utility>
#include <vector>

#include "any.hpp"
#include "arrays.hpp"
#include "bindings.hpp"
#include "interrupt.hpp"
#include "nobias/checkpoint.hpp"
#include "nobias/names.hpp"
#include "nobias/npy.hpp"
#include "nobias/weights_io.hpp"
#include "numbers.hpp"

namespace nobias::python {
namespace {

template <class T>
py::list arrays_of(std::vector<Matrix<T>>&& matrices) {
  py::list arrays;
  for (auto& m : matrices)
    arrays.append(take<T>(std::move(m)));
  return arrays;
}

template <class T>
py::list views_of(std::vector<Matrix<T>>& matrices, py::handle owner) {
  py::list arrays;
  for (auto& m : matrices)
    arrays.append(view_of<T>(m.view(), owner));
  return arrays;
}

// Weights to save: a Network's own (copied under its lock), or a list of arrays.
template <class T>
std::vector<Matrix<T>> weights_to_save(py::handle source) {
  std::vector<Matrix<T>> weights;
  if (py::isinstance<AnyNetwork>(source)) {
    auto& net = source.cast<AnyNetwork&>();
    Exclusive busy(net);
    weights = net.get<T>().weights();
  } else {
    const auto list = py::reinterpret_borrow<py::sequence>(source);
    for (std::size_t k = 0; k < list.size(); ++k) {
      weights.push_back(Matrix<T>::copy_of(input_view<T>(list[k], "w" + std::to_string(k + 1))));
    }
  }
  return weights;
}

void save_weights_any(py::handle dir, py::handle source) {
  const std::string path = path_from(dir);
  Dtype dtype;
  if (py::isinstance<AnyNetwork>(source)) {
    dtype = source.cast<AnyNetwork&>().dtype();
  } else if (py::isinstance<py::sequence>(source) && !py::isinstance<py::str>(source)) {
    const auto list = py::reinterpret_borrow<py::sequence>(source);
    dtype = list.size() == 0 ? Dtype::F32 : array_dtype(list[0], "w1");
  } else {
    throw py::type_error("save_weights: expected a Network or a list of arrays, got " +
                         std::string(py::str(py::type::handle_of(source).attr("__name__"))));
  }
  dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    std::vector<Matrix<T>> weights = weights_to_save<T>(source);
    py::gil_scoped_release nogil;
    save_weights<T>(path, weights);
  });
}

template <class T>
py::object load_checkpoint_typed(const std::string& path) {
  Checkpoint<T> checkpoint;
  {
    py::gil_scoped_release nogil;
    checkpoint = load_checkpoint<T>(path);
  }
  return py::cast(std::make_unique<AnyCheckpoint>(std::move(checkpoint)));
}

}  // namespace

void bind_io(py::module_& m) {
  const py::object float32 = py::module_::import("numpy").attr("float32");

  m.def(
      "read_npy",
      [](py::handle path, py::handle dtype) {
        const std::string p = path_from(path);
        return dispatch(dtype_from(dtype), [&](auto tag) {
          using T = decltype(tag);
          Matrix<T> matrix;
          {
            py::gil_scoped_release nogil;
            matrix = read_npy<T>(p);
          }
          return take<T>(std::move(matrix));
        });
      },
      py::arg("path"), py::arg("dtype") = float32,
      "A 2-D '<f4' or '<f8' .npy file as an array of dtype (converted as the C++ read_npy does).");
  m.def(
      "write_npy",
      [](py::handle path, py::handle array) {
        const std::string p = path_from(path);
        output_format("write_npy", p, {".npy"});
        dispatch(array_dtype(array, "array"), [&](auto tag) {
          using T = decltype(tag);
          const MatrixView<const T> view = input_view<T>(array, "array");
          py::gil_scoped_release nogil;
          const PythonSignals ctrl_c;  // into a FIFO whose reader is slow or absent, too
          write_npy<T>(p, view);
        });
      },
      py::arg("path"), py::arg("array"),
      "Writes a 2-D float32/float64 array atomically to a .npy path (a name without an extension, "
      "as a device or FIFO, too; another extension is a ValueError). Ctrl-C stops it "
      "(KeyboardInterrupt), the file left as it was.");
  m.def("save_weights", &save_weights_any, py::arg("dir"), py::arg("weights"),
        "Writes w1.npy..wK.npy of a Network (or of a list of arrays) into dir.");
  m.def(
      "load_weights",
      [](py::handle dir, py::handle dtype) {
        const std::string p = path_from(dir);
        return dispatch(dtype_from(dtype), [&](auto tag) {
          using T = decltype(tag);
          std::vector<Matrix<T>> weights;
          {
            py::gil_scoped_release nogil;
            weights = load_weights<T>(p);
          }
          return arrays_of<T>(std::move(weights));
        });
      },
      py::arg("dir"), py::arg("dtype") = float32,
      "[w1, ..., wK] from dir (float32 or float64 files, converted to dtype).");

  py::class_<TrainingProgress>(m, "TrainingProgress",
                               "Where fit() stands and how it runs; saved with a checkpoint.")
      .def(py::init([](const WholeNumber& epochs_done, const WholeNumber& seed,
                       const WholeNumber& batch_size, const Flag& shuffle,
                       const std::string& reduction) {
             return TrainingProgress{whole_number(epochs_done, "epochs_done"),
                                     whole_number(seed, "seed"),
                                     whole_number(batch_size, "batch_size"),
                                     flag(shuffle, "shuffle"),
                                     reduction_from(reduction),
                                     EarlyStoppingState{},
                                     std::string()};
           }),
           py::kw_only(), py::arg("epochs_done") = 0, py::arg("seed") = 0,
           py::arg("batch_size") = 0, py::arg("shuffle") = Flag{py::bool_(true)},
           py::arg("reduction") = to_name(Reduction::Sum))
      .def_readonly("epochs_done", &TrainingProgress::epochs_done)
      .def_readonly("seed", &TrainingProgress::seed)
      .def_readonly("batch_size", &TrainingProgress::batch_size)
      .def_readonly("shuffle", &TrainingProgress::shuffle)
      .def_property_readonly("reduction",
                             [](const TrainingProgress& p) { return to_name(p.reduction); })
      .def("__reduce__", &refuse_pickling);

  py::class_<AnyCheckpoint>(m, "Checkpoint", "A checkpoint's state, as load_checkpoint read it.")
      .def_property_readonly("weights",
                             [](py::object self) {
                               auto& c = self.cast<AnyCheckpoint&>();
                               return dispatch(c.dtype(), [&](auto tag) {
                                 return views_of(c.get<decltype(tag)>().weights, self);
                               });
                             })
      .def_property_readonly("first",
                             [](py::object self) {
                               auto& c = self.cast<AnyCheckpoint&>();
                               return dispatch(c.dtype(), [&](auto tag) {
                                 return views_of(c.get<decltype(tag)>().first, self);
                               });
                             })
      .def_property_readonly("second",
                             [](py::object self) {
                               auto& c = self.cast<AnyCheckpoint&>();
                               return dispatch(c.dtype(), [&](auto tag) {
                                 return views_of(c.get<decltype(tag)>().second, self);
                               });
                             })
      .def_property_readonly("optimizer",
                             [](AnyCheckpoint& c) {
                               return dispatch(c.dtype(), [&](auto tag) {
                                 return config_dict(c.get<decltype(tag)>().optimizer);
                               });
                             })
      .def_property_readonly("optimizer_steps",
                             [](AnyCheckpoint& c) {
                               return dispatch(c.dtype(), [&](auto tag) {
                                 return c.get<decltype(tag)>().optimizer_steps;
                               });
                             })
      .def_property_readonly(
          "progress",
          [](AnyCheckpoint& c) {
            return dispatch(c.dtype(), [&](auto tag) { return c.get<decltype(tag)>().progress; });
          })
      .def_property_readonly(
          "trained_dtype",
          [](AnyCheckpoint& c) {
            return dispatch(c.dtype(), [&](auto tag) { return c.get<decltype(tag)>().dtype; });
          },
          "\"f32\" or \"f64\": what the run the checkpoint comes from trained in.")
      .def_property_readonly("dtype", [](AnyCheckpoint& c) { return numpy_dtype(c.dtype()); })
      .def("__reduce__", &refuse_pickling);

  m.def(
      "save_checkpoint",
      [](py::handle dir, AnyNetwork& network, AnyOptimizer& optimizer,
         const TrainingProgress& progress) {
        require_same_dtype(optimizer, network, "save_checkpoint");
        const std::string p = path_from(dir);
        dispatch(network.dtype(), [&](auto tag) {
          using T = decltype(tag);
          Exclusive busy(network, optimizer);
          save_checkpoint<T>(p, network.get<T>(), optimizer.get<T>(), progress);
        });
      },
      py::arg("dir"), py::arg("network"), py::arg("optimizer"), py::arg("progress"),
      "Writes a new state into dir (created if missing) and makes it current.");
  m.def(
      "load_checkpoint",
      [](py::handle dir, py::handle dtype) {
        const std::string p = path_from(dir);
        return dispatch(dtype_from(dtype),
                        [&](auto tag) { return load_checkpoint_typed<decltype(tag)>(p); });
      },
      py::arg("dir"), py::arg("dtype") = float32,
      "The current state of a checkpoint directory, its arrays converted to dtype.");
  m.def(
      "restore_optimizer",
      [](AnyOptimizer& optimizer, AnyCheckpoint& checkpoint) {
        if (optimizer.dtype() != checkpoint.dtype()) {
          throw py::type_error(
              std::string("restore_optimizer: the optimizer is ") + numpy_name(optimizer.dtype()) +
              " but the checkpoint was loaded as " + numpy_name(checkpoint.dtype()));
        }
        dispatch(optimizer.dtype(), [&](auto tag) {
          using T = decltype(tag);
          Exclusive busy(optimizer);
          restore_optimizer<T>(optimizer.get<T>(), checkpoint.get<T>());
        });
      },
      py::arg("optimizer"), py::arg("checkpoint"),
      "Puts a checkpoint's optimizer state (steps, moments) into optimizer.");
}

}  // namespace nobias::python
