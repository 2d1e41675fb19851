// A model's predictions (predict_with, predict_rows, Model::predict): the standardization,
// then the network's pass in blocks of rows (core/row_chunks.hpp).
#include <algorithm>
#include <atomic>
#include <functional>
#include <string>

#include "core/overlap.hpp"
#include "core/row_chunks.hpp"
#include "gemm/parallel.hpp"
#include "nobias/model.hpp"
#include "nobias/targets.hpp"

namespace nobias {

namespace {

template <class T>
std::function<void(MatrixView<T>)> standardizer(const Standardization& s) {
  if (!s.has_x()) return {};
  return [&s](MatrixView<T> rows) { standardize_x<T>(s, rows); };
}

// out must be (rows of x) x d_K and apart from x and the weights: the passes read x (and the
// weights) until their last block, so out may not be written first.
template <class T>
void require_out(const char* where, const Network<T>& net, MatrixView<const T> x,
                 MatrixView<T> out) {
  if (out.rows() != x.rows() || out.cols() != net.output_width()) {
    throw ShapeError(std::string(where) + ": out is " + shape_string(out.rows(), out.cols()) +
                     ", expected " + shape_string(x.rows(), net.output_width()));
  }
  if (detail::overlap(x, MatrixView<const T>(out))) {
    throw ValueError(std::string(where) +
                     ": out overlaps x; the predictions would overwrite rows still read");
  }
  net.require_apart(where, "out", out);
}

}  // namespace

template <class T>
void predict_with(const Network<T>& net, const Standardization& s, MatrixView<const T> x,
                  MatrixView<T> out) {
  require_out<T>("predict_with", net, x, out);
  // Many rows: in blocks, standardizing one block at a time, the same bits
  // (core/row_chunks.hpp); memory does not grow with rows x widths.
  const std::size_t block = detail::block_rows<T>(net.widths());
  // Fewer rows cut into several of Network's pieces go the same way, one block a piece, so
  // that the team shares them (as Network::predict(x) const does): the same bits, each piece
  // being one product per layer either way.
  const bool pieces = detail::row_pieces<T>(x.rows(), net.widths()) > 1;
  if ((x.rows() > block || pieces) && x.cols() == net.input_width()) {
    detail::predict_in_blocks<T>(net, x, out, block, standardizer<T>(s));
  } else {
    // At most a block (or a shape net.predict refuses, in its words): one pass.
    Matrix<T> p;
    if (s.has_x()) {
      Matrix<T> standardized = Matrix<T>::copy_of(x);
      standardize_x<T>(s, standardized.view());
      p = net.predict(standardized.view());
    } else {
      p = net.predict(x);
    }
    for (std::size_t i = 0; i < p.rows(); ++i)
      std::copy(p.view().row(i), p.view().row(i) + p.cols(), out.row(i));
  }
  unstandardize_y<T>(s, out);
}

template <class T>
void predict_into(Network<T>& net, const Standardization& s, MatrixView<const T> x,
                  MatrixView<T> out) {
  const std::size_t block = detail::block_rows<T>(net.widths());
  if (x.rows() <= block || x.cols() != net.input_width()) {
    // Network::predict's own path and refusals (x's shape first, before any copy).
    if (!s.has_x() || x.rows() == 0 || x.cols() != net.input_width()) {
      net.predict(x, out);
    } else {
      Matrix<T> standardized = Matrix<T>::copy_of(x);  // at most a block of rows
      standardize_x<T>(s, standardized.view());
      net.predict(standardized.view(), out);
    }
    unstandardize_y<T>(s, out);
    return;
  }
  require_out<T>("predict", net, x, out);  // in Python's words, before predict_with's
  predict_with<T>(net, s, x, out);
}

template <class T>
Matrix<T> predict_with(const Network<T>& net, const Standardization& s, MatrixView<const T> x) {
  Matrix<T> p(x.rows(), net.output_width());
  predict_with<T>(net, s, x, p.view());
  return p;
}

template <class T>
void predict_rows(const Network<T>& net, const Standardization& s, MatrixView<const T> x,
                  const std::function<void(std::size_t, MatrixView<const T>, bool)>& sink,
                  std::size_t window) {
  const std::size_t block = detail::block_rows<T>(net.widths());
  if (x.rows() <= block || x.cols() != net.input_width()) {
    // One block's worth, and every shape predict_with refuses, as predict_with does; its
    // hidden values are not tracked.
    const Matrix<T> p = predict_with<T>(net, s, x);
    if (p.rows() > 0) sink(0, p.view(), false);
    return;
  }
  detail::predict_streamed<T>(net, x, block, standardizer<T>(s), window,
                              [&](std::size_t first, MatrixView<T> p, bool hidden_finite) {
                                unstandardize_y<T>(s, p);
                                sink(first, p, hidden_finite);
                              });
}

template <class T>
void predict_read(
    const Network<T>& net, const Standardization& s, std::size_t rows,
    const std::function<void(std::size_t, MatrixView<T>)>& read,
    const std::function<void(std::size_t, MatrixView<const T>, MatrixView<const T>, bool)>& sink,
    std::size_t window) {
  const std::size_t block = detail::block_rows<T>(net.widths());
  if (rows <= block) {  // as predict_rows: one block's worth, predict_with's path and refusals
    Matrix<T> x(rows, net.input_width());
    read(0, x.view());
    const Matrix<T> p = predict_with<T>(net, s, x.view());
    if (p.rows() > 0) sink(0, x.view(), p.view(), false);
    return;
  }
  // The pass's windows, loaded in order into two slots: window w in slot w % 2 from its load
  // until window w + 2's, after window w's sink (detail::predict_streamed's load). The team's
  // threads find a block's slot while the caller loads the other one: its bounds are atomics,
  // and a slot being loaded holds no row of a block being filled.
  struct Slot {
    Matrix<T> rows;
    std::atomic<std::size_t> first{0}, count{0};
  };
  Slot slots[2];
  // Each sized once, at its first window, for the longest: a slot grown mid-pass would hold two
  // copies a moment, and a pass of one window needs one slot.
  const std::size_t most = detail::most_window_rows<T>(net, rows, block, window);
  const auto slot_of = [&](std::size_t row) -> const Slot& {
    const std::size_t count = slots[0].count.load(), first = slots[0].first.load();
    return row >= first && row - first < count ? slots[0] : slots[1];
  };
  const auto load = [&](std::size_t number, std::size_t first, std::size_t count) {
    Slot& slot = slots[number % 2];
    slot.count.store(0);  // the slot of no row until read
    if (slot.rows.rows() < count) slot.rows = Matrix<T>(std::max(most, count), net.input_width());
    slot.first.store(first);
    read(first, slot.rows.view().row_block(0, count));
    slot.count.store(count);
  };
  const auto fill = [&](std::size_t begin, MatrixView<T> to) {
    const Slot& slot = slot_of(begin);
    const MatrixView<const T> from = slot.rows.view().row_block(begin - slot.first, to.rows());
    for (std::size_t i = 0; i < to.rows(); ++i)
      std::copy(from.row(i), from.row(i) + to.cols(), to.row(i));
    if (s.has_x()) standardize_x<T>(s, to);  // as predict_rows' blocks: a copy, standardized
  };
  detail::predict_streamed<T>(
      net, rows, fill, {}, block, window,
      [&](std::size_t first, MatrixView<T> p, bool hidden_finite) {
        unstandardize_y<T>(s, p);
        const Slot& slot = slot_of(first);
        sink(first, slot.rows.view().row_block(first - slot.first, p.rows()), p, hidden_finite);
      },
      load);
}

template <class T>
Matrix<T> Model<T>::predict(MatrixView<const T> x) const {
  return predict_with<T>(network, info.standardization, x);
}

#define NOBIAS_MODEL_PREDICT(T)                                                                 \
  template struct Model<T>;                                                                     \
  template Matrix<T> predict_with<T>(const Network<T>&, const Standardization&,                 \
                                     MatrixView<const T>);                                      \
  template void predict_with<T>(const Network<T>&, const Standardization&, MatrixView<const T>, \
                                MatrixView<T>);                                                 \
  template void predict_into<T>(Network<T>&, const Standardization&, MatrixView<const T>,       \
                                MatrixView<T>);                                                 \
  template void predict_rows<T>(                                                                \
      const Network<T>&, const Standardization&, MatrixView<const T>,                           \
      const std::function<void(std::size_t, MatrixView<const T>, bool)>&, std::size_t);         \
  template void predict_read<T>(                                                                \
      const Network<T>&, const Standardization&, std::size_t,                                   \
      const std::function<void(std::size_t, MatrixView<T>)>&,                                   \
      const std::function<void(std::size_t, MatrixView<const T>, MatrixView<const T>, bool)>&,  \
      std::size_t);
NOBIAS_MODEL_PREDICT(float)
NOBIAS_MODEL_PREDICT(double)
#undef NOBIAS_MODEL_PREDICT

}  // namespace nobias
