// The Python objects' C++ side: a network or optimizer of either dtype, with the lock that
// serializes its use. One Network used from two Python threads at once is serialized, never
// raced: every call that reads or writes it takes its lock, after releasing the GIL (so a
// thread waiting for the lock never holds the GIL that the thread inside may need for a
// callback). The lock is recursive so that a fit() callback may call predict() on the network
// it trains, between steps; a callback never waits for another thread's lock (Exclusive).
#pragma once

#include <pybind11/pybind11.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "arrays.hpp"
#include "nobias/checkpoint.hpp"
#include "nobias/error.hpp"
#include "nobias/fit.hpp"
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

// What a call locks: an object's recursive mutex, and how many fit() calls are training it.
class Guarded {
 public:
  explicit Guarded(const char* noun) : noun_(noun) {}
  Guarded(const Guarded&) = delete;
  Guarded& operator=(const Guarded&) = delete;

  std::recursive_mutex& mutex() const { return mutex_; }
  const char* noun() const { return noun_; }  // "network", "optimizer", for messages
  // Counted, not a flag: a fit() callback may start a fit() of the same network.
  bool being_trained() const { return trainers_.load() > 0; }

 private:
  friend class Training;
  const char* noun_;
  mutable std::recursive_mutex mutex_;
  std::atomic<int> trainers_{0};
};

template <template <class> class Of>
constexpr const char* noun_of() {
  return "object";
}
template <>
constexpr const char* noun_of<Network>() {
  return "network";
}
template <>
constexpr const char* noun_of<Optimizer>() {
  return "optimizer";
}

// Owns a Network<float> or a Network<double> (or an optimizer of either) and its lock.
template <template <class> class Of>
class Either : public Guarded {
 public:
  template <class T>
  explicit Either(Of<T> value) : Guarded(noun_of<Of>()), value_(std::move(value)) {}

  Dtype dtype() const { return value_.index() == 0 ? Dtype::F32 : Dtype::F64; }
  template <class T>
  Of<T>& get() {
    return std::get<Of<T>>(value_);
  }

 private:
  std::variant<Of<float>, Of<double>> value_;
};

using AnyNetwork = Either<Network>;
using AnyCheckpoint = Either<Checkpoint>;

// An optimizer knows the widths of the network it was sized for (kept here, the C++ class has
// no accessor for them): what a pickled optimizer is rebuilt with.
class AnyOptimizer : public Either<Optimizer> {
 public:
  template <class T>
  AnyOptimizer(Optimizer<T> value, std::vector<std::size_t> widths)
      : Either(std::move(value)), widths_(std::move(widths)) {}
  const std::vector<std::size_t>& widths() const { return widths_; }

 private:
  std::vector<std::size_t> widths_;
};

// Held while a call uses an object: the GIL released first, then the object's lock taken;
// on the way out the lock is released before the GIL is taken back.
//
// A thread that already holds an object's lock (it is inside a fit() callback: nothing else
// calls Python while holding one) never waits for another: waiting could close a cycle, two
// fit() calls whose callbacks each wait for the other's network. Instead it takes the locks
// if they are free, retries while they are held by a short call (which never waits while
// holding), and raises nobias.ValueError if another thread's fit() is training the object,
// which would otherwise mean waiting for the whole of that training, or forever.
class Exclusive {
 public:
  explicit Exclusive(const Guarded& a) : lock_(a.mutex(), std::defer_lock) {
    if (held_ == 0) {
      lock_.lock();
    } else {
      without_waiting(a, nullptr);
    }
    ++held_;
  }
  Exclusive(const Guarded& a, const Guarded& b)
      : lock_(a.mutex(), std::defer_lock), second_(b.mutex(), std::defer_lock) {
    if (held_ == 0) {
      std::lock(lock_, second_);  // in either order without deadlock
    } else {
      without_waiting(a, &b);
    }
    ++held_;
  }
  Exclusive(const Exclusive&) = delete;
  Exclusive& operator=(const Exclusive&) = delete;
  ~Exclusive() { --held_; }

