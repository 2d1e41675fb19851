// Internal: the one home of a training step's thread split — what is split, into how many
// pieces, when, and on which threads.
//
// The model. A step has two phases. Phase 1 (forward pass, residual, input gradients) is
// cut by rows of the batch; phase 2 (the weight products a_{k-1}^T g_k) by rows of every
// w_k. The number of pieces is a function of the shapes (batch rows and widths) and of what
// computes the products (dtype, backend: fixed for a process), never of the thread count,
// and each piece is one fixed set of single-threaded GEMM calls:
// so a piece computes the same bits whichever thread runs it, and a step the same bits on
// 1, 2 or 64 threads. Per-piece results (loss, finite flags) are reduced in piece order.
// Threads do not own pieces: the caller and the helpers take the next piece from a shared
// counter until none is left, so a helper the OS has descheduled delays nothing it has not
// started. Helpers spin briefly after a run (the next phase follows within microseconds),
// then sleep on a futex; a waiting caller sleeps too, so an idle team leaves the cores to
// other processes (a helper polls for twice its longest piece, 100 us to 1 ms, as the caller
// may still be running one as long). Helpers must also pay: when they slow a run down (a
// stall: the caller waited longer than its own share took) or, over a few runs, saved less
// than a tenth of what the caller alone would have taken (they joined late, were woken on the
// caller's CPU, or their CPU is another process's), the runs of the next 50 ms are the caller's
// alone, as with one thread, and the helpers are tried again after (50 ms doubling to 1.6 s
// while it goes on): which thread runs a piece never changes its bits.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace nobias::detail {

// ---------------------------------------------------------------- the split policy

// The most pieces a phase is cut into. A power of two, so that 1, 2 or 4 threads share
// them evenly; more would repack the weights once more per piece for nothing on 2 cores.
constexpr std::size_t kMaxPieces = 4;

// Pieces for phase 1 of a batch of n rows of T through layers of `widths` ({d_0, ..., d_K}).
// T and the backend of its products (fixed for the process) set the least rows of a piece.
template <class T>
std::size_t row_pieces(std::size_t n, const std::vector<std::size_t>& widths);
// Pieces for phase 2 (rows of each w_k), for the same batch.
template <class T>
std::size_t weight_pieces(std::size_t n, const std::vector<std::size_t>& widths);

// Pieces for an elementwise pass over the rows of every w_k (an optimizer's update): enough
// weights in each to pay for waking a thread. A function of the widths alone.
template <class T>
std::size_t update_pieces(const std::vector<std::size_t>& widths);
// Pieces for phase 2 of a step whose weight gradients are formed (gradients(), and the steps
// of optimizers other than plain SGD, which update each piece's rows as soon as they are
// final): weight_pieces, the products' own. Cutting a small batch's products finer so that
// its update had more threads (4 pieces of 784-512-512-10 at a batch of 32, where the
// products make 1) cost more than it saved: Adam's epoch 211.5 ms against 185.0 in one piece,
// 207.3 with the 4 pieces on one thread (12 rounds, bench/ANALYSIS.md).
template <class T>
std::size_t gradient_pieces(std::size_t n, const std::vector<std::size_t>& widths);

struct Range {
  std::size_t begin = 0, count = 0;
};
// Piece `piece` of `pieces` near-equal contiguous ranges of [0, total).
Range piece_range(std::size_t total, std::size_t piece, std::size_t pieces);

// The threads a step may use: set_threads()'s count, or every available CPU when automatic,
// and never more than the CPUs there are.
int step_threads();

// ---------------------------------------------------------------- the team

class Team {
 public:
  // threads >= 1: the caller plus threads - 1 helpers. If a helper cannot start, the ones
  // already started are stopped and joined and nobias::Error is thrown.
  explicit Team(int threads);
  ~Team();
  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;

  int threads() const { return static_cast<int>(helpers_.size()) + 1; }

