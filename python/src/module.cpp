// The compiled half of the package nobias. Everything here is re-exported by nobias/__init__.py,
// which adds the scikit-learn-style estimators.
#include <string>

#include "bindings.hpp"
#include "nobias/blas.hpp"

namespace nobias::python {

Reduction reduction_from(const std::string& name) {
  if (name == "sum") return Reduction::Sum;
  if (name == "mean") return Reduction::Mean;
  throw py::value_error("reduction: expected \"sum\" or \"mean\", got \"" + name + "\"");
}

const char* reduction_name(Reduction reduction) {
  return reduction == Reduction::Sum ? "sum" : "mean";
}

}  // namespace nobias::python

PYBIND11_MODULE(_nobias, m) {
  namespace np = nobias::python;
  m.doc() = "nobias: bias-free multilayer perceptrons on BLAS (the compiled module)";
  m.attr("__version__") = NOBIAS_VERSION;
  np::bind_errors(m);
  np::bind_network(m);
  np::bind_optimizer(m);
  np::bind_fit(m);
  np::bind_io(m);
  m.def("set_threads", &nobias::set_threads, np::py::arg("threads"),
        "0: threads chosen per product (the default); n >= 1: every product on n threads.");
  m.def("threads_setting", &nobias::threads_setting, "0 while automatic");
  m.def("available_threads", &nobias::available_threads);
  m.def("blas_has_thread_control", &nobias::blas_has_thread_control);
  m.def("blas_description", &nobias::blas_description, "What computes the products.");
}
