// Internal: process-wide mutexes that a fork leaves usable.
#pragma once

#include <mutex>

#include <pthread.h>

namespace nobias::detail {

// A mutex held by another thread when the process forks stays locked in the child for ever
// (that thread does not exist there), so the child's first call that takes it hangs. Once this
// is called, fork waits for the mutex, and parent and child each release it. Call it once per
// mutex, from a static initializer beside it; false if the handlers could not be registered.
template <std::mutex& M>
bool keep_usable_across_fork() {
  return ::pthread_atfork([] { M.lock(); }, [] { M.unlock(); }, [] { M.unlock(); }) == 0;
}

}  // namespace nobias::detail
