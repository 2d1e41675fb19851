#include "worker_team.hpp"

#include <chrono>
#include <string>

#include "nobias/error.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace nobias::detail {
namespace {

// How long a helper polls for the next task before it sleeps. Waking a sleeping thread
// costs ~35 us on this machine (bench/RESULTS.md), as much as a whole step at small
// batches, so the polling outlasts the gap between two steps of a training loop by far;
// an idle team stops taking a core after that.
constexpr auto kSpinTime = std::chrono::milliseconds(2);

void pause() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

}  // namespace

WorkerTeam::WorkerTeam(int size) : size_(size < 1 ? 1 : size) {
  helpers_.reserve(static_cast<std::size_t>(size_ - 1));
  for (int part = 1; part < size_; ++part)
    helpers_.emplace_back([this, part] { helper_loop(part); });
}

WorkerTeam::~WorkerTeam() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& helper : helpers_)
    helper.join();
}

void WorkerTeam::call(int part) noexcept {
  try {
    function_(task_, part);
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

void WorkerTeam::helper_loop(int part) {
  std::uint64_t seen = 0;
  for (;;) {
    std::uint64_t now = generation_.load(std::memory_order_acquire);
    const auto give_up = std::chrono::steady_clock::now() + kSpinTime;
    for (unsigned i = 1; now == seen; ++i) {
      pause();
      now = generation_.load(std::memory_order_acquire);
      if (i % 64 == 0 && (stop_ || std::chrono::steady_clock::now() > give_up)) break;
    }
    if (now == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock,
                 [&] { return stop_ || generation_.load(std::memory_order_acquire) != seen; });
      if (stop_) return;
      now = generation_.load(std::memory_order_acquire);
    }
    seen = now;
    call(part);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void WorkerTeam::run_erased(Function function, void* task) {
  function_ = function;
  task_ = task;
  pending_.store(size_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  {
    // Taking the lock orders this run after any helper's check before it sleeps: no lost
    // wake-up. Sleeping helpers are the rare case; spinning ones have already seen it.
    std::lock_guard<std::mutex> lock(mutex_);
  }
  wake_.notify_all();

  call(0);
  // The helpers' parts are as long as ours: they finish soon, so poll for them.
  for (unsigned i = 1; pending_.load(std::memory_order_acquire) != 0; ++i) {
    if (i % 1024 == 0) {
      std::this_thread::yield();  // in case a helper lost its core: let it run
    } else {
      pause();
    }
  }
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::swap(error, error_);
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace nobias::detail
