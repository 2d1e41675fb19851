#include <doctest/doctest.h>

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/atomic_file_hook.hpp"
#include "io/checksum.hpp"
#include "nobias/checkpoint.hpp"
#include "nobias/error.hpp"
#include "nobias/fit.hpp"
#include "nobias/npy.hpp"
#include "nobias/threads.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

using nobias::IoError;
using nobias::Matrix;
using nobias::MatrixView;
using nobias::Network;
using nobias::Optimizer;
using nobias::OptimizerConfig;
using nobias::OptimizerKind;
using test_support::random_matrix;
using test_support::same_bits;
using test_support::TempDir;

// Where a run stands: epochs done and the seed, the rest as fit() starts.
nobias::TrainingProgress progress_at(std::size_t epochs_done, std::uint64_t seed) {
  nobias::TrainingProgress progress;
  progress.epochs_done = epochs_done;
  progress.seed = seed;
  return progress;
}

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

// state.txt's text with its last line, state_checksum=, made anew for the lines before it: an
// edit a test makes on purpose must reach the check it is about, not the seal.
std::string sealed(const std::string& text) {
  const std::string mark = "state_checksum=";
  std::string body = text;
  const std::size_t at = body.find(mark);
  if (at != std::string::npos) body.erase(at);
  return body + mark + nobias::detail::hex64(nobias::fnv1a64(body.data(), body.size())) + "\n";
}

// Records file's current checksum in its state's state.txt, as if the save had written it so.
void reseal(const std::string& state, const std::string& file) {
  std::ifstream in(state + "/" + file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ifstream text_in(state + "/state.txt");
  std::string text, line;
  while (std::getline(text_in, line)) {
    if (line.rfind("checksum." + file + "=", 0) == 0) {
      line = "checksum." + file + "=" +
             nobias::detail::hex64(nobias::fnv1a64(bytes.data(), bytes.size()));
    }
    text += line + "\n";
  }
  text_in.close();
  std::ofstream(state + "/state.txt", std::ios::trunc) << sealed(text);
}

}  // namespace

