// Full-data passes in row chunks (lib/core/row_chunks.hpp) and the model's chunked
// predictions: a row's outputs are the same bits as one pass over the whole matrix.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "core/row_chunks.hpp"
#include "gemm/parallel.hpp"
#include "nobias/full_pass.hpp"
#include "nobias/model.hpp"
#include "nobias/network.hpp"
#include "one_pass.hpp"
#include "test_support.hpp"

using namespace test_support;

namespace {

// Odd widths, so that no row starts on a cache line and no product is square.
const std::vector<std::size_t> kWidths = {37, 301, 13, 7};

}  // namespace

TEST_CASE_TEMPLATE("row_chunks.predict_has_the_bits_of_one_pass", T, float, double) {
  const nobias::Network<T> net(random_weights<T>(kWidths, 11, 2.0));
  // Rows around block boundaries, and enough for Network's pass to cut several pieces.
  for (const std::size_t rows :
       {std::size_t(1), std::size_t(191), std::size_t(192), std::size_t(193), std::size_t(383),
        std::size_t(385), std::size_t(1001), std::size_t(4099), std::size_t(10007)}) {
    CAPTURE(rows);
    const nobias::Matrix<T> x = random_matrix<T>(rows, kWidths.front(), 100 + rows);
    const nobias::Matrix<T> whole = one_pass_predict<T>(net, x.view());
    for (const std::size_t block : {std::size_t(192), std::size_t(576)}) {
      CAPTURE(block);
      nobias::Matrix<T> out(rows, kWidths.back());
      nobias::detail::predict_in_blocks<T>(net, x.view(), out.view(), block, {});
      CHECK(same_bits(out, whole));
    }
    // Network's own predictions, in blocks of its own past one block (10,007 rows of float32),
    // a block a piece short of one, one pass otherwise.
    CHECK(same_bits(net.predict(x.view()), whole));
    nobias::Network<T> own(net);
    nobias::Matrix<T> out(rows, kWidths.back());
    own.predict(x.view(), out.view());
    CHECK(same_bits(out, whole));
  }
}

TEST_CASE_TEMPLATE("row_chunks.model_predict_has_the_bits_of_one_pass", T, float, double) {
  // Past the library's own chunk, with and without standardization: what nobias-predict runs.
  const nobias::Network<T> net(random_weights<T>(kWidths, 12, 2.0));
  const std::size_t chunk = nobias::detail::block_rows<T>(kWidths);
  nobias::Standardization s;
  for (std::size_t j = 0; j < kWidths.front(); ++j) {
    s.x_mean.push_back(0.25 * static_cast<double>(j % 5));
    s.x_scale.push_back(1.0 + 0.125 * static_cast<double>(j % 3));
  }
  s.y_mean = {1, -2, 3, 0.5, 0, 7, -1};
  s.y_scale = {2, 0.5, 1, 3, 1, 0.25, 4};
  for (const std::size_t rows : {chunk - 1, chunk, chunk + 1, 2 * chunk + 3}) {
    CAPTURE(rows);
    const nobias::Matrix<T> x = random_matrix<T>(rows, kWidths.front(), 200 + rows);
    nobias::Matrix<T> standardized = nobias::Matrix<T>::copy_of(x.view());
    nobias::standardize_x<T>(s, standardized.view());
    nobias::Matrix<T> expected = one_pass_predict<T>(net, standardized.view());
    nobias::unstandardize_y<T>(s, expected.view());
    CHECK(same_bits(nobias::predict_with<T>(net, s, x.view()), expected));
    CHECK(same_bits(nobias::predict_with<T>(net, nobias::Standardization{}, x.view()),
                    one_pass_predict<T>(net, x.view())));
  }
}

