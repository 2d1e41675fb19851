// predict_read: rows read in order as the pass reaches them get predict_rows' bits on all rows.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/row_chunks.hpp"
#include "nobias/error.hpp"
#include "nobias/model.hpp"
#include "nobias/network.hpp"
#include "test_support.hpp"

using namespace test_support;

namespace {

// Wide inputs: a row's bits depend on where its block is cut (windows of whole blocks counted
// from row 0 gave some float64 rows of 4 blocks + 7 rows other bits: the pass cuts Network's
// pieces first, then blocks).
const std::vector<std::size_t> kWidths = {1100, 16, 3};

template <class T>
nobias::Matrix<T> all_at_once(const nobias::Network<T>& net, const nobias::Standardization& s,
                              const nobias::Matrix<T>& x) {
  nobias::Matrix<T> p(x.rows(), net.output_width());
  nobias::predict_rows<T>(net, s, x.view(),
                          [&](std::size_t first, nobias::MatrixView<const T> q, bool) {
                            for (std::size_t i = 0; i < q.rows(); ++i)
                              std::copy(q.row(i), q.row(i) + q.cols(), p.view().row(first + i));
                          });
  return p;
}

}  // namespace

TEST_CASE_TEMPLATE("predict_read.has_predict_rows_bits_whatever_the_windows", T, float, double) {
  nobias::Network<T> net(random_weights<T>(kWidths, 41, 2.0));
  nobias::Standardization s = varied_statistics(kWidths.front());
  s.y_mean = {1.0, -2.0, 0.5};
  s.y_scale = {2.0, 0.25, 3.0};
  const std::size_t block = nobias::detail::block_rows<T>(kWidths);
  const nobias::Standardization none;  // predict_rows then reads x in place, not a copy
  const nobias::Standardization* stats = &s;
  for (const std::size_t rows :
       {std::size_t(1), block - 1, block, block + 1, 2 * block + 1, 4 * block + 7}) {
    CAPTURE(rows);
    const nobias::Matrix<T> x = random_matrix<T>(rows, kWidths.front(), 50 + rows);
    for (const auto& [used, window] :
         {std::pair(stats, std::size_t(0)), std::pair(stats, std::size_t(1)),
          std::pair(stats, block + 5), std::pair(&none, std::size_t(0)),
          std::pair(&none, block + 5)}) {
      CAPTURE(window);
      CAPTURE(used->has_x());
      const nobias::Matrix<T> expected = all_at_once<T>(net, *used, x);
      nobias::Matrix<T> got(rows, kWidths.back());
      std::size_t read = 0, given = 0;
      nobias::predict_read<T>(
          net, *used, rows,
          [&](std::size_t first, nobias::MatrixView<T> to) {
            CHECK(first == read);  // in order
            for (std::size_t i = 0; i < to.rows(); ++i)
              std::copy(x.view().row(first + i), x.view().row(first + i) + x.cols(), to.row(i));
            read += to.rows();
          },
          [&](std::size_t first, nobias::MatrixView<const T> inputs, nobias::MatrixView<const T> p,
              bool) {
            CHECK(first == given);
            CHECK(first + p.rows() <= read);  // read before predicted
            CHECK(same_bits<T>(inputs, x.view().row_block(first, p.rows())));  // as read
            for (std::size_t i = 0; i < p.rows(); ++i)
              std::copy(p.row(i), p.row(i) + p.cols(), got.view().row(first + i));
            given += p.rows();
          },
          window);
      CHECK(read == rows);
      CHECK(given == rows);
      CHECK(same_bits(got, expected));
    }
  }
}

TEST_CASE("predict_read.holds_two_windows_of_inputs_at_most") {
  // Reads run ahead of the sink by two windows at most: the pass's memory is two windows.
  nobias::Network<float> net(random_weights<float>(kWidths, 41, 2.0));
  const std::size_t block = nobias::detail::block_rows<float>(kWidths), rows = 9 * block + 11;
  const nobias::Matrix<float> x = random_matrix<float>(rows, kWidths.front(), 7);
  std::size_t read = 0, given = 0, most_ahead = 0, reads = 0, longest = 0;
  nobias::predict_read<float>(
      net, {}, rows,
      [&](std::size_t first, nobias::MatrixView<float> to) {
        for (std::size_t i = 0; i < to.rows(); ++i)
          std::copy(x.view().row(first + i), x.view().row(first + i) + x.cols(), to.row(i));
        read += to.rows();
        ++reads;
        longest = std::max(longest, to.rows());
        most_ahead = std::max(most_ahead, read - given);
      },
      [&](std::size_t, nobias::MatrixView<const float>, nobias::MatrixView<const float> p, bool) {
        given += p.rows();
      },
      2 * block);
  CHECK(given == rows);
  CHECK(reads >= 4);                 // several windows
  CHECK(most_ahead <= 2 * longest);  // two windows, never a third
}

