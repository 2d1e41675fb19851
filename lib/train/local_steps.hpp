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
    if (order == nullptr) {  // the rows as they are: no copy
      epoch_x_ = x_;
      epoch_y_ = y_;
      return;
    }
    // Allocated once, on the first shuffled epoch; batches are views of it.
    if (shuffled_x_.empty()) {
      shuffled_x_ = Matrix<T>(x_.rows(), x_.cols());
      shuffled_y_ = Matrix<T>(y_.rows(), y_.cols());
    }
    copy_rows(shuffled_x_.view(), x_, *order);
    copy_rows(shuffled_y_.view(), y_, *order);
    epoch_x_ = shuffled_x_.view();
    epoch_y_ = shuffled_y_.view();
  }

  double step(std::size_t index, Reduction reduction) override {
    const std::size_t begin = index * batch_, count = std::min(batch_, x_.rows() - begin);
    return optimizer_->step(*net_, epoch_x_.row_block(begin, count),
                            epoch_y_.row_block(begin, count), reduction);
  }

  double loss(MatrixView<const T> x, MatrixView<const T> y, Reduction reduction) override {
    return loss_in_blocks<T>(*net_, x, y, reduction);  // no workspace for every row
  }

  std::string steps() const override { return "local"; }

 private:
  static void copy_rows(MatrixView<T> to, MatrixView<const T> from,
                        const std::vector<std::size_t>& order) {
    for (std::size_t i = 0; i < order.size(); ++i) {
      const T* src = from.row(order[i]);
      std::copy(src, src + from.cols(), to.row(i));
    }
  }

  Network<T>* net_ = nullptr;
  Optimizer<T>* optimizer_ = nullptr;
  MatrixView<const T> x_, y_, epoch_x_, epoch_y_;
  Matrix<T> shuffled_x_, shuffled_y_;
  std::size_t batch_ = 0;
};

}  // namespace nobias::detail
