// map_npy: a .npy's rows mapped in place where the layout allows, else read_npy's copy, with
// the same values and the same refusals either way.
#include <doctest/doctest.h>

#include <cstddef>
#include <fstream>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/row_chunks.hpp"
#include "nobias/error.hpp"
#include "nobias/matrix.hpp"
#include "nobias/network.hpp"
#include "nobias/npy.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

using test_support::error_message;
using test_support::TempDir;

namespace {

// The other float type: a file of it must be converted, not mapped.
template <class T>
using Other = std::conditional_t<std::is_same_v<T, float>, double, float>;

}  // namespace

TEST_CASE_TEMPLATE("npy_map.own_dtype_in_c_order_is_mapped", T, float, double) {
  TempDir dir("npy-map");
  const std::string path = dir.file("x.npy");
  const nobias::Matrix<T> m = test_support::random_matrix<T>(37, 13, 5);
  nobias::write_npy(path, m);
  nobias::NpyRows<T> rows = nobias::map_npy<T>(path);
  CHECK(rows.mapped());
  CHECK(test_support::same_bits<T>(rows.view(), m.view()));
  // Moved, the mapping goes along; the moved-from object holds nothing.
  nobias::NpyRows<T> moved(std::move(rows));
  CHECK(moved.mapped());
  CHECK(test_support::same_bits<T>(moved.view(), m.view()));
  CHECK_FALSE(rows.mapped());  // NOLINT(bugprone-use-after-move): what a move leaves
  CHECK(rows.rows() == 0);
}

TEST_CASE_TEMPLATE("npy_map.other_layouts_are_read_npys_copy", T, float, double) {
  TempDir dir("npy-map-copy");
  const std::string other = dir.file("other.npy"), empty = dir.file("empty.npy");
  nobias::write_npy(other, test_support::random_matrix<Other<T>>(11, 7, 6));
  nobias::write_npy(empty, nobias::Matrix<T>(0, 7));
  for (const std::string& path : {other, empty}) {
    CAPTURE(path);
    const nobias::NpyRows<T> rows = nobias::map_npy<T>(path);
    CHECK_FALSE(rows.mapped());
    CHECK(test_support::same_bits<T>(rows.view(), nobias::read_npy<T>(path).view()));
  }
}

TEST_CASE("npy_map.refuses_as_read_npy_refuses") {
  TempDir dir("npy-map-bad");
  const std::string missing = dir.file("missing.npy"), truncated = dir.file("short.npy");
  nobias::write_npy(truncated, test_support::random_matrix<float>(5, 3, 7));
  std::string bytes = test_support::read_bytes(truncated);
  bytes.resize(bytes.size() - 4);
  test_support::write_bytes(truncated, bytes);
  for (const std::string& path : {missing, truncated}) {
    CAPTURE(path);
    const std::string expected =
        error_message<nobias::IoError>([&] { (void)nobias::read_npy<float>(path); });
    CHECK(expected.rfind("read_npy: ", 0) == 0);
    CHECK(error_message<nobias::IoError>([&] { (void)nobias::map_npy<float>(path); }) == expected);
  }
}

namespace {

// This process's resident pages of mapped files (RssFile of /proc/self/status), in kB.
std::size_t rss_file_kb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("RssFile:", 0) == 0) return std::stoul(line.substr(8));
  return 0;
}

}  // namespace

TEST_CASE_TEMPLATE("npy_map.dropped_rows_leave_memory_and_read_back", T, float, double) {
  // 16 MB of rows: read, they are resident; dropped, they are not; read again, the same values.
  TempDir dir("npy-map-drop");
  const std::string path = dir.file("x.npy");
  const std::size_t cols = 1024, rows = (std::size_t(16) << 20) / (cols * sizeof(T));
  const nobias::Matrix<T> m = test_support::random_matrix<T>(rows, cols, 8);
  nobias::write_npy(path, m);
  nobias::NpyRows<T> x = nobias::map_npy<T>(path);
  REQUIRE(x.mapped());
  REQUIRE(test_support::same_bits<T>(x.view(), m.view()));  // every page read
  const std::size_t read_kb = rss_file_kb();
  x.drop_rows(0, rows);
  const std::size_t dropped_kb = rss_file_kb();
  CAPTURE(read_kb);
  CAPTURE(dropped_kb);
  CHECK(read_kb >= dropped_kb + 12 * 1024);
  CHECK(test_support::same_bits<T>(x.view(), m.view()));
  // Rows in memory: nothing to drop, nothing lost.
  nobias::NpyRows<T> copy(nobias::Matrix<T>::copy_of(m.view()));
  copy.drop_rows(0, rows);
  CHECK(test_support::same_bits<T>(copy.view(), m.view()));
}

// A streamed pass over mapped rows maps each window into memory in one call before reading it
// (faulted in page by page as the products read them, they cost nobias-predict ~8% of its time
// on a VM): when any block is read, every block of its window is resident (the window before
// may be too: its sink, which drops it, runs while this window is computed).
TEST_CASE_TEMPLATE("npy_map.a_streamed_pass_maps_each_window_before_reading_it", T, float, double) {
  TempDir dir("npy-map-window");
  const std::string path = dir.file("x.npy");
  const std::vector<std::size_t> widths = {1024, 8, 3};
  const std::size_t block = 192, window = 4 * block, rows = 3 * window;
  nobias::write_npy(path, test_support::random_matrix<T>(rows, widths[0], 9));
  const nobias::Network<T> net(test_support::random_weights<T>(widths, 10, 1.0));
  const auto ignore = [](std::size_t, nobias::MatrixView<T>, bool) {};
  const auto keep = [](nobias::MatrixView<T>) {};
  nobias::detail::predict_streamed<T>(  // the code and the backends' buffers, once
      net, test_support::random_matrix<T>(rows, widths[0], 11).view(), block, keep, window, ignore);
  nobias::NpyRows<T> x = nobias::map_npy<T>(path);
  REQUIRE(x.mapped());
  const std::size_t before_kb = rss_file_kb();
  std::mutex lock;
  std::vector<std::size_t> resident_kb;  // at each block read
  std::size_t windows = 0;
  nobias::detail::predict_streamed<T>(
      net, x.view(), block,
      [&](nobias::MatrixView<T>) {  // a block of rows read (copied) into the pass
        const std::lock_guard<std::mutex> held(lock);
        resident_kb.push_back(rss_file_kb() - before_kb);
      },
      window,
      [&](std::size_t first, nobias::MatrixView<T> p, bool) {
        x.drop_rows(first, p.rows());
        ++windows;
      });
  REQUIRE(windows == 3);
  REQUIRE(resident_kb.size() >= 3);
  const std::size_t window_kb = window * widths[0] * sizeof(T) / 1024;
  for (const std::size_t kb : resident_kb) {
    CAPTURE(kb);
    CAPTURE(window_kb);
    CHECK(kb + 8 >= window_kb);  // a page at either end may have gone with the window before
  }
}
