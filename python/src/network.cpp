// nobias.Network: Network<float> or Network<double> behind one Python class, dtype chosen at
// construction. Inputs are views of the caller's arrays, `weights` are views of the network's
// own memory; the computing calls release the GIL.
#include <pybind11/stl.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "any.hpp"
#include "arrays.hpp"
#include "bindings.hpp"
#include "interrupt.hpp"
#include "nobias/init.hpp"
#include "nobias/jacobian.hpp"
#include "nobias/metrics.hpp"
#include "nobias/model.hpp"
#include "nobias/names.hpp"
#include "nobias/network.hpp"
#include "nobias/targets.hpp"
#include "numbers.hpp"

namespace nobias::python {
namespace {

std::vector<std::size_t> widths_from(py::handle widths) {
  if (!py::isinstance<py::sequence>(widths) || py::isinstance<py::str>(widths)) {
    throw py::type_error("widths: expected a sequence of whole numbers (d_in, ..., d_out), got " +
                         std::string(py::str(py::type::handle_of(widths).attr("__name__"))));
  }
  std::vector<std::size_t> values;
  for (py::handle item : py::reinterpret_borrow<py::sequence>(widths)) {
    const std::string name = "widths[" + std::to_string(values.size()) + "]";
    values.push_back(static_cast<std::size_t>(whole_number(item, name, 1)));
  }
  return values;
}

template <class T>
std::unique_ptr<AnyNetwork> from_weights(const py::sequence& weights) {
  std::vector<Matrix<T>> copies;
  for (std::size_t k = 0; k < weights.size(); ++k) {
    copies.push_back(Matrix<T>::copy_of(input_view<T>(weights[k], "w" + std::to_string(k + 1))));
  }
  return std::make_unique<AnyNetwork>(Network<T>(std::move(copies)));
}

template <class T>
py::list weight_views(py::object self) {
  auto& net = self.cast<AnyNetwork&>().get<T>();
  py::list views;
  for (std::size_t k = 0; k < net.layers(); ++k)
    views.append(view_of<T>(net.weight(k), self));
  return views;
}

template <class T>
py::list weight_copies(AnyNetwork& self) {
  std::vector<Matrix<T>> copies;
  {
    Exclusive busy(self);
    copies = self.get<T>().weights();
  }
  py::list arrays;
  for (auto& w : copies)
    arrays.append(take<T>(std::move(w)));
  return arrays;
}

template <class T>
py::array predict(AnyNetwork& self, py::handle x, py::object out, py::handle x_mean,
                  py::handle x_scale) {
  const MatrixView<const T> xv = input_view<T>(x, "x");
  Standardization s;
  s.x_mean = statistics_from(x_mean, "predict: x_mean");
  s.x_scale = statistics_from(x_scale, "predict: x_scale");
  const std::size_t d_in = self.get<T>().input_width(), d_out = self.get<T>().output_width();
  check_standardization(s, d_in, d_out, "predict");
  if (out.is_none()) {
    out = py::array(py::dtype::of<T>(),
                    {static_cast<py::ssize_t>(xv.rows()), static_cast<py::ssize_t>(d_out)});
  }
  const MatrixView<T> ov = output_view<T>(out, "out");
  if (ov.rows() != xv.rows() || ov.cols() != d_out) {  // in predict's words, not predict_with's
    throw ShapeError("predict: out is " + shape_string(ov.rows(), ov.cols()) + ", expected " +
                     shape_string(xv.rows(), d_out));
  }
  {
    Exclusive busy(self);
    const PythonSignals ctrl_c;  // looked for between blocks of rows
    // Up to a block of rows in the network's workspace (repeated calls allocate nothing); past
    // one, in blocks (each standardized as it is read): the memory is the weights, x, out and
    // O(block x widths), not rows x widths; the same bits as one pass.
    predict_into<T>(self.get<T>(), s, xv, ov);
  }
  // As nobias-predict: a NaN or an infinity is refused, naming the row (out holds them).
  require_finite_predictions<T>("predict", ov, xv);
  return py::reinterpret_borrow<py::array>(out);
}

// J(x_row): (d_in, d_out); a 1-D x_row is one row.
template <class T>
py::array jacobian(AnyNetwork& self, py::handle x_row) {
  py::object rows = py::reinterpret_borrow<py::object>(x_row);
  if (py::isinstance<py::array>(rows) && rows.attr("ndim").cast<int>() == 1)
    rows = rows.attr("reshape")(1, -1);  // a view
  const MatrixView<const T> xv = input_view<T>(rows, "x_row");
  Matrix<T> j;
  {
    Exclusive busy(self);
    j = nobias::jacobian(self.get<T>(), xv);
  }
  return take<T>(std::move(j));
}

// J(x_i) of every row: (n, d_in, d_out), the library's (n d_in, d_out) matrix as it stands.
template <class T>
py::array jacobians(AnyNetwork& self, py::handle x) {
  const MatrixView<const T> xv = input_view<T>(x, "x");
  Matrix<T> j;
  {
    Exclusive busy(self);
    j = nobias::jacobians(self.get<T>(), xv);
  }
  const auto n = static_cast<py::ssize_t>(xv.rows()), d_in = static_cast<py::ssize_t>(xv.cols()),
             d_out = static_cast<py::ssize_t>(j.cols());
  return take<T>(std::move(j)).attr("reshape")(n, d_in, d_out);
}

template <class T>
double loss(AnyNetwork& self, py::handle x, py::handle y, const std::string& reduction) {
  const MatrixView<const T> xv = input_view<T>(x, "x"), yv = input_view<T>(y, "y");
  const Reduction r = reduction_from(reduction);
  Exclusive busy(self);
  return self.get<T>().loss(xv, yv, r);
}

template <class T>
py::tuple gradients(AnyNetwork& self, py::handle x, py::handle y, const std::string& reduction) {
  const MatrixView<const T> xv = input_view<T>(x, "x"), yv = input_view<T>(y, "y");
  const Reduction r = reduction_from(reduction);
  Gradients<T> result;
  {
    Exclusive busy(self);
    result = self.get<T>().gradients(xv, yv, r);
  }
  py::list dw;
  for (auto& g : result.dw)
    dw.append(take<T>(std::move(g)));
  return py::make_tuple(result.loss, dw);
}

template <class T>
double train_step(AnyNetwork& self, py::handle x, py::handle y, double lr,
                  const std::string& reduction) {
  const MatrixView<const T> xv = input_view<T>(x, "x"), yv = input_view<T>(y, "y");
  const Reduction r = reduction_from(reduction);
  Exclusive busy(self);
  return self.get<T>().train_step(xv, yv, static_cast<T>(lr), r);
}

std::unique_ptr<AnyNetwork> copy_of(AnyNetwork& self) {
  return dispatch(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    Exclusive busy(self);
    return std::make_unique<AnyNetwork>(Network<T>(self.get<T>()));
  });
}

std::string repr(AnyNetwork& self) {
  const std::vector<std::size_t> widths =
      dispatch(self.dtype(), [&](auto tag) { return self.get<decltype(tag)>().widths(); });
  std::string text = "nobias.Network(widths=[";
  for (std::size_t k = 0; k < widths.size(); ++k) {
    text += (k ? ", " : "") + std::to_string(widths[k]);
  }
  return text + "], dtype=numpy." + numpy_name(self.dtype()) + ")";
}

}  // namespace

