#include "arrays.hpp"

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

namespace nobias::python {
namespace {

std::string type_name(py::handle object) {
  return py::str(py::type::handle_of(object).attr("__name__"));
}

std::string shape_text(const py::array& a) {
  std::string text = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    text += std::to_string(a.shape(i)) + (a.ndim() == 1 || i + 1 < a.ndim() ? "," : "");
    if (i + 1 < a.ndim()) text += " ";
  }
  return text + ")";
}

std::string strides_text(const py::array& a) {
  std::string text = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    text += std::to_string(a.strides(i)) + (i + 1 < a.ndim() ? ", " : "");
  }
  return text + ")";
}

py::array as_array(py::handle object, const std::string& what, const char* expected) {
  if (!py::isinstance<py::array>(object)) {
    throw py::type_error(what + ": expected a numpy.ndarray of " + expected + ", got " +
                         type_name(object));
  }
  return py::reinterpret_borrow<py::array>(object);
}

// The checks every view passes; returns the leading dimension in elements.
// `what` names the argument; `written` says the call writes into it (a converted copy would not
// be what the caller reads afterwards).
template <class T>
std::size_t checked_leading_dimension(const py::array& a, const std::string& what, bool written) {
  const char* expected = numpy_name(dtype_of<T>());
  if (!py::isinstance<py::array_t<T, 0>>(a)) {
    const std::string numpy_type = std::string("numpy.") + expected;
    throw py::type_error(what + ": expected a " + std::string(expected) +
                         " array (the network's dtype), got " + std::string(py::str(a.dtype())) +
                         "; nothing is converted here: " +
                         (written ? "give an array made with dtype=" + numpy_type
                                  : "pass " + what + ".astype(" + numpy_type + ")"));
  }
  if (a.ndim() != 2) {
    throw py::value_error(what + ": expected a 2-D array (rows, columns), got a " +
                          std::to_string(a.ndim()) + "-D array of shape " + shape_text(a) +
                          (a.ndim() == 1 ? "; reshape(-1, 1) makes one column of it" : ""));
  }
  const auto rows = static_cast<std::size_t>(a.shape(0));
  const auto cols = static_cast<std::size_t>(a.shape(1));
  // Said before the layout: numpy gives an empty array zero strides, which the layout check
  // would call not contiguous; and no call here has a use for an empty matrix.
  if (rows == 0 || cols == 0) {
    const char* part = rows == 0 ? "row" : "column";
    throw py::value_error(what + ": expected at least one " + part + ", got 0 " + part +
                          "s (an array of shape " + shape_text(a) + ")");
  }
  const py::ssize_t item = sizeof(T);
  const bool row_contiguous = cols <= 1 || a.strides(1) == item;
  const bool rows_in_order = rows <= 1 || (a.strides(0) > 0 && a.strides(0) % item == 0 &&
                                           static_cast<std::size_t>(a.strides(0) / item) >= cols);
  if (!row_contiguous || !rows_in_order) {
    throw py::value_error(
        what + ": expected rows that are each contiguous and in order (a " + std::string(expected) +
        " array of shape " + shape_text(a) + " has strides " + strides_text(a) +
        "; row stride >= " + std::to_string(cols * sizeof(T)) + " and column stride " +
        std::to_string(sizeof(T)) + " were expected); numpy.ascontiguousarray makes such a copy");
  }
  if ((a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_) == 0) {
    throw py::value_error(what +
                          ": expected an aligned array, got one whose data is not aligned "
                          "to its itemsize; numpy.ascontiguousarray makes an aligned copy");
  }
  if (rows <= 1) return cols;
  return static_cast<std::size_t>(a.strides(0) / item);
}

}  // namespace

const char* numpy_name(Dtype dtype) {
  return dtype == Dtype::F32 ? "float32" : "float64";
}

py::dtype numpy_dtype(Dtype dtype) {
  return dtype == Dtype::F32 ? py::dtype::of<float>() : py::dtype::of<double>();
}

Dtype dtype_from(py::handle dtype) {
  py::dtype given;
  try {
    given = py::dtype::from_args(py::reinterpret_borrow<py::object>(dtype));
  } catch (const py::error_already_set&) {
    throw py::type_error("dtype: expected numpy.float32 or numpy.float64, got " +
                         std::string(py::repr(dtype)));
  }
  if (given.equal(py::dtype::of<float>())) return Dtype::F32;
  if (given.equal(py::dtype::of<double>())) return Dtype::F64;
  throw py::type_error("dtype: expected numpy.float32 or numpy.float64, got " +
                       std::string(py::str(given)));
}

Dtype array_dtype(py::handle object, const std::string& what) {
  const py::array a = as_array(object, what, "float32 or float64");
  if (py::isinstance<py::array_t<float, 0>>(a)) return Dtype::F32;
  if (py::isinstance<py::array_t<double, 0>>(a)) return Dtype::F64;
  throw py::type_error(what + ": expected a float32 or float64 array, got " +
                       std::string(py::str(a.dtype())));
}

template <class T>
MatrixView<const T> input_view(py::handle object, const std::string& what) {
  const py::array a = as_array(object, what, numpy_name(dtype_of<T>()));
  const std::size_t ld = checked_leading_dimension<T>(a, what, false);
  return {static_cast<const T*>(a.data()), static_cast<std::size_t>(a.shape(0)),
          static_cast<std::size_t>(a.shape(1)), ld};
}

template <class T>
MatrixView<T> output_view(py::handle object, const std::string& what) {
  py::array a = as_array(object, what, numpy_name(dtype_of<T>()));
  const std::size_t ld = checked_leading_dimension<T>(a, what, true);
  if (!a.writeable()) {
    throw py::value_error(what +
                          ": expected a writable array, got a read-only one (this call "
                          "writes into it)");
  }
  return {static_cast<T*>(a.mutable_data()), static_cast<std::size_t>(a.shape(0)),
          static_cast<std::size_t>(a.shape(1)), ld};
}

template <class T>
py::array view_of(MatrixView<T> m, py::handle owner) {
  using Element = std::remove_const_t<T>;
  py::array a(py::dtype::of<Element>(),
              {static_cast<py::ssize_t>(m.rows()), static_cast<py::ssize_t>(m.cols())},
              {static_cast<py::ssize_t>(m.ld() * sizeof(T)), static_cast<py::ssize_t>(sizeof(T))},
              m.data(), owner);
  if (std::is_const_v<T>) {
    py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  }
  return a;
}

template <class T>
py::array take(Matrix<T>&& m) {
  auto* owned = new Matrix<T>(std::move(m));
  py::capsule owner(owned, [](void* p) { delete static_cast<Matrix<T>*>(p); });
  if (owned->empty()) {  // no memory to point at: a fresh empty array of the shape
    return py::array(py::dtype::of<T>(), {static_cast<py::ssize_t>(owned->rows()),
                                          static_cast<py::ssize_t>(owned->cols())});
  }
  return view_of<T>(owned->view(), owner);
}

template MatrixView<const float> input_view<float>(py::handle, const std::string&);
template MatrixView<const double> input_view<double>(py::handle, const std::string&);
template MatrixView<float> output_view<float>(py::handle, const std::string&);
template MatrixView<double> output_view<double>(py::handle, const std::string&);
template py::array view_of<float>(MatrixView<float>, py::handle);
template py::array view_of<double>(MatrixView<double>, py::handle);
template py::array view_of<const float>(MatrixView<const float>, py::handle);
template py::array view_of<const double>(MatrixView<const double>, py::handle);
template py::array take<float>(Matrix<float>&&);
template py::array take<double>(Matrix<double>&&);

}  // namespace nobias::python