 private:
  void without_waiting(const Guarded& a, const Guarded* b) {
    for (int attempt = 0;; ++attempt) {
      const int failed = b ? std::try_lock(lock_, second_) : (lock_.try_lock() ? -1 : 0);
      if (failed == -1) return;
      const Guarded& busy = failed == 0 ? a : *b;
      if (busy.being_trained()) {  // by another thread: this one's own lock is recursive
        throw ValueError(std::string(busy.noun()) +
                         " is being trained by another thread: a fit() callback cannot use "
                         "it until that fit() returns");
      }
      if (attempt < 64) {
        std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    }
  }

  // How many Exclusive this thread is inside of: > 0 in a callback of fit().
  static inline thread_local int held_ = 0;

  py::gil_scoped_release nogil_;  // declared first: constructed before the locks are taken
  std::unique_lock<std::recursive_mutex> lock_;
  std::unique_lock<std::recursive_mutex> second_;
};

// Marks a network and an optimizer as being trained, for as long as fit() holds their locks.
class Training {
 public:
  Training(Guarded& network, Guarded& optimizer) : a_(network), b_(optimizer) {
    ++a_.trainers_;
    ++b_.trainers_;
  }
  Training(const Training&) = delete;
  Training& operator=(const Training&) = delete;
  ~Training() {
    --a_.trainers_;
    --b_.trainers_;
  }

 private:
  Guarded& a_;
  Guarded& b_;
};

// The C++ side of an object whose __init__ never ran (made by cls.__new__(cls) alone) is
// memory pybind11 would allocate uninitialized on first use. Every conversion of a bound class
// to its C++ type goes through this caster instead, which refuses such an object with a
// TypeError: methods, properties, __repr__, and the object passed as an argument.
[[noreturn]] inline void throw_not_initialized(PyObject* object) {
  const std::string name =
      py::str(py::type::handle_of(py::handle(object)).attr("__name__")).cast<std::string>();
  throw py::type_error(name +
                       " object is not initialized: its __init__ never ran (it was made by "
                       "__new__ alone); create one by calling the class, or the function that "
                       "returns it");
}

template <class T>
class InitializedCaster : public py::detail::type_caster_base<T> {
 public:
  bool load(py::handle src, bool convert) {
    return this->template load_impl<InitializedCaster<T>>(src, convert);
  }
  void load_value(py::detail::value_and_holder&& v_h) {
    if (v_h.value_ptr() == nullptr) throw_not_initialized(reinterpret_cast<PyObject*>(v_h.inst));
    py::detail::type_caster_base<T>::load_value(std::move(v_h));
  }
};

}  // namespace nobias::python

// Every class bound with py::class_ converts through InitializedCaster. A class bound later
// must be added here (and this header included wherever it is converted).
namespace pybind11::detail {
template <>
class type_caster<nobias::python::AnyNetwork>
    : public nobias::python::InitializedCaster<nobias::python::AnyNetwork> {};
template <>
class type_caster<nobias::python::AnyOptimizer>
    : public nobias::python::InitializedCaster<nobias::python::AnyOptimizer> {};
template <>
class type_caster<nobias::python::AnyCheckpoint>
    : public nobias::python::InitializedCaster<nobias::python::AnyCheckpoint> {};
template <>
class type_caster<nobias::TrainingProgress>
    : public nobias::python::InitializedCaster<nobias::TrainingProgress> {};
template <>
class type_caster<nobias::EpochReport>
    : public nobias::python::InitializedCaster<nobias::EpochReport> {};
template <>
class type_caster<nobias::StepReport>
    : public nobias::python::InitializedCaster<nobias::StepReport> {};
}  // namespace pybind11::detail

namespace nobias::python {

// __reduce__ of a class with __getstate__ and __setstate__ (py::pickle): what protocol 2 does,
// copyreg.__newobj__(cls) then __setstate__(state), at every protocol. Left to object's
// __reduce_ex__, protocols 0 and 1 go through copyreg._reduce_ex, which calls
// pybind11_object(self): pybind11 throws out of a C slot, and std::terminate aborts.
inline py::tuple reduce_by_state(py::handle self) {
  return py::make_tuple(py::module_::import("copyreg").attr("__newobj__"),
                        py::make_tuple(py::type::handle_of(self)), self.attr("__getstate__")());
}

// __reduce__ of a class that has no pickled form: a TypeError at every protocol (instead of
// protocol 0 and 1's abort, above).
[[noreturn]] inline py::tuple refuse_pickling(py::handle self) {
  throw py::type_error("cannot pickle '" +
                       py::str(py::type::handle_of(self).attr("__name__")).cast<std::string>() +
                       "' objects: pickle the values of its attributes instead");
}

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
