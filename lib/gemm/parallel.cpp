#include "gemm/parallel.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <string>
#include <system_error>
#include <type_traits>

#include "gemm/sgemm_backend.hpp"
#include "gemm/signal_safety.hpp"
#include "nobias/error.hpp"
#include "nobias/threads.hpp"

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace nobias::detail {

// ---------------------------------------------------------------- the split policy

namespace {

// Below these, a piece costs more in synchronisation, repacked weights and weight lines
// moving between the cores' caches than a second core saves (bench/ANALYSIS.md, "The split").
// Every piece reads all the weights, so a piece needs enough rows to pay for that whatever the
// widths, and the faster the kernel the more rows: with oneDNN's float32 kernels, pieces of 16
// rows made 784-512-512-10 and a deep 256-wide network slower on 2 threads than on 1 at
// n = 64 (32 rows only broke even), while OpenBLAS's float64 kernels, 4x slower per row, gain
// from 16-row pieces. Work is counted in multiply-adds of the forward pass of the piece's rows.
constexpr double kMinWorkPerPiece = 2.5e6;
constexpr std::size_t kMinRowsPerPiece = 16;
constexpr std::size_t kMinRowsPerPieceOneDnn = 64;
// An update alone (update_rows: no products) of 32768 weights takes 6-9 us (Adam, float32,
// AVX-512, 0.19-0.26 ns a weight as the state leaves the cache; bench update_adam_*), several
// times what a spinning helper takes to join. On the seed's widths (111,000 weights) that makes
// 2 pieces, on 784-512-512-10 (669,000) 4. A step's update goes with its products' pieces
// (gradient_pieces).
constexpr double kMinWeightsPerUpdate = 32768;

template <class T>
std::size_t min_rows_per_piece() {
  const bool onednn = std::is_same_v<T, float> && sgemm_backend() == SgemmBackend::OneDnn;
  return onednn ? kMinRowsPerPieceOneDnn : kMinRowsPerPiece;
}

double forward_work(std::size_t n, const std::vector<std::size_t>& widths) {
  double per_row = 0;
  for (std::size_t k = 1; k < widths.size(); ++k)
    per_row += static_cast<double>(widths[k - 1]) * static_cast<double>(widths[k]);
  return per_row * static_cast<double>(n);
}

std::size_t power_of_two_at_most(std::size_t v) {
  std::size_t p = 1;
  while (p * 2 <= v)
    p *= 2;
  return p;
}

}  // namespace

template <class T>
std::size_t row_pieces(std::size_t n, const std::vector<std::size_t>& widths) {
  const double by_work = forward_work(n, widths) / kMinWorkPerPiece;
  const std::size_t by_rows = n / min_rows_per_piece<T>();
  const double most =
      std::min({static_cast<double>(kMaxPieces), by_work, static_cast<double>(by_rows)});
  return most < 1 ? 1 : power_of_two_at_most(static_cast<std::size_t>(most));
}

template <class T>
std::size_t weight_pieces(std::size_t n, const std::vector<std::size_t>& widths) {
  // The same work as phase 1 (one product per layer of the same size), cut the same way.
  return row_pieces<T>(n, widths);
}

template <class T>
std::size_t update_pieces(const std::vector<std::size_t>& widths) {
  double weights = 0;
  for (std::size_t k = 1; k < widths.size(); ++k)
    weights += static_cast<double>(widths[k - 1]) * static_cast<double>(widths[k]);
  const double most = std::min(static_cast<double>(kMaxPieces), weights / kMinWeightsPerUpdate);
  return most < 1 ? 1 : power_of_two_at_most(static_cast<std::size_t>(most));
}

template <class T>
std::size_t gradient_pieces(std::size_t n, const std::vector<std::size_t>& widths) {
  return weight_pieces<T>(n, widths);
}

template std::size_t row_pieces<float>(std::size_t, const std::vector<std::size_t>&);
template std::size_t row_pieces<double>(std::size_t, const std::vector<std::size_t>&);
template std::size_t weight_pieces<float>(std::size_t, const std::vector<std::size_t>&);
template std::size_t weight_pieces<double>(std::size_t, const std::vector<std::size_t>&);
template std::size_t update_pieces<float>(const std::vector<std::size_t>&);
template std::size_t update_pieces<double>(const std::vector<std::size_t>&);
template std::size_t gradient_pieces<float>(std::size_t, const std::vector<std::size_t>&);
template std::size_t gradient_pieces<double>(std::size_t, const std::vector<std::size_t>&);

Range piece_range(std::size_t total, std::size_t piece, std::size_t pieces) {
  const std::size_t base = total / pieces, extra = total % pieces;
  return {piece * base + std::min(piece, extra), base + (piece < extra ? 1 : 0)};
}

namespace {
std::atomic<int> g_allow_threads{0};
}

void allow_threads_for_testing(int threads) {
  g_allow_threads = threads;
}

int step_threads() {
  const int setting = threads_setting();
  const int allowed = g_allow_threads.load();
  const int available = allowed > 0 ? allowed : available_threads();
  return setting > 0 ? std::min(setting, available) : available;
}

// ---------------------------------------------------------------- waiting

namespace {

// How long a helper polls for the next run before it sleeps: longer than the gap between
// the two phases of a step and between the steps of a training loop, far shorter than a
// scheduler's time slice, so a helper that has nothing to do soon leaves its core. The next
// run also waits for the pieces the caller is still running, which take about as long as the
// helper's own: so a helper polls twice its longest piece of the run, within these bounds.
// (Polling only 100 us after 300 us pieces, helpers slept in the middle of every run and
// woke up late for the next one.)
constexpr std::chrono::steady_clock::duration kHelperSpin = std::chrono::microseconds(100);
constexpr std::chrono::steady_clock::duration kHelperSpinAtMost = std::chrono::milliseconds(1);
// How long the caller polls for pieces that helpers are still running before it sleeps.
constexpr auto kCallerSpin = std::chrono::microseconds(50);
// A wait for helpers longer than this, and than the caller's own share, is a stall: a helper
// lost its core (a scheduler's slice is milliseconds). A helper that merely started late, or
// ran its piece slower than the caller (on this project's 2-core VM a helper's piece often
// takes 2-3x the caller's while both run), waits the caller less. After a stall, the runs of
// the next kSoloFor are the caller's alone; then the helpers are tried again. A stall soon
// after such a retry (the machine is still busy) doubles the time, up to kSoloForAtMost.
constexpr auto kStallAtLeast = std::chrono::milliseconds(1);
// Helpers that join late or share their CPU with another process rarely stall a run: the
// caller takes the pieces they do not, and the run takes about as long as the caller alone
// would have, plus the wake. So every kJudgedRuns runs with helpers are weighed against the
// caller's time alone, estimated as the pieces times the caller's mean piece: helpers that did
// not cut it to at most kPaidAtMost (in tenths) did not pay, and the next runs are solo as
// after a stall. Adam's steps at a batch of 32 (784-512-512-10, float32) on this project's
// 2-vCPU VM, with another process on the second vCPU: bench/ANALYSIS.md, "Issue 22".
constexpr std::size_t kJudgedRuns = 8;
constexpr int kPaidAtMost = 9;
constexpr std::chrono::steady_clock::duration kSoloFor = std::chrono::milliseconds(50);
constexpr std::chrono::steady_clock::duration kSoloForAtMost = std::chrono::milliseconds(1600);

void pause() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Sleeps while *word == expected (or until woken, or spuriously: callers re-check).
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) {
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, nullptr,
          nullptr, 0);
#else
  if (word.load() == expected) std::this_thread::sleep_for(std::chrono::microseconds(50));
#endif
}

