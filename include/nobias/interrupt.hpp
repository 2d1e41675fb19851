// Interruption points: where a long call of the library asks its caller whether to stop.
//
// A front door that handles signals itself installs a check on the thread that makes a call
// (Python's Ctrl-C handler only sets a flag, which its interpreter acts on between bytecodes: a
// call that released the GIL would otherwise run on to its end, or wait without end for a
// FIFO's reader). The library calls that check
//   - between the pieces of a long computation (the blocks of rows of a prediction over many
//     rows): Interruption::Periodic, where a check may do nothing if it ran a moment ago;
//   - whenever a system call it waits in was cut short by a signal (EINTR, or a write that
//     moved only part of its bytes: a FIFO whose reader is slow or absent), before waiting
//     again: Interruption::Signal, which should be looked at now.
// The check throws to stop the call. The exception comes out of the call unchanged, after what
// the call made is undone as for any other exception: an unfinished temporary is removed and
// the file it would have replaced left as it was (staged.hpp); what was already written to a
// FIFO, socket or device cannot be taken back. Without a check (the command-line tools, whose
// Ctrl-C ends the process), interruption points do nothing.
//
//   nobias::ScopedInterruptCheck check([](nobias::Interruption) {
//     if (stop_requested) throw Stopped();
//   });
//   nobias::write_npy("out.npy", x);  // throws Stopped at its next interruption point
#pragma once

#include <functional>

namespace nobias {

enum class Interruption {
  Periodic,  // between pieces of work
  Signal,    // a system call was interrupted by a signal
};

using InterruptCheck = std::function<void(Interruption)>;

// Installs check for the calling thread for this object's life; the thread's previous check
// (none, or an outer scope's) is restored at its end. Neither copied nor moved.
class ScopedInterruptCheck {
 public:
  explicit ScopedInterruptCheck(InterruptCheck check);
  ~ScopedInterruptCheck();
  ScopedInterruptCheck(const ScopedInterruptCheck&) = delete;
  ScopedInterruptCheck& operator=(const ScopedInterruptCheck&) = delete;

 private:
  InterruptCheck check_;
  const InterruptCheck* previous_;
};

// Whether the calling thread has a check installed.
bool interrupt_check_installed();
// Calls the calling thread's check, if any, which may throw.
void interruption_point(Interruption why);

}  // namespace nobias
