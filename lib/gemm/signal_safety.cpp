#include "gemm/signal_safety.hpp"

#include "gemm/sgemm_backend.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>

namespace nobias::detail {
namespace {

// Room for a handler's frame with the AVX-512 state the kernel saves (about 3 KiB) and a
// handler that does more than set a flag; a guard page below turns an overflow into a fault.
constexpr std::size_t kStackBytes = 64 * 1024;

thread_local bool t_holding = false;

sigset_t asynchronous_signals() {
  sigset_t set;
  sigfillset(&set);
  for (int synchronous : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT})
    sigdelset(&set, synchronous);
  return set;
}

const sigset_t& held_set() {
  static const sigset_t set = asynchronous_signals();
  return set;
}

class SignalStack {
 public:
  SignalStack() {
    stack_t current{};
    if (sigaltstack(nullptr, &current) != 0 || !(current.ss_flags & SS_DISABLE)) return;
    const std::size_t page = static_cast<std::size_t>(std::max(sysconf(_SC_PAGESIZE), 4096L));
#ifdef _SC_SIGSTKSZ  // glibc 2.34: the size this CPU's signal frame needs
    const std::size_t minimum = static_cast<std::size_t>(std::max(sysconf(_SC_SIGSTKSZ), 0L));
#else
    const std::size_t minimum = SIGSTKSZ;
#endif
    const std::size_t usable = (std::max(kStackBytes, 4 * minimum) + page - 1) / page * page;
    void* memory = mmap(nullptr, usable + page, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (memory == MAP_FAILED) return;  // no stack: handlers with SA_ONSTACK run as before
    if (mprotect(memory, page, PROT_NONE) != 0) {
      munmap(memory, usable + page);
      return;
    }
    stack_t ours{};
    ours.ss_sp = static_cast<char*>(memory) + page;
    ours.ss_size = usable;
    if (sigaltstack(&ours, nullptr) != 0) {
      munmap(memory, usable + page);
      return;
    }
    memory_ = memory;
    bytes_ = usable + page;
    top_ = ours.ss_sp;
  }

  ~SignalStack() {
    if (memory_ == nullptr) return;
    stack_t current{};
    if (sigaltstack(nullptr, &current) != 0) return;
    // Replaced since (faulthandler, say): whoever replaced it may put ours back later, so it
    // stays mapped for the rest of the process rather than becoming a dangling stack.
    if (current.ss_sp != top_ || (current.ss_flags & SS_DISABLE)) return;
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    if (sigaltstack(&off, nullptr) == 0) munmap(memory_, bytes_);
  }

  SignalStack(const SignalStack&) = delete;
  SignalStack& operator=(const SignalStack&) = delete;

 private:
  void* memory_ = nullptr;
  void* top_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace

void ensure_signal_stack() {
  thread_local SignalStack stack;  // constructed at the thread's first call
  (void)stack;
}

void hold_signals_for_life() {
  pthread_sigmask(SIG_BLOCK, &held_set(), nullptr);
  t_holding = true;
}

bool float32_call_holds_signals(double multiply_adds) {
  return multiply_adds >= 33554432.0 && sgemm_backend() == SgemmBackend::OneDnn;
}

SignalHold::SignalHold(bool active, bool now) : active_(active && !t_holding) {
  if (now) hold();
}

SignalHold::~SignalHold() {
  let_in();
}

void SignalHold::hold() {
  if (!active_ || held_) return;
  if (pthread_sigmask(SIG_BLOCK, &held_set(), &caller_mask_) != 0) return;
  held_ = true;
  t_holding = true;
  held_since_ = std::chrono::steady_clock::now();
}

void SignalHold::let_in_if_due() {
  if (held_ && std::chrono::steady_clock::now() - held_since_ >= kWindow) let_in();
}

void SignalHold::let_in() {
  if (!held_) return;
  held_ = false;
  t_holding = false;
  // Signals that came while held are delivered here, on the thread's ordinary stack, while no
  // oneDNN kernel runs.
  pthread_sigmask(SIG_SETMASK, &caller_mask_, nullptr);
}

}  // namespace nobias::detail
