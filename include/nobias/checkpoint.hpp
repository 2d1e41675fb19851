// Checkpoints: everything needed to resume training exactly where it stopped. One directory
// holds numbered states and a CURRENT file naming the newest complete one:
//
//   DIR/CURRENT            "state-000003"
//   DIR/state-000003/      w1.npy..wK.npy (numpy reads them as they are), the optimizer's
//                          moments first1.npy.., second1.npy.., and state.txt (counters,
//                          configuration, the shuffle's seed)
//
// A new state is written beside the old ones and becomes current only when CURRENT is
// replaced atomically, so a crash at any point leaves the previous checkpoint loadable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nobias/matrix.hpp"
#include "nobias/network.hpp"
#include "nobias/optimizer.hpp"

namespace nobias {

// Where fit() stands, and how it runs: it resumes with epoch epochs_done + 1, and only the
// same seed, batch size, shuffling and reduction continue it bit for bit.
struct TrainingProgress {
  std::size_t epochs_done = 0;
  std::uint64_t seed = 0;
  std::size_t batch_size = 0;
  bool shuffle = true;
  Reduction reduction = Reduction::Sum;
};

template <class T>
struct Checkpoint {
  std::vector<Matrix<T>> weights;
  OptimizerConfig optimizer;
  std::uint64_t optimizer_steps = 0;
  std::vector<Matrix<T>> first, second;  // the optimizer's moments, as Optimizer keeps them
  TrainingProgress progress;
  std::string dtype;  // "f32" or "f64": what the run it comes from trained in
};

// Writes a new state into dir (created if missing) and makes it current; IoError on failure,
// with the previous checkpoint intact.
template <class T>
void save_checkpoint(const std::string& dir, const Network<T>& net, Optimizer<T>& optimizer,
                     const TrainingProgress& progress);

// Reads the current state of dir (weights of either dtype, converted to T). IoError names
// what is missing or malformed.
template <class T>
Checkpoint<T> load_checkpoint(const std::string& dir);

// Puts a checkpoint's optimizer state into optimizer, which must have the same kind and
// shapes (ShapeError / ValueError otherwise).
template <class T>
void restore_optimizer(Optimizer<T>& optimizer, Checkpoint<T>& checkpoint);

}  // namespace nobias