TEST_CASE("predict_read.refuses_no_rows_in_predict_rows_words_and_stops_on_a_throw") {
  nobias::Network<float> net(random_weights<float>(kWidths, 41, 2.0));
  const nobias::Matrix<float> none(0, kWidths.front());
  std::string expected;
  try {
    nobias::predict_rows<float>(net, {}, none.view(),
                                [](std::size_t, nobias::MatrixView<const float>, bool) {});
  } catch (const nobias::Error& e) {
    expected = e.what();
  }
  REQUIRE_FALSE(expected.empty());
  const auto no_sink = [](std::size_t, nobias::MatrixView<const float>,
                          nobias::MatrixView<const float>, bool) {};
  CHECK_THROWS_WITH_AS(nobias::predict_read<float>(
                           net, {}, 0, [](std::size_t, nobias::MatrixView<float>) {}, no_sink),
                       expected.c_str(), nobias::Error);
  // A read that throws (a file refused mid-way) stops the pass with its exception.
  const std::size_t block = nobias::detail::block_rows<float>(kWidths);
  int reads = 0;
  CHECK_THROWS_WITH_AS(nobias::predict_read<float>(
                           net, {}, 6 * block,
                           [&](std::size_t first, nobias::MatrixView<float> to) {
                             if (++reads == 3)
                               throw nobias::IoError("row " + std::to_string(first));
                             std::fill(to.data(), to.data() + to.rows() * to.ld(), 0.5f);
                           },
                           no_sink, block),
                       doctest::Contains("row "), nobias::IoError);
  CHECK(reads == 3);
  // So does one that throws before the pass starts (the first window), and a sink that throws.
  CHECK_THROWS_AS(
      nobias::predict_read<float>(
          net, {}, 6 * block,
          [](std::size_t, nobias::MatrixView<float>) { throw nobias::IoError("first"); }, no_sink,
          block),
      nobias::IoError);
  int sinks = 0;
  CHECK_THROWS_WITH_AS(
      nobias::predict_read<float>(
          net, {}, 6 * block,
          [](std::size_t, nobias::MatrixView<float> to) {
            std::fill(to.data(), to.data() + to.rows() * to.ld(), 0.5f);
          },
          [&](std::size_t, nobias::MatrixView<const float>, nobias::MatrixView<const float>, bool) {
            if (++sinks == 2) throw nobias::ValueError("sink");
          },
          block),
      "sink", nobias::ValueError);
  CHECK(sinks == 2);
}

// hidden_finite, which lets nobias-predict skip a second read of finite inputs: false for each
// window holding a row with an infinity or NaN, true for the others, alike from predict_rows and
// predict_read; false where a -inf becomes a finite prediction (all-positive first weights:
// every hidden value of its row is -inf, which relu makes 0); false for a pass of one block,
// where it is not tracked.
TEST_CASE_TEMPLATE("predict_rows.hidden_finite_marks_the_windows_of_bad_inputs", T, float, double) {
  const std::vector<std::size_t> widths = {9, 6, 2};
  std::vector<nobias::Matrix<T>> weights = random_weights<T>(widths, 43, 1.0);
  for (std::size_t i = 0; i < widths[0] * widths[1]; ++i)  // positive: a -inf input stays -inf
    weights[0].data()[i] = std::abs(weights[0].data()[i]) + T(0.1);
  const nobias::Network<T> net(weights);
  const std::size_t block = nobias::detail::block_rows<T>(widths);
  const std::size_t window = 2 * block, rows = 3 * window + 5;  // windows 0, 1, 2 (+ 5 rows)
  nobias::Matrix<T> x = random_matrix<T>(rows, widths[0], 44);
  x(window + 17, 3) = std::numeric_limits<T>::quiet_NaN();     // window 1
  x(3 * window + 2, 8) = -std::numeric_limits<T>::infinity();  // window 2, its last rows
  const std::vector<bool> expected = {true, false, false};
  std::vector<bool> seen;
  nobias::predict_rows<T>(
      net, {}, x.view(),
      [&](std::size_t first, nobias::MatrixView<const T> p, bool hidden_finite) {
        CHECK(first == seen.size() * window);
        if (first <= 3 * window + 2 && 3 * window + 2 < first + p.rows()) {
          const T* masked = p.row(3 * window + 2 - first);
          CHECK(std::isfinite(masked[0]));  // relu hid it: only the hidden layer shows it
          CHECK(std::isfinite(masked[1]));
        }
        seen.push_back(hidden_finite);
      },
      window);
  CHECK(seen == expected);
  seen.clear();
  nobias::predict_read<T>(
      net, {}, rows,
      [&](std::size_t first, nobias::MatrixView<T> to) {
        for (std::size_t i = 0; i < to.rows(); ++i)
          std::copy(x.view().row(first + i), x.view().row(first + i) + x.cols(), to.row(i));
      },
      [&](std::size_t, nobias::MatrixView<const T>, nobias::MatrixView<const T>,
          bool hidden_finite) { seen.push_back(hidden_finite); },
      window);
  CHECK(seen == expected);
  // One block of finite rows: not tracked, so not claimed.
  const nobias::Matrix<T> few = random_matrix<T>(block, widths[0], 45);
  seen.clear();
  nobias::predict_rows<T>(net, {}, few.view(),
                          [&](std::size_t, nobias::MatrixView<const T>, bool hidden_finite) {
                            seen.push_back(hidden_finite);
                          });
  CHECK(seen == std::vector<bool>{false});
}
