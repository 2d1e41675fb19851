#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <stdexcept>
#include <string>

#include "atomic_file_hook.hpp"
#include "nobias/blas.hpp"
#include "nobias/checkpoint.hpp"
#include "nobias/error.hpp"
#include "nobias/npy.hpp"
#include "nobias/train.hpp"
#include "test_support.hpp"

using nobias::Matrix;
using nobias::Network;
using nobias::Optimizer;
using nobias::OptimizerConfig;
using nobias::OptimizerKind;
using test_support::random_matrix;
using test_support::TempDir;

namespace {

OptimizerConfig config_of(OptimizerKind kind) {
  OptimizerConfig config;
  config.kind = kind;
  config.learning_rate = kind == OptimizerKind::Adam ? 1e-3 : 1e-2;
  config.nesterov = kind == OptimizerKind::Momentum;
  config.weight_decay = 1e-4;
  return config;
}

nobias::FitOptions options(std::size_t epochs, std::size_t first_epoch = 1) {
  nobias::FitOptions o;
  o.epochs = epochs;
  o.first_epoch = first_epoch;
  o.batch_size = 7;  // 30 rows: four full batches and a partial one
  o.seed = 42;
  o.reduction = nobias::Reduction::Mean;
  return o;
}

template <class T>
bool same_bits(const std::vector<Matrix<T>>& a, const std::vector<Matrix<T>>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k) {
    if (a[k].rows() != b[k].rows() || a[k].cols() != b[k].cols()) return false;
    for (std::size_t i = 0; i < a[k].size(); ++i)
      if (a[k].data()[i] != b[k].data()[i]) return false;
  }
  return true;
}

}  // namespace

TEST_CASE_TEMPLATE("checkpoint.resume_equals_uninterrupted_bitwise", T, float, double) {
  nobias::set_threads(1);
  const Matrix<T> x = random_matrix<T>(30, 11, 1), y = random_matrix<T>(30, 3, 2);
  for (OptimizerKind kind : {OptimizerKind::Sgd, OptimizerKind::Momentum, OptimizerKind::Adam}) {
    CAPTURE(static_cast<int>(kind));
    Network<T> whole({11, 9, 7, 3}, 3, nobias::Init::He);
    Optimizer<T> whole_optimizer(config_of(kind), whole);
    nobias::fit(whole, whole_optimizer, x, y, options(4));  // T from the network

    TempDir dir("resume");
    {
      Network<T> first({11, 9, 7, 3}, 3, nobias::Init::He);
      Optimizer<T> optimizer(config_of(kind), first);
      nobias::fit<T>(first, optimizer, x, y, options(2));
      nobias::save_checkpoint<T>(dir.path().string(), first, optimizer, {2, 42});
    }  // the first process ends here

    nobias::Checkpoint<T> checkpoint = nobias::load_checkpoint<T>(dir.path().string());
    REQUIRE(checkpoint.progress.epochs_done == 2);
    CHECK(checkpoint.progress.seed == 42);
    Network<T> resumed(std::move(checkpoint.weights));
    Optimizer<T> optimizer(checkpoint.optimizer, resumed);
    nobias::restore_optimizer(optimizer, checkpoint);
    nobias::fit<T>(resumed, optimizer, x, y, options(4, 3));

    CHECK(same_bits(resumed.weights(), whole.weights()));
    CHECK(optimizer.steps_taken() == whole_optimizer.steps_taken());
  }
  nobias::set_threads(0);
}

TEST_CASE("checkpoint.keeps_the_configuration_and_the_moments") {
  const Matrix<double> x = random_matrix<double>(30, 11, 4), y = random_matrix<double>(30, 3, 5);
  Network<double> net({11, 9, 3}, 6, nobias::Init::He);
  OptimizerConfig config = config_of(OptimizerKind::Adam);
  config.beta1 = 0.85;
  config.epsilon = 1e-7;
  Optimizer<double> optimizer(config, net);
  nobias::fit<double>(net, optimizer, x, y, options(1));
  TempDir dir("moments");
  nobias::save_checkpoint<double>(dir.path().string(), net, optimizer, {1, 7});
  const auto checkpoint = nobias::load_checkpoint<double>(dir.path().string());
  CHECK(checkpoint.optimizer.kind == OptimizerKind::Adam);
  CHECK(checkpoint.optimizer.learning_rate == config.learning_rate);
  CHECK(checkpoint.optimizer.beta1 == 0.85);
  CHECK(checkpoint.optimizer.epsilon == 1e-7);
  CHECK(checkpoint.optimizer.weight_decay == config.weight_decay);
  CHECK(checkpoint.optimizer_steps == optimizer.steps_taken());
  CHECK(same_bits(checkpoint.weights, net.weights()));
  CHECK(same_bits(checkpoint.first, optimizer.first()));
  CHECK(same_bits(checkpoint.second, optimizer.second()));
}

