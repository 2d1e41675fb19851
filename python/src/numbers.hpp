// Number arguments read as Python means them. pybind11 converts True to 1 (or 1.0) for an
// integer (or float) parameter, bool being a subclass of int in Python; but epochs=True or
// learning_rate=True is a mistake, never a way of writing 1, and is refused here. A parameter
// declared WholeNumber or RealNumber takes any object (still shown as int / float in the
// signature) and is read by whole_number / real_number, whose errors name the argument: a
// TypeError for the wrong type, nobias.ValueError (a ValueError) for a value out of range.
// The other way round, a yes-or-no option (shuffle, nesterov) declared Flag takes a bool alone:
// pybind11 would read shuffle=1 or shuffle="no" as true (anything with __bool__), and flag()
// refuses them with a TypeError naming the option.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "nobias/error.hpp"

namespace nobias::python {

namespace py = pybind11;

struct WholeNumber {
  py::object value;
};
struct RealNumber {
  py::object value;
};
struct Flag {
  py::object value;
};

namespace detail {

inline bool is_bool(py::handle value) {
  return PyBool_Check(value.ptr()) ||
         py::isinstance(value, py::module_::import("numpy").attr("bool_"));
}

inline std::string described(py::handle value) {
  return std::string(py::repr(value)) + " (a " +
         std::string(py::str(py::type::handle_of(value).attr("__name__"))) + ")";
}

}  // namespace detail

// An int or numpy integer >= minimum: TypeError for a bool, a float or another type
// ("epochs: expected a whole number >= 0, got True (a bool)"), ValueError below minimum.
inline std::uint64_t whole_number(py::handle value, const std::string& name,
                                  std::uint64_t minimum = 0) {
  const std::string expected =
      name + ": expected a whole number >= " + std::to_string(minimum) + ", got ";
  if (detail::is_bool(value)) throw py::type_error(expected + detail::described(value));
  PyObject* index = PyNumber_Index(value.ptr());  // int, numpy integers; not float
  if (index == nullptr) {
    PyErr_Clear();
    throw py::type_error(expected + detail::described(value));
  }
  const py::int_ number = py::reinterpret_steal<py::int_>(index);
  if (number < py::int_(minimum)) throw ValueError(expected + std::string(py::repr(number)));
  if (number > py::int_(UINT64_MAX))
    throw ValueError(expected + std::string(py::repr(number)) + ", which is too large");
  return number.cast<std::uint64_t>();
}
inline std::uint64_t whole_number(const WholeNumber& arg, const std::string& name,
                                  std::uint64_t minimum = 0) {
  return whole_number(arg.value, name, minimum);
}

// An int or float (or numpy's): TypeError for a bool or another type.
inline double real_number(const RealNumber& arg, const std::string& name) {
  const std::string expected = name + ": expected a number, got ";
  if (detail::is_bool(arg.value)) throw py::type_error(expected + detail::described(arg.value));
  const double number = PyFloat_AsDouble(arg.value.ptr());
  if (number == -1.0 && PyErr_Occurred() != nullptr) {
    PyErr_Clear();
    throw py::type_error(expected + detail::described(arg.value));
  }
  return number;
}

// A bool or numpy.bool_: TypeError for anything else, numbers included ("shuffle: expected a
// bool (True or False), got 1 (a int)").
inline bool flag(const Flag& arg, const std::string& name) {
  if (!detail::is_bool(arg.value)) {
    throw py::type_error(name + ": expected a bool (True or False), got " +
                         detail::described(arg.value));
  }
  return PyObject_IsTrue(arg.value.ptr()) == 1;
}

}  // namespace nobias::python

namespace pybind11::detail {

template <>
struct type_caster<nobias::python::WholeNumber> {
  PYBIND11_TYPE_CASTER(nobias::python::WholeNumber, const_name("int"));
  bool load(handle src, bool) {
    value.value = reinterpret_borrow<object>(src);
    return true;
  }
  static handle cast(const nobias::python::WholeNumber& n, return_value_policy, handle) {
    return n.value.inc_ref();
  }
};

template <>
struct type_caster<nobias::python::RealNumber> {
  PYBIND11_TYPE_CASTER(nobias::python::RealNumber, const_name("float"));
  bool load(handle src, bool) {
    value.value = reinterpret_borrow<object>(src);
    return true;
  }
  static handle cast(const nobias::python::RealNumber& n, return_value_policy, handle) {
    return n.value.inc_ref();
  }
};

template <>
struct type_caster<nobias::python::Flag> {
  PYBIND11_TYPE_CASTER(nobias::python::Flag, const_name("bool"));
  bool load(handle src, bool) {
    value.value = reinterpret_borrow<object>(src);
    return true;
  }
  static handle cast(const nobias::python::Flag& f, return_value_policy, handle) {
    return f.value.inc_ref();
  }
};

}  // namespace pybind11::detail
