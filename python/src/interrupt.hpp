// Ctrl-C for a call that released the GIL. Python's SIGINT handler only sets a flag, which the
// interpreter acts on between bytecodes: a long call into the library (a predict over many
// rows, a write_npy into a FIFO whose reader is slow or absent) would run on to its end, or
// wait without end. PythonSignals installs, for its life, a check at the library's interruption
// points (nobias/interrupt.hpp) that takes the GIL back and runs Python's signal handlers
// (PyErr_CheckSignals): KeyboardInterrupt, or whatever a handler raises, stops the call as
// py::error_already_set, and the binding raises it. Periodic points are polled at most every
// kPollInterval (taking the GIL can wait up to the interpreter's 5 ms switch interval for a busy
// Python thread); a system call interrupted by a signal is looked at at once.
#pragma once

#include <pybind11/pybind11.h>

#include <chrono>

#include "nobias/interrupt.hpp"

namespace nobias::python {

namespace py = pybind11;

class PythonSignals {
 public:
  static constexpr std::chrono::milliseconds kPollInterval{50};

  PythonSignals()
      : last_(std::chrono::steady_clock::now()), scope_([this](Interruption why) { poll(why); }) {}
  PythonSignals(const PythonSignals&) = delete;
  PythonSignals& operator=(const PythonSignals&) = delete;

 private:
  void poll(Interruption why) {
    const auto now = std::chrono::steady_clock::now();
    if (why == Interruption::Periodic && now - last_ < kPollInterval) return;
    last_ = now;
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  }

  std::chrono::steady_clock::time_point last_;
  ScopedInterruptCheck scope_;  // last: installed once last_ is set
};

}  // namespace nobias::python
