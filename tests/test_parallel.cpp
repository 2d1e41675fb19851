// The step's thread split (lib/parallel.hpp): the team runs every piece exactly once,
// survives a thread that cannot start and a helper that loses its core, leaves the runs to
// the caller when helpers do not pay, and a Network gives the same bits on 1, 2 and every
// available thread.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gemm/parallel.hpp"
#include "nobias/error.hpp"
#include "nobias/network.hpp"
#include "nobias/threads.hpp"
#include "test_support.hpp"

using nobias::Matrix;
using nobias::Network;
using test_support::random_matrix;
using test_support::same_bits;

TEST_CASE("parallel.team.runs_every_piece_once") {
  for (const int threads : {1, 2, 3, 4}) {
    CAPTURE(threads);
    nobias::detail::Team team(threads);
    CHECK(team.threads() == threads);
    // The last two: the most pieces a run shares (their count is 16 bits of the ticket), and
    // one more, run by the caller alone.
    for (const std::size_t pieces : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{4},
                                     std::size_t{7}, std::size_t{0xffff}, std::size_t{0x10000}}) {
      CAPTURE(pieces);
      const int rounds = pieces < 100 ? 300 : 2;  // back to back, as the phases of steps
      std::vector<std::atomic<int>> runs(pieces);
      auto task = [&](std::size_t p) { runs[p].fetch_add(1); };
      for (int round = 0; round < rounds; ++round)
        team.run(pieces, task);
      std::size_t wrong = 0;
      for (std::size_t p = 0; p < pieces; ++p)
        wrong += runs[p].load() != rounds;
      CHECK(wrong == 0);
    }
  }
}

// A piece's slot names its thread's scratch: below the threads and the pieces (a block per
// slot is all a run needs), and never held by two pieces at once.
TEST_CASE("parallel.team.slots_are_fewer_than_pieces_and_threads_and_never_shared") {
  for (const int threads : {1, 2, 3, 8}) {
    CAPTURE(threads);
    nobias::detail::Team team(threads);
    for (const std::size_t pieces :
         {std::size_t{1}, std::size_t{2}, std::size_t{4}, std::size_t{7}}) {
      CAPTURE(pieces);
      std::vector<std::atomic<bool>> busy(16);
      std::atomic<std::size_t> most{0};
      std::atomic<int> shared{0}, runs{0};
      auto task = [&](std::size_t, std::size_t slot) {
        runs.fetch_add(1);
        std::size_t seen = most.load();
        while (slot > seen && !most.compare_exchange_weak(seen, slot)) {
        }
        if (slot >= busy.size() || busy[slot].exchange(true)) {
          shared.fetch_add(1);
          return;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(20));  // others take pieces now
        busy[slot] = false;
      };
      for (int round = 0; round < 200; ++round)
        team.run(pieces, task);
      CHECK(runs.load() == 200 * static_cast<int>(pieces));
      CHECK(shared.load() == 0);
      CHECK(most.load() < std::min(pieces, static_cast<std::size_t>(threads)));
    }
  }
}