void futex_wake_all(std::atomic<std::uint32_t>& word) {
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
          nullptr, 0);
#else
  (void)word;
#endif
}

// Polls until done() or the time is up; true if done.
template <class Done>
bool spin_until(Done done, std::chrono::steady_clock::duration limit) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  for (unsigned i = 1;; ++i) {
    if (done()) return true;
    pause();
    if (i % 64 == 0 && std::chrono::steady_clock::now() > give_up) return done();
  }
}

std::atomic<int> g_fail_thread_start{0};
std::atomic<bool> g_idle_helpers{false};
std::atomic<bool> g_late_caller{false};

}  // namespace

void fail_thread_start_for_testing(int index) {
  g_fail_thread_start = index;
}

void late_caller_for_testing(bool late) {
  g_late_caller = late;
}

void idle_helpers_for_testing(bool idle) {
  g_idle_helpers = idle;
}

// ---------------------------------------------------------------- the team

Team::Team(int threads) {
  const int helpers = threads < 1 ? 0 : threads - 1;
  try {
    helpers_.reserve(static_cast<std::size_t>(helpers));
    for (int index = 1; index <= helpers; ++index) {
      if (g_fail_thread_start.load() == index) {
        throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                                "thread start refused for testing");
      }
      // The generation is read here, not by the thread: one that starts late must still see
      // the runs, and the stop, that came before it.
      helpers_.emplace_back([this, seen = generation_.load()] { helper_loop(seen); });
    }
  } catch (const std::exception& e) {
    // The started helpers are waiting for work: stop and join them, or their std::thread
    // destructors would terminate the program.
    const std::size_t started = helpers_.size();
    stop_helpers();
    throw Error("cannot start thread " + std::to_string(started + 1) + " of " +
                std::to_string(helpers) + " helper threads for a step (" + e.what() +
                "); set_threads(1) or NOBIAS_THREADS=1 runs on the calling thread alone");
  }
}

