// What the files of the module _nobias share: one bind_* function per concern, called from
// module.cpp, and the names those concerns hand each other.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "nobias/network.hpp"
#include "nobias/optimizer.hpp"

namespace nobias::python {

namespace py = pybind11;

void bind_errors(py::module_& m);     // errors.cpp: nobias.Error and its subclasses
void bind_network(py::module_& m);    // network.cpp: Network
void bind_optimizer(py::module_& m);  // optimizer.cpp: Optimizer
void bind_fit(py::module_& m);        // fit.cpp: fit, EpochReport, StepReport
void bind_io(py::module_& m);         // io.cpp: .npy, weights, checkpoints
void bind_model(py::module_& m);      // model.cpp: model directories, shuffled_order

// A path argument (str, bytes or os.PathLike) as the bytes the file system gets: os.fsencode,
// so that a bytes path is its bytes, not its repr, and any str os.fsdecode gave round-trips;
// TypeError for anything else (model.cpp).
std::string path_from(py::handle path);

// "sum" / "mean", as the command line spells them; ValueError for anything else.
Reduction reduction_from(const std::string& name);
const char* reduction_name(Reduction reduction);

// An optimizer's settings as the keyword arguments of nobias.Optimizer (optimizer.cpp).
py::dict config_dict(const OptimizerConfig& config);

// A 1-D sequence of numbers (one statistic per column), or None: none (model.cpp).
std::vector<double> statistics_from(py::handle values, const char* what);
// A 1-D integer array of row indices (>= 0), or None: nullopt (model.cpp). An empty sequence
// is no rows (the caller refuses it); TypeError for another dtype or rank, ValueError for a
// negative index.
std::optional<std::vector<std::size_t>> row_indices(py::handle rows, const char* what);

}  // namespace nobias::python
