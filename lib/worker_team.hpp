// Internal: a fixed team of threads that runs one task in parts, part 0 on the caller and
// the others on helper threads. Helpers spin for a while between tasks before they sleep,
// so the tasks of back-to-back training steps start without a wake-up.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace nobias::detail {

class WorkerTeam {
 public:
  // size >= 1 parts: size - 1 helper threads. Throws nobias::Error if a thread cannot start.
  explicit WorkerTeam(int size);
  ~WorkerTeam();
  WorkerTeam(const WorkerTeam&) = delete;
  WorkerTeam& operator=(const WorkerTeam&) = delete;

  int size() const { return size_; }

  // Calls task(part) for every part in [0, size()) at once and returns when all are done.
  // The first exception a part throws is rethrown here, after every part has finished.
  // Not reentrant: one run at a time.
  template <class Task>
  void run(Task& task) {
    run_erased([](void* t, int part) { (*static_cast<Task*>(t))(part); }, &task);
  }

 private:
  using Function = void (*)(void*, int);
  void run_erased(Function function, void* task);
  void helper_loop(int part);
  void call(int part) noexcept;
  void stop_helpers() noexcept;

  const int size_;
  Function function_ = nullptr;
  void* task_ = nullptr;
  std::atomic<std::uint64_t> generation_{0};  // one more per run; publishes function_, task_
  std::atomic<int> pending_{0};               // helpers still working on this run
  std::mutex mutex_;                          // guards error_ and the sleep
  std::condition_variable wake_;
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;
  std::vector<std::thread> helpers_;
};

}  // namespace nobias::detail
