#include "core/row_chunks.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>

#include "gemm/parallel.hpp"
#include "gemm/signal_safety.hpp"
#include "nobias/blas.hpp"
#include "nobias/error.hpp"
#include "nobias/full_pass.hpp"
#include "nobias/kernels.hpp"

namespace nobias::detail {

namespace {

// Blocks start at multiples of this from a piece's first row: a multiple of every backend's
// register block along our rows (OpenBLAS's Haswell sgemm: 24; Eigen's, OpenBLAS's dgemm: 4 or
// 8; 64 for a cache line of rows), so that each row meets the same kernel as in one pass.
constexpr std::size_t kBlockMultiple = 192;

// Blocks per thread in a window of predict_streamed (window 0): a window ends with a wait for
// the team's last block, so a few blocks per thread keep that wait short; more only hold more
// inputs and outputs at once.
constexpr std::size_t kBlocksPerThread = 8;
// ... but a window's inputs at most about this (one block per thread at least). Two windows are
// in memory at once (one at the sink, the next computed: run_blocks), so 64 MB is what a pass
// over a mapped file larger than memory holds of it.
constexpr std::size_t kWindowBytes = std::size_t(32) << 20;

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
#if defined(__linux__) && defined(MADV_POPULATE_READ)
  if (rows.rows() == 0) return;
  static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto start = reinterpret_cast<std::uintptr_t>(rows.row(0)) / page * page;
  const auto end = reinterpret_cast<std::uintptr_t>(rows.row(rows.rows() - 1) + rows.cols());
  ::madvise(reinterpret_cast<void*>(start), end - start, MADV_POPULATE_READ);
#else
  (void)rows;
#endif
}

std::size_t widest_hidden(const std::vector<std::size_t>& widths) {
  return widths.size() < 3 ? 0 : *std::max_element(widths.begin() + 1, widths.end() - 1);
}

// The blocks of a pass over n rows: each of Network's pieces cut from its first row into blocks
// of `block` rows, the last of a piece up to block + kBlockMultiple - 1.
template <class T>
std::vector<Range> blocks_of(std::size_t n, const std::vector<std::size_t>& widths,
                             std::size_t block) {
  std::vector<Range> blocks;
  const std::size_t pieces = row_pieces<T>(n, widths);
  for (std::size_t p = 0; p < pieces; ++p) {
    const Range piece = piece_range(n, p, pieces);
    for (std::size_t done = 0; done < piece.count;) {
      // A tail of fewer than kBlockMultiple rows joins the block before it: a product of one
      // row is a matrix-vector product, whose bits differ from the same row's in a larger call.
      const std::size_t rest = piece.count - done;
      const std::size_t count = rest < block + kBlockMultiple ? rest : block;
      blocks.push_back({piece.begin + done, count});
      done += count;
    }
  }
  return blocks;
}

// The forward pass of the rows a (docs/derivation.md, eqs. 1-5) into out: (a.rows(), d_K),
// hidden layers in ping and pong (block x widest hidden).
template <class T>
void forward_block(const std::vector<Matrix<T>>& w, MatrixView<const T> a, MatrixView<T> out,
                   T* ping, T* pong) {
  for (std::size_t k = 0; k < w.size(); ++k) {
    const bool last = k + 1 == w.size();
    const MatrixView<T> h = last ? out : MatrixView<T>(k % 2 ? pong : ping, a.rows(), w[k].cols());
    gemm(Op::N, a, Op::N, w[k].view(), T(1), T(0), h);
    if (!last) relu_forward(h);  // relu(-inf) = 0 is an answer: only training refuses it
    a = h;
  }
}

// A fill that copies x's rows and runs prepare on the copy (a standardization: elementwise, so
// blocks change nothing); none without prepare, so that x's rows are used in place.
template <class T>
RowFill<T> prepared_rows(MatrixView<const T> x, const std::function<void(MatrixView<T>)>& prepare) {
  if (!prepare) return {};
  return [x, &prepare](std::size_t begin, MatrixView<T> to) {
    for (std::size_t i = 0; i < to.rows(); ++i)
      std::copy(x.row(begin + i), x.row(begin + i) + x.cols(), to.row(i));
    prepare(to);
  };
}

// Where a block's outputs go: destination(window, the window's first row, the block's first
// row, its rows), windows numbered from 0.
template <class T>
using Destination =
    std::function<MatrixView<T>(std::size_t, std::size_t, std::size_t, std::size_t)>;
// A window's end: done(window, its first row, its rows).
using WindowDone = std::function<void(std::size_t, std::size_t, std::size_t)>;

// The pass behind predict_in_blocks and predict_streamed over `rows` rows: those fill writes
// into a per-lane buffer, or without fill x's own, in windows of at least `window` rows (whole
// blocks, in row order), each window's blocks shared by the team, each block's outputs into
// destination(...). A window's done(...) runs on the calling thread, in window order, while the
// team computes the next window (the last's after it): the outputs of two windows are in use at
// once (destination must keep them apart), and no thread waits for the file a window's outputs
// go to (a window's check, write and dropped pages took nobias-predict 5-8 ms on which the
// other thread spun idle). Signals are held through a window's products and that done, when
// the products are large enough (SignalHold). A done that throws stops the pass: the team takes
// no more blocks and the exception comes out here. One team for the whole pass. With populate,
// each window's rows of x (when x holds the rows) are mapped in (populate_rows) before its
// products: for a pass over a mapped file.
template <class T>
void run_blocks(const Network<T>& net, std::size_t rows, const RowFill<T>& fill,
                MatrixView<const T> x, std::size_t block, std::size_t window,
                const Destination<T>& destination, const WindowDone& done, bool populate) {
  const std::vector<std::size_t>& widths = net.widths();
  if (block % kBlockMultiple != 0) {
    throw ValueError("predict_in_blocks: blocks of " + std::to_string(block) +
                     " rows, expected a multiple of " + std::to_string(kBlockMultiple));
  }
  if (!fill && (x.cols() != net.input_width() || x.rows() != rows)) {
    throw ShapeError("predict: x is " + shape_string(x.rows(), x.cols()) + ", expected " +
                     shape_string(rows, net.input_width()));
  }
  const std::vector<Range> blocks = blocks_of<T>(rows, widths, block);
  if (blocks.empty()) return;  // no rows
  const std::size_t lanes =
      std::min<std::size_t>(static_cast<std::size_t>(step_threads()), blocks.size());
  // Buffers per lane: two hidden layers, and the block's filled inputs. A lane runs on one
  // thread at a time and takes the next block until none is left; which lane computes a block
  // never changes its bits.
  struct Lane {
    Scratch<T> ping, pong, input;
  };
  std::vector<Lane> buffers;
  const std::size_t most = block + kBlockMultiple - 1;
  for (std::size_t l = 0; l < lanes; ++l) {
    buffers.push_back({Scratch<T>(most, widest_hidden(widths)),
                       Scratch<T>(most, widest_hidden(widths)),
                       Scratch<T>(fill ? most : 0, net.input_width())});
  }
  Team team(static_cast<int>(lanes));
  const std::thread::id caller = std::this_thread::get_id();
  // The window whose done() is still to run: {number, first row, rows}; none before the first.
  struct Ended {
    std::size_t window, first, rows;
  };
  std::optional<Ended> ended;
  std::size_t number = 0;
  for (std::size_t first = 0; first < blocks.size(); ++number) {
    std::size_t last = first, window_rows = 0;
    while (last < blocks.size() && (window_rows == 0 || window_rows < window))
      window_rows += blocks[last++].count;
    if (populate && x.rows() == rows) populate_rows(x.row_block(blocks[first].begin, window_rows));
    std::atomic<std::size_t> next{first};
    std::atomic<bool> stop{false};
    const std::size_t first_row = blocks[first].begin;
    auto lane = [&](std::size_t l) {
      if (ended && std::this_thread::get_id() == caller) {
        // The previous window's done(), beside this window's products on the other threads.
        const Ended previous = *ended;
        ended.reset();
        try {
          done(previous.window, previous.first, previous.rows);
        } catch (...) {
          stop.store(true);
          throw;
        }
      }
      Lane& own = buffers[l];
      for (std::size_t b = next.fetch_add(1); b < last && !stop.load(std::memory_order_relaxed);
           b = next.fetch_add(1)) {
        MatrixView<const T> a;
        if (fill) {
          const MatrixView<T> filled(own.input.data(), blocks[b].count, net.input_width());
          fill(blocks[b].begin, filled);
          a = filled;
        } else {
          a = x.row_block(blocks[b].begin, blocks[b].count);
        }
        forward_block(net.weights(), a,
                      destination(number, first_row, blocks[b].begin, blocks[b].count),
                      own.ping.data(), own.pong.data());
      }
    };
    {
      const SignalHold signals(network_call_holds_signals<T>(widths, window_rows, 1), true);
      team.run(std::min(lanes, last - first), lane);
    }
    // The caller took no piece of this window (the helpers were quicker): its turn now.
    if (ended) {
      done(ended->window, ended->first, ended->rows);
    }
    ended = Ended{number, first_row, window_rows};
    first = last;
  }
  if (ended) done(ended->window, ended->first, ended->rows);  // the last window's
}

}  // namespace