Team::~Team() {
  stop_helpers();
}

void Team::stop_helpers() noexcept {
  stop_.store(true);
  generation_.fetch_add(1);
  futex_wake_all(generation_);
  for (std::thread& helper : helpers_)
    helper.join();
  helpers_.clear();
}

void Team::helper_loop(std::uint32_t seen) {
  // Helpers run oneDNN's float32 kernel, unsafe under a handler on the thread's stack (see
  // signal_safety.hpp); signals sent to the process go to the threads the user made instead.
  // Without oneDNN (a bad NOBIAS_SGEMM throws here: held, the product will say why) they stay
  // open, for timers aimed at one thread.
  bool onednn = true;
  try {
    onednn = sgemm_backend() == SgemmBackend::OneDnn;
  } catch (...) {
  }
  if (onednn) hold_signals_for_life();
  std::chrono::steady_clock::duration spin = kHelperSpin;
  for (;;) {
    const auto changed = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    if (!spin_until(changed, spin)) {
      sleeping_helpers_.fetch_add(1);  // seq_cst: ordered against run_erased's check
      while (!changed())
        futex_wait(generation_, seen);
      sleeping_helpers_.fetch_sub(1);
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load()) return;
    if (g_idle_helpers.load(std::memory_order_relaxed)) continue;
    const Share share = take_pieces(seen);
    if (share.pieces > 0) spin = std::clamp(2 * share.longest, kHelperSpin, kHelperSpinAtMost);
  }
}

