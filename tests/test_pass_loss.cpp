// Full-data losses and predictions a window at a time (lib/core/pass_loss.cpp,
// core/squared_error_sum.hpp, full_pass.hpp's predict_windows): the bits of one pass over every
// row, whichever row a window starts at and whether the targets are contiguous or not.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "core/row_chunks.hpp"
#include "core/squared_error_sum.hpp"
#include "gemm/parallel.hpp"
#include "nobias/full_pass.hpp"
#include "nobias/kernels.hpp"
#include "nobias/network.hpp"
#include "nobias/row_source.hpp"
#include "nobias/threads.hpp"
#include "one_pass.hpp"
#include "test_support.hpp"

using namespace test_support;

namespace {

// 7 outputs: a window that starts at a row r not a multiple of 8 (a piece's first row, as blocks
// are cut from each of Network's pieces) starts at lane 7r % 8, not 0.
const std::vector<std::size_t> kWidths = {37, 301, 13, 7};

}  // namespace

TEST_CASE_TEMPLATE("pass_loss.parts_of_the_sum_add_up_to_squared_errors_bits", T, float, double) {
  const auto yhat = random_matrix<T>(53, 7, 31), y = random_matrix<T>(53, 7, 32);
  const auto wide = random_matrix<T>(53, 11, 33);  // y's strided twin: columns 2..8 of it
  const nobias::MatrixView<const T> strided = wide.view().col_block(2, 7);
  for (const std::size_t part :
       {std::size_t(1), std::size_t(5), std::size_t(13), std::size_t(53)}) {
    CAPTURE(part);
    nobias::detail::SquaredErrorSum<T> flat, rows;
    for (std::size_t first = 0; first < 53; first += part) {
      const std::size_t count = std::min(part, 53 - first);
      flat.add_flat(yhat.view().row_block(first, count), y.view().row_block(first, count),
                    first * 7);
      rows.add_rows(yhat.view().row_block(first, count), strided.row_block(first, count));
    }
    CHECK(flat.total() ==
          nobias::squared_error(nobias::MatrixView<const T>(yhat.view()), y.view()));
    CHECK(rows.total() == nobias::squared_error(nobias::MatrixView<const T>(yhat.view()), strided));
  }
  nobias::detail::SquaredErrorSum<T> sum;
  CHECK_THROWS_WITH_AS(sum.add_flat(yhat.view(), strided, 0),
                       "squared_error: add_flat takes contiguous rows; yhat is, y is not",
                       nobias::ShapeError);
  CHECK_THROWS_AS(sum.add_rows(yhat.view(), y.view().row_block(0, 5)), nobias::ShapeError);
}

TEST_CASE_TEMPLATE("pass_loss.streamed_squared_error_has_one_passs_bits", T, float, double) {
  const nobias::Network<T> net(random_weights<T>(kWidths, 34, 2.0));
  const std::size_t n = 2011;
  const auto x = random_matrix<T>(n, kWidths.front(), 35);
  const auto y = random_matrix<T>(n, kWidths.back(), 36);
  const auto wide = random_matrix<T>(n, 10, 37);
  const nobias::MatrixView<const T> strided = wide.view().col_block(1, kWidths.back());
  const nobias::Matrix<T> yhat = one_pass_predict<T>(net, x.view());
  for (const std::size_t window : {std::size_t(1), std::size_t(192), std::size_t(576),
                                   nobias::detail::block_per_thread_window(192), std::size_t(0)}) {
    CAPTURE(window);
    for (const bool flat : {true, false}) {
      CAPTURE(flat);
      const nobias::MatrixView<const T> targets = flat ? y.view() : strided;
      bool off_lane = false;  // a window past the first whose first element is not at lane 0
      const double sum = nobias::detail::squared_error_streamed<T>(
          net, n, {}, x.view(), 192, window, flat, [&](std::size_t first, std::size_t count) {
            off_lane = off_lane || (first * kWidths.back()) % 8 != 0;
            return targets.row_block(first, count);
          });
      CHECK(sum == nobias::squared_error(nobias::MatrixView<const T>(yhat.view()), targets));
      if (window != 0) CHECK(off_lane);
    }
  }
}

TEST_CASE_TEMPLATE("pass_loss.loss_over_strided_targets_is_the_networks", T, float, double) {
  nobias::Network<T> net(random_weights<T>(kWidths, 38, 2.0));
  const std::size_t n = 3001;
  const auto x = random_matrix<T>(n, kWidths.front(), 39);
  const auto wide = random_matrix<T>(n, 12, 40);
  const nobias::MatrixView<const T> y = wide.view().col_block(3, kWidths.back());
  for (const auto reduction : {nobias::Reduction::Sum, nobias::Reduction::Mean}) {
    const double expected =
        reduction == nobias::Reduction::Sum
            ? one_pass_loss<T>(net, x.view(), y)
            : one_pass_loss<T>(net, x.view(), y) *
                  (1.0 / (static_cast<double>(n) * static_cast<double>(kWidths.back())));
    CHECK(nobias::detail::loss_in_blocks<T>(net, x.view(), y, reduction, 192) == expected);
    CHECK(net.loss(x.view(), y, reduction) == expected);
  }
}