template <class T>
std::size_t block_rows(const std::vector<std::size_t>& widths) {
  // About kBlockBytes of one block's activations through every layer: 1536 rows of
  // 784->512->512->10 in float32. A sweep of Network.predict over slices of 40,000 rows, one
  // thread, on a loaded 2-core machine: 192-row blocks ran at 0.55x of one pass (every product
  // packs the weights again), 384 to 6144 rows within the noise of one pass; larger blocks only
  // add memory.
  constexpr std::size_t kBlockBytes = std::size_t(12) << 20;
  constexpr std::size_t kLeast = kBlockMultiple, kMost = 64 * kBlockMultiple;
  std::size_t per_row = 0;
  for (const std::size_t w : widths)
    per_row += w * sizeof(T);
  const std::size_t rows = per_row == 0 ? kMost : kBlockBytes / per_row;
  return std::clamp<std::size_t>(rows / kBlockMultiple * kBlockMultiple, kLeast, kMost);
}

template <class T>
void predict_in_blocks(const Network<T>& net, MatrixView<const T> x, MatrixView<T> out,
                       std::size_t block, const std::function<void(MatrixView<T>)>& prepare) {
  if (x.cols() != net.input_width()) {
    throw ShapeError("predict: x is " + shape_string(x.rows(), x.cols()) + " and out " +
                     shape_string(out.rows(), out.cols()) + ", expected n x " +
                     std::to_string(net.input_width()) + " and n x " +
                     std::to_string(net.output_width()));
  }
  predict_in_blocks<T>(net, x.rows(), prepared_rows<T>(x, prepare), out, block, x);
}