TEST_CASE_TEMPLATE("checkpoint.resume_equals_uninterrupted_bitwise", T, float, double) {
  nobias::set_threads(1);
  const Matrix<T> x = random_matrix<T>(30, 11, 1), y = random_matrix<T>(30, 3, 2);
  for (OptimizerKind kind : {OptimizerKind::Sgd, OptimizerKind::Momentum, OptimizerKind::Adam}) {
    CAPTURE(static_cast<int>(kind));
    Network<T> whole({11, 9, 7, 3}, 3, nobias::Init::He);
    Optimizer<T> whole_optimizer(config_of(kind), whole);
    nobias::fit(whole, whole_optimizer, {x, y}, options(4));  // T from the network

    TempDir dir("resume");
    {
      Network<T> first({11, 9, 7, 3}, 3, nobias::Init::He);
      Optimizer<T> optimizer(config_of(kind), first);
      nobias::fit<T>(first, optimizer, {x, y}, options(2));
      nobias::save_checkpoint<T>(dir.path().string(), first, optimizer, progress_at(2, 42));
    }  // the first process ends here

    nobias::Checkpoint<T> checkpoint = nobias::load_checkpoint<T>(dir.path().string());
    REQUIRE(checkpoint.progress.epochs_done == 2);
    CHECK(checkpoint.progress.seed == 42);
    Network<T> resumed(std::move(checkpoint.weights));
    Optimizer<T> optimizer(checkpoint.optimizer, resumed);
    nobias::restore_optimizer(optimizer, checkpoint);
    nobias::fit<T>(resumed, optimizer, {x, y}, options(4, 3));

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
  nobias::fit<double>(net, optimizer, {x, y}, options(1));
  TempDir dir("moments");
  nobias::save_checkpoint<double>(dir.path().string(), net, optimizer, progress_at(1, 7));
  const auto checkpoint = nobias::load_checkpoint<double>(dir.path().string());
  CHECK(checkpoint.optimizer.kind == OptimizerKind::Adam);
  CHECK(checkpoint.optimizer.learning_rate == config.learning_rate);
  CHECK(checkpoint.optimizer.beta1 == 0.85);
  CHECK(checkpoint.optimizer.epsilon == 1e-7);
  CHECK(checkpoint.optimizer.weight_decay == config.weight_decay);
  CHECK(checkpoint.optimizer_steps == optimizer.steps_taken());
  CHECK(same_bits(checkpoint.weights, net.weights()));
  CHECK(same_bits(checkpoint.first, optimizer.state().first));
  CHECK(same_bits(checkpoint.second, optimizer.state().second));
}

TEST_CASE("checkpoint.a_save_killed_before_it_commits_leaves_the_previous_one") {
  const Matrix<float> x = random_matrix<float>(30, 11, 8), y = random_matrix<float>(30, 3, 9);
  Network<float> net({11, 9, 3}, 10, nobias::Init::He);
  Optimizer<float> optimizer(config_of(OptimizerKind::Momentum), net);
  TempDir dir("killed");
  nobias::fit<float>(net, optimizer, {x, y}, options(1));
  nobias::save_checkpoint<float>(dir.path().string(), net, optimizer, progress_at(1, 42));
  const std::vector<Matrix<float>> saved = net.weights();

  nobias::fit<float>(net, optimizer, {x, y}, options(2, 2));
  {
    // The crash: everything of the new state is written, CURRENT is about to be replaced.
    nobias::detail::ScopedAtomicWriteHook crash([](const std::string& temp) {
      if (temp.find("CURRENT") != std::string::npos) throw std::runtime_error("power cut");
    });
    CHECK_THROWS_WITH(
        nobias::save_checkpoint<float>(dir.path().string(), net, optimizer, progress_at(2, 42)),
        "power cut");
  }
  const auto checkpoint = nobias::load_checkpoint<float>(dir.path().string());
  CHECK(checkpoint.progress.epochs_done == 1);
  CHECK(same_bits(checkpoint.weights, saved));

  // The next save succeeds and replaces it.
  nobias::save_checkpoint<float>(dir.path().string(), net, optimizer, progress_at(2, 42));
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
  nobias::save_checkpoint<float>(dir.path().string(), net, adam, progress_at(0, 1));
  auto checkpoint = nobias::load_checkpoint<float>(dir.path().string());
  Optimizer<float> momentum(config_of(OptimizerKind::Momentum), net);
  CHECK_THROWS_WITH_AS(
      nobias::restore_optimizer(momentum, checkpoint),
      "Optimizer::restore: the state is of kind adam, this optimizer's is momentum",
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
  nobias::save_checkpoint<double>(dir.path().string(), net, optimizer, progress_at(1, 42));
  const std::vector<Matrix<double>> first = net.weights();
  nobias::fit(net, optimizer, {x, y}, options(1));
  {
    nobias::detail::ScopedAtomicWriteHook crash([](const std::string& temp) {
      if (temp.find("CURRENT") != std::string::npos) throw std::runtime_error("power cut");
    });
    CHECK_THROWS_WITH(
        nobias::save_checkpoint<double>(dir.path().string(), net, optimizer, progress_at(1, 42)),
        "power cut");
  }
  CHECK(same_bits(nobias::load_checkpoint<double>(dir.path().string()).weights, first));
  nobias::save_checkpoint<double>(dir.path().string(), net, optimizer, progress_at(1, 42));
  CHECK(same_bits(nobias::load_checkpoint<double>(dir.path().string()).weights, net.weights()));
}

TEST_CASE("checkpoint.corrupt_states_are_refused") {
  TempDir dir("corrupt");
  Network<float> net({5, 4, 2}, 17);
  Optimizer<float> adam(config_of(OptimizerKind::Adam), net);
  nobias::save_checkpoint<float>(dir.path().string(), net, adam, progress_at(0, 1));
  const std::string state = dir.file("state-000000");

  Matrix<float> nan_weights = Matrix<float>::copy_of(net.weight(0));
  nan_weights(1, 2) = NAN;
  nobias::write_npy(state + "/w1.npy", nan_weights.view());
  reseal(state, "w1.npy");  // a bad value behind a good checksum: a writer's bug, not a disk's
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
    nobias::save_checkpoint<T>(d, net, adam, progress_at(1, 1));
    REQUIRE(nobias::load_checkpoint<T>(d).progress.epochs_done == 1);  // whole before
    const std::string name(c.file);
    const nobias::OptimizerState<T> state_views = adam.state();
    Matrix<T> bad = name[0] == 'w'   ? net.weights()[c.k]
                    : name[0] == 'f' ? Matrix<T>::copy_of(state_views.first[c.k])
                                     : Matrix<T>::copy_of(state_views.second[c.k]);
    bad(1, 0) = c.value;
    nobias::write_npy(state + "/" + name, bad.view());
    reseal(state, name);
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
  nobias::save_checkpoint<float>(dir.path().string(), net, adam, progress_at(1, 1));
  auto checkpoint = nobias::load_checkpoint<float>(dir.path().string());
  checkpoint.second[1] = Matrix<float>(3, 3);  // a wrong shape, found only at the second moments
  Optimizer<float> fresh(config_of(OptimizerKind::Adam), net);
  CHECK_THROWS_WITH_AS(nobias::restore_optimizer(fresh, checkpoint),
                       "Optimizer::restore: second2 is 3x3, expected 4x2", nobias::ShapeError);
  const nobias::OptimizerState<float> state = fresh.state();
  for (const auto* moments : {&state.first, &state.second})
    for (const nobias::MatrixView<const float>& m : *moments)
      for (std::size_t i = 0; i < m.size(); ++i)
        CHECK(m.data()[i] == 0.0f);
  CHECK(fresh.steps_taken() == 0);
}

// ---------------------------------------------------------------------------------------------
// Bad input, as docs/errors.md lists it.

namespace {

// Replaces the line "key=..." of a state's state.txt (or removes it when value is null), and
// seals the result (but for an edit of the seal itself).
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
  std::ofstream(state_txt, std::ios::trunc) << (key == "state_checksum" ? text : sealed(text));
}

}  // namespace

TEST_CASE("checkpoint.save.into_a_directory_that_cannot_be_created") {
  TempDir dir("uncreatable");
  { std::ofstream(dir.file("plain")) << "x"; }
  Network<float> net({5, 4, 2}, 21);
  Optimizer<float> sgd(config_of(OptimizerKind::Sgd), net);
  const std::string expected = "save_checkpoint: cannot create '" + dir.file("plain/ck") + "'";
  CHECK_THROWS_WITH_AS(
      nobias::save_checkpoint<float>(dir.file("plain/ck"), net, sgd, progress_at(1, 1)),
      doctest::Contains(expected.c_str()), nobias::IoError);
  const std::string over_a_file = "save_checkpoint: cannot create '" + dir.file("plain") + "'";
  CHECK_THROWS_WITH_AS(
      nobias::save_checkpoint<float>(dir.file("plain"), net, sgd, progress_at(1, 1)),
      doctest::Contains(over_a_file.c_str()), nobias::IoError);
  // As root too: nothing can be created under /proc.
  CHECK_THROWS_WITH_AS(
      nobias::save_checkpoint<float>("/proc/nobias-ck", net, sgd, progress_at(1, 1)),
      doctest::Contains("save_checkpoint: cannot create '/proc/nobias-ck'"), nobias::IoError);
}

TEST_CASE("checkpoint.load.missing_and_extra_files") {
  TempDir dir("files");
  Network<float> net({5, 4, 2}, 22);
  Optimizer<float> adam(config_of(OptimizerKind::Adam), net);
  const std::string d = dir.path().string(), state = dir.file("state-000001");
  const auto fresh = [&] {
    std::filesystem::remove_all(d);
    nobias::save_checkpoint<float>(d, net, adam, progress_at(1, 1));
  };
  fresh();
  std::filesystem::remove(state + "/second2.npy");
  CHECK_THROWS_WITH_AS(nobias::load_checkpoint<float>(d),
                       doctest::Contains("second2.npy is missing (state.txt records its checksum)"),
                       nobias::IoError);
  fresh();
  std::filesystem::remove(state + "/w2.npy");
  CHECK_THROWS_WITH_AS(nobias::load_checkpoint<float>(d),
                       doctest::Contains("w2.npy is missing (state.txt records its checksum)"),
                       nobias::IoError);
  fresh();
  nobias::write_npy(state + "/w3.npy", Matrix<float>(2, 2));
  CHECK_THROWS_WITH_AS(
      nobias::load_checkpoint<float>(d),
      doctest::Contains("the state holds w3.npy, which state.txt does not record (2 layers, adam)"),
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

// A FIFO named like a file of the checkpoint (state-000001/w2.npy, state.txt, CURRENT) was
// opened to be read, and the open waited for a writer forever. Each is now opened without
// waiting and refused unless it is a regular file, saying what it is; a directory the same.
TEST_CASE("checkpoint.load.a_file_that_is_not_regular_is_refused_at_once") {
  TempDir dir("fifo-checkpoint");
  Network<float> net({5, 4, 2}, 22);
  Optimizer<float> adam(config_of(OptimizerKind::Adam), net);
  const std::string d = dir.path().string();
  for (const std::string name :
       {"state-000001/w2.npy", "state-000001/second1.npy", "state-000001/state.txt", "CURRENT"}) {
    CAPTURE(name);
    std::filesystem::remove_all(d);
    nobias::save_checkpoint<float>(d, net, adam, progress_at(1, 1));
    std::filesystem::remove(dir.file(name));
    REQUIRE(::mkfifo(dir.file(name).c_str(), 0600) == 0);
    CHECK_ERROR(IoError, nobias::load_checkpoint<float>(d),
                "load_checkpoint: " + d + ": " + name +
                    ": is a FIFO (named pipe), expected a regular file");
    std::filesystem::remove(dir.file(name));
    std::filesystem::create_directory(dir.file(name));
    CHECK_ERROR(
        IoError, nobias::load_checkpoint<float>(d),
        "load_checkpoint: " + d + ": " + name + ": is a directory, expected a regular file");
  }
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
      {"format", "nobias-checkpoint-99",
       "expected format=nobias-checkpoint-2, got format=nobias-checkpoint-99"},
      {"learning_rate", "fast", "learning_rate is not a decimal number: fast"},
      {"beta2", nullptr, "state.txt: has no beta2"},
      {"optimizer_steps", "-3", "optimizer_steps is not a count: -3"},
      {"optimizer", "rmsprop", "optimizer must be sgd or momentum or adam, got 'rmsprop'"},
      {"reduction", "median", "reduction must be sum or mean, got 'median'"},
      {"dtype", "f16", "dtype must be f32 or f64, got 'f16'"},
      {"epochs_done", "7", "epochs_done does not match the state's name state-000002"},
      {"layers", "x", "layers is not a count: x"},
      // Binary bytes are quoted, never sent to the terminal as they are.
      {"learning_rate", "\x1b[2J", "learning_rate is not a decimal number: \\x1b[2J"},
      {"optimizer_steps", "\xff", "optimizer_steps is not a count: \\xff"},
      {"optimizer", "sgd\x07", "optimizer must be sgd or momentum or adam, got 'sgd\\x07'"},
  };
  for (const Corruption& c : corruptions) {
    CAPTURE(c.key);
    std::filesystem::remove_all(d);
    nobias::save_checkpoint<double>(d, net, adam, progress_at(2, 1));
    edit_state(state_txt, c.key, c.value);
    CHECK_THROWS_WITH_AS(nobias::load_checkpoint<double>(d), doctest::Contains(c.message),
                         nobias::IoError);
  }
  std::filesystem::remove_all(d);
  nobias::save_checkpoint<double>(d, net, adam, progress_at(2, 1));
  { std::ofstream(state_txt, std::ios::app) << "no equals sign\x1b\n"; }
  CHECK_THROWS_WITH_AS(nobias::load_checkpoint<double>(d),
                       doctest::Contains("line 25 has no '=': no equals sign\\x1b"),
                       nobias::IoError);
  // A negative second moment would take a square root of it.
  std::filesystem::remove_all(d);
  nobias::save_checkpoint<double>(d, net, adam, progress_at(2, 1));
  Matrix<double> negative(5, 4);
  negative(0, 0) = -1.0;
  nobias::write_npy(dir.file("state-000002/second1.npy"), negative);
  reseal(dir.file("state-000002"), "second1.npy");
  CHECK_THROWS_WITH_AS(nobias::load_checkpoint<double>(d),
                       doctest::Contains("second1.npy is negative"), nobias::IoError);
}

TEST_CASE("checkpoint.save.interrupted_while_writing_the_state_keeps_the_previous_one") {
  TempDir dir("half-state");
  const std::string d = dir.path().string();
  const Matrix<float> x = random_matrix<float>(10, 5, 24), y = random_matrix<float>(10, 2, 25);
  Network<float> net({5, 4, 2}, 26, nobias::Init::He);
  Optimizer<float> adam(config_of(OptimizerKind::Adam), net);
  nobias::save_checkpoint<float>(d, net, adam, progress_at(1, 1));
  const std::vector<Matrix<float>> saved = net.weights();
  adam.step(net, x, y);
  {
    // Killed after w1.npy of the new state, while writing its w2.npy.
    nobias::detail::ScopedAtomicWriteHook crash([](const std::string& temp) {
      if (temp.find("w2.npy") != std::string::npos) throw std::runtime_error("killed");
    });
    CHECK_THROWS_WITH(nobias::save_checkpoint<float>(d, net, adam, progress_at(2, 1)), "killed");
  }
  const auto checkpoint = nobias::load_checkpoint<float>(d);
  CHECK(checkpoint.progress.epochs_done == 1);
  CHECK(same_bits(checkpoint.weights, saved));
  // The next save completes and clears the half-built state.
  nobias::save_checkpoint<float>(d, net, adam, progress_at(2, 1));
  CHECK(dir.names() == std::vector<std::string>{"CURRENT", "state-000002"});
}

// A save removes superseded states and the debris of interrupted saves, and nothing else: an
// entry of the user's merely named like a state (a file, a directory of theirs, a link, one of
// nobias's directories holding a file of theirs) stays, and its name is not reused.
TEST_CASE("checkpoint.save.removes_only_what_a_save_made") {
  namespace fs = std::filesystem;
  TempDir dir("not-ours");
  TempDir elsewhere("not-ours-target");
  const std::string d = dir.path().string();
  Network<float> net({5, 4, 2}, 27, nobias::Init::He);
  Optimizer<float> adam(config_of(OptimizerKind::Adam), net);
  const auto write = [](const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  };
  const auto read = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  // The user's: a directory of a state's name, one of a building state's name (the one the
  // epoch-2 save would build under), a plain file, a directory holding a state's file names
  // but no checkpoint's state.txt, a link to a real state.
  for (const char* sub : {"state-000001", "state-000005.building", "state-000002.building",
                          "state-000007", "state-000008.building"}) {
    fs::create_directory(dir.path() / sub);
  }
  write(dir.file("state-000001/notes.txt"), "mine");
  write(dir.file("state-000005.building/notes.txt"), "mine");
  write(dir.file("state-000002.building/notes.txt"), "mine");
  write(dir.file("state-000042"), "mine");
  write(dir.file("state-000007/state.txt"), "mine\n");
  write(dir.file("state-000007/w1.npy"), "mine");
  write(dir.file("state-000008.building/w1.npy"), "mine");
  fs::create_directory(dir.path() / "state-000008.building" / "w2.npy");  // a directory
  nobias::save_checkpoint<float>(elsewhere.path().string(), net, adam, progress_at(9, 1));
  fs::create_directory_symlink(elsewhere.path() / "state-000009", dir.path() / "state-000009");
  const std::vector<std::string> users = {
      "state-000001",          "state-000002.building", "state-000005.building", "state-000007",
      "state-000008.building", "state-000009",          "state-000042"};
  const auto with = [&](std::vector<std::string> ours) {
    ours.insert(ours.end(), users.begin(), users.end());
    std::sort(ours.begin(), ours.end());
    return ours;
  };

  nobias::save_checkpoint<float>(d, net, adam, progress_at(1, 1));  // state-000001 is taken
  CHECK(dir.names() == with({"CURRENT", "state-000001.1"}));
  // Debris of ours, which the next save removes: a save killed while writing state.txt, and
  // one killed right after it made its building directory.
  {
    nobias::detail::ScopedAtomicWriteHook crash([](const std::string& temp) {
      if (temp.find("state.txt") != std::string::npos) throw std::runtime_error("killed");
    });
    CHECK_THROWS_WITH(nobias::save_checkpoint<float>(d, net, adam, progress_at(3, 1)), "killed");
  }
  REQUIRE(fs::exists(dir.path() / "state-000003.building" / "w1.npy"));
  fs::create_directory(dir.path() / "state-000004.building");
  // And what a removal of a superseded state killed midway leaves (state.txt goes last).
  fs::create_directory(dir.path() / "state-000006");
  fs::create_directory(dir.path() / "state-000010");
  fs::copy_file(elsewhere.path() / "state-000009" / "state.txt",
                dir.path() / "state-000010" / "state.txt");
  CHECK(nobias::load_checkpoint<float>(d).progress.epochs_done == 1);

  // The epoch-2 save cannot build under the user's state-000002.building.
  nobias::save_checkpoint<float>(d, net, adam, progress_at(2, 1));
  CHECK(dir.names() == with({"CURRENT", "state-000002.1"}));
  CHECK(nobias::load_checkpoint<float>(d).progress.epochs_done == 2);
  CHECK(read(dir.file("state-000001/notes.txt")) == "mine");
  CHECK(read(dir.file("state-000005.building/notes.txt")) == "mine");
  CHECK(read(dir.file("state-000002.building/notes.txt")) == "mine");
  CHECK(read(dir.file("state-000042")) == "mine");
  CHECK(read(dir.file("state-000007/state.txt")) == "mine\n");
  CHECK(read(dir.file("state-000007/w1.npy")) == "mine");
  CHECK(read(dir.file("state-000008.building/w1.npy")) == "mine");
  CHECK(fs::is_directory(dir.path() / "state-000008.building" / "w2.npy"));
  CHECK(fs::is_symlink(dir.path() / "state-000009"));
  CHECK(nobias::load_checkpoint<float>(elsewhere.path().string()).progress.epochs_done == 9);
}

TEST_CASE("checkpoint.restore_optimizer.errors_name_the_mismatch") {
  TempDir dir("restore-messages");
  Network<float> net({5, 4, 2}, 27);
  Optimizer<float> adam(config_of(OptimizerKind::Adam), net);
  nobias::save_checkpoint<float>(dir.path().string(), net, adam, progress_at(1, 1));
  auto checkpoint = nobias::load_checkpoint<float>(dir.path().string());
  Optimizer<float> sgd(config_of(OptimizerKind::Sgd), net);
  CHECK_THROWS_WITH_AS(nobias::restore_optimizer(sgd, checkpoint),
                       "Optimizer::restore: the state is of kind adam, this optimizer's is sgd",
                       nobias::ValueError);
  Network<float> deeper({5, 4, 3, 2}, 27);
  Optimizer<float> deeper_adam(config_of(OptimizerKind::Adam), deeper);
  CHECK_THROWS_WITH_AS(nobias::restore_optimizer(deeper_adam, checkpoint),
                       "Optimizer::restore: first: expected 3 matrices, got 2", nobias::ShapeError);
  checkpoint.second[1] = Matrix<float>(3, 3);
  CHECK_THROWS_WITH_AS(nobias::restore_optimizer(adam, checkpoint),
                       "Optimizer::restore: second2 is 3x3, expected 4x2", nobias::ShapeError);
}

// ---------------------------------------------------------------------------------------------
// Issue 10, item 7: a checkpoint is what it claims. Before, each of these loaded (and
// optimizer_steps=2^64-1 trained Adam into NaN weights reported as a divergence).

TEST_CASE("checkpoint.load.every_field_is_checked") {
  TempDir dir("fields");
  Network<double> net({5, 4, 2}, 31);
  Optimizer<double> adam(config_of(OptimizerKind::Adam), net);
  const Matrix<double> x = random_matrix<double>(6, 5, 32), y = random_matrix<double>(6, 2, 33);
  adam.step(net, x, y);  // moments that are not zero
  const std::string d = dir.path().string(), state_txt = dir.file("state-000001/state.txt");
  struct Corruption {
    const char* key;
    const char* value;
    const char* message;
  };
  const Corruption corruptions[] = {
      {"optimizer_steps", "18446744073709551615",
       "state.txt: optimizer_steps is 18446744073709551615, more than 9007199254740992 (2^53), "
       "the most Adam's step count holds exactly"},
      {"optimizer_steps", "0", "state.txt: optimizer_steps is 0 but first1.npy is not all zeros"},
      {"beta1", "1", "state.txt: beta1 must be in [0, 1), got 1"},
      {"beta2", "-5", "state.txt: beta2 must be in [0, 1), got -5"},
      {"epsilon", "nan", "state.txt: epsilon is not a decimal number: nan"},
      {"epsilon", "0", "state.txt: epsilon must be finite and > 0, got 0"},
      {"learning_rate", "1e999", "state.txt: learning_rate is out of range: 1e999"},
      {"weight_decay", "-1", "state.txt: weight_decay must be finite and >= 0, got -1"},
      {"momentum", "1", "state.txt: momentum must be in [0, 1), got 1"},
      {"shuffle", "2", "state.txt: shuffle must be 0 or 1, got 2"},
      {"checksum.w1.npy", "xyz", "state.txt: checksum.w1.npy must be 16 lowercase hex digits"},
  };
  for (const Corruption& c : corruptions) {
    CAPTURE(c.key);
    std::filesystem::remove_all(d);
    nobias::save_checkpoint<double>(d, net, adam, progress_at(1, 1));
    edit_state(state_txt, c.key, c.value);
    CHECK_THROWS_WITH_AS(nobias::load_checkpoint<double>(d), doctest::Contains(c.message),
                         nobias::IoError);
  }
  std::filesystem::remove_all(d);
  nobias::save_checkpoint<double>(d, net, adam, progress_at(1, 1));
  { std::ofstream(state_txt, std::ios::app) << "colour=blue\n"; }
  CHECK_THROWS_WITH_AS(nobias::load_checkpoint<double>(d),
                       doctest::Contains("state.txt: unknown field 'colour'"), nobias::IoError);
  std::filesystem::remove_all(d);
  nobias::save_checkpoint<double>(d, net, adam, progress_at(1, 1));
  { std::ofstream(state_txt, std::ios::app) << "beta1=0.5\n"; }
  CHECK_THROWS_WITH_AS(nobias::load_checkpoint<double>(d),
                       doctest::Contains("state.txt: 'beta1' appears twice"), nobias::IoError);
}

TEST_CASE_TEMPLATE("checkpoint.load.a_flipped_byte_is_refused_naming_the_file", T, float, double) {
  TempDir dir("flipped");
  Network<T> net({5, 4, 2}, 34);
  Optimizer<T> momentum(config_of(OptimizerKind::Momentum), net);
  const std::string d = dir.path().string();
  for (const char* file : {"w2.npy", "first1.npy"}) {
    CAPTURE(file);
    std::filesystem::remove_all(d);
    nobias::save_checkpoint<T>(d, net, momentum, progress_at(1, 1));
    const std::string path = dir.file(std::string("state-000001/") + file);
    {
      std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(-3, std::ios::end);  // inside the last value: still a valid .npy of finite values
      const char byte = static_cast<char>(f.get());
      f.seekp(-3, std::ios::end);
      f.put(static_cast<char>(byte ^ 0x01));
    }
    CHECK_THROWS_WITH_AS(
        nobias::load_checkpoint<T>(d),
        doctest::Contains((std::string(file) + " is damaged: its checksum is ").c_str()),
        nobias::IoError);
  }
}

TEST_CASE("checkpoint.step_refuses_a_count_that_would_wrap") {
  // Adam divides by 1 - beta^t: a count that wrapped to 0 would make it 0 and the weights NaN.
  Network<double> net({5, 4, 2}, 35);
  Optimizer<double> adam(config_of(OptimizerKind::Adam), net);
  const Matrix<double> x = random_matrix<double>(6, 5, 36), y = random_matrix<double>(6, 2, 37);
  adam.step(net, x, y);
  const nobias::OptimizerState<double> state = adam.state();
  std::vector<Matrix<double>> first, second;
  for (const auto& m : state.first)
    first.push_back(Matrix<double>::copy_of(m));
  for (const auto& m : state.second)
    second.push_back(Matrix<double>::copy_of(m));
  CHECK_THROWS_WITH_AS(adam.restore(OptimizerKind::Adam, UINT64_MAX, first, second),
                       doctest::Contains("Optimizer::restore: steps must be <= 2^53"),
                       nobias::ValueError);
  adam.restore(OptimizerKind::Adam, nobias::kMaxOptimizerSteps, first, second);
  const Network<double> before = net;
  CHECK_THROWS_WITH_AS(adam.step(net, x, y),
                       "Optimizer::step: 9007199254740992 steps taken, the most Adam's step count "
                       "holds exactly (2^53)",
                       nobias::ValueError);
  CHECK(same_bits(net.weights(), before.weights()));
}

// Issue 10, item 5: moments can no longer be replaced by wrongly shaped matrices. Before,
// first()[0] = Matrix(1, 1) and a step gave "free(): invalid next size".
TEST_CASE_TEMPLATE("optimizer.restore.checks_everything_it_is_given", T, float, double) {
  Network<T> net({5, 4, 2}, 38);
  Optimizer<T> adam(config_of(OptimizerKind::Adam), net);
  std::vector<Matrix<T>> first, second;
  first.emplace_back(1, 1);
  first.emplace_back(4, 2);
  second.emplace_back(5, 4);
  second.emplace_back(4, 2);
  CHECK_THROWS_WITH_AS(adam.restore(OptimizerKind::Adam, 1, first, second),
                       "Optimizer::restore: first1 is 1x1, expected 5x4", nobias::ShapeError);
  first[0] = Matrix<T>(5, 4);
  second[1](0, 1) = T(-1);
  CHECK_THROWS_WITH_AS(adam.restore(OptimizerKind::Adam, 1, first, second),
                       "Optimizer::restore: second2: element 1 is negative; second moments are "
                       "squares",
                       nobias::ValueError);
  second[1](0, 1) = std::numeric_limits<T>::quiet_NaN();
  CHECK_THROWS_WITH_AS(adam.restore(OptimizerKind::Adam, 1, first, second),
                       doctest::Contains("Optimizer::restore: second2: element (0, 1) is nan"),
                       nobias::ValueError);
  second[1](0, 1) = T(2);
  CHECK_THROWS_WITH_AS(adam.restore(OptimizerKind::Adam, 0, first, second),
                       "Optimizer::restore: steps is 0 but second2 is not all zeros (element 1): "
                       "moments come from steps",
                       nobias::ValueError);
  CHECK_THROWS_WITH_AS(
      adam.restore(OptimizerKind::Momentum, 1, first, {}),
      "Optimizer::restore: the state is of kind momentum, this optimizer's is adam",
      nobias::ValueError);
  CHECK(adam.steps_taken() == 0);  // every refusal left it as it was
  adam.restore(OptimizerKind::Adam, 7, first, second);
  const nobias::OptimizerState<T> state = adam.state();
  CHECK(state.steps == 7);
  REQUIRE(state.second.size() == 2);
  CHECK(state.second[1](0, 1) == T(2));
  CHECK(state.second[1].data() != second[1].data());  // copied into its own buffers
}

// Issue 10, item 6 (library side): the data a run trained on, recorded and compared.
TEST_CASE_TEMPLATE("checkpoint.data_fingerprint_says_which_input_differs", T, float, double) {
  const Matrix<T> x = random_matrix<T>(30, 11, 40), y = random_matrix<T>(30, 3, 41);
  const nobias::DataFingerprint saved = nobias::fingerprint_data<T>(x, y, "generated rows=30");
  TempDir dir("fingerprint");
  Network<T> net({11, 4, 3}, 42);
  Optimizer<T> sgd(config_of(OptimizerKind::Sgd), net);
  nobias::save_checkpoint<T>(dir.path().string(), net, sgd, progress_at(1, 1), saved);
  const auto loaded = nobias::load_checkpoint<T>(dir.path().string()).data;
  CHECK(loaded.rows == 30);
  CHECK(loaded.x_cols == 11);
  CHECK(loaded.y_cols == 3);
  CHECK(loaded.dtype == (sizeof(T) == 4 ? "f32" : "f64"));
  CHECK(loaded.source == "generated rows=30");
  CHECK(loaded.x_hash == saved.x_hash);
  CHECK(loaded.y_hash == saved.y_hash);
  CHECK(nobias::data_difference(loaded, nobias::fingerprint_data<T>(x, y, "generated rows=30"))
            .empty());

  CHECK(nobias::data_difference(loaded, nobias::fingerprint_data<T>(x, y, "generated rows=31")) ==
        "the data's source differs: 'generated rows=31' now, 'generated rows=30' in the "
        "checkpoint");
  CHECK(nobias::data_difference(loaded,
                                nobias::fingerprint_data<T>(x.row_block(0, 20), y.row_block(0, 20),
                                                            "generated rows=30")) ==
        "the data differ: 20 rows now, 30 in the checkpoint");
  Matrix<T> other_x = x;
  other_x(29, 10) = std::nextafter(other_x(29, 10), T(10));  // one bit of one value
  CHECK(nobias::data_difference(loaded,
                                nobias::fingerprint_data<T>(other_x, y, "generated rows=30")) ==
        "x differs: same shape, other values");
  Matrix<T> other_y = y;
  other_y(0, 0) = T(0.5);
  CHECK(nobias::data_difference(loaded,
                                nobias::fingerprint_data<T>(x, other_y, "generated rows=30")) ==
        "y differs: same shape, other values");
  CHECK(nobias::data_difference(
            loaded, nobias::fingerprint_data<T>(x.col_block(0, 10), y, "generated rows=30")) ==
        "x differs: 10 columns now, 11 in the checkpoint");
  // A column block hashes its elements only, like the copy it views.
  CHECK(nobias::fingerprint_data<T>(x.col_block(0, 10), y).x_hash ==
        nobias::fingerprint_data<T>(Matrix<T>::copy_of(x.col_block(0, 10)), y).x_hash);
  // Without a fingerprint, nothing is recorded and nothing compared.
  nobias::save_checkpoint<T>(dir.path().string(), net, sgd, progress_at(2, 1));
  const auto none = nobias::load_checkpoint<T>(dir.path().string()).data;
  CHECK_FALSE(none.recorded());
  CHECK(nobias::data_difference(none, saved).empty());
  CHECK_THROWS_WITH_AS(nobias::fingerprint_data<T>(x, y, "two\nlines"),
                       "fingerprint_data: source must be one line of printable ASCII",
                       nobias::ValueError);
}

// The validation rows a run had, recorded beside its training data: three cases (not recorded,
// none, a fingerprint), each read back as written, and the comparison naming what differs.
TEST_CASE_TEMPLATE("checkpoint.validation_fingerprint_says_which_input_differs", T, float, double) {
  const Matrix<T> vx = random_matrix<T>(23, 11, 50), vy = random_matrix<T>(23, 3, 51);
  const auto of = [](MatrixView<const T> x, MatrixView<const T> y) {
    return nobias::fingerprint_validation<T>(nobias::RowSource<T>(x, y));
  };
  const nobias::ValidationFingerprint saved = of(vx, vy), none = of({}, {});
  REQUIRE(saved.recorded);
  CHECK(saved.data.rows == 23);
  CHECK(saved.data.dtype == (sizeof(T) == 4 ? "f32" : "f64"));
  CHECK(saved.data.x_hash == nobias::fingerprint_data<T>(vx, vy).x_hash);
  CHECK(none.recorded);
  CHECK_FALSE(none.data.recorded());

  TempDir dir("validation-fingerprint");
  const std::string d = dir.path().string();
  Network<T> net({11, 4, 3}, 42);
  Optimizer<T> sgd(config_of(OptimizerKind::Sgd), net);
  const nobias::DataFingerprint data = nobias::fingerprint_data<T>(vx, vy, "generated rows=23");
  nobias::save_checkpoint<T>(d, net, sgd, progress_at(1, 1), data, {}, saved);
  const nobias::ValidationFingerprint loaded = nobias::load_checkpoint<T>(d).validation;
  CHECK(loaded.recorded);
  CHECK(loaded.data.rows == 23);
  CHECK(loaded.data.x_cols == 11);
  CHECK(loaded.data.y_cols == 3);
  CHECK(loaded.data.dtype == saved.data.dtype);
  CHECK(loaded.data.x_hash == saved.data.x_hash);
  CHECK(loaded.data.y_hash == saved.data.y_hash);
  CHECK(nobias::validation_difference(loaded, of(vx, vy)).empty());

  Matrix<T> other_x = vx;
  other_x(22, 10) = std::nextafter(other_x(22, 10), T(10));  // one bit of one value
  CHECK(nobias::validation_difference(loaded, of(other_x, vy)) ==
        "val_x differs: same shape, other values");
  Matrix<T> other_y = vy;
  other_y(0, 0) = T(0.5);
  CHECK(nobias::validation_difference(loaded, of(vx, other_y)) ==
        "val_y differs: same shape, other values");
  CHECK(nobias::validation_difference(loaded, of(vx.row_block(0, 20), vy.row_block(0, 20))) ==
        "the validation data differ: 20 rows now, 23 in the checkpoint");
  CHECK(nobias::validation_difference(loaded, of(vx, vy.col_block(0, 2))) ==
        "val_y differs: 2 columns now, 3 in the checkpoint");
  CHECK(nobias::validation_difference(loaded, none) ==
        "the validation data differ: none now, 23 rows in the checkpoint");

  // A run without validation rows records that it had none.
  nobias::save_checkpoint<T>(d, net, sgd, progress_at(2, 1), data, {}, none);
  const nobias::ValidationFingerprint without = nobias::load_checkpoint<T>(d).validation;
  CHECK(without.recorded);
  CHECK_FALSE(without.data.recorded());
  CHECK(nobias::validation_difference(without, none).empty());
  CHECK(nobias::validation_difference(without, saved) ==
        "the validation data differ: 23 rows now, none in the checkpoint");

  // A save not given one records nothing, and nothing is compared.
  nobias::save_checkpoint<T>(d, net, sgd, progress_at(3, 1), data);
  const nobias::ValidationFingerprint unknown = nobias::load_checkpoint<T>(d).validation;
  CHECK_FALSE(unknown.recorded);
  CHECK(nobias::validation_difference(unknown, saved).empty());
  CHECK(nobias::validation_difference(unknown, none).empty());
}

// A checkpoint written before validation fingerprints were (no validation.* in state.txt)
// still loads and resumes bit for bit, its validation rows unchecked, as it did then.
TEST_CASE("checkpoint.resume.without_a_validation_fingerprint_is_unchecked") {
  nobias::set_threads(1);
  const Matrix<float> x = random_matrix<float>(30, 11, 1), y = random_matrix<float>(30, 3, 2);
  const Matrix<float> vx = random_matrix<float>(9, 11, 3), vy = random_matrix<float>(9, 3, 4);
  nobias::FitOptions o = options(4);
  o.early_stopping = {3, 0.0};
  Network<float> whole({11, 9, 3}, 3, nobias::Init::He);
  Optimizer<float> whole_optimizer(config_of(OptimizerKind::Adam), whole);
  nobias::fit<float>(whole, whole_optimizer, {x, y, vx, vy}, o);

  TempDir dir("before-validation");
  const std::string d = dir.path().string(), state_txt = dir.file("state-000002/state.txt");
  {
    Network<float> first({11, 9, 3}, 3, nobias::Init::He);
    Optimizer<float> optimizer(config_of(OptimizerKind::Adam), first);
    nobias::FitOptions part = options(2);
    part.early_stopping = o.early_stopping;
    part.checkpoint.dir = d;
    nobias::fit<float>(first, optimizer, {x, y, vx, vy}, part);
  }
  REQUIRE(nobias::load_checkpoint<float>(d).validation.data.rows == 9);
  for (const char* key : {"validation.rows", "validation.x_cols", "validation.y_cols",
                          "validation.dtype", "validation.x_hash", "validation.y_hash"})
    edit_state(state_txt, key, nullptr);
  const nobias::Checkpoint<float> checkpoint = nobias::load_checkpoint<float>(d);
  REQUIRE_FALSE(checkpoint.validation.recorded);
  REQUIRE(checkpoint.data.recorded());  // the training data are still checked

  const auto resume = [&](const Matrix<float>& val_x) {
    Network<float> net(checkpoint.weights);
    Optimizer<float> optimizer(config_of(OptimizerKind::Adam), net);
    nobias::FitOptions again = options(4);
    again.early_stopping = o.early_stopping;
    nobias::resume(checkpoint, optimizer, again);
    CHECK_FALSE(again.resumed_validation.recorded);
    nobias::fit<float>(net, optimizer, {x, y, val_x, vy, &checkpoint.best_weights}, again);
    return net;
  };
  CHECK(same_bits(resume(vx).weights(), whole.weights()));
  Matrix<float> other_x = vx;
  other_x(0, 0) += 1.0f;
  CHECK_NOTHROW(resume(other_x));  // unknown then: accepted, as before
  nobias::set_threads(0);
}

// validation.*: all six fields, or validation.rows=0 alone.
TEST_CASE("checkpoint.load.validation_fields_are_checked") {
  TempDir dir("validation-fields");
  const std::string d = dir.path().string(), state_txt = dir.file("state-000001/state.txt");
  Network<double> net({5, 4, 2}, 31);
  Optimizer<double> sgd(config_of(OptimizerKind::Sgd), net);
  const Matrix<double> vx = random_matrix<double>(6, 5, 32), vy = random_matrix<double>(6, 2, 33);
  const auto fingerprint =
      nobias::fingerprint_validation<double>(nobias::RowSource<double>(vx, vy));
  struct Corruption {
    const char* key;
    const char* value;  // nullptr: the line removed
    const char* message;
  };
  const Corruption corruptions[] = {
      {"validation.rows", nullptr,
       "state.txt: unknown field 'validation.dtype' (validation.* needs validation.rows above 0)"},
      {"validation.rows", "0",
       "state.txt: unknown field 'validation.dtype' (validation.* needs validation.rows above 0)"},
      {"validation.y_hash", nullptr, "state.txt: has no validation.y_hash"},
      {"validation.x_cols", "-1", "state.txt: validation.x_cols is not a count: -1"},
      {"validation.dtype", "f16", "state.txt: validation.dtype must be"},
      {"validation.x_hash", "xyz", "state.txt: validation.x_hash must be 16 lowercase hex digits"},
  };
  for (const Corruption& c : corruptions) {
    CAPTURE(c.key);
    std::filesystem::remove_all(d);
    nobias::save_checkpoint<double>(d, net, sgd, progress_at(1, 1), {}, {}, fingerprint);
    edit_state(state_txt, c.key, c.value);
    CHECK_THROWS_WITH_AS(nobias::load_checkpoint<double>(d), doctest::Contains(c.message),
                         nobias::IoError);
  }
}

// A state.txt's checksums are the manifests' FNV-1a 64 (atomic.fnv1a64.known_values), in hex.
TEST_CASE("checkpoint.checksum_text") {
  CHECK(nobias::detail::hex64(0x85944171f73967e8ULL) == "85944171f73967e8");
  std::uint64_t parsed = 0;
  CHECK(nobias::detail::parse_hex64("85944171f73967e8", parsed));
  CHECK(parsed == 0x85944171f73967e8ULL);
  CHECK_FALSE(nobias::detail::parse_hex64("85944171F73967E8", parsed));
  CHECK_FALSE(nobias::detail::parse_hex64("85944171f73967e", parsed));
}

// Issue 19 item 12: state.txt is sealed; a field edited by hand is damage, not a state to train
// on (editing optimizer_steps from 21 to 5 was accepted).
TEST_CASE("checkpoint.load.hand_edited_state_txt_is_refused") {
  TempDir dir("sealed");
  nobias::Network<float> net({3, 4, 2}, 1, nobias::Init::He);
  nobias::OptimizerConfig config;
  config.kind = nobias::OptimizerKind::Adam;
  nobias::Optimizer<float> adam(config, net);
  const auto x = test_support::random_matrix<float>(10, 3, 2);
  const auto y = test_support::random_matrix<float>(10, 2, 3);
  nobias::FitOptions o = options(2);
  o.checkpoint.dir = dir.path().string();
  nobias::fit<float>(net, adam, {x, y}, o);
  const std::string state_txt = dir.file("state-000002/state.txt");
  std::string text;
  {
    std::ifstream in(state_txt);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::size_t at = text.find("optimizer_steps=");
  REQUIRE(at != std::string::npos);
  std::string edited = text;
  edited.replace(at, edited.find('\n', at) - at, "optimizer_steps=1");
  { std::ofstream(state_txt, std::ios::trunc) << edited; }
  CHECK_THROWS_WITH_AS(nobias::load_checkpoint<float>(dir.path().string()),
                       doctest::Contains("state.txt: is damaged: its checksum is"),
                       nobias::IoError);
  { std::ofstream(state_txt, std::ios::trunc) << text; }
  const auto checkpoint = nobias::load_checkpoint<float>(dir.path().string());
  CHECK(checkpoint.progress.steps == "local");
}

// A checkpoint records how its steps were taken; other steps would not continue it bit for bit.
TEST_CASE("checkpoint.resume.other_steps_are_refused") {
  TempDir dir("steps");
  nobias::Network<float> net({3, 4, 2}, 1, nobias::Init::He);
  nobias::Optimizer<float> sgd(nobias::OptimizerConfig{}, net);
  const auto x = test_support::random_matrix<float>(10, 3, 2);
  const auto y = test_support::random_matrix<float>(10, 2, 3);
  nobias::FitOptions o = options(1);
  o.checkpoint.dir = dir.path().string();
  nobias::fit<float>(net, sgd, {x, y}, o);
  auto checkpoint = nobias::load_checkpoint<float>(dir.path().string());
  checkpoint.progress.steps = "mpi fast on 3 ranks";
  nobias::FitOptions again = options(3);
  nobias::Optimizer<float> resumed(nobias::OptimizerConfig{}, net);
  nobias::resume(checkpoint, resumed, again);
  try {
    nobias::fit<float>(net, resumed, {x, y}, again);
    FAIL("other steps were not refused");
  } catch (const nobias::ResumeMismatch& e) {
    CHECK(e.setting() == "steps");
    CHECK(e.now() == "local");
    CHECK(e.then() == "mpi fast on 3 ranks");
  }
}

TEST_CASE("checkpoint.longest_name_in_checkpoint_bounds_what_a_save_creates") {
  // The up-front check of a checkpoint directory's name (issue 19 item 13) counts on it.
  TempDir dir("ck-names");
  const std::string d = dir.path().string();
  Network<float> net({3, 4, 2}, 1, nobias::Init::He);
  Optimizer<float> optimizer(config_of(OptimizerKind::Adam), net);
  std::vector<std::string> made;
  {
    nobias::detail::ScopedAtomicWriteHook hook(
        [&](const std::string& temp) { made.push_back(temp); });
    nobias::save_checkpoint<float>(d, net, optimizer, progress_at(1, 42));
    nobias::save_checkpoint<float>(d, net, optimizer, progress_at(1, 42));  // state-000001.1
  }
  REQUIRE(made.size() > 2);
  for (const std::string& temp : made) {
    CAPTURE(temp);
    REQUIRE(temp.compare(0, d.size() + 1, d + "/") == 0);
    CHECK(temp.size() - d.size() - 1 <= nobias::longest_name_in_checkpoint());
  }
  CHECK(std::filesystem::exists(dir.path() / "state-000001.1"));
}
