// nobias.Optimizer: SGD, Momentum (optionally Nesterov) and Adam, as OptimizerConfig has them,
// for the dtype of the network it is created for.
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "any.hpp"
#include "arrays.hpp"
#include "bindings.hpp"
#include "nobias/names.hpp"
#include "nobias/optimizer.hpp"
#include "numbers.hpp"

namespace nobias::python {
namespace {

template <class T>
double step(AnyOptimizer& self, AnyNetwork& net, py::handle x, py::handle y,
            const std::string& reduction) {
  const MatrixView<const T> xv = input_view<T>(x, "x"), yv = input_view<T>(y, "y");
  const Reduction r = reduction_from(reduction);
  Exclusive busy(net, self);
  return self.get<T>().step(net.get<T>(), xv, yv, r);
}

// The optimizer's moments as read-only views of its own buffers (base: the optimizer).
// Read-only: a moment replaced or reshaped from outside would corrupt the next step; a state
// is put back with restore, which checks it.
template <class T>
py::list moments(py::object self, bool first) {
  auto& any = self.cast<AnyOptimizer&>();
  OptimizerState<T> state;
  {
    Exclusive busy(any);
    state = any.get<T>().state();
  }
  py::list views;
  for (const MatrixView<const T>& m : first ? state.first : state.second) {
    views.append(view_of<const T>(m, self));
  }
  return views;
}

template <class T>
std::vector<Matrix<T>> copies_of(const py::sequence& arrays, const char* what) {
  std::vector<Matrix<T>> copies;
  for (std::size_t k = 0; k < arrays.size(); ++k) {
    copies.push_back(Matrix<T>::copy_of(input_view<T>(arrays[k], what + std::to_string(k + 1))));
  }
  return copies;
}

template <class T>
void restore(AnyOptimizer& self, const std::string& kind, std::uint64_t steps,
             const py::sequence& first, const py::sequence& second) {
  const OptimizerKind k = parse_name<OptimizerKind>(kind, "kind");
  const std::vector<Matrix<T>> f = copies_of<T>(first, "first"), s = copies_of<T>(second, "second");
  Exclusive busy(self);
  self.get<T>().restore(k, steps, f, s);
}

// What pickle keeps: (dtype, widths, config, steps, first, second), the moments copied.
template <class T>
py::tuple pickled_state(AnyOptimizer& self) {
  OptimizerConfig config;
  std::uint64_t steps = 0;
  std::vector<Matrix<T>> first, second;
  {
    Exclusive busy(self);
    const Optimizer<T>& optimizer = self.get<T>();
    config = optimizer.config();
    const OptimizerState<T> state = optimizer.state();
    steps = state.steps;
    for (const MatrixView<const T>& m : state.first)
      first.push_back(Matrix<T>::copy_of(m));
    for (const MatrixView<const T>& m : state.second)
      second.push_back(Matrix<T>::copy_of(m));
  }
  py::list first_arrays, second_arrays;
  for (auto& m : first)
    first_arrays.append(take<T>(std::move(m)));
  for (auto& m : second)
    second_arrays.append(take<T>(std::move(m)));
  return py::make_tuple(numpy_name(self.dtype()), self.widths(), config_dict(config), steps,
                        first_arrays, second_arrays);
}

template <class T>
std::unique_ptr<AnyOptimizer> make_optimizer(const OptimizerConfig& config, const Network<T>& net) {
  return std::make_unique<AnyOptimizer>(Optimizer<T>(config, net), net.widths());
}

// The inverse of config_dict.
OptimizerConfig config_from(const py::dict& d) {
  OptimizerConfig c;
  c.kind = parse_name<OptimizerKind>(d["kind"].cast<std::string>(), "kind");
  c.learning_rate = d["learning_rate"].cast<double>();
  c.momentum = d["momentum"].cast<double>();
  c.nesterov = flag(Flag{py::object(d["nesterov"])}, "nesterov");
  c.beta1 = d["beta1"].cast<double>();
  c.beta2 = d["beta2"].cast<double>();
  c.epsilon = d["epsilon"].cast<double>();
  c.weight_decay = d["weight_decay"].cast<double>();
  return c;
}

// An optimizer rebuilt from pickled_state: sized for a network of those widths, the state put
// back through restore (which checks it in full).
std::unique_ptr<AnyOptimizer> from_pickled_state(const py::tuple& state) {
  if (state.size() != 6) throw py::value_error("Optimizer: bad pickled state");
  const auto widths = state[1].cast<std::vector<std::size_t>>();
  const OptimizerConfig config = config_from(state[2].cast<py::dict>());
  const auto steps = state[3].cast<std::uint64_t>();
  const auto first = state[4].cast<py::sequence>(), second = state[5].cast<py::sequence>();
  return dispatch(dtype_from(state[0]), [&](auto tag) {
    using T = decltype(tag);
    std::unique_ptr<AnyOptimizer> result = make_optimizer<T>(config, Network<T>(widths));
    restore<T>(*result, to_name(config.kind), steps, first, second);
    return result;
  });
}

}  // namespace

py::dict config_dict(const OptimizerConfig& c) {
  py::dict d;
  d["kind"] = to_name(c.kind);  // "sgd", "momentum", "adam"
  d["learning_rate"] = c.learning_rate;
  d["momentum"] = c.momentum;
  d["nesterov"] = c.nesterov;
  d["beta1"] = c.beta1;
  d["beta2"] = c.beta2;
  d["epsilon"] = c.epsilon;
  d["weight_decay"] = c.weight_decay;
  return d;
}

void bind_optimizer(py::module_& m) {
  const OptimizerConfig defaults;
  py::class_<AnyOptimizer>(m, "Optimizer", R"doc(
How a gradient becomes a change of the weights, for networks of one dtype and shape:

  sgd        w <- w - lr (g + decay w)
  momentum   v <- mu v + (g + decay w);  w <- w - lr v      (nesterov: w <- w - lr (g' + mu v))
  adam       bias-corrected moments of g' = g + decay w

Optimizer(network, kind="sgd", learning_rate=1e-3, momentum=0.9, nesterov=False, beta1=0.9,
beta2=0.999, epsilon=1e-8, weight_decay=0.0) sizes its state for network.
)doc")
      .def(py::init([](AnyNetwork& net, const std::string& kind, const RealNumber& learning_rate,
                       const RealNumber& momentum, const Flag& nesterov, const RealNumber& beta1,
                       const RealNumber& beta2, const RealNumber& epsilon,
                       const RealNumber& weight_decay) {
             OptimizerConfig config;
             config.kind = parse_name<OptimizerKind>(kind, "kind");
             config.learning_rate = real_number(learning_rate, "learning_rate");
             config.momentum = real_number(momentum, "momentum");
             config.nesterov = flag(nesterov, "nesterov");
             config.beta1 = real_number(beta1, "beta1");
             config.beta2 = real_number(beta2, "beta2");
             config.epsilon = real_number(epsilon, "epsilon");
             config.weight_decay = real_number(weight_decay, "weight_decay");
             return dispatch(net.dtype(), [&](auto tag) {
               using T = decltype(tag);
               Exclusive busy(net);
               return make_optimizer<T>(config, net.get<T>());
             });
           }),
           py::arg("network"), py::kw_only(), py::arg("kind") = to_name(defaults.kind),
           py::arg("learning_rate") = defaults.learning_rate,
           py::arg("momentum") = defaults.momentum,
           py::arg("nesterov") = Flag{py::bool_(defaults.nesterov)},
           py::arg("beta1") = defaults.beta1, py::arg("beta2") = defaults.beta2,
           py::arg("epsilon") = defaults.epsilon, py::arg("weight_decay") = defaults.weight_decay)
      .def(
          "step",
          [](AnyOptimizer& self, AnyNetwork& net, py::handle x, py::handle y,
             const std::string& reduction) {
            require_same_dtype(self, net, "Optimizer.step");
            return dispatch(self.dtype(), [&](auto tag) {
              return step<decltype(tag)>(self, net, x, y, reduction);
            });
          },
          py::arg("network"), py::arg("x"), py::arg("y"),
          py::arg("reduction") = to_name(Reduction::Sum),
          "One update of network's weights from (x, y); returns the loss before it.")
      .def_property_readonly("dtype", [](AnyOptimizer& self) { return numpy_dtype(self.dtype()); })
      .def_property_readonly(
          "config",
          [](AnyOptimizer& self) {
            return dispatch(self.dtype(), [&](auto tag) {
              return config_dict(self.get<decltype(tag)>().config());
            });
          },
          "The settings as a dict: Optimizer(network, **optimizer.config) makes a fresh one.")
      .def_property_readonly("steps_taken",
                             [](AnyOptimizer& self) {
                               return dispatch(self.dtype(), [&](auto tag) {
                                 return self.get<decltype(tag)>().steps_taken();
                               });
                             })
      .def(
          "state",
          [](py::object self) {
            const Dtype dtype = self.cast<AnyOptimizer&>().dtype();
            py::dict d;
            d["kind"] = self.attr("config")["kind"];
            d["steps"] = self.attr("steps_taken");
            d["first"] =
                dispatch(dtype, [&](auto tag) { return moments<decltype(tag)>(self, true); });
            d["second"] =
                dispatch(dtype, [&](auto tag) { return moments<decltype(tag)>(self, false); });
            return d;
          },
          "What a checkpoint keeps: dict(kind, steps, first, second), the moments as read-only "
          "views. restore(**optimizer.state()) on another optimizer copies it.")
      .def(
          "restore",
          [](AnyOptimizer& self, const std::string& kind, const WholeNumber& steps,
             const py::sequence& first, const py::sequence& second) {
            const std::uint64_t n = whole_number(steps, "steps");
            dispatch(self.dtype(),
                     [&](auto tag) { restore<decltype(tag)>(self, kind, n, first, second); });
          },
          py::arg("kind"), py::arg("steps"), py::arg("first"), py::arg("second"),
          "Puts a saved state back (copied), checked in full first: the same kind, moments shaped "
          "for the same network, finite; on error the optimizer is as it was.")
      .def_property_readonly(
          "first",
          [](py::object self) {
            return dispatch(self.cast<AnyOptimizer&>().dtype(),
                            [&](auto tag) { return moments<decltype(tag)>(self, true); });
          },
          "Momentum's velocity or Adam's first moments, one read-only view per layer.")
      .def_property_readonly(
          "second",
          [](py::object self) {
            return dispatch(self.cast<AnyOptimizer&>().dtype(),
                            [&](auto tag) { return moments<decltype(tag)>(self, false); });
          },
          "Adam's second moments, one read-only view per layer.")
      .def(py::pickle(
          [](AnyOptimizer& self) {
            return dispatch(self.dtype(),
                            [&](auto tag) { return pickled_state<decltype(tag)>(self); });
          },
          &from_pickled_state))
      .def("__reduce__", &reduce_by_state);
}

}  // namespace nobias::python