TEST_CASE_TEMPLATE("pass_loss.predict_windows_hands_on_full_predicts_bits_in_order", T, float,
                   double) {
  const nobias::Network<T> net(random_weights<T>(kWidths, 41, 2.0));
  const std::size_t block = nobias::detail::block_rows<T>(kWidths);
  nobias::Standardization s;
  s.x_mean.assign(kWidths.front(), 0.5);
  s.x_scale.assign(kWidths.front(), 3.0);
  for (const std::size_t n : {std::size_t(1), block, 3 * block + 7}) {
    CAPTURE(n);
    const auto x = random_matrix<T>(n, kWidths.front(), 42);
    const auto y = random_matrix<T>(n, kWidths.back(), 43);
    std::vector<std::size_t> odd;  // every other row, from the last
    for (std::size_t i = n; i-- > 0;)
      if (i % 2 == 0) odd.push_back(i);
    for (const bool in_place : {true, false}) {
      CAPTURE(in_place);
      const nobias::RowSource<T> rows = in_place
                                            ? nobias::RowSource<T>(x.view(), y.view())
                                            : nobias::RowSource<T>(x.view(), y.view(), &odd, &s);
      const nobias::Matrix<T> want = nobias::full_predict<T>(net, rows);
      nobias::Matrix<T> got(want.rows(), want.cols());
      std::size_t next = 0, windows = 0;
      nobias::predict_windows<T>(net, rows, [&](std::size_t first, nobias::MatrixView<T> p) {
        CHECK(first == next);
        for (std::size_t i = 0; i < p.rows(); ++i)
          std::copy(p.row(i), p.row(i) + p.cols(), got.view().row(first + i));
        next += p.rows();
        ++windows;
      });
      CHECK(next == rows.rows());
      CHECK(same_bits(got, want));
      if (rows.rows() > 2 * block) CHECK(windows > 1);
    }
  }
}

TEST_CASE_TEMPLATE("pass_loss.bad_targets_are_named_as_in_a_copy", T, float, double) {
  // A NaN in y past the first block: the loss over listed, standardized rows names it as the
  // loss over a copy of those rows does (its position among them), though y was never whole.
  nobias::Network<T> net(random_weights<T>(kWidths, 44, 2.0));
  const std::size_t block = nobias::detail::block_rows<T>(kWidths), n = 2 * block + 50;
  const auto x = random_matrix<T>(n, kWidths.front(), 45);
  auto y = random_matrix<T>(n, kWidths.back(), 46);
  std::vector<std::size_t> order;  // every row, the last first
  for (std::size_t i = n; i-- > 0;)
    order.push_back(i);
  y(3, 2) = std::numeric_limits<T>::quiet_NaN();  // position n - 4 of the order
  nobias::Standardization s;
  s.y_mean.assign(kWidths.back(), 1.0);
  s.y_scale.assign(kWidths.back(), 2.0);
  nobias::Matrix<T> copy_x(n, kWidths.front()), copy_y(n, kWidths.back());
  const nobias::RowSource<T> rows(x.view(), y.view(), &order, &s);
  rows.gather(copy_x.view(), copy_y.view(), nullptr, 0);
  std::string streamed, copied;
  try {
    nobias::full_loss<T>(net, rows);
  } catch (const nobias::ValueError& e) {
    streamed = e.what();
  }
  try {
    nobias::full_loss<T>(net, copy_x.view(), copy_y.view());
  } catch (const nobias::ValueError& e) {
    copied = e.what();
  }
  CHECK(copied.find("loss: y") != std::string::npos);
  CHECK(copied.find(std::to_string(n - 4)) != std::string::npos);
  CHECK(streamed == copied);
}

TEST_CASE("pass_loss.a_loss_keeps_every_thread_busy") {
  // With one block a window, a block waited for the window two before it: at most two threads
  // computed at once, whatever set_threads said. Fills that sleep show how many run at once.
  const test_support::AutomaticThreadsAfterwards restore;
  struct Four {
    Four() { nobias::detail::allow_threads_for_testing(4); }
    ~Four() { nobias::detail::allow_threads_for_testing(0); }
  } four;
  nobias::set_threads(4);
  const nobias::Network<float> net(random_weights<float>(kWidths, 47, 2.0));
  const std::size_t n = 16 * 192;
  const auto x = random_matrix<float>(n, kWidths.front(), 48);
  const auto y = random_matrix<float>(n, kWidths.back(), 49);
  std::atomic<int> running{0}, most{0};
  const nobias::detail::RowFill<float> fill = [&](std::size_t begin, nobias::MatrixView<float> to) {
    const int now = running.fetch_add(1) + 1;
    for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    for (std::size_t i = 0; i < to.rows(); ++i)
      std::copy(x.view().row(begin + i), x.view().row(begin + i) + x.cols(), to.row(i));
    running.fetch_sub(1);
  };
  const double sum = nobias::detail::squared_error_streamed<float>(
      net, n, fill, {}, 192, nobias::detail::block_per_thread_window(192), true,
      [&](std::size_t first, std::size_t count) { return y.view().row_block(first, count); });
  CHECK(sum == one_pass_loss<float>(net, x.view(), y.view()));
  CHECK(most.load() > 2);
}