TEST_CASE("parallel.team.caller_takes_the_pieces_of_a_helper_that_does_not_come") {
  // One piece sleeps as a descheduled helper would; the other pieces are still all run, by
  // whichever thread is free, and the caller waits for the sleeper without failing.
  nobias::detail::Team team(2);
  std::atomic<int> ran{0};
  auto task = [&](std::size_t p) {
    if (p == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ran.fetch_add(1);
  };
  for (int round = 0; round < 5; ++round)
    team.run(4, task);
  CHECK(ran.load() == 20);
}

TEST_CASE("parallel.team.a_stalled_helper_leaves_the_next_runs_to_the_caller") {
  // A helper that loses its core in the middle of a piece (here: sleeps 30 ms) stalls the run;
  // the runs that follow are the caller's alone, then the helpers are tried again.
  using namespace std::chrono_literals;
  nobias::detail::Team team(2);
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> stall_next_helper_piece{true};
  std::vector<std::thread::id> ran_on(4);
  auto task = [&](std::size_t p) {
    ran_on[p] = std::this_thread::get_id();
    std::this_thread::sleep_for(1ms);
    if (ran_on[p] != caller && stall_next_helper_piece.exchange(false))
      std::this_thread::sleep_for(30ms);
  };
  for (int run = 0; run < 200 && stall_next_helper_piece; ++run)
    team.run(4, task);
  REQUIRE_FALSE(stall_next_helper_piece);  // a helper took a piece, and stalled the run
  const auto stalled_run_end = std::chrono::steady_clock::now();
  team.run(4, task);
  if (std::chrono::steady_clock::now() - stalled_run_end < 40ms) {
    for (std::size_t p = 0; p < 4; ++p)
      CHECK(ran_on[p] == caller);
  } else {
    MESSAGE("the machine delayed this test past the 50 ms of solo runs; not checked");
  }
  std::this_thread::sleep_for(60ms);
  bool helper_ran = false;
  for (int run = 0; run < 200 && !helper_ran; ++run) {
    team.run(4, task);
    for (std::size_t p = 0; p < 4; ++p)
      helper_ran = helper_ran || ran_on[p] != caller;
  }
  CHECK(helper_ran);  // the helpers are back after the solo window
}

TEST_CASE("parallel.team.helpers_that_take_no_piece_leave_the_next_runs_to_the_caller") {
  // Helpers that wake too late for any piece (here: told to take none) stall nothing, but save
  // nothing either: after a few such runs the runs are the caller's alone, as after a stall.
  using namespace std::chrono_literals;
  nobias::detail::Team team(2);
  const std::thread::id caller = std::this_thread::get_id();
  std::vector<std::thread::id> ran_on(4);
  auto task = [&](std::size_t p) {
    ran_on[p] = std::this_thread::get_id();
    std::this_thread::sleep_for(200us);  // long enough for a helper that is there to take some
  };
  nobias::detail::idle_helpers_for_testing(true);
  for (int run = 0; run < 8; ++run)
    team.run(4, task);
  nobias::detail::idle_helpers_for_testing(false);
  const auto judged = std::chrono::steady_clock::now();
  bool helper_ran = false;
  for (int run = 0; run < 8; ++run) {
    team.run(4, task);
    for (std::size_t p = 0; p < 4; ++p)
      helper_ran = helper_ran || ran_on[p] != caller;
  }
  if (std::chrono::steady_clock::now() - judged < 40ms) {
    CHECK_FALSE(helper_ran);
  } else {
    MESSAGE("the machine delayed this test past the 50 ms of solo runs; not checked");
  }
}

TEST_CASE("parallel.team.rethrows_the_first_exception_after_every_piece") {
  nobias::detail::Team team(2);
  std::atomic<int> ran{0};
  auto task = [&](std::size_t p) {
    ran.fetch_add(1);
    if (p == 2) throw std::runtime_error("piece 2 failed");
  };
  CHECK_THROWS_WITH_AS(team.run(4, task), "piece 2 failed", std::runtime_error);
  CHECK(ran.load() == 4);
  auto fine = [&](std::size_t) { ran.fetch_add(1); };
  team.run(4, fine);  // the team is still usable
  CHECK(ran.load() == 8);
}

TEST_CASE("parallel.team.a_thread_that_cannot_start_is_an_error_not_a_crash") {
  // Helpers 1 and 2 start; the third is refused: the two are joined and nobias::Error thrown.
  nobias::detail::fail_thread_start_for_testing(3);
  CHECK_THROWS_WITH_AS(nobias::detail::Team(4),
                       doctest::Contains("cannot start thread 3 of 3 helper threads"),
                       nobias::Error);
  nobias::detail::fail_thread_start_for_testing(0);
  nobias::detail::Team team(4);
  CHECK(team.threads() == 4);
}

TEST_CASE("parallel.network.a_thread_that_cannot_start_fails_the_step_cleanly") {
  if (nobias::available_threads() < 2) return;  // a one-CPU machine starts no helper
  const test_support::AutomaticThreadsAfterwards restore;
  const Matrix<double> x = random_matrix<double>(64, 37, 1), y = random_matrix<double>(64, 5, 2);
  Network<double> net({37, 23, 5}, 3, nobias::Init::He);
  const Network<double> before = net;
  nobias::set_threads(2);
  nobias::detail::fail_thread_start_for_testing(1);
  CHECK_THROWS_AS(net.train_step(x, y, 1e-3), nobias::Error);
  nobias::detail::fail_thread_start_for_testing(0);
  for (std::size_t k = 0; k < net.layers(); ++k)
    CHECK(test_support::max_relative_error<double>(net.weight(k), before.weight(k)) == 0.0);
  CHECK(net.train_step(x, y, 1e-3) > 0.0);  // the next step starts the team
}

TEST_CASE("parallel.policy.pieces_follow_the_shapes") {
  const auto row_pieces = nobias::detail::row_pieces<double>;
  const std::vector<std::size_t> seed{1000, 100, 100, 10};
  CHECK(row_pieces(1, seed) == 1);
  CHECK(row_pieces(4, seed) == 1);
  CHECK(row_pieces(4096, seed) == nobias::detail::kMaxPieces);
  for (std::size_t n = 1; n < 5000; n += 7) {
    const std::size_t pieces = row_pieces(n, seed);
    CAPTURE(n);
    CHECK(pieces >= 1);
    CHECK(pieces <= nobias::detail::kMaxPieces);
    CHECK((pieces & (pieces - 1)) == 0);
    CHECK(pieces <= n);
  }
  // Ranges cover [0, total) without gap or overlap, also when total < pieces.
  for (const std::size_t total : {std::size_t{0}, std::size_t{3}, std::size_t{101}}) {
    std::size_t next = 0;
    for (std::size_t p = 0; p < 4; ++p) {
      const auto range = nobias::detail::piece_range(total, p, 4);
      CHECK(range.begin == next);
      next += range.count;
    }
    CHECK(next == total);
  }
}

namespace {

// What a network computes over a few steps: losses, gradients, predictions and weights.
template <class T>
struct Trace {
  std::vector<double> losses;
  std::vector<Matrix<T>> matrices;
};

template <class T>
Trace<T> trace(const std::vector<std::size_t>& widths, std::size_t n, int threads) {
  nobias::set_threads(threads);
  const Matrix<T> x = random_matrix<T>(n, widths.front(), 11);
  const Matrix<T> y = random_matrix<T>(n, widths.back(), 12);
  Network<T> net(widths, 13, nobias::Init::He);
  Trace<T> t;
  for (int step = 0; step < 3; ++step)
    t.losses.push_back(net.train_step(x, y, T(1e-4)));
  auto g = net.gradients(x, y);
  t.losses.push_back(g.loss);
  for (auto& dw : g.dw)
    t.matrices.push_back(std::move(dw));
  Matrix<T> out(n, widths.back());
  net.predict(x, out);
  t.matrices.push_back(std::move(out));
  t.matrices.push_back(std::as_const(net).predict(x));
  t.losses.push_back(net.loss(x, y));
  for (std::size_t k = 0; k < net.layers(); ++k)
    t.matrices.emplace_back(net.weights()[k]);
  return t;
}

}  // namespace

TEST_CASE_TEMPLATE("parallel.network.bit_identical_on_1_2_and_automatic_threads", T, float,
                   double) {
  const test_support::AutomaticThreadsAfterwards restore;
  const std::vector<std::vector<std::size_t>> shapes{
      {300, 200, 100, 7}, {37, 23, 19, 5}, {513, 129, 3}};
  bool some_split = false;
  for (const auto& widths : shapes) {
    for (const std::size_t n : {std::size_t{9}, std::size_t{101}, std::size_t{333}}) {
      CAPTURE(widths.front());
      CAPTURE(n);
      some_split = some_split || nobias::detail::row_pieces<T>(n, widths) > 1;
      const Trace<T> one = trace<T>(widths, n, 1);
      for (const int threads : {2, 0}) {
        CAPTURE(threads);
        const Trace<T> other = trace<T>(widths, n, threads);
        REQUIRE(other.losses.size() == one.losses.size());
        for (std::size_t i = 0; i < one.losses.size(); ++i) {
          CAPTURE(i);
          CHECK(std::memcmp(&other.losses[i], &one.losses[i], sizeof(double)) == 0);
        }
        REQUIRE(other.matrices.size() == one.matrices.size());
        for (std::size_t i = 0; i < one.matrices.size(); ++i) {
          CAPTURE(i);
          CHECK(same_bits<T>(other.matrices[i], one.matrices[i]));
        }
      }
    }
  }
  CHECK(some_split);  // else the test would not cover the split at all
}