TEST_CASE_TEMPLATE("row_chunks.loss_has_the_bits_of_one_pass", T, float, double) {
  nobias::Network<T> net(random_weights<T>(kWidths, 13, 2.0));
  for (const std::size_t rows :
       {std::size_t(192), std::size_t(193), std::size_t(3001), std::size_t(20011)}) {
    CAPTURE(rows);
    const nobias::Matrix<T> x = random_matrix<T>(rows, kWidths.front(), 14);
    const nobias::Matrix<T> y = random_matrix<T>(rows, kWidths.back(), 15);
    const double sum = one_pass_loss<T>(net, x.view(), y.view());
    for (const auto reduction : {nobias::Reduction::Sum, nobias::Reduction::Mean}) {
      const double expected =
          reduction == nobias::Reduction::Sum
              ? sum
              : sum * (1.0 / (static_cast<double>(rows) * static_cast<double>(kWidths.back())));
      CHECK(nobias::detail::loss_in_blocks<T>(net, x.view(), y.view(), reduction, 192) == expected);
      CHECK(nobias::full_loss<T>(net, x.view(), y.view(), reduction) == expected);
      // Network's own loss: in blocks past one (20,011 rows), one pass otherwise.
      CHECK(net.loss(x.view(), y.view(), reduction) == expected);
    }
  }
}

TEST_CASE_TEMPLATE("row_chunks.bad_data_is_refused_as_one_pass_refuses_it", T, float, double) {
  nobias::Network<T> net(random_weights<T>(kWidths, 16, 2.0));
  const std::size_t rows = 3 * 192;
  nobias::Matrix<T> x = random_matrix<T>(rows, kWidths.front(), 17);
  const nobias::Matrix<T> y = random_matrix<T>(rows, kWidths.back(), 18);
  x(2 * 192 + 1, 3) = std::numeric_limits<T>::quiet_NaN();
  std::string message;
  try {
    nobias::detail::loss_in_blocks<T>(net, x.view(), y.view(), nobias::Reduction::Sum, 192);
  } catch (const nobias::ValueError& e) {
    message = e.what();
  }
  std::string expected;
  try {
    net.loss(x.view(), y.view());
  } catch (const nobias::ValueError& e) {
    expected = e.what();
  }
  CHECK(!expected.empty());
  CHECK(message == expected);
}

TEST_CASE("row_chunks.block_rows_depend_on_dtype_and_widths_only") {
  const std::vector<std::size_t> wide = {784, 512, 512, 10};
  const std::size_t f = nobias::detail::block_rows<float>(wide);
  CHECK(f % 192 == 0);
  CHECK(f >= 192);
  CHECK(nobias::detail::block_rows<double>(wide) <= f);
  CHECK(nobias::detail::block_rows<float>({2, 1}) == 64 * 192);
}

TEST_CASE_TEMPLATE("row_chunks.streamed_windows_come_in_order_with_the_bits_of_one_pass", T, float,
                   double) {
  const nobias::Network<T> net(random_weights<T>(kWidths, 19, 2.0));
  const std::size_t rows = 4099;
  const nobias::Matrix<T> x = random_matrix<T>(rows, kWidths.front(), 20);
  const nobias::Matrix<T> whole = one_pass_predict<T>(net, x.view());
  // 0: the library's window; 1: one block a window; others: several blocks, a last short one.
  for (const std::size_t window :
       {std::size_t(0), std::size_t(1), std::size_t(500), std::size_t(1000), std::size_t(rows)}) {
    CAPTURE(window);
    nobias::Matrix<T> out(rows, kWidths.back());
    std::size_t next = 0, calls = 0;
    nobias::detail::predict_streamed<T>(
        net, x.view(), 192, {}, window, [&](std::size_t first, nobias::MatrixView<T> p, bool) {
          CHECK(first == next);  // in row order, every row once
          CHECK(p.cols() == kWidths.back());
          CHECK(p.rows() >= std::min(window, rows - first));  // whole blocks: never shorter
          for (std::size_t i = 0; i < p.rows(); ++i)
            std::copy(p.row(i), p.row(i) + p.cols(), out.view().row(first + i));
          next = first + p.rows();
          ++calls;
        });
    CHECK(next == rows);
    if (window == 1) CHECK(calls > 10);
    if (window == rows) CHECK(calls == 1);
    CHECK(same_bits(out, whole));
  }
}