template <class T>
void predict_in_blocks(const Network<T>& net, std::size_t rows, const RowFill<T>& fill,
                       MatrixView<T> out, std::size_t block, MatrixView<const T> x) {
  if (out.rows() != rows || out.cols() != net.output_width()) {
    throw ShapeError("predict: x is " + shape_string(rows, net.input_width()) + " and out " +
                     shape_string(out.rows(), out.cols()) + ", expected n x " +
                     std::to_string(net.input_width()) + " and n x " +
                     std::to_string(net.output_width()));
  }
  // One window of every row, written in place: nothing to copy, nothing to hand on.
  run_blocks<T>(
      net, rows, fill, x, block, rows,
      [&](std::size_t, std::size_t, std::size_t first, std::size_t count) {
        return out.row_block(first, count);
      },
      [](std::size_t, std::size_t, std::size_t) {}, false);
}

template <class T>
void predict_streamed(const Network<T>& net, MatrixView<const T> x, std::size_t block,
                      const std::function<void(MatrixView<T>)>& prepare, std::size_t window,
                      const std::function<void(std::size_t, MatrixView<T>)>& sink) {
  if (window == 0) {
    const std::size_t threads = static_cast<std::size_t>(std::max(1, step_threads()));
    const std::size_t row_bytes = std::max<std::size_t>(1, x.cols() * sizeof(T));
    window = std::max(block * threads,
                      std::min(block * kBlocksPerThread * threads, kWindowBytes / row_bytes));
  }
  // A window is whole blocks: at most window + block + kBlockMultiple - 1 rows. Two windows'
  // outputs: one at the sink while the team writes the next (run_blocks).
  const std::size_t most = std::min(x.rows(), window + block + kBlockMultiple);
  Matrix<T> outputs[2] = {Matrix<T>(most, net.output_width()),
                          Matrix<T>(x.rows() > window ? most : 0, net.output_width())};
  run_blocks<T>(
      net, x.rows(), prepared_rows<T>(x, prepare), x, block, window,
      [&](std::size_t number, std::size_t window_first, std::size_t first, std::size_t count) {
        return outputs[number % 2].row_block(first - window_first, count);
      },
      [&](std::size_t number, std::size_t first, std::size_t rows) {
        sink(first, outputs[number % 2].row_block(0, rows));
      },
      true);
}

