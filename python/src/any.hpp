// The Python objects' C++ side: a network or optimizer of either dtype, with the lock that
// serializes its use. One Network used from two Python threads at once is serialized, never
// raced: every call that reads or writes it takes its lock, after releasing the GIL (so a
// thread waiting for the lock never holds the GIL that the thread inside may need for a
// callback). The lock is recursive so that a fit() callback may call predict() on the network
// it trains, between steps.
#pragma once

#include <pybind11/pybind11.h>

#include <mutex>
#include <utility>
#include <variant>

#include "arrays.hpp"
#include "nobias/network.hpp"
#include "nobias/optimizer.hpp"

namespace nobias::python {

namespace py = pybind11;

// f(T{}) with T = float or double, as dtype says; f is a generic lambda taking the tag.
template <class F>
decltype(auto) dispatch(Dtype dtype, F&& f) {
  if (dtype == Dtype::F32) return f(float{});
  return f(double{});
}

// Owns a Network<float> or a Network<double> (or an optimizer of either) and its lock.
template <template <class> class Of>
class Either {
 public:
  template <class T>
  explicit Either(Of<T> value) : value_(std::move(value)) {}

  Dtype dtype() const { return value_.index() == 0 ? Dtype::F32 : Dtype::F64; }
  template <class T>
  Of<T>& get() {
    return std::get<Of<T>>(value_);
  }
  std::recursive_mutex& mutex() const { return mutex_; }

 private:
  std::variant<Of<float>, Of<double>> value_;
  mutable std::recursive_mutex mutex_;
};

using AnyNetwork = Either<Network>;
using AnyOptimizer = Either<Optimizer>;

// Held while a call uses an object: the GIL released first, then the object's lock taken;
// on the way out the lock is released before the GIL is taken back.
class Exclusive {
 public:
  explicit Exclusive(std::recursive_mutex& m) : lock_(m) {}
  Exclusive(std::recursive_mutex& a, std::recursive_mutex& b)
      : lock_(a, std::defer_lock), second_(b, std::defer_lock) {
    std::lock(lock_, second_);  // in either order without deadlock
  }

 private:
  py::gil_scoped_release nogil_;  // declared first: constructed before the locks are taken
  std::unique_lock<std::recursive_mutex> lock_;
  std::unique_lock<std::recursive_mutex> second_;
};

}  // namespace nobias::python

namespace nobias::python {

// An optimizer steps networks of its own dtype only.
inline void require_same_dtype(const AnyOptimizer& optimizer, const AnyNetwork& network,
                               const char* where) {
  if (optimizer.dtype() != network.dtype()) {
    throw py::type_error(std::string(where) + ": the optimizer is " +
                         numpy_name(optimizer.dtype()) + " but the network is " +
                         numpy_name(network.dtype()) + "; create the optimizer for this network");
  }
}

}  // namespace nobias::python