TEST_CASE_TEMPLATE("row_chunks.predict_rows_hands_on_predict_withs_bits", T, float, double) {
  // With standardization of x and y, past a block and within one: what nobias-predict writes.
  const nobias::Network<T> net(random_weights<T>(kWidths, 21, 2.0));
  nobias::Standardization s;
  for (std::size_t j = 0; j < kWidths.front(); ++j) {
    s.x_mean.push_back(0.5 * static_cast<double>(j % 4));
    s.x_scale.push_back(1.0 + 0.25 * static_cast<double>(j % 3));
  }
  s.y_mean = {1, -2, 3, 0.5, 0, 7, -1};
  s.y_scale = {2, 0.5, 1, 3, 1, 0.25, 4};
  const std::size_t block = nobias::detail::block_rows<T>(kWidths);
  for (const std::size_t rows : {std::size_t(7), block, 3 * block + 5}) {
    CAPTURE(rows);
    const nobias::Matrix<T> x = random_matrix<T>(rows, kWidths.front(), 22 + rows);
    nobias::Matrix<T> out(rows, kWidths.back());
    std::size_t next = 0;
    nobias::predict_rows<T>(
        net, s, x.view(),
        [&](std::size_t first, nobias::MatrixView<const T> p, bool) {
          CHECK(first == next);
          for (std::size_t i = 0; i < p.rows(); ++i)
            std::copy(p.row(i), p.row(i) + p.cols(), out.view().row(first + i));
          next = first + p.rows();
        },
        block);
    CHECK(next == rows);
    CHECK(same_bits(out, nobias::predict_with<T>(net, s, x.view())));
  }
  // No rows: refused as predict_with refuses them, the sink never called.
  CHECK_THROWS_AS(nobias::predict_rows<T>(net, s, nobias::Matrix<T>(0, kWidths.front()).view(),
                                          [](std::size_t, nobias::MatrixView<const T>, bool) {
                                            FAIL("no rows, no sink");
                                          }),
                  nobias::ShapeError);
}

// The sink runs on the calling thread while the team computes the next window into the other
// buffer of outputs: the view it holds keeps its values through the call, and an exception from
// it stops the pass, no later window handed on.
TEST_CASE_TEMPLATE("row_chunks.a_streamed_sink_keeps_its_outputs_while_the_next_window_runs", T,
                   float, double) {
  const test_support::AutomaticThreadsAfterwards restore;
  nobias::set_threads(2);
  const nobias::Network<T> net(random_weights<T>(kWidths, 25, 2.0));
  const std::size_t rows = 16 * 192 + 7;
  const nobias::Matrix<T> x = random_matrix<T>(rows, kWidths.front(), 26);
  const nobias::Matrix<T> whole = one_pass_predict<T>(net, x.view());
  const std::thread::id caller = std::this_thread::get_id();
  std::size_t calls = 0;
  nobias::detail::predict_streamed<T>(
      net, x.view(), 192, {}, 384, [&](std::size_t first, nobias::MatrixView<T> p, bool) {
        CHECK(std::this_thread::get_id() == caller);
        const nobias::Matrix<T> seen = nobias::Matrix<T>::copy_of(p);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // the next window runs on
        CHECK(same_bits<T>(p, seen.view()));
        CHECK(same_bits<T>(p, whole.view().row_block(first, p.rows())));
        ++calls;
      });
  CHECK(calls > 3);
  calls = 0;
  CHECK_THROWS_AS(
      nobias::detail::predict_streamed<T>(net, x.view(), 192, {}, 384,
                                          [&](std::size_t, nobias::MatrixView<T>, bool) {
                                            if (++calls == 2) throw nobias::ValueError("refused");
                                          }),
      nobias::ValueError);
  CHECK(calls == 2);
}

