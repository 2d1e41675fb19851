// numpy arrays <-> nobias matrices without copies. A float32 or float64 2-D array whose rows
// are each contiguous (element stride == itemsize) is a MatrixView of its own memory, its row
// stride the view's leading dimension, so x[::2] or x[:, :3] pass as they are. Anything else is
// refused, never converted: TypeError for the wrong type or dtype, ValueError for the wrong
// rank, layout or a read-only array where the call writes.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "nobias/matrix.hpp"
#include "nobias/names.hpp"

namespace nobias::python {

namespace py = pybind11;

// Dtype is the library's (nobias/names.hpp), dtype_of<T>() its value for T. Python speaks of
// it as numpy does: numpy_name is "float32" / "float64", numpy_dtype the numpy.dtype.
const char* numpy_name(Dtype dtype);
py::dtype numpy_dtype(Dtype dtype);

// What the user passed as dtype=: numpy.float32, numpy.float64, or anything numpy.dtype()
// makes one of them from ("float32", "f8", numpy.dtype(...)). TypeError otherwise.
Dtype dtype_from(py::handle dtype);

// The dtype of a float32/float64 ndarray; TypeError for another type or dtype.
Dtype array_dtype(py::handle array, const std::string& what);

// The array as a view of its memory. what names it in messages ("x", "out", "w2").
template <class T>
MatrixView<const T> input_view(py::handle array, const std::string& what);
template <class T>
MatrixView<T> output_view(py::handle array, const std::string& what);  // must be writable

// An array over m's memory that keeps owner alive (its base), read-only for const T.
template <class T>
py::array view_of(MatrixView<T> m, py::handle owner);

// An array that takes m over (its memory is freed with the array), no copy.
template <class T>
py::array take(Matrix<T>&& m);

}  // namespace nobias::python
