#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

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
                       ("load_checkpoint: " + dir.path().string() +
                        ": no CURRENT file naming a state (is it a checkpoint directory?)")
                           .c_str(),
                       nobias::IoError);
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
    CHECK_THROWS_WITH(nobias::save_checkpoint<double>(dir.path().string(), net, optimizer, {1, 42}),
                      "power cut");
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
                       ("load_checkpoint: " + dir.path().string() +
                        ": CURRENT names 'state-/../../elsewhere', not a state")
                           .c_str(),
                       nobias::IoError);
  {
    std::ofstream current(dir.file("CURRENT"));
    current << "state-\x1b]0;pwned\x07\n";
  }
  CHECK_THROWS_WITH_AS(nobias::load_checkpoint<float>(dir.path().string()),
                       doctest::Contains("CURRENT names 'state-\\x1b]0;pwned\\x07', not a state"),
                       nobias::IoError);
}

TEST_CASE_TEMPLATE("checkpoint.load.non_finite_weight_or_moment", T, float, double) {
  // Adam's state holds every kind of file: weights w*, first moments first*, second moments
  // second*. Each corrupted in turn, in a fresh checkpoint, with each kind of non-finite value.
  TempDir dir("non-finite");
  const std::string d = dir.path().string(), state = dir.file("state-000001");
  const Matrix<T> x = random_matrix<T>(6, 5, 28), y = random_matrix<T>(6, 2, 29);
  Network<T> net({5, 4, 2}, 30);
  Optimizer<T> adam(config_of(OptimizerKind::Adam), net);
  adam.step(net, x, y);  // moments that are not all zero
  const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
  struct Corruption {
    const char* file;
    std::size_t k;  // which matrix of its kind: w1 is 0
    T value;
    const char* shown;
  };
  const Corruption corruptions[] = {
      {"w1.npy", 0, nan, "nan"},      {"w2.npy", 1, inf, "inf"},
      {"w1.npy", 0, -inf, "-inf"},    {"first1.npy", 0, nan, "nan"},
      {"first2.npy", 1, inf, "inf"},  {"first1.npy", 0, -inf, "-inf"},
      {"second1.npy", 0, inf, "inf"}, {"second2.npy", 1, nan, "nan"},
  };
  for (const Corruption& c : corruptions) {
    CAPTURE(c.file);
    CAPTURE(c.shown);
    std::filesystem::remove_all(d);
    nobias::save_checkpoint<T>(d, net, adam, {1, 1});
    REQUIRE(nobias::load_checkpoint<T>(d).progress.epochs_done == 1);  // whole before
    const std::string name(c.file);
    const std::vector<Matrix<T>>& source = name[0] == 'w'   ? net.weights()
                                           : name[0] == 'f' ? adam.first()
                                                            : adam.second();
    Matrix<T> bad = source[c.k];
    bad(1, 0) = c.value;
    nobias::write_npy(state + "/" + name, bad.view());
    const std::string expected = "load_checkpoint: " + d + ": " + name + ": element (1, 0) is " +
                                 c.shown + "; values must be finite";
    CHECK_THROWS_WITH_AS(nobias::load_checkpoint<T>(d), expected.c_str(), nobias::IoError);
  }
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
  CHECK_THROWS_WITH_AS(nobias::restore_optimizer(fresh, checkpoint),
                       "restore_optimizer: second2 is 3x3, expected 4x2", nobias::ShapeError);
  for (const auto* moments : {&fresh.first(), &fresh.second()})
    for (const Matrix<float>& m : *moments)
      for (std::size_t i = 0; i < m.size(); ++i)
        CHECK(m.data()[i] == 0.0f);
  CHECK(fresh.steps_taken() == 0);
}

// ---------------------------------------------------------------------------------------------
// Bad input, as docs/errors.md lists it.

namespace {

// Replaces the line "key=..." of a state's state.txt (or removes it when value is null).
void edit_state(const std::string& state_txt, const std::string& key, const char* value) {
  std::ifstream in(state_txt);
  std::string text, line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size() + 1, key + "=") == 0) {
      if (value != nullptr) text += key + "=" + value + "\n";
    } else {
      text += line + "\n";
    }
  }
  in.close();
  std::ofstream(state_txt, std::ios::trunc) << text;
}

}  // namespace

