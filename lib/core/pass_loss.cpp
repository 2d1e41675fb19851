// The loss over every row of a pass, a window of predictions at a time (core/row_chunks.hpp).
#include <cmath>
#include <functional>

#include "core/row_chunks.hpp"
#include "core/squared_error_sum.hpp"
#include "nobias/full_pass.hpp"
#include "nobias/kernels.hpp"

namespace nobias::detail {

template <class T>
double squared_error_streamed(const Network<T>& net, std::size_t rows, const RowFill<T>& fill,
                              MatrixView<const T> x, std::size_t block, std::size_t window,
                              bool flat, const TargetRows<T>& targets) {
  SquaredErrorSum<T> sum;
  predict_streamed<T>(net, rows, fill, x, block, window,
                      [&](std::size_t first, MatrixView<T> p, bool /*hidden_finite*/) {
                        const MatrixView<const T> yhat = p, y = targets(first, p.rows());
                        if (flat) {
                          sum.add_flat(yhat, y, first * p.cols());
                        } else {
                          sum.add_rows(yhat, y);
                        }
                      });
  return sum.total();
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
  // A window of predictions at a time against y's rows, summed as squared_error(yhat, y) would
  // sum a whole yhat (contiguous) against y.
  const double loss = squared_error_streamed<T>(
      net, x.rows(), {}, x, block, block_per_thread_window(block), y.contiguous(),
      [&](std::size_t first, std::size_t count) { return y.row_block(first, count); });
  if (!std::isfinite(loss)) {  // bad data, as net.loss words it; else diverged weights
    require_finite(x, "loss: x");
    require_finite(y, "loss: y");
  }
  if (reduction == Reduction::Sum) return loss;
  return loss * (1.0 / (static_cast<double>(x.rows()) * static_cast<double>(net.output_width())));
}

#define NOBIAS_PASS_LOSS(T)                                                                      \
  template double squared_error_streamed<T>(const Network<T>&, std::size_t, const RowFill<T>&,   \
                                            MatrixView<const T>, std::size_t, std::size_t, bool, \
                                            const TargetRows<T>&);                               \
  template double loss_in_blocks<T>(Network<T>&, MatrixView<const T>, MatrixView<const T>,       \
                                    Reduction, std::size_t);
NOBIAS_PASS_LOSS(float)
NOBIAS_PASS_LOSS(double)
#undef NOBIAS_PASS_LOSS

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
