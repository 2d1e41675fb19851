// Internal: the steps of one process, the default seam of fit().
#pragma once

#include <algorithm>
#include <vector>

#include "core/row_chunks.hpp"
#include "nobias/fit.hpp"

namespace nobias::detail {

template <class T>
class LocalSteps final : public StepSeam<T> {
 public:
  void start(Network<T>& net, Optimizer<T>& optimizer, MatrixView<const T> x, MatrixView<const T> y,
             std::size_t batch) override {
    net_ = &net;
    optimizer_ = &optimizer;
    x_ = x;
    y_ = y;
    batch_ = batch;
  }

  void arrange(const std::vector<std::size_t>* order) override {
    shuffled_ = order != nullptr;
    if (shuffled_) order_.assign(order->begin(), order->end());  // capacity kept: no allocation
  }

  double step(std::size_t index, Reduction reduction) override {
    const std::size_t begin = index * batch_, count = std::min(batch_, x_.rows() - begin);
    if (!shuffled_) {  // the rows as they are: views, no copy
      return optimizer_->step(*net_, x_.row_block(begin, count), y_.row_block(begin, count),
                              reduction);
    }
    // Each batch gathered from x and y in place: memory for one batch, not a shuffled copy of
    // the data (the same rows in the same order as one, so the same bits). Allocated once.
    if (batch_x_.empty()) {
      const std::size_t most = std::min(batch_, x_.rows());
      batch_x_ = Matrix<T>(most, x_.cols());
      batch_y_ = Matrix<T>(most, y_.cols());
    }
    const MatrixView<T> bx = batch_x_.row_block(0, count), by = batch_y_.row_block(0, count);
    gather_rows(bx, x_, begin);
    gather_rows(by, y_, begin);
    return optimizer_->step(*net_, bx, by, reduction);
  }

  double loss(MatrixView<const T> x, MatrixView<const T> y, Reduction reduction) override {
    return loss_in_blocks<T>(*net_, x, y, reduction);  // no workspace for every row
  }

  std::string steps() const override { return "local"; }

 private:
  // Rows order_[begin, begin + to.rows()) of from, into to.
  void gather_rows(MatrixView<T> to, MatrixView<const T> from, std::size_t begin) const {
    for (std::size_t i = 0; i < to.rows(); ++i) {
      const T* src = from.row(order_[begin + i]);
      std::copy(src, src + from.cols(), to.row(i));
    }
  }

  Network<T>* net_ = nullptr;
  Optimizer<T>* optimizer_ = nullptr;
  MatrixView<const T> x_, y_;
  bool shuffled_ = false;
  std::vector<std::size_t> order_;  // this epoch's, when shuffled_
  Matrix<T> batch_x_, batch_y_;
  std::size_t batch_ = 0;
};

}  // namespace nobias::detail
