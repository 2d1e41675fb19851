// Internal to row_chunks.cpp: a pass's per-lane buffers (Scratch) and the mapping in of a
// window's rows (populate_rows).
#pragma once

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <string>

#include "nobias/error.hpp"
#include "nobias/matrix.hpp"

namespace nobias::detail {

// A block's buffers of this size or more are asked for in transparent huge pages: x86-64's
// PMD page, the unit the kernel can back with one.
constexpr std::size_t kHugePage = std::size_t(2) << 20;

// rows x cols zeroed T for a block's activations, in transparent huge pages where the kernel
// lends them for the asking (MADV_HUGEPAGE; THP "madvise" mode, common, and this VM's). A pass's
// buffers are fresh memory, first touched as the pass starts: in 4 KiB pages, a 784->512->512->10
// float32 pass with two lanes faulted ~3,700 of them, and nobias-predict on 2,000 rows took
// 0.29 s against 0.135 s in huge pages (perf stat -r 3, interleaved; 6,500 -> 2,770 faults).
// From a huge page boundary and in whole huge pages (a partial last one would be 4 KiB pages);
// the advice comes before the first touch (the zeroing), and its failure changes only the speed.
template <class T>
class Scratch {
 public:
  Scratch(std::size_t rows, std::size_t cols) {
    if (rows == 0 || cols == 0) return;
    if (rows > std::numeric_limits<std::size_t>::max() / sizeof(T) / cols) {
      throw ValueError("predict: a block of " + std::to_string(rows) + " x " +
                       std::to_string(cols) + " overflows size_t bytes");
    }
    std::size_t bytes = rows * cols * sizeof(T);
    if (bytes >= kHugePage) {
      bytes = (bytes + kHugePage - 1) / kHugePage * kHugePage;
      data_.get_deleter().align = kHugePage;
    }
    data_.reset(
        static_cast<T*>(::operator new(bytes, std::align_val_t(data_.get_deleter().align))));
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= kHugePage) ::madvise(data_.get(), bytes, MADV_HUGEPAGE);
#endif
    std::fill(data_.get(), data_.get() + rows * cols, T{});
  }
  T* data() const {
    return data_.get();
  }

 private:
  struct Free {
    std::size_t align = 64;  // Matrix's: a cache line
    void operator()(T* p) const { ::operator delete(p, std::align_val_t(align)); }
  };
  std::unique_ptr<T, Free> data_;
};

// Maps rows that are in memory (a mapped file's, in the page cache) into this process in one
// call (MADV_POPULATE_READ, Linux 5.14) before a window's products read them. Faulted in by the
// team as it reads, a few pages a fault, 314 MB of float32 rows cost nobias-predict on this VM
// ~75 ms of its ~1 s (1,006 -> 931 ms, medians of 7 interleaved, load 2.0-2.3); how much
// depends on the page cache (rows in large folios fault cheaply). On rows already mapped, as
// in-memory data, it only walks the page tables; a failure (an older kernel: EINVAL) changes
// only the speed.
template <class T>
void populate_rows(MatrixView<const T> rows) {
  if (rows.rows() == 0) return;
  const T* first = rows.row(0);
  const T* end = rows.row(rows.rows() - 1) + rows.cols();
  populate_for_reading(first, static_cast<std::size_t>(end - first) * sizeof(T));
}

}  // namespace nobias::detail
