#include "core/row_chunks.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>

#include "core/row_buffers.hpp"
#include "gemm/parallel.hpp"
#include "gemm/signal_safety.hpp"
#include "nobias/blas.hpp"
#include "nobias/error.hpp"
#include "nobias/interrupt.hpp"
#include "nobias/kernels.hpp"

namespace nobias::detail {

namespace {

// Blocks start at multiples of this from a piece's first row: a multiple of every backend's
// register block along our rows (OpenBLAS's Haswell sgemm: 24; Eigen's, OpenBLAS's dgemm: 4 or
// 8; 64 for a cache line of rows), so that each row meets the same kernel as in one pass.
constexpr std::size_t kBlockMultiple = 192;

// Blocks per thread in a window of predict_streamed (window 0): enough that a window's done()
// on the caller overlaps the other threads' blocks of the next; more only hold more inputs and
// outputs at once.
constexpr std::size_t kBlocksPerThread = 8;
// ... but a window's inputs at most about this (one block per thread at least). Two windows are
// in memory at once (one at the sink, the next computed: run_blocks), so 64 MB is what a pass
// over a mapped file larger than memory holds of it.
constexpr std::size_t kWindowBytes = std::size_t(32) << 20;

// A wait for another thread's progress: a few yields, then short sleeps, so that a slow sink
// (a CSV written to a pipe) does not cost a core spinning.
void pause_briefly() {
  thread_local unsigned spins = 0;
  if (++spins % 64 != 0) {
    std::this_thread::yield();
  } else {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
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
  blocks.reserve(n / block + pieces);  // at most; an impossible n fails here, not block by block
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
// hidden layers in ping and pong (block x widest hidden). Returns whether every hidden value
// was finite: relu_forward finds out as it passes, for nothing.
template <class T>
bool forward_block(const std::vector<Matrix<T>>& w, MatrixView<const T> a, MatrixView<T> out,
                   T* ping, T* pong) {
  bool finite = true;
  for (std::size_t k = 0; k < w.size(); ++k) {
    const bool last = k + 1 == w.size();
    const MatrixView<T> h = last ? out : MatrixView<T>(k % 2 ? pong : ping, a.rows(), w[k].cols());
    gemm(Op::N, a, Op::N, w[k].view(), T(1), T(0), h);
    // relu(-inf) = 0 is an answer: only training refuses it.
    if (!last && !relu_forward(h)) finite = false;
    a = h;
  }
  return finite;
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
// A window's end: done(window, its first row, its rows, whether every hidden value of its rows
// was finite).
using WindowDone = std::function<void(std::size_t, std::size_t, std::size_t, bool)>;

// The pass behind predict_in_blocks and predict_streamed over `rows` rows: those fill writes
// into a per-lane buffer, or without fill x's own, in windows of at least `window` rows (whole
// blocks, in row order), each block's outputs into destination(...). The team takes blocks in
// row order without waiting at a window's end: each window's done(...) runs on the calling
// thread, in window order, between its blocks once every block of the window is computed (the
// last windows' after the team's last block), with signals let in; a block of window w waits
// for window w - 2's done, so that two windows are in use at once (destination keeps them
// apart; with populate, two windows of x are in memory). A window's end waited for the team's
// last block, and its done ran while the other thread spun idle: at 64 MB windows, 13% of
// nobias-predict's time under load 3. Signals are held through each block's products on the
// calling thread (SignalHold). After each block the calling thread computes, the caller's
// interrupt check runs (with signals let in), if it has one. A done, a block or the check that
// throws stops the pass: the team takes no more blocks and the exception comes out here. With
// populate, each window's rows of x (when x holds the rows) are mapped in (populate_rows) before
// any of its blocks is read: for a pass over a mapped file. With load, load(window, its first row,
// its rows) runs on the calling thread for each window in order, before any of its blocks is
// filled: windows 0 and 1 first, window w + 2 as soon as window w's done() has run (so two windows
// are loaded at once, and a window's rows stay loaded through its done()): for rows read in order
// (a file read as it is predicted).
template <class T>
void run_blocks(const Network<T>& net, std::size_t rows, const RowFill<T>& fill,
                MatrixView<const T> x, std::size_t block, std::size_t window,
                const Destination<T>& destination, const WindowDone& done, bool populate,
                const WindowLoad& load = {}) {
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
  // The windows: whole blocks, each of `window` rows or more but the last.
  std::vector<Range> windows;  // {first row, rows}
  std::vector<std::size_t> window_of(blocks.size()), first_block;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    if (windows.empty() || windows.back().count >= window) {
      windows.push_back({blocks[b].begin, 0});
      first_block.push_back(b);
    }
    windows.back().count += blocks[b].count;
    window_of[b] = windows.size() - 1;
  }
  first_block.push_back(blocks.size());
  for (std::size_t w = 0; load && w < std::min<std::size_t>(2, windows.size()); ++w)
    load(w, windows[w].begin, windows[w].count);
  const std::size_t lanes =
      std::min<std::size_t>(static_cast<std::size_t>(step_threads()), blocks.size());
  // Buffers per lane: two hidden layers, and the block's filled inputs. A lane runs on one
  // thread at a time and takes the next block until none is left; which lane computes a block
  // never changes its bits.
  struct Lane {
    Scratch<T> ping, pong, input;
  };
  std::vector<Lane> buffers;
  // No block is longer than the pass: a small one takes no more than its rows.
  const std::size_t most = std::min(rows, block + kBlockMultiple - 1);
  for (std::size_t l = 0; l < lanes; ++l) {
    buffers.push_back({Scratch<T>(most, widest_hidden(widths)),
                       Scratch<T>(most, widest_hidden(widths)),
                       Scratch<T>(fill ? most : 0, net.input_width())});
  }
  const std::thread::id caller = std::this_thread::get_id();
  std::unique_ptr<std::atomic<std::size_t>[]> computed(
      new std::atomic<std::size_t>[windows.size()]());  // blocks done, per window
  std::unique_ptr<std::atomic<bool>[]> nonfinite(
      new std::atomic<bool>[windows.size()]());  // a hidden value was not finite, per window
  std::atomic<std::size_t> next{0}, ended{0};    // the next block to take; windows done() with
  std::atomic<bool> stop{false};
  // Only the caller ends windows, and only from a lane: a helper keeps its lane until the caller
  // holds one, or with 3 lanes or more helpers could take them all, waiting for windows nobody
  // would end.
  std::atomic<bool> caller_in{false};
  std::mutex mapping;
  std::size_t mapped = 0;  // windows populated, under mapping
  SignalHold signals(network_call_holds_signals<T>(widths, block, 1));
  // The caller's interrupt check (nobias/interrupt.hpp), after each block the calling thread
  // computes: a throw stops the pass as a throwing done() does.
  const bool checked = interrupt_check_installed();
  // On the calling thread: done() for every window whose blocks are all computed, in order.
  const auto end_windows = [&] {
    for (std::size_t w = ended.load(); w < windows.size(); w = ended.load()) {
      if (computed[w].load() != first_block[w + 1] - first_block[w]) return;
      signals.let_in();
      done(w, windows[w].begin, windows[w].count, !nonfinite[w].load());
      // Before ended moves: a block of window w + 2 waits for it, and so for this load.
      if (load && w + 2 < windows.size()) load(w + 2, windows[w + 2].begin, windows[w + 2].count);
      ended.store(w + 1);
    }
  };
  auto lane = [&](std::size_t l) {
    const bool on_caller = std::this_thread::get_id() == caller;
    if (on_caller) caller_in.store(true);
    try {
      for (std::size_t b = next.fetch_add(1); b < blocks.size(); b = next.fetch_add(1)) {
        const std::size_t w = window_of[b];
        // Window w's outputs take the place of window w - 2's: its done() first.
        for (;;) {
          if (stop.load()) return;  // (a piece the caller takes after its own threw, too)
          if (on_caller) end_windows();
          if (w < 2 || ended.load() >= w - 1) break;
          if (on_caller) signals.let_in();  // the wait may be long: a signal need not wait
          pause_briefly();
        }
        if (populate && x.rows() == rows) {
          const std::lock_guard<std::mutex> held(mapping);
          for (; mapped <= w; ++mapped)
            populate_rows(x.row_block(windows[mapped].begin, windows[mapped].count));
        }
        Lane& own = buffers[l];
        MatrixView<const T> a;
        if (fill) {
          const MatrixView<T> filled(own.input.data(), blocks[b].count, net.input_width());
          fill(blocks[b].begin, filled);
          a = filled;
        } else {
          a = x.row_block(blocks[b].begin, blocks[b].count);
        }
        if (on_caller) signals.hold();
        if (!forward_block(net.weights(), a,
                           destination(w, windows[w].begin, blocks[b].begin, blocks[b].count),
                           own.ping.data(), own.pong.data())) {
          nonfinite[w].store(true);  // before the block counts: done() reads it after
        }
        computed[w].fetch_add(1);
        if (on_caller && checked) {
          signals.let_in();  // a signal held through the block reaches its handler first
          interruption_point(Interruption::Periodic);
        } else if (on_caller) {
          signals.let_in_if_due();
        }
      }
      // No block left to take; the caller still ends windows as the team computes them, or a
      // helper waiting for a window's done() would wait for ever.
      while (on_caller && !stop.load() && ended.load() < windows.size()) {
        end_windows();
        if (checked) interruption_point(Interruption::Periodic);
        pause_briefly();
      }
      while (!on_caller && !stop.load() && !caller_in.load())
        pause_briefly();
    } catch (...) {
      stop.store(true);
      throw;
    }
  };
  {
    Team team(static_cast<int>(lanes));
    team.run(lanes, lane);
  }
  signals.let_in();
  // The windows left: every block computed (the caller's lane ends only so, or by a throw that
  // left team.run), so every window loaded; no load here.
  for (std::size_t w = ended.load(); w < windows.size(); ++w)
    done(w, windows[w].begin, windows[w].count, !nonfinite[w].load());
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
      [](std::size_t, std::size_t, std::size_t, bool) {}, false);
}

std::size_t block_per_thread_window(std::size_t block) {
  return block * static_cast<std::size_t>(std::max(1, step_threads()));
}

template <class T>
std::size_t stream_window(const Network<T>& net, std::size_t block, std::size_t window) {
  if (window != 0) return window;
  const std::size_t threads = static_cast<std::size_t>(std::max(1, step_threads()));
  // About kWindowBytes of inputs, or of outputs when they are the wider (an autoencoder's).
  const std::size_t row_bytes =
      std::max<std::size_t>(1, std::max(net.input_width(), net.output_width()) * sizeof(T));
  return std::max(block * threads,
                  std::min(block * kBlocksPerThread * threads, kWindowBytes / row_bytes));
}

template <class T>
std::size_t most_window_rows(const Network<T>& net, std::size_t rows, std::size_t block,
                             std::size_t window) {
  // A window is whole blocks: at most window + block + kBlockMultiple - 1 rows.
  return std::min(rows, stream_window<T>(net, block, window) + block + kBlockMultiple);
}

template <class T>
void predict_streamed(const Network<T>& net, std::size_t rows, const RowFill<T>& fill,
                      MatrixView<const T> x, std::size_t block, std::size_t window,
                      const WindowSink<T>& sink, const WindowLoad& load) {
  window = stream_window<T>(net, block, window);
  // Two windows' outputs: one at the sink while the team writes the next (run_blocks).
  const std::size_t most = most_window_rows<T>(net, rows, block, window);
  Matrix<T> outputs[2] = {Matrix<T>(most, net.output_width()),
                          Matrix<T>(rows > window ? most : 0, net.output_width())};
  run_blocks<T>(
      net, rows, fill, x, block, window,
      [&](std::size_t number, std::size_t window_first, std::size_t first, std::size_t count) {
        return outputs[number % 2].row_block(first - window_first, count);
      },
      [&](std::size_t number, std::size_t first, std::size_t count, bool hidden_finite) {
        sink(first, outputs[number % 2].row_block(0, count), hidden_finite);
      },
      true, load);
}

template <class T>
void predict_streamed(const Network<T>& net, MatrixView<const T> x, std::size_t block,
                      const std::function<void(MatrixView<T>)>& prepare, std::size_t window,
                      const WindowSink<T>& sink) {
  predict_streamed<T>(net, x.rows(), prepared_rows<T>(x, prepare), x, block, window, sink);
}

#define NOBIAS_ROW_CHUNKS(T)                                                                  \
  template std::size_t block_rows<T>(const std::vector<std::size_t>&);                        \
  template std::size_t most_window_rows<T>(const Network<T>&, std::size_t, std::size_t,       \
                                           std::size_t);                                      \
  template void predict_in_blocks<T>(const Network<T>&, MatrixView<const T>, MatrixView<T>,   \
                                     std::size_t, const std::function<void(MatrixView<T>)>&); \
  template void predict_streamed<T>(const Network<T>&, MatrixView<const T>, std::size_t,      \
                                    const std::function<void(MatrixView<T>)>&, std::size_t,   \
                                    const WindowSink<T>&);                                    \
  template void predict_streamed<T>(const Network<T>&, std::size_t, const RowFill<T>&,        \
                                    MatrixView<const T>, std::size_t, std::size_t,            \
                                    const WindowSink<T>&, const WindowLoad&);                 \
  template void predict_in_blocks<T>(const Network<T>&, std::size_t, const RowFill<T>&,       \
                                     MatrixView<T>, std::size_t, MatrixView<const T>);
NOBIAS_ROW_CHUNKS(float)
NOBIAS_ROW_CHUNKS(double)
#undef NOBIAS_ROW_CHUNKS

}  // namespace nobias::detail