template <class T>
double loss_in_blocks(Network<T>& net, MatrixView<const T> x, MatrixView<const T> y,
                      Reduction reduction, std::size_t block) {
  if (block == 0) block = block_rows<T>(net.widths());
  // Network's own path for what fits one block and for every shape it refuses.
  if (x.rows() <= block || x.cols() != net.input_width() || y.cols() != net.output_width() ||
      y.rows() != x.rows()) {
    return net.loss(x, y, reduction);
  }
  Matrix<T> yhat(x.rows(), net.output_width());
  predict_in_blocks<T>(net, x, yhat.view(), block, {});
  const double loss = squared_error(MatrixView<const T>(yhat.view()), y);
  if (!std::isfinite(loss)) {  // bad data, as net.loss words it; else diverged weights
    require_finite(x, "loss: x");
    require_finite(y, "loss: y");
  }
  if (reduction == Reduction::Sum) return loss;
  return loss * (1.0 / (static_cast<double>(x.rows()) * static_cast<double>(net.output_width())));
}

#define NOBIAS_ROW_CHUNKS(T)                                                                  \
  template std::size_t block_rows<T>(const std::vector<std::size_t>&);                        \
  template void predict_in_blocks<T>(const Network<T>&, MatrixView<const T>, MatrixView<T>,   \
                                     std::size_t, const std::function<void(MatrixView<T>)>&); \
  template void predict_streamed<T>(const Network<T>&, MatrixView<const T>, std::size_t,      \
                                    const std::function<void(MatrixView<T>)>&, std::size_t,   \
                                    const std::function<void(std::size_t, MatrixView<T>)>&);  \
  template void predict_in_blocks<T>(const Network<T>&, std::size_t, const RowFill<T>&,       \
                                     MatrixView<T>, std::size_t, MatrixView<const T>);        \
  template double loss_in_blocks<T>(Network<T>&, MatrixView<const T>, MatrixView<const T>,    \
                                    Reduction, std::size_t);
NOBIAS_ROW_CHUNKS(float)
NOBIAS_ROW_CHUNKS(double)
#undef NOBIAS_ROW_CHUNKS

}  // namespace nobias::detail

namespace nobias {

template <class T>
double full_loss(Network<T>& net, MatrixView<const T> x, MatrixView<const T> y,
                 Reduction reduction) {
  return detail::loss_in_blocks<T>(net, x, y, reduction);
}

template double full_loss<float>(Network<float>&, MatrixView<const float>, MatrixView<const float>,
                                 Reduction);
template double full_loss<double>(Network<double>&, MatrixView<const double>,
                                  MatrixView<const double>, Reduction);

}  // namespace nobias
