#include "nobias/interrupt.hpp"

#include <utility>

namespace nobias {
namespace {

// The check of the calling thread: the innermost ScopedInterruptCheck's, or none.
thread_local const InterruptCheck* t_check = nullptr;

}  // namespace

ScopedInterruptCheck::ScopedInterruptCheck(InterruptCheck check)
    : check_(std::move(check)), previous_(t_check) {
  t_check = check_ ? &check_ : nullptr;
}

ScopedInterruptCheck::~ScopedInterruptCheck() {
  t_check = previous_;
}

bool interrupt_check_installed() {
  return t_check != nullptr;
}

void interruption_point(Interruption why) {
  if (t_check != nullptr) (*t_check)(why);
}

}  // namespace nobias