  // Calls task(piece) once for every piece in [0, pieces), on the caller and the helpers,
  // and returns when all are done. The first exception a piece throws is rethrown here,
  // after every piece has finished. One run at a time.
  // A task may also take (piece, slot): slot, below both threads() and pieces, numbers the
  // thread running the piece within this run, so that a piece may use that thread's scratch:
  // no two pieces run on one slot at once, and a slot's pieces follow one another on one
  // thread. A run of one piece, or the caller's alone, is all slot 0.
  template <class Task>
  void run(std::size_t pieces, Task& task) {
    if (pieces <= 1 || pieces > kMostSharedPieces || helpers_.empty() ||
        std::chrono::steady_clock::now() < solo_until_) {
      for (std::size_t p = 0; p < pieces; ++p)
        call(task, p, 0);
      return;
    }
    run_erased(
        pieces,
        [](void* t, std::size_t piece, std::size_t slot) {
          call(*static_cast<Task*>(t), piece, slot);
        },
        &task);
  }

 private:
  template <class Task>
  static void call(Task& task, std::size_t piece, std::size_t slot) {
    if constexpr (std::is_invocable_v<Task&, std::size_t, std::size_t>) {
      task(piece, slot);
    } else {
      task(piece);
    }
  }
  using Function = void (*)(void*, std::size_t, std::size_t);
  // What one thread ran of a run.
  struct Share {
    std::size_t pieces = 0;
    std::chrono::steady_clock::duration total{}, longest{};
  };
  void run_erased(std::size_t pieces, Function function, void* task);
  void helper_loop(std::uint32_t seen);
  // Takes and runs pieces of run `generation` until none is left.
  Share take_pieces(std::uint32_t generation);
  // After a run with helpers: whether they paid, else the runs of the next while are solo.
  void judge(std::chrono::steady_clock::duration run, std::chrono::steady_clock::duration waited,
             const Share& own, std::size_t pieces, std::chrono::steady_clock::time_point end);
  void go_solo(std::chrono::steady_clock::time_point now);
  void stop_helpers() noexcept;

  // The most pieces a run shares with helpers: its count is part of the ticket.
  static constexpr std::size_t kMostSharedPieces = 0xffff;

  Function function_ = nullptr;
  void* task_ = nullptr;
  // (generation << 32) | (pieces << 16) | next piece. A helper still busy with an old run
  // cannot take a piece of the next one, whose generation differs; and it reads the run's piece
  // count from the same word, never the next run's while the caller is writing it.
  std::atomic<std::uint64_t> ticket_{0};
  std::atomic<std::uint32_t> generation_{0};  // futex word the helpers sleep on
  std::atomic<std::uint32_t> done_{0};        // pieces finished; futex word of the caller
  std::atomic<std::size_t> slots_taken_{0};   // threads that took a piece of this run
  static constexpr std::size_t kNoSlot = static_cast<std::size_t>(-1);
  std::atomic<int> sleeping_helpers_{0};
  std::atomic<bool> caller_sleeping_{false};
  std::atomic<bool> stop_{false};
  // Until then, runs are the caller's alone: helpers stalled a recent run, or did not pay.
  std::chrono::steady_clock::time_point solo_until_{};
  std::chrono::steady_clock::duration solo_for_{};  // the last solo time's length
  // The runs with helpers since the last judgement: their time, and the caller's alone,
  // estimated from its own pieces.
  std::size_t judged_runs_ = 0;
  std::chrono::steady_clock::duration judged_time_{}, judged_solo_{};
  std::mutex error_mutex_;
  std::exception_ptr error_;
  std::vector<std::thread> helpers_;
};

// Tests only: the helper with this index (1-based, as the caller is thread 0) fails to
// start as if the system had refused it; 0 turns it off.
void fail_thread_start_for_testing(int index);
// Tests only: step_threads() allows up to this many threads (0: the CPUs there are), so that
// a machine of 2 CPUs can run the teams of a larger one.
void allow_threads_for_testing(int threads);
// Tests only: after waking the helpers, the caller waits (up to 50 ms) until they have taken
// every piece, as a caller the OS descheduled right after the wake would.
void late_caller_for_testing(bool late);
// Tests only: while true, helpers wake for every run but take no piece of it, as helpers
// that join too late do.
void idle_helpers_for_testing(bool idle);

}  // namespace nobias::detail
