// nobias.fit: the library's training driver (nobias::fit), the GIL released throughout; the
// policy (early stopping, checkpoints, the final divergence check) is the driver's.
// Python callbacks (per epoch, optionally per step) run with the GIL taken back. Ctrl-C is
// noticed between steps: the interrupted fit raises KeyboardInterrupt with the network at
// its last completed step.
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "any.hpp"
#include "arrays.hpp"
#include "bindings.hpp"
#include "nobias/checkpoint.hpp"
#include "nobias/error.hpp"
#include "nobias/fit.hpp"
#include "nobias/targets.hpp"
#include "numbers.hpp"

namespace nobias::python {
namespace {

// Signals are looked for at a step's end, at most this often without a per-step callback:
// taking the GIL back can wait for another busy Python thread (up to the interpreter's 5 ms
// switch interval), which must not happen at every step of a run of small batches.
constexpr auto kSignalInterval = std::chrono::milliseconds(1);

struct FitArguments {
  FitOptions options;
  py::object on_epoch, on_step;
  py::object resume;  // None, a Checkpoint, or a checkpoint directory
  // Rows of x and y read where they lie: those that train and validate (None: all of them, and
  // val_x/val_y), standardized by these statistics as they are read (None: as they are).
  py::object rows, val_rows, x_mean, x_scale, y_mean, y_scale;
};

// The checkpoint fit(resume=...) continues: the one given (of the network's dtype), or the one
// loaded from the directory into `loaded`. The network must hold its weights, bit for bit: a
// run continued from other weights would not be the one the checkpoint comes from.
template <class T>
const Checkpoint<T>& checkpoint_to_resume(py::handle resume, Network<T>& net,
                                          std::optional<Checkpoint<T>>& loaded) {
  const Checkpoint<T>* checkpoint = nullptr;
  if (py::isinstance<AnyCheckpoint>(resume)) {
    AnyCheckpoint& given = resume.cast<AnyCheckpoint&>();
    if (given.dtype() != dtype_of<T>()) {
      throw py::value_error(std::string("fit: resume is a ") + to_name(given.dtype()) +
                            " checkpoint but the network is " + to_name(dtype_of<T>()) +
                            "; load it with the network's dtype");
    }
    checkpoint = &given.template get<T>();
  } else {
    const std::string dir = path_from(resume);
    py::gil_scoped_release nogil;
    loaded = load_checkpoint<T>(dir);
    checkpoint = &*loaded;
  }
  const std::vector<Matrix<T>>& weights = net.weights();
  bool same = weights.size() == checkpoint->weights.size();
  for (std::size_t k = 0; same && k < weights.size(); ++k) {
    const Matrix<T>& a = weights[k];
    const Matrix<T>& b = checkpoint->weights[k];
    same = a.rows() == b.rows() && a.cols() == b.cols() &&
           std::memcmp(a.data(), b.data(), a.rows() * a.cols() * sizeof(T)) == 0;
  }
  if (!same) {
    throw py::value_error(
        "fit: the network does not hold the checkpoint's weights; start from "
        "nobias.resume(dir), which builds the network and optimizer the checkpoint holds");
  }
  return *checkpoint;
}

// A checkpoint refused as other data, written by fit(val_rows=...) without rows= before
// 2026-12-07, when that trained on every row of x, the validation rows' too. The checkpoint's
// fingerprint (not the message's words) says whether that is the case: if it is every row of
// x, the refusal stands, with the way to resume added.
template <class T>
void rethrow_with_rows_advice(const ResumeMismatch& e, const FitOptions& options,
                              const RowSource<T>& every_row) {
  if (options.resumed_data.rows != every_row.rows()) return;
  const DataFingerprint all = fingerprint_data<T>(every_row, options.checkpoint.data_source);
  if (!data_difference(options.resumed_data, all).empty()) return;
  throw ValueError(std::string(e.what()) + ". The checkpoint trained on every row of x (all " +
                   std::to_string(every_row.rows()) +
                   ", val_rows' too), as fit(val_rows=...) without rows= did before 2026-12-07: "
                   "to resume it, give rows=numpy.arange(len(x)), its training rows then");
}

template <class T>
py::list fit_typed(AnyNetwork& network, AnyOptimizer& optimizer, py::handle x, py::handle y,
                   py::handle val_x, py::handle val_y, const FitArguments& a) {
  const MatrixView<const T> xv = input_view<T>(x, "x"), yv = input_view<T>(y, "y");
  MatrixView<const T> vxv, vyv;
  if (val_x.is_none() != val_y.is_none()) {
    throw py::value_error("val_x and val_y: expected both or neither, got only " +
                          std::string(val_x.is_none() ? "val_y" : "val_x"));
  }
  if (!val_x.is_none()) {
    vxv = input_view<T>(val_x, "val_x");
    vyv = input_view<T>(val_y, "val_y");
  }
  std::optional<std::vector<std::size_t>> rows = row_indices(a.rows, "fit: rows");
  bool rows_held_out = false;  // no rows= given: rows made here, every row of x but val_rows
  const std::optional<std::vector<std::size_t>> val_rows = row_indices(a.val_rows, "fit: val_rows");
  if (val_rows && !val_x.is_none()) {
    throw py::value_error("val_rows and val_x/val_y: expected one validation set, got both");
  }
  Standardization stats;
  stats.x_mean = statistics_from(a.x_mean, "fit: x_mean");
  stats.x_scale = statistics_from(a.x_scale, "fit: x_scale");
  stats.y_mean = statistics_from(a.y_mean, "fit: y_mean");
  stats.y_scale = statistics_from(a.y_scale, "fit: y_scale");
  if (!stats.empty() && !val_x.is_none()) {
    throw ValueError(
        "fit: x_mean/x_scale and y_mean/y_scale standardize the rows of x and y as they are "
        "read, but val_x/val_y would validate as given, unstandardized; hold the validation rows "
        "out of x with val_rows= (standardized alike), or standardize x, y, val_x and val_y "
        "yourself and give no statistics");
  }
  // In fit's words, before the validation rows are read (RowSource's own words name no keyword).
  check_standardization(stats, xv.cols(), yv.cols(), "fit");
  const Standardization* standardization = stats.empty() ? nullptr : &stats;
  if (val_rows) {
    if (val_rows->empty()) throw ShapeError("fit: val_rows lists no row");
    for (std::size_t p = 0; p < val_rows->size(); ++p) {
      if ((*val_rows)[p] >= xv.rows()) {
        throw ValueError("fit: val_rows position " + std::to_string(p) + " names row " +
                         std::to_string((*val_rows)[p]) + ", but x has " +
                         std::to_string(xv.rows()) + " rows");
      }
    }
    // val_rows holds rows out of x: without rows=, the others train (in order), not every row,
    // or the validation loss would be measured on rows that train.
    if (!rows) {
      rows_held_out = true;
      std::vector<bool> held(xv.rows(), false);
      for (const std::size_t r : *val_rows)
        held[r] = true;
      rows.emplace();
      for (std::size_t r = 0; r < xv.rows(); ++r)
        if (!held[r]) rows->push_back(r);
      if (rows->empty()) {
        throw ValueError("fit: val_rows holds out all " + std::to_string(xv.rows()) +
                         " rows of x; none is left to train on (rows= names the rows that train)");
      }
    }
  }
  // The validation rows of x and y, read where they lie: no copy of them.
  std::optional<RowSource<T>> validation;
  if (val_rows) validation.emplace(xv, yv, &*val_rows, standardization);
  Network<T>& net = network.get<T>();
  Optimizer<T>& opt = optimizer.get<T>();

  FitOptions options = a.options;
  std::optional<Checkpoint<T>> loaded;
  const Checkpoint<T>* resumed = nullptr;
  if (!a.resume.is_none()) {
    if (options.first_epoch != 1) {
      throw py::value_error("fit: first_epoch=" + std::to_string(options.first_epoch) +
                            " and resume: give one; resume continues after the checkpoint's "
                            "last epoch");
    }
    resumed = &checkpoint_to_resume<T>(a.resume, net, loaded);
    // Every setting compared with the first run's (ResumeMismatch names the one that differs),
    // the optimizer's state restored, the data and early stopping's account to continue.
    resume(*resumed, opt, options);
  }
  // Without a callback of the user's, the hook is a poll for signals, at most every
  // kSignalInterval: the driver then skips it (and letting signals in) between polls.
  if (a.on_step.is_none()) options.on_step_every = kSignalInterval;
  options.on_step = [&](const StepReport& report) {
    py::gil_scoped_acquire gil;
    if (!a.on_step.is_none()) a.on_step(report);
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  };
  options.on_epoch = [&](const EpochReport& report) {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (a.on_epoch.is_none()) return true;
    // Only an explicit False stops: a callback that returns nothing continues.
    return !a.on_epoch(report).is(py::bool_(false));
  };

  FitResult fitted;
  {
    Exclusive busy(network, optimizer);
    const Training training(network, optimizer);  // a callback of another fit() won't wait
    const FitData<T> data{xv,
                          yv,
                          vxv,
                          vyv,
                          resumed ? &resumed->best_weights : nullptr,
                          rows ? &*rows : nullptr,
                          standardization,
                          validation ? &*validation : nullptr};
    try {
      fitted = fit<T>(net, opt, data, options);
    } catch (const ResumeMismatch& e) {
      if (e.setting() == "data" && rows_held_out) {
        rethrow_with_rows_advice<T>(e, options, RowSource<T>(xv, yv, nullptr, standardization));
      }
      throw;
    }
  }
  py::list result;
  for (const EpochReport& r : fitted.epochs)
    result.append(r);
  return result;
}

}  // namespace

void bind_fit(py::module_& m) {
  py::class_<EpochReport>(m, "EpochReport", "What one epoch of fit() did.")
      .def_readonly("epoch", &EpochReport::epoch)
      .def_readonly("steps", &EpochReport::steps)
      .def_readonly("train_loss", &EpochReport::train_loss)
      .def_readonly("validation_loss", &EpochReport::validation_loss)
      .def_readonly("seconds", &EpochReport::seconds)
      .def_readonly("samples_per_second", &EpochReport::samples_per_second)
      .def_readonly("best_epoch", &EpochReport::best_epoch)
      .def_readonly("best_validation_loss", &EpochReport::best_validation_loss)
      .def_readonly("epochs_without_improvement", &EpochReport::epochs_without_improvement)
      .def_readonly("stops", &EpochReport::stops)
      .def("__reduce__", &refuse_pickling)
      .def("__repr__", [](const EpochReport& r) {
        return "EpochReport(epoch=" + std::to_string(r.epoch) +
               ", steps=" + std::to_string(r.steps) +
               ", train_loss=" + std::string(py::repr(py::float_(r.train_loss))) +
               ", validation_loss=" + std::string(py::repr(py::float_(r.validation_loss))) + ")";
      });
  py::class_<StepReport>(m, "StepReport", "What one step of fit() did.")
      .def_readonly("epoch", &StepReport::epoch)
      .def_readonly("step", &StepReport::step)
      .def_readonly("steps_per_epoch", &StepReport::steps_per_epoch)
      .def_readonly("rows_done", &StepReport::rows_done)
      .def_readonly("loss", &StepReport::loss)
      .def("__reduce__", &refuse_pickling);

  const FitOptions defaults;
  m.def(
      "fit",
      [](AnyNetwork& network, AnyOptimizer& optimizer, py::handle x, py::handle y,
         const WholeNumber& epochs, const WholeNumber& batch_size, const Flag& shuffle,
         const WholeNumber& seed, const std::string& reduction, const WholeNumber& first_epoch,
         py::object on_epoch, py::handle val_x, py::handle val_y, py::object on_step,
         py::object checkpoint, const WholeNumber& checkpoint_every, const WholeNumber& patience,
         const RealNumber& tolerance, py::object resume, py::object rows, py::object val_rows,
         py::object x_mean, py::object x_scale, py::object y_mean, py::object y_scale) {
        require_same_dtype(optimizer, network, "fit");
        FitArguments a;
        a.options.epochs = whole_number(epochs, "epochs");
        a.options.first_epoch = whole_number(first_epoch, "first_epoch");
        a.options.batch_size = whole_number(batch_size, "batch_size");
        a.options.shuffle = flag(shuffle, "shuffle");
        a.options.seed = whole_number(seed, "seed");
        a.options.reduction = reduction_from(reduction);
        a.on_epoch = std::move(on_epoch);
        a.on_step = std::move(on_step);
        if (!checkpoint.is_none()) {
          a.options.checkpoint.dir = path_from(checkpoint);
        }
        a.options.checkpoint.every = whole_number(checkpoint_every, "checkpoint_every", 1);
        a.options.early_stopping.patience = whole_number(patience, "patience");
        a.options.early_stopping.tolerance = real_number(tolerance, "tolerance");
        a.resume = std::move(resume);
        a.rows = std::move(rows);
        a.val_rows = std::move(val_rows);
        a.x_mean = std::move(x_mean);
        a.x_scale = std::move(x_scale);
        a.y_mean = std::move(y_mean);
        a.y_scale = std::move(y_scale);
        return dispatch(network.dtype(), [&](auto tag) {
          return fit_typed<decltype(tag)>(network, optimizer, x, y, val_x, val_y, a);
        });
      },
      py::arg("network"), py::arg("optimizer"), py::arg("x"), py::arg("y"), py::kw_only(),
      py::arg("epochs") = defaults.epochs, py::arg("batch_size") = defaults.batch_size,
      py::arg("shuffle") = Flag{py::bool_(defaults.shuffle)}, py::arg("seed") = defaults.seed,
      py::arg("reduction") = "sum", py::arg("first_epoch") = defaults.first_epoch,
      py::arg("on_epoch") = py::none(), py::arg("val_x") = py::none(),
      py::arg("val_y") = py::none(), py::arg("on_step") = py::none(),
      py::arg("checkpoint") = py::none(), py::arg("checkpoint_every") = 1,
      py::arg("patience") = defaults.early_stopping.patience,
      py::arg("tolerance") = defaults.early_stopping.tolerance, py::arg("resume") = py::none(),
      py::arg("rows") = py::none(), py::arg("val_rows") = py::none(),
      py::arg("x_mean") = py::none(), py::arg("x_scale") = py::none(),
      py::arg("y_mean") = py::none(), py::arg("y_scale") = py::none(),
      R"doc(
Trains network on (x, y) with optimizer: epochs first_epoch..epochs of mini-batches of batch_size
rows (0: the whole set), shuffled from (seed, epoch) alone. Returns a list of EpochReport.
on_epoch(report) is called after every epoch; returning False stops. on_step(report) after every
step (costs a GIL round trip per step). checkpoint=DIR saves a resumable state every
checkpoint_every epochs and at the end. patience > 0 (with val_x/val_y or val_rows) stops after that
many epochs without the validation loss falling below the best by more than tolerance, and keeps the
best epoch's weights (each report's best_epoch, stops). A loss past the dtype's range after the last
step raises DivergenceError. Ctrl-C stops between steps with KeyboardInterrupt. A callback may use
the network it trains; a network or optimizer that another thread's fit() is training raises
nobias.ValueError in a callback instead of waiting (docs/python.md). resume=CHECKPOINT (a Checkpoint
of the network's dtype, or its directory) continues the run it comes from, bit for bit: the network
must hold its weights (nobias.resume(dir) builds both), every setting is compared with the first
run's (ResumeMismatch, a nobias.ValueError, names one that differs), and so is the data. Without
copying x: rows=INDICES trains on those rows of x and y only (in that order), val_rows=INDICES
validates on those (instead of val_x/val_y) and, without rows=, holds them out: the other rows of x
train, in order. x_mean, x_scale (and y_mean, y_scale) standardize
the rows of x (and y) that train and validate as they are read, (v - mean) / scale in float64
rounded once to the dtype: the bits of training on a standardized copy (statistics with val_x/val_y
are refused: val_x would validate unstandardized).
)doc");
}

}  // namespace nobias::python
