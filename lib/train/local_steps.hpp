// Internal: the steps of one process, the default seam of fit().
#pragma once

#include <algorithm>
#include <vector>

#include "nobias/fit.hpp"
#include "nobias/full_pass.hpp"

namespace nobias::detail {

template <class T>
class LocalSteps final : public StepSeam<T> {
 public:
  void start(Network<T>& net, Optimizer<T>& optimizer, const RowSource<T>& rows,
             std::size_t batch) override {
    net_ = &net;
    optimizer_ = &optimizer;
    rows_ = &rows;
    batch_ = batch;
  }

  void arrange(const std::vector<std::size_t>* order) override {
    shuffled_ = order != nullptr;
    if (shuffled_) order_.assign(order->begin(), order->end());  // capacity kept: no allocation
  }

  double step(std::size_t index, Reduction reduction) override {
    const RowSource<T>& rows = *rows_;
    const std::size_t begin = index * batch_, count = std::min(batch_, rows.rows() - begin);
    if (!shuffled_ && rows.in_place()) {  // the rows as they are: views, no copy
      return optimizer_->step(*net_, rows.x().row_block(begin, count),
                              rows.y().row_block(begin, count), reduction);
    }
    // Each batch gathered from x and y in place: memory for one batch, not a shuffled (or
    // split, or standardized) copy of the data (the same rows in the same order as one, so the
    // same bits). Allocated once.
    if (batch_x_.empty()) {
      const std::size_t most = std::min(batch_, rows.rows());
      batch_x_ = Matrix<T>(most, rows.x_cols());
      batch_y_ = Matrix<T>(most, rows.y_cols());
    }
    const MatrixView<T> bx = batch_x_.row_block(0, count), by = batch_y_.row_block(0, count);
    rows.gather(bx, by, shuffled_ ? order_.data() : nullptr, begin);
    return optimizer_->step(*net_, bx, by, reduction);
  }

  double loss(const RowSource<T>& rows, Reduction reduction) override {
    return full_loss<T>(*net_, rows, reduction);  // no workspace, nor copy, for every row
  }

  std::string steps() const override { return "local"; }

 private:
  Network<T>* net_ = nullptr;
  Optimizer<T>* optimizer_ = nullptr;
  const RowSource<T>* rows_ = nullptr;
  bool shuffled_ = false;
  std::vector<std::size_t> order_;  // this epoch's, when shuffled_
  Matrix<T> batch_x_, batch_y_;
  std::size_t batch_ = 0;
};

}  // namespace nobias::detail