TEST_CASE("checkpoint.save.into_a_directory_that_cannot_be_created") {
  TempDir dir("uncreatable");
  { std::ofstream(dir.file("plain")) << "x"; }
  Network<float> net({5, 4, 2}, 21);
  Optimizer<float> sgd(config_of(OptimizerKind::Sgd), net);
  const std::string expected = "save_checkpoint: cannot create '" + dir.file("plain/ck") + "'";
  CHECK_THROWS_WITH_AS(nobias::save_checkpoint<float>(dir.file("plain/ck"), net, sgd, {1, 1}),
                       doctest::Contains(expected.c_str()), nobias::IoError);
  const std::string over_a_file = "save_checkpoint: cannot create '" + dir.file("plain") + "'";
  CHECK_THROWS_WITH_AS(nobias::save_checkpoint<float>(dir.file("plain"), net, sgd, {1, 1}),
                       doctest::Contains(over_a_file.c_str()), nobias::IoError);
  // As root too: nothing can be created under /proc.
  CHECK_THROWS_WITH_AS(nobias::save_checkpoint<float>("/proc/nobias-ck", net, sgd, {1, 1}),
                       doctest::Contains("save_checkpoint: cannot create '/proc/nobias-ck'"),
                       nobias::IoError);
}

TEST_CASE("checkpoint.load.missing_and_extra_files") {
  TempDir dir("files");
  Network<float> net({5, 4, 2}, 22);
  Optimizer<float> adam(config_of(OptimizerKind::Adam), net);
  const std::string d = dir.path().string(), state = dir.file("state-000001");
  const auto fresh = [&] {
    std::filesystem::remove_all(d);
    nobias::save_checkpoint<float>(d, net, adam, {1, 1});
  };
  fresh();
  std::filesystem::remove(state + "/second2.npy");
  CHECK_THROWS_WITH_AS(nobias::load_checkpoint<float>(d),
                       doctest::Contains("second2.npy: file does not exist"), nobias::IoError);
  fresh();
  std::filesystem::remove(state + "/w2.npy");
  CHECK_THROWS_WITH_AS(nobias::load_checkpoint<float>(d),
                       doctest::Contains("state.txt says 2 layers, the state holds 1 weight files"),
                       nobias::IoError);
  fresh();
  nobias::write_npy(state + "/w3.npy", Matrix<float>(2, 2));
  CHECK_THROWS_WITH_AS(nobias::load_checkpoint<float>(d),
                       doctest::Contains("state.txt says 2 layers, the state holds 3 weight files"),
                       nobias::IoError);
  fresh();
  std::filesystem::remove(state + "/state.txt");
  CHECK_THROWS_WITH_AS(nobias::load_checkpoint<float>(d),
                       doctest::Contains("cannot read state.txt"), nobias::IoError);
  fresh();
  std::filesystem::remove_all(state);
  CHECK_THROWS_AS(nobias::load_checkpoint<float>(d), nobias::IoError);
  CHECK_THROWS_WITH_AS(nobias::load_checkpoint<float>(dir.file("absent")),
                       ("load_checkpoint: " + dir.file("absent") +
                        ": no CURRENT file naming a state (is it a checkpoint directory?)")
                           .c_str(),
                       nobias::IoError);
}