std::unique_ptr<AnyNetwork> network_from_weights(const py::sequence& weights) {
  if (weights.size() == 0)
    return std::make_unique<AnyNetwork>(Network<float>(std::vector<Matrix<float>>{}));  // its error
  return dispatch(array_dtype(weights[0], "w1"),
                  [&](auto tag) { return from_weights<decltype(tag)>(weights); });
}

void bind_network(py::module_& m) {
  const py::object float32 = py::module_::import("numpy").attr("float32");
  py::class_<AnyNetwork>(m, "Network", R"doc(
A bias-free multilayer perceptron: h_k = a_{k-1} w_k, ReLU on every hidden layer, a linear
last layer, loss sum (or mean) of squared errors.

Network(widths, seed=0, init="normal", dtype=numpy.float32): widths = [d_in, d_1, ..., d_out];
weights drawn from seed, N(0, 1) ("normal", the derivation's), N(0, 2 / fan_in) ("he"),
N(0, 1 / fan_in) ("lecun"), N(0, 2 / (fan_in + fan_out)) ("glorot") or N(0, 1 / (2 (fan_in +
fan_out))) ("half_glorot").

Arrays passed in are used where they are, never copied or converted: 2-D, of the network's
dtype, each row contiguous (a row stride larger than the width is fine). `weights` are the
network's own memory. A network used from several threads at once serializes the calls.
)doc")
      .def(py::init([](py::handle widths, const WholeNumber& seed, const std::string& init,
                       py::handle dtype) {
             const std::vector<std::size_t> w = widths_from(widths);
             const std::uint64_t s = whole_number(seed, "seed");
             const Init i = parse_name<Init>(init, "init");
             return dispatch(dtype_from(dtype), [&](auto tag) {
               using T = decltype(tag);
               return std::make_unique<AnyNetwork>(Network<T>(w, s, i));
             });
           }),
           py::arg("widths"), py::arg("seed") = 0, py::arg("init") = to_name(Init::StandardNormal),
           py::arg("dtype") = float32)
      .def_static("from_weights", &network_from_weights, py::arg("weights"),
                  "A network with copies of the given weights [w1, ..., wK] (float32 or float64, "
                  "all the same dtype; w_k of shape (d_{k-1}, d_k)).")
      .def_property_readonly("dtype", [](AnyNetwork& self) { return numpy_dtype(self.dtype()); })
      .def_property_readonly("widths",
                             [](AnyNetwork& self) {
                               return dispatch(self.dtype(), [&](auto tag) {
                                 return self.get<decltype(tag)>().widths();
                               });
                             })
      .def_property_readonly("layers",
                             [](AnyNetwork& self) {
                               return dispatch(self.dtype(), [&](auto tag) {
                                 return self.get<decltype(tag)>().layers();
                               });
                             })
      .def_property_readonly(
          "weights",
          [](py::object self) {
            return dispatch(self.cast<AnyNetwork&>().dtype(),
                            [&](auto tag) { return weight_views<decltype(tag)>(self); });
          },
          "[w1, ..., wK] as arrays that are the network's memory: writing into one changes the "
          "network, and each keeps the network alive. Do not write into them while another "
          "thread trains the network.")
      .def(
          "predict",
          [](AnyNetwork& self, py::handle x, py::object out, py::handle x_mean,
             py::handle x_scale) {
            return dispatch(self.dtype(), [&](auto tag) {
              return predict<decltype(tag)>(self, x, out, x_mean, x_scale);
            });
          },
          py::arg("x"), py::arg("out") = py::none(), py::kw_only(), py::arg("x_mean") = py::none(),
          py::arg("x_scale") = py::none(),
          "yhat for x (n, d_in): a new (n, d_out) array, or written into out and returned. "
          "Many rows go through in blocks: besides x and out, the memory does not grow with the "
          "rows. x_mean, x_scale (d_in values each, or neither; taken as float64) standardize "
          "each row as it is read, in float64 rounded once to x's dtype: the bits of "
          "predict(((x - m) / s).astype(x.dtype)) with m, s = x_mean, x_scale as float64 "
          "arrays, without that copy (float32 m and s would make numpy compute in float32). "
          "nobias.ValueError naming the first row whose prediction is a NaN or an "
          "infinity (inputs or weights too large for the dtype); out then holds what was "
          "computed. Ctrl-C stops it between blocks (KeyboardInterrupt).")
      .def(
          "jacobian",
          [](AnyNetwork& self, py::handle x_row) {
            return dispatch(self.dtype(),
                            [&](auto tag) { return jacobian<decltype(tag)>(self, x_row); });
          },
          py::arg("x_row"),
          "J(x) of one input x_row (d_in,) or (1, d_in): the (d_in, d_out) array with x_row @ J "
          "== predict(x_row) up to rounding, the weights multiplied with that input's ReLU "
          "masks (exact: a bias-free network is linear around each input).")
      .def(
          "jacobians",
          [](AnyNetwork& self, py::handle x) {
            return dispatch(self.dtype(),
                            [&](auto tag) { return jacobians<decltype(tag)>(self, x); });
          },
          py::arg("x"), "J(x_i) of every row of x (n, d_in): an (n, d_in, d_out) array.")
      .def(
          "loss",
          [](AnyNetwork& self, py::handle x, py::handle y, const std::string& reduction) {
            return dispatch(self.dtype(),
                            [&](auto tag) { return loss<decltype(tag)>(self, x, y, reduction); });
          },
          py::arg("x"), py::arg("y"), py::arg("reduction") = to_name(Reduction::Sum))
      .def(
          "gradients",
          [](AnyNetwork& self, py::handle x, py::handle y, const std::string& reduction) {
            return dispatch(self.dtype(), [&](auto tag) {
              return gradients<decltype(tag)>(self, x, y, reduction);
            });
          },
          py::arg("x"), py::arg("y"), py::arg("reduction") = to_name(Reduction::Sum),
          "(loss, [dL/dw1, ..., dL/dwK]) with the weights unchanged.")
      .def(
          "train_step",
          [](AnyNetwork& self, py::handle x, py::handle y, const RealNumber& lr,
             const std::string& reduction) {
            const double rate = real_number(lr, "lr");  // True is not a learning rate
            return dispatch(self.dtype(), [&](auto tag) {
              return train_step<decltype(tag)>(self, x, y, rate, reduction);
            });
          },
          py::arg("x"), py::arg("y"), py::arg("lr"), py::arg("reduction") = to_name(Reduction::Sum),
          "One step of gradient descent, w_k -= lr dL/dw_k; returns the loss before it.")
      .def("__copy__", &copy_of)
      .def("__deepcopy__", [](AnyNetwork& self, py::handle) { return copy_of(self); })
      .def("__repr__", &repr)
      .def(py::pickle(
          [](AnyNetwork& self) {
            return py::make_tuple(dispatch(
                self.dtype(), [&](auto tag) { return weight_copies<decltype(tag)>(self); }));
          },
          [](py::tuple state) {
            if (state.size() != 1) throw py::value_error("Network: bad pickled state");
            return network_from_weights(state[0]);
          }))
      .def("__reduce__", &reduce_by_state);
}

}  // namespace nobias::python
