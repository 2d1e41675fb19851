// The compiled half of the package nobias. Everything here is re-exported by nobias/__init__.py,
// which adds the scikit-learn-style estimators.
#include <string>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "any.hpp"
#include "arrays.hpp"
#include "bindings.hpp"
#include "nobias/blas.hpp"
#include "nobias/names.hpp"
#include "nobias/threads.hpp"
#include "numbers.hpp"

namespace nobias::python {

Reduction reduction_from(const std::string& name) {
  return parse_name<Reduction>(name, "reduction");
}

const char* reduction_name(Reduction reduction) {
  return to_name(reduction);
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
  np::bind_model(m);
  m.def(
      "set_threads",
      [](const np::WholeNumber& threads) {
        const std::uint64_t n = np::whole_number(threads, "threads");
        if (n > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
          throw nobias::ValueError("threads: expected a whole number <= " +
                                   std::to_string(std::numeric_limits<int>::max()) + ", got " +
                                   std::to_string(n));
        }
        nobias::set_threads(static_cast<int>(n));
      },
      np::py::arg("threads"),
      "0: every CPU (the default); n >= 1: at most n threads per training step. "
      "Results do not depend on it.");
  m.def("threads_setting", &nobias::threads_setting, "0 while automatic");
  m.def("available_threads", &nobias::available_threads);
  m.def("blas_has_thread_control", &nobias::blas_has_thread_control);
  // For the tests: the view every call builds of an input, as (address, rows, cols, ld).
  m.def("_input_view", [](np::py::handle array) {
    return np::dispatch(np::array_dtype(array, "array"), [&](auto tag) {
      const auto view = np::input_view<decltype(tag)>(array, "array");
      return np::py::make_tuple(reinterpret_cast<std::uintptr_t>(view.data()), view.rows(),
                                view.cols(), view.ld());
    });
  });
  // For bench/python_step.py: the same train_step, `steps` times in a C++ loop with the GIL
  // released, so that the binding's own cost per call can be measured in one process.
  m.def("_train_steps_seconds",
        [](np::AnyNetwork& net, np::py::handle x, np::py::handle y, double lr, std::size_t steps) {
          return np::dispatch(net.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const auto xv = np::input_view<T>(x, "x");
            const auto yv = np::input_view<T>(y, "y");
            np::Exclusive busy(net);
            auto& network = net.get<T>();
            const auto start = std::chrono::steady_clock::now();
            for (std::size_t i = 0; i < steps; ++i)
              network.train_step(xv, yv, static_cast<T>(lr));
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          });
        });
  m.def("blas_description", &nobias::blas_description, "What computes the products.");
}