// Only the caller ends windows: with 3 lanes or more, helpers that took every lane (the
// caller descheduled between waking them and taking one) waited for ever for a window's end.
// 3 lanes on however many CPUs, a window of one block, the caller late.
TEST_CASE_TEMPLATE("row_chunks.a_streamed_pass_on_more_lanes_than_cpus_ends", T, float, double) {
  const test_support::AutomaticThreadsAfterwards restore;
  struct LateCallerOfFour {
    LateCallerOfFour() {
      nobias::detail::allow_threads_for_testing(4);
      nobias::detail::late_caller_for_testing(true);
    }
    ~LateCallerOfFour() {
      nobias::detail::allow_threads_for_testing(0);
      nobias::detail::late_caller_for_testing(false);
    }
  } late;
  nobias::set_threads(4);
  const nobias::Network<T> net(random_weights<T>(kWidths, 27, 2.0));
  const std::size_t rows = 1200;
  const nobias::Matrix<T> x = random_matrix<T>(rows, kWidths.front(), 28);
  const nobias::Matrix<T> whole = one_pass_predict<T>(net, x.view());
  for (int pass = 0; pass < 5; ++pass) {
    nobias::Matrix<T> out(rows, kWidths.back());
    nobias::detail::predict_streamed<T>(
        net, x.view(), 192, {}, 1, [&](std::size_t first, nobias::MatrixView<T> p, bool) {
          for (std::size_t i = 0; i < p.rows(); ++i)
            std::copy(p.row(i), p.row(i) + p.cols(), out.view().row(first + i));
        });
    if (!same_bits(out, whole)) FAIL("pass " << pass << " differs from one pass");
  }
}

#if defined(__linux__)
namespace {

// The kB of each mapping of this process advised MADV_HUGEPAGE ("hg" in smaps' VmFlags).
std::vector<std::size_t> huge_page_advised_kb() {
  std::ifstream smaps("/proc/self/smaps");
  std::vector<std::size_t> found;
  std::size_t size_kb = 0;
  for (std::string line; std::getline(smaps, line);) {
    if (line.rfind("Size:", 0) == 0) size_kb = std::stoul(line.substr(5));
    if (line.rfind("VmFlags:", 0) == 0 && (line + " ").find(" hg ") != std::string::npos)
      found.push_back(size_kb);
  }
  return found;
}

}  // namespace

// A pass's block buffers are fresh memory every call: in 4 KiB pages, faulting them in cost
// nobias-predict about as much as 20,000 rows of 784->512->512->10 products on a VM. They are
// asked for in huge pages, which the kernel backs when it can (THP "madvise" or "always").
TEST_CASE_TEMPLATE("row_chunks.block_buffers_are_advised_huge_pages", T, float, double) {
  if (!std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled")) return;  // no THP here
  const nobias::Network<T> net(random_weights<T>(kWidths, 23, 2.0));
  const std::size_t block = nobias::detail::block_rows<T>(kWidths), rows = 2 * block + 5;
  REQUIRE(block * kWidths[1] * sizeof(T) >= (std::size_t(2) << 20));  // a huge page or more
  const nobias::Matrix<T> x = random_matrix<T>(rows, kWidths.front(), 24);
  std::size_t largest_kb = 0;
  nobias::detail::predict_streamed<T>(net, x.view(), block, {}, block,
                                      [&](std::size_t, nobias::MatrixView<T>, bool) {
                                        for (const std::size_t kb : huge_page_advised_kb())
                                          largest_kb = std::max(largest_kb, kb);
                                      });
  CHECK(largest_kb * 1024 >= block * kWidths[1] * sizeof(T));  // a whole hidden layer's buffer
}
#endif