TEST_CASE("checkpoint.load.corrupt_state_txt") {
  TempDir dir("state-txt");
  Network<double> net({5, 4, 2}, 23);
  Optimizer<double> adam(config_of(OptimizerKind::Adam), net);
  const std::string d = dir.path().string(), state_txt = dir.file("state-000002/state.txt");
  struct Corruption {
    const char* key;
    const char* value;  // null: the line is removed
    const char* message;
  };
  const Corruption corruptions[] = {
      {"format", "nobias-checkpoint-99", "expected format=nobias-checkpoint-1"},
      {"learning_rate", "fast", "learning_rate is not a number: fast"},
      {"beta2", nullptr, "state.txt has no beta2"},
      {"optimizer_steps", "-3", "optimizer_steps is not a count: -3"},
      {"optimizer", "rmsprop", "unknown optimizer 'rmsprop'"},
      {"reduction", "median", "reduction must be sum or mean"},
      {"dtype", "f16", "dtype must be f32 or f64"},
      {"epochs_done", "7", "epochs_done does not match the state's name state-000002"},
      {"layers", "x", "layers is not a count: x"},
      // Binary bytes are quoted, never sent to the terminal as they are.
      {"learning_rate", "\x1b[2J", "learning_rate is not a number: \\x1b[2J"},
      {"optimizer_steps", "\xff", "optimizer_steps is not a count: \\xff"},
      {"optimizer", "sgd\x07", "unknown optimizer 'sgd\\x07'"},
  };
  for (const Corruption& c : corruptions) {
    CAPTURE(c.key);
    std::filesystem::remove_all(d);
    nobias::save_checkpoint<double>(d, net, adam, {2, 1});
    edit_state(state_txt, c.key, c.value);
    CHECK_THROWS_WITH_AS(nobias::load_checkpoint<double>(d), doctest::Contains(c.message),
                         nobias::IoError);
  }
  std::filesystem::remove_all(d);
  nobias::save_checkpoint<double>(d, net, adam, {2, 1});
  { std::ofstream(state_txt, std::ios::app) << "no equals sign\x1b\n"; }
  CHECK_THROWS_WITH_AS(nobias::load_checkpoint<double>(d),
                       doctest::Contains("line without '=': no equals sign\\x1b"), nobias::IoError);
  // A negative second moment would take a square root of it.
  std::filesystem::remove_all(d);
  nobias::save_checkpoint<double>(d, net, adam, {2, 1});
  Matrix<double> negative(5, 4);
  negative(0, 0) = -1.0;
  nobias::write_npy(dir.file("state-000002/second1.npy"), negative);
  CHECK_THROWS_WITH_AS(nobias::load_checkpoint<double>(d),
                       doctest::Contains("second1.npy is negative"), nobias::IoError);
}

TEST_CASE("checkpoint.save.interrupted_while_writing_the_state_keeps_the_previous_one") {
  TempDir dir("half-state");
  const std::string d = dir.path().string();
  const Matrix<float> x = random_matrix<float>(10, 5, 24), y = random_matrix<float>(10, 2, 25);
  Network<float> net({5, 4, 2}, 26, nobias::Init::He);
  Optimizer<float> adam(config_of(OptimizerKind::Adam), net);
  nobias::save_checkpoint<float>(d, net, adam, {1, 1});
  const std::vector<Matrix<float>> saved = net.weights();
  adam.step(net, x, y);
  {
    // Killed after w1.npy of the new state, while writing its w2.npy.
    nobias::detail::ScopedAtomicWriteHook crash([](const std::string& temp) {
      if (temp.find("w2.npy") != std::string::npos) throw std::runtime_error("killed");
    });
    CHECK_THROWS_WITH(nobias::save_checkpoint<float>(d, net, adam, {2, 1}), "killed");
  }
  const auto checkpoint = nobias::load_checkpoint<float>(d);
  CHECK(checkpoint.progress.epochs_done == 1);
  CHECK(same_bits(checkpoint.weights, saved));
  // The next save completes and clears the half-built state.
  nobias::save_checkpoint<float>(d, net, adam, {2, 1});
  CHECK(dir.names() == std::vector<std::string>{"CURRENT", "state-000002"});
}

TEST_CASE("checkpoint.restore_optimizer.errors_name_the_mismatch") {
  TempDir dir("restore-messages");
  Network<float> net({5, 4, 2}, 27);
  Optimizer<float> adam(config_of(OptimizerKind::Adam), net);
  nobias::save_checkpoint<float>(dir.path().string(), net, adam, {1, 1});
  auto checkpoint = nobias::load_checkpoint<float>(dir.path().string());
  Optimizer<float> sgd(config_of(OptimizerKind::Sgd), net);
  CHECK_THROWS_WITH_AS(nobias::restore_optimizer(sgd, checkpoint),
                       "restore_optimizer: the checkpoint's optimizer is adam, this one is sgd",
                       nobias::ValueError);
  Network<float> deeper({5, 4, 3, 2}, 27);
  Optimizer<float> deeper_adam(config_of(OptimizerKind::Adam), deeper);
  CHECK_THROWS_WITH_AS(nobias::restore_optimizer(deeper_adam, checkpoint),
                       "restore_optimizer: first: expected 3 matrices, the checkpoint has 2",
                       nobias::ShapeError);
  checkpoint.second[1] = Matrix<float>(3, 3);
  CHECK_THROWS_WITH_AS(nobias::restore_optimizer(adam, checkpoint),
                       "restore_optimizer: second2 is 3x3, expected 4x2", nobias::ShapeError);
}
