// nobias's exception family in Python, messages unchanged:
//   nobias.Error(Exception)
//   nobias.ShapeError(Error, ValueError), nobias.ValueError(Error, ValueError)
//   nobias.IoError(Error, OSError), nobias.DivergenceError(Error)
// so that `except ValueError` catches bad shapes and values as it does for numpy, and
// `except OSError` catches file errors as it does for open().
#include <exception>

#include "bindings.hpp"
#include "nobias/error.hpp"

namespace nobias::python {
namespace {

// Created once at import; the module keeps them alive for the life of the interpreter.
PyObject* error_type = nullptr;
PyObject* shape_error_type = nullptr;
PyObject* value_error_type = nullptr;
PyObject* io_error_type = nullptr;
PyObject* divergence_error_type = nullptr;

PyObject* new_exception(py::module_& m, const char* name, py::tuple bases, const char* doc) {
  const std::string qualified = std::string("nobias.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(type));
  return type;
}

// The exception with the facts as attributes (epoch, step, loss, layer), so that Python code
// reads them instead of parsing the message.
void set_divergence(const DivergenceError& e) {
  const DivergenceError::Facts& f = e.facts();
  py::object error = py::reinterpret_steal<py::object>(
      PyObject_CallFunction(divergence_error_type, "s", e.what()));
  if (!error) return;  // the call set its own error
  error.attr("epoch") = f.epoch;
  error.attr("step") = f.step;
  error.attr("loss") = f.loss;
  error.attr("layer") = f.layer;
  PyErr_SetObject(divergence_error_type, error.ptr());
}

}  // namespace

void bind_errors(py::module_& m) {
  error_type = new_exception(m, "Error", py::make_tuple(py::handle(PyExc_Exception)),
                             "Base of every error nobias raises.");
  const py::handle base(error_type);
  shape_error_type =
      new_exception(m, "ShapeError", py::make_tuple(base, py::handle(PyExc_ValueError)),
                    "Matrix shapes that do not fit together.");
  value_error_type =
      new_exception(m, "ValueError", py::make_tuple(base, py::handle(PyExc_ValueError)),
                    "An argument or a value outside its domain.");
  io_error_type = new_exception(m, "IoError", py::make_tuple(base, py::handle(PyExc_OSError)),
                                "A file that cannot be read or written, or is not what it claims.");
  divergence_error_type = new_exception(
      m, "DivergenceError", py::make_tuple(base),
      "Training produced a non-finite loss. Attributes: epoch and step (of fit, from 1; 0 "
      "when not known), loss (NaN when none was computed), layer (the first layer "
      "whose forward pass overflowed; 0: none).");

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ShapeError& e) {
      PyErr_SetString(shape_error_type, e.what());
    } catch (const ValueError& e) {
      PyErr_SetString(value_error_type, e.what());
    } catch (const IoError& e) {
      PyErr_SetString(io_error_type, e.what());
    } catch (const DivergenceError& e) {
      set_divergence(e);
    } catch (const Error& e) {
      PyErr_SetString(error_type, e.what());
    }
  });
}

}  // namespace nobias::python