Team::Share Team::take_pieces(std::uint32_t generation) {
  Share share;
  std::size_t slot = kNoSlot;
  for (;;) {
    std::uint64_t ticket = ticket_.load(std::memory_order_acquire);
    std::size_t piece = 0, pieces = 0;
    do {
      if (static_cast<std::uint32_t>(ticket >> 32) != generation) return share;  // a later run
      pieces = static_cast<std::size_t>((ticket >> 16) & 0xffffu);
      piece = static_cast<std::size_t>(ticket & 0xffffu);
      if (piece >= pieces) return share;
    } while (!ticket_.compare_exchange_weak(ticket, ticket + 1, std::memory_order_acq_rel));
    // Numbered in the order threads take their first piece of the run: fewer than the pieces.
    if (slot == kNoSlot) slot = slots_taken_.fetch_add(1, std::memory_order_relaxed);
    const auto start = std::chrono::steady_clock::now();
    try {
      function_(task_, piece, slot);
    } catch (...) {
      const std::lock_guard<std::mutex> lock(error_mutex_);
      if (!error_) error_ = std::current_exception();
    }
    const auto took = std::chrono::steady_clock::now() - start;
    share.pieces += 1;
    share.total += took;
    share.longest = std::max(share.longest, took);
    if (done_.fetch_add(1) + 1 == pieces && caller_sleeping_.load()) futex_wake_all(done_);
  }
}

void Team::go_solo(std::chrono::steady_clock::time_point now) {
  const bool again = now - solo_until_ < solo_for_;  // soon after the last solo time
  solo_for_ = again ? std::min(solo_for_ * 2, kSoloForAtMost) : kSoloFor;
  solo_until_ = now + solo_for_;
  judged_runs_ = 0;
  judged_time_ = judged_solo_ = {};
}

void Team::judge(std::chrono::steady_clock::duration run,
                 std::chrono::steady_clock::duration waited, const Share& own, std::size_t pieces,
                 std::chrono::steady_clock::time_point end) {
  if (waited > kStallAtLeast && waited > run - waited) return go_solo(end);
  if (own.pieces == 0) return;  // the helpers took every piece: they paid
  judged_time_ += run;
  judged_solo_ += own.total * static_cast<std::chrono::steady_clock::rep>(pieces) /
                  static_cast<std::chrono::steady_clock::rep>(own.pieces);
  if (++judged_runs_ < kJudgedRuns) return;
  const bool paid = judged_time_ * 10 <= judged_solo_ * kPaidAtMost;
  judged_runs_ = 0;
  judged_time_ = judged_solo_ = {};
  if (!paid) go_solo(end);
}

void Team::run_erased(std::size_t pieces, Function function, void* task) {
  function_ = function;
  task_ = task;
  done_.store(0, std::memory_order_relaxed);
  slots_taken_.store(0, std::memory_order_relaxed);  // published by the ticket's release
  const std::uint32_t generation = generation_.load(std::memory_order_relaxed) + 1;
  ticket_.store(static_cast<std::uint64_t>(generation) << 32 | std::uint64_t(pieces) << 16,
                std::memory_order_release);
  generation_.store(generation);  // seq_cst: a helper going to sleep sees it or is counted
  if (sleeping_helpers_.load() > 0) futex_wake_all(generation_);

  const auto start = std::chrono::steady_clock::now();
  if (g_late_caller.load(std::memory_order_relaxed)) {
    spin_until([&] { return (ticket_.load() & 0xffffu) >= pieces; }, std::chrono::milliseconds(50));
  }
  const Share own = take_pieces(generation);  // the caller's share, and whatever no helper took
  const auto own_share_done = std::chrono::steady_clock::now();
  const auto all_done = [&] { return done_.load(std::memory_order_acquire) == pieces; };
  if (!spin_until(all_done, kCallerSpin)) {
    // A helper is running a piece but has lost its core: sleep rather than compete for it.
    caller_sleeping_.store(true);
    for (std::uint32_t seen = done_.load(); seen != pieces; seen = done_.load())
      futex_wait(done_, seen);
    caller_sleeping_.store(false);
  }
  const auto end = std::chrono::steady_clock::now();
  judge(end - start, end - own_share_done, own, pieces, end);
  std::exception_ptr error;
  {
    const std::lock_guard<std::mutex> lock(error_mutex_);
    std::swap(error, error_);
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace nobias::detail
