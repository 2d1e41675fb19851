// The core's small APIs that a distributed step is built from: gradients into caller-given
// views with a callback per finished layer, and Optimizer::apply of given gradients.
#include <doctest/doctest.h>

#include <vector>

#include "nobias/error.hpp"
#include "nobias/network.hpp"
#include "nobias/optimizer.hpp"
#include "test_support.hpp"

using nobias::Matrix;
using nobias::MatrixView;
using nobias::Network;
using nobias::Optimizer;
using nobias::OptimizerConfig;
using nobias::OptimizerKind;
using nobias::Reduction;

TEST_CASE_TEMPLATE("network.gradients_into_views.match_matrices_last_layer_first", T, float,
                   double) {
  const std::vector<std::size_t> widths{13, 7, 5, 3};
  Network<T> net(test_support::random_weights<T>(widths, 3, 2.0));
  const Matrix<T> x = test_support::random_matrix<T>(37, 13, 1);
  const Matrix<T> y = test_support::random_matrix<T>(37, 3, 2);
  for (Reduction reduction : {Reduction::Sum, Reduction::Mean}) {
    const nobias::Gradients<T> expected = net.gradients(x, y, reduction);
    // One contiguous buffer, poisoned: every element must be written.
    std::vector<T> buffer(13 * 7 + 7 * 5 + 5 * 3, T(12345));
    std::vector<MatrixView<T>> views{MatrixView<T>(buffer.data(), 13, 7),
                                     MatrixView<T>(buffer.data() + 91, 7, 5),
                                     MatrixView<T>(buffer.data() + 126, 5, 3)};
    std::vector<std::size_t> order;
    const double loss = net.gradients(x, y, views, reduction, [&](std::size_t k) {
      // Layer k is final when announced: it already equals the reference.
      CHECK(test_support::max_relative_error<T>(views[k], expected.dw[k].view()) == 0.0);
      order.push_back(k);
    });
    CHECK(loss == expected.loss);
    CHECK(order == std::vector<std::size_t>{2, 1, 0});
  }
}

TEST_CASE_TEMPLATE("network.gradients_into_views.refuses_wrong_shapes", T, float, double) {
  Network<T> net({4, 3, 2}, 1);
  const Matrix<T> x(5, 4), y(5, 2);
  Matrix<T> a(4, 3), b(3, 3);
  std::vector<MatrixView<T>> views{a.view(), b.view()};
  CHECK_THROWS_WITH_AS(net.gradients(x, y, views, Reduction::Sum, {}),
                       "gradients: dw2 is 3x3, w2 is 3x2", nobias::ShapeError);
  views.pop_back();
  CHECK_THROWS_WITH_AS(net.gradients(x, y, views, Reduction::Sum, {}),
                       "gradients: expected 2 gradient matrices, got 1", nobias::ShapeError);
}

TEST_CASE_TEMPLATE("optimizer.apply.same_update_as_step", T, float, double) {
  const std::vector<std::size_t> widths{9, 6, 4};
  const Matrix<T> x = test_support::random_matrix<T>(17, 9, 5);
  const Matrix<T> y = test_support::random_matrix<T>(17, 4, 6);
  for (OptimizerKind kind : {OptimizerKind::Sgd, OptimizerKind::Momentum, OptimizerKind::Adam}) {
    CAPTURE(static_cast<int>(kind));
    OptimizerConfig config;
    config.kind = kind;
    config.learning_rate = 1e-2;
    config.weight_decay = 0.01;  // SGD through the unfused path, as apply() takes it
    Network<T> stepped(test_support::random_weights<T>(widths, 7, 2.0)), applied(stepped);
    Optimizer<T> by_step(config, stepped), by_apply(config, applied);
    for (int i = 0; i < 3; ++i) {
      by_step.step(stepped, x, y, Reduction::Mean);
      const nobias::Gradients<T> g = applied.gradients(x, y, Reduction::Mean);
      by_apply.apply(applied, {g.dw[0].view(), g.dw[1].view()});
    }
    CHECK(by_apply.steps_taken() == 3);
    for (std::size_t k = 0; k < 2; ++k)
      CHECK(test_support::max_relative_error<T>(stepped.weight(k), applied.weight(k)) == 0.0);
  }
}

TEST_CASE_TEMPLATE("optimizer.apply.refuses_wrong_shapes", T, float, double) {
  Network<T> net({4, 3, 2}, 1);
  Optimizer<T> optimizer(OptimizerConfig{}, net);
  Matrix<T> a(4, 3), b(3, 3);
  CHECK_THROWS_WITH_AS(optimizer.apply(net, {a.view()}),
                       "Optimizer::apply: expected 2 gradient matrices, got 1", nobias::ShapeError);
  CHECK_THROWS_WITH_AS(optimizer.apply(net, {a.view(), b.view()}),
                       "Optimizer::apply: gradient 2 is 3x3, w2 is 3x2", nobias::ShapeError);
  Matrix<T> wide(4, 6);
  CHECK_THROWS_WITH_AS(
      optimizer.apply(net, {wide.view().col_block(0, 3), b.view().col_block(0, 2)}),
      "Optimizer::apply: gradient 1 is a strided view; expected contiguous rows",
      nobias::ShapeError);
  CHECK(optimizer.steps_taken() == 0);
}
