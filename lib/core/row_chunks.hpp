// Internal: full-data passes (predictions, the loss over every row) in blocks of rows, so that
// their memory is the weights + the data + O(block x widest layer) whatever the rows, each
// block's activations stay in cache, and the team shares the blocks.
//
// The same bits as one pass over every row (Network::predict, Network::loss). A product's bits
// for a row can depend on where the row sits in the call (backends take a call's last few rows,
// past a multiple of their register block, down another path: Eigen's float64 GEMM does), so a
// block is not any slice: the pass is cut into the pieces Network's own pass uses
// (gemm/parallel.hpp's row_pieces), and each piece into blocks from its first row, of a
// multiple of 192 rows (a multiple of every backend's register block) but for the piece's
// last, which is never shorter than 192 rows (unless the piece is): a one-row product is a
// matrix-vector product (the float64 Eigen backend's gemv), whose sums run in another order;
// OpenBLAS's Haswell sgemm takes rows 24 at a time from a call's first row. Every row then
// meets the products' kernels as in one pass, on the backends tests/test_row_chunks.cpp checks.
// Callers send data of at most one block to Network's own path.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "nobias/matrix.hpp"
#include "nobias/network.hpp"

namespace nobias::detail {

// Rows per block for a network of `widths` ({d_0, ..., d_K}) in T: a multiple of 192.
template <class T>
std::size_t block_rows(const std::vector<std::size_t>& widths);

// net.predict(x) into out (x.rows() x d_K), for more rows than a block, or fewer cut into
// several of Network's pieces (one block a piece, shared by the team; a single piece: call
// net.predict), each block's outputs written straight into its rows of out; `block` a multiple
// of 192 (block_rows<T>). With prepare, each block's rows of x are copied and prepare(copy) runs
// on them first (a standardization: elementwise, so blocks change nothing). Memory besides x
// and out: per thread, two blocks of the widest hidden layer (and one of x with prepare).
template <class T>
void predict_in_blocks(const Network<T>& net, MatrixView<const T> x, MatrixView<T> out,
                       std::size_t block, const std::function<void(MatrixView<T>)>& prepare);

// Writes rows [begin, begin + to.rows()) of a pass's input into to.
template <class T>
using RowFill = std::function<void(std::size_t begin, MatrixView<T> to)>;

// The same over `rows` rows that fill writes, block by block, into a per-lane buffer (a
// gathered or standardized input: each block's rows meet the products as a copy's would);
// without fill, the rows of x are used in place.
template <class T>
void predict_in_blocks(const Network<T>& net, std::size_t rows, const RowFill<T>& fill,
                       MatrixView<T> out, std::size_t block, MatrixView<const T> x = {});

// A window of a pass's outputs: sink(its first row, its outputs, hidden_finite), hidden_finite
// saying whether every value of its rows in the network's hidden layers was finite (true for a
// network without one). An infinity or NaN in a row of x spreads to every value of that row in
// the first hidden layer (an infinity or NaN times any weight is one, and so is any sum that
// holds one), so a pass that must refuse bad inputs reads them again only where this is false or
// an output is not finite.
template <class T>
using WindowSink = std::function<void(std::size_t, MatrixView<T>, bool)>;

// The same outputs as predict_in_blocks, handed to sink(first row, their outputs, ...) in row
// order, a window of at least `window` rows (whole blocks; 0: a few blocks per thread, about 32 MB
// of x or less) at a time: never all held at once, for a pass whose outputs go to a file as they
// come. The view is valid during the call only. sink runs on the calling thread, with signals let
// in, while the other threads compute the next window (an exception from it stops the pass). Memory
// besides x: predict_in_blocks' per thread, and two windows of outputs. Each window's rows of x are
// mapped into the process in one call before its products read them (MADV_POPULATE_READ): x may be
// a mapped file (map_npy), whose pages the sink may drop once their window is done
// (NpyRows::drop_rows).
template <class T>
void predict_streamed(const Network<T>& net, MatrixView<const T> x, std::size_t block,
                      const std::function<void(MatrixView<T>)>& prepare, std::size_t window,
                      const WindowSink<T>& sink);

// The most rows a window of predict_streamed's pass over `rows` rows holds (window 0: the
// library's choice): to size what holds a window.
template <class T>
std::size_t most_window_rows(const Network<T>& net, std::size_t rows, std::size_t block,
                             std::size_t window);

// Reads a window of a pass's rows before fill is asked for them: load(window, its first row, its
// rows), on the calling thread, windows in order (predict_streamed below).
using WindowLoad = std::function<void(std::size_t, std::size_t, std::size_t)>;

// The same over `rows` rows that fill writes (or x's own, without fill), as predict_in_blocks.
// With load, each window is loaded first, on the calling thread and in order, windows 0 and 1
// before any block, window w + 2 right after window w's sink: rows read in order from a file
// (predict_read), two windows of them at once, each until its sink has returned.
template <class T>
void predict_streamed(const Network<T>& net, std::size_t rows, const RowFill<T>& fill,
                      MatrixView<const T> x, std::size_t block, std::size_t window,
                      const WindowSink<T>& sink, const WindowLoad& load = {});

// Rows [first, first + count) of a pass's targets; the view is used before the next call.
template <class T>
using TargetRows = std::function<MatrixView<const T>(std::size_t first, std::size_t count)>;

// A window of one block per thread (predict_streamed's window): for a pass whose sink is quick
// (a loss adds, metrics count), every thread computes while the caller's sink runs, and the
// pass holds about 2 x (threads + 1) blocks of outputs whatever its rows. One block a window
// would leave at most two threads busy: a window's blocks wait for the one two before it.
std::size_t block_per_thread_window(std::size_t block);

// squared_error(the pass's predictions, its targets), bit for bit, a window of predictions at
// a time (predict_streamed's; a loss passes block_per_thread_window): flat says whether the
// targets, whole, are contiguous (squared_error's sums differ for the two:
// core/squared_error_sum.hpp).
template <class T>
double squared_error_streamed(const Network<T>& net, std::size_t rows, const RowFill<T>& fill,
                              MatrixView<const T> x, std::size_t block, std::size_t window,
                              bool flat, const TargetRows<T>& targets);

// net.loss(x, y, reduction), bit for bit, with predict_streamed's memory: never a prediction
// of every row. A NaN or an infinity in x or y is refused as net.loss refuses it.
template <class T>
double loss_in_blocks(Network<T>& net, MatrixView<const T> x, MatrixView<const T> y,
                      Reduction reduction, std::size_t block = 0);

}  // namespace nobias::detail