TEST_CASE("checkpoint.a_save_killed_before_it_commits_leaves_the_previous_one") {
  const Matrix<float> x = random_matrix<float>(30, 11, 8), y = random_matrix<float>(30, 3, 9);
  Network<float> net({11, 9, 3}, 10, nobias::Init::He);
  Optimizer<float> optimizer(config_of(OptimizerKind::Momentum), net);
  TempDir dir("killed");
  nobias::fit<float>(net, optimizer, x, y, options(1));
  nobias::save_checkpoint<float>(dir.path().string(), net, optimizer, {1, 42});
  const std::vector<Matrix<float>> saved = net.weights();

  nobias::fit<float>(net, optimizer, x, y, options(2, 2));
  {
    // The crash: everything of the new state is written, CURRENT is about to be replaced.
    nobias::detail::ScopedAtomicWriteHook crash([](const std::string& temp) {
      if (temp.find("CURRENT") != std::string::npos) throw std::runtime_error("power cut");
    });
    CHECK_THROWS_WITH(nobias::save_checkpoint<float>(dir.path().string(), net, optimizer, {2, 42}),
                      "power cut");
  }
  const auto checkpoint = nobias::load_checkpoint<float>(dir.path().string());
  CHECK(checkpoint.progress.epochs_done == 1);
  CHECK(same_bits(checkpoint.weights, saved));

  // The next save succeeds and replaces it.
  nobias::save_checkpoint<float>(dir.path().string(), net, optimizer, {2, 42});
  CHECK(nobias::load_checkpoint<float>(dir.path().string()).progress.epochs_done == 2);
}

TEST_CASE("checkpoint.errors") {
  TempDir dir("errors");
  CHECK_THROWS_WITH_AS(nobias::load_checkpoint<float>(dir.path().string()),
                       doctest::Contains("no CURRENT file"), nobias::IoError);
  const Matrix<float> x = random_matrix<float>(10, 5, 11), y = random_matrix<float>(10, 2, 12);
  Network<float> net({5, 4, 2}, 13);
  Optimizer<float> adam(config_of(OptimizerKind::Adam), net);
  nobias::save_checkpoint<float>(dir.path().string(), net, adam, {0, 1});
  auto checkpoint = nobias::load_checkpoint<float>(dir.path().string());
  Optimizer<float> momentum(config_of(OptimizerKind::Momentum), net);
  CHECK_THROWS_WITH_AS(
      nobias::restore_optimizer(momentum, checkpoint),
      "restore_optimizer: the checkpoint's optimizer is adam, this one is momentum",
      nobias::ValueError);
  Network<float> wider({5, 6, 2}, 13);
  Optimizer<float> other_adam(config_of(OptimizerKind::Adam), wider);
  CHECK_THROWS_AS(nobias::restore_optimizer(other_adam, checkpoint), nobias::ShapeError);
}

TEST_CASE("checkpoint.saving_the_same_epoch_again_keeps_the_current_state_until_it_commits") {
  const Matrix<double> x = random_matrix<double>(30, 11, 14), y = random_matrix<double>(30, 3, 15);
  Network<double> net({11, 9, 3}, 16, nobias::Init::He);
  Optimizer<double> optimizer(config_of(OptimizerKind::Adam), net);
  TempDir dir("again");
  nobias::save_checkpoint<double>(dir.path().string(), net, optimizer, {1, 42});
  const std::vector<Matrix<double>> first = net.weights();
  nobias::fit(net, optimizer, x, y, options(1));
  {
    nobias::detail::ScopedAtomicWriteHook crash([](const std::string& temp) {
      if (temp.find("CURRENT") != std::string::npos) throw std::runtime_error("power cut");
    });
    CHECK_THROWS(nobias::save_checkpoint<double>(dir.path().string(), net, optimizer, {1, 42}));
  }
  CHECK(same_bits(nobias::load_checkpoint<double>(dir.path().string()).weights, first));
  nobias::save_checkpoint<double>(dir.path().string(), net, optimizer, {1, 42});
  CHECK(same_bits(nobias::load_checkpoint<double>(dir.path().string()).weights, net.weights()));
}

TEST_CASE("checkpoint.corrupt_states_are_refused") {
  TempDir dir("corrupt");
  Network<float> net({5, 4, 2}, 17);
  Optimizer<float> adam(config_of(OptimizerKind::Adam), net);
  nobias::save_checkpoint<float>(dir.path().string(), net, adam, {0, 1});
  const std::string state = dir.file("state-000000");

  Matrix<float> nan_weights = Matrix<float>::copy_of(net.weight(0));
  nan_weights(1, 2) = NAN;
  nobias::write_npy(state + "/w1.npy", nan_weights.view());
  CHECK_THROWS_WITH_AS(nobias::load_checkpoint<float>(dir.path().string()),
                       doctest::Contains("w1.npy: element (1, 2) is nan"), nobias::IoError);

  {
    std::ofstream current(dir.file("CURRENT"));
    current << "state-/../../elsewhere\n";
  }
  CHECK_THROWS_WITH_AS(nobias::load_checkpoint<float>(dir.path().string()),
                       doctest::Contains("not a state"), nobias::IoError);
}

TEST_CASE("checkpoint.a_failed_restore_leaves_the_optimizer_as_it_was") {
  TempDir dir("restore");
  Network<float> net({5, 4, 2}, 18);
  Optimizer<float> adam(config_of(OptimizerKind::Adam), net);
  const Matrix<float> x = random_matrix<float>(6, 5, 19), y = random_matrix<float>(6, 2, 20);
  adam.step(net, x, y);
  nobias::save_checkpoint<float>(dir.path().string(), net, adam, {1, 1});
  auto checkpoint = nobias::load_checkpoint<float>(dir.path().string());
  checkpoint.second[1] = Matrix<float>(3, 3);  // a wrong shape, found only at the second moments
  Optimizer<float> fresh(config_of(OptimizerKind::Adam), net);
  CHECK_THROWS_AS(nobias::restore_optimizer(fresh, checkpoint), nobias::ShapeError);
  for (const Matrix<float>& m : fresh.first())
    for (std::size_t i = 0; i < m.size(); ++i)
      CHECK(m.data()[i] == 0.0f);
  CHECK(fresh.steps_taken() == 0);
}
