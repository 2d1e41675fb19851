// Proves that a training step allocates nothing once the workspace exists. This binary
// links support/allocation_counter.cpp, which counts every operator new.
#include <doctest/doctest.h>

#include <vector>

#include "nobias/network.hpp"
#include "nobias/optimizer.hpp"
#include "support/allocation_counter.hpp"
#include "test_support.hpp"

TEST_CASE("allocations.counter_sees_allocations") {
  const long before = allocation_counter::count();
  std::vector<double> v(100);
  nobias::Matrix<float> m(3, 3);
  CHECK(allocation_counter::count() - before >= 2);
}

TEST_CASE_TEMPLATE("allocations.train_step_allocates_nothing_in_steady_state", T, float, double) {
  const auto x = test_support::random_matrix<T>(37, 29, 1);
  const auto y = test_support::random_matrix<T>(37, 7, 2);
  const auto small_x = test_support::random_matrix<T>(13, 29, 3);
  const auto small_y = test_support::random_matrix<T>(13, 7, 4);
  nobias::Network<T> net({29, 23, 19, 11, 7}, 5, nobias::Init::He);

  const long before_first = allocation_counter::count();
  net.train_step(x, y, T(1e-4));  // sizes the workspace
  CHECK(allocation_counter::count() > before_first);
  // oneDNN (float32 products, where built in) generates its kernels on a shape's first product.
  net.train_step(small_x, small_y, T(1e-4));

  const long before = allocation_counter::count();
  for (int step = 0; step < 10; ++step)
    net.train_step(x, y, T(1e-4));
  // A smaller batch reuses the leading rows of the same workspace.
  for (int step = 0; step < 10; ++step)
    net.train_step(small_x, small_y, T(1e-4));
  CHECK(allocation_counter::count() - before == 0);
}

TEST_CASE_TEMPLATE("allocations.optimizer_step_allocates_nothing_in_steady_state", T, float,
                   double) {
  const auto x = test_support::random_matrix<T>(37, 29, 11);
  const auto y = test_support::random_matrix<T>(37, 7, 12);
  for (auto kind :
       {nobias::OptimizerKind::Sgd, nobias::OptimizerKind::Momentum, nobias::OptimizerKind::Adam}) {
    CAPTURE(static_cast<int>(kind));
    nobias::Network<T> net({29, 23, 7}, 13, nobias::Init::He);
    nobias::OptimizerConfig config;
    config.kind = kind;
    config.learning_rate = 1e-4;
    config.weight_decay = 1e-3;
    nobias::Optimizer<T> optimizer(config, net);
    optimizer.step(net, x, y, nobias::Reduction::Mean);  // sizes the workspace
    const long before = allocation_counter::count();
    for (int step = 0; step < 5; ++step)
      optimizer.step(net, x, y, nobias::Reduction::Mean);
    CHECK(allocation_counter::count() - before == 0);
  }
}
