// Internal: float32 products on oneDNN made safe under signals.
//
// Why: Debian 12's oneDNN 2.6.3 JIT sgemm uses RSP as a general register while it runs
// (upstream issue 4845, fixed by PR 4855 in a later release). A signal handler that runs on the
// thread's own stack then writes its frame into whatever RSP points at, heap memory included:
// Ctrl-C during a float32 fit from Python corrupted the heap in 9 runs of 16. Three defences,
// none of which costs a step anything measurable:
//  - every thread that runs oneDNN has an alternate signal stack (its own, or one made here), so
//    a handler installed with SA_ONSTACK runs there whatever RSP holds: all of CPython's handlers
//    since 3.10 are;
//  - fit() holds asynchronous signals on its thread while float32 steps run on oneDNN, and lets
//    them in after a step that ends 1 ms or more after they were held, and before every hook
//    (SignalHold), so a handler without
//    SA_ONSTACK is safe there too; a product large enough that two system calls are lost in it
//    holds them by itself wherever it runs; nobias's helper threads hold them for life;
//  - what is left, a small product outside fit() on a thread whose handler lacks SA_ONSTACK, is
//    documented (docs/guide.md, "Signals"), with NOBIAS_SGEMM=blas as the way out.
#pragma once

#include <signal.h>

#include <chrono>
#include <cstddef>
#include <type_traits>
#include <vector>

namespace nobias::detail {

// Gives the calling thread an alternate signal stack unless it has one (the user's, the
// sanitizer's, or this function's from an earlier call); the check after the first call is a
// thread_local flag. The stack made here is freed when the thread ends.
void ensure_signal_stack();

// The calling thread holds every asynchronous signal from now on (nobias's helper threads).
// Synchronous ones (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT) stay open: held,
// a fault would kill the process without its handler.
void hold_signals_for_life();

// Whether a float32 call of this many multiply-adds holds signals by itself: its products run
// on oneDNN, and the two system calls of a hold (about 2 us on a virtual machine) are under 1%
// of it (2^25 multiply-adds: 0.3 ms or more on one AVX-512 core).
bool float32_call_holds_signals(double multiply_adds);

// The same for `passes` passes of a network of these widths over `rows` rows (1 for a forward
// pass, 3 for the three products of a step); float64 never holds them (no oneDNN).
template <class T>
bool network_call_holds_signals(const std::vector<std::size_t>& widths, std::size_t rows,
                                double passes) {
  if constexpr (!std::is_same_v<T, float>) {
    return false;
  } else {
    double per_row = 0.0;
    for (std::size_t k = 0; k + 1 < widths.size(); ++k)
      per_row += static_cast<double>(widths[k]) * static_cast<double>(widths[k + 1]);
    return float32_call_holds_signals(per_row * static_cast<double>(rows) * passes);
  }
}

// Holds asynchronous signals on the calling thread between hold() and let_in(), and lets them in
// at let_in_if_due() once they have been held kWindow; the destructor lets them in. Inactive
// (every call a no-op) when constructed with active false, or on a thread that holds them
// already; with now, holds them from construction. (A handler that siglongjmps out of a held
// call skips the destructor: later holds on that thread are then inactive.)
class SignalHold {
 public:
  static constexpr std::chrono::microseconds kWindow{1000};

  explicit SignalHold(bool active, bool now = false);
  ~SignalHold();
  SignalHold(const SignalHold&) = delete;
  SignalHold& operator=(const SignalHold&) = delete;

  void hold();
  void let_in_if_due();
  void let_in();

 private:
  bool active_;
  bool held_ = false;
  sigset_t caller_mask_{};
  std::chrono::steady_clock::time_point held_since_{};
};

}  // namespace nobias::detail
