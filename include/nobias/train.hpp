// fit(): epochs of shuffled mini-batches, an optional validation set, a callback per epoch
// that can stop training, and divergence reported with its epoch and step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <type_traits>
#include <vector>

#include "nobias/matrix.hpp"
#include "nobias/network.hpp"
#include "nobias/optimizer.hpp"

namespace nobias {

struct FitOptions {
  std::size_t epochs = 1;       // trains epochs first_epoch..epochs
  std::size_t first_epoch = 1;  // > 1 to resume: the shuffle depends on (seed, epoch) alone
  std::size_t batch_size = 0;   // 0: the whole set in one batch
  bool shuffle = true;          // a new order every epoch, from seed alone
  std::uint64_t seed = 0;
  Reduction reduction = Reduction::Sum;
};

struct EpochReport {
  std::size_t epoch = 0;    // from 1
  std::size_t steps = 0;    // updates in this epoch (the last batch may be partial)
  double train_loss = 0.0;  // this epoch's batch losses, summed (Sum) or averaged by rows (Mean)
  double validation_loss = 0.0;  // of the weights after the epoch; NaN without a validation set
  double seconds = 0.0;
  double samples_per_second = 0.0;
};

struct StepReport {
  std::size_t epoch = 0;  // from 1
  std::size_t step = 0;   // in this epoch, from 1
  std::size_t steps_per_epoch = 0;
  std::size_t rows_done = 0;  // rows of this epoch trained on so far
  double loss = 0.0;          // the loss this step computed, before its update
};

// Called after every epoch; returning false stops training after that epoch.
using EpochCallback = std::function<bool(const EpochReport&)>;
// Called after every step (progress displays, loss logs).
using StepCallback = std::function<void(const StepReport&)>;

// Trains net on (x, y) with optimizer. The data are copied once (to shuffle them whole each
// epoch); batches are views of that copy, and the network's workspace is sized for the
// largest batch, so the steps allocate nothing. val_x/val_y may be empty views.
// Returns one report per epoch run. DivergenceError names the epoch and the step. Before any
// step: ShapeError for shapes that do not fit (or no rows), ValueError for bad options or a
// NaN or an infinity anywhere in the data (naming the first such element).
// T comes from net alone (the views are not deduced), so Matrix arguments convert.
template <class T>
using DataView = typename std::common_type<MatrixView<const T>>::type;

template <class T>
std::vector<EpochReport> fit(Network<T>& net, Optimizer<T>& optimizer, DataView<T> x, DataView<T> y,
                             const FitOptions& options, const EpochCallback& on_epoch = {},
                             DataView<T> val_x = {}, DataView<T> val_y = {},
                             const StepCallback& on_step = {});

// Updates in one epoch of rows rows in batches of batch_size (0: the whole set, one batch):
// ceil(rows / batch_size), the last batch possibly partial; 0 for no rows.
std::size_t steps_per_epoch(std::size_t rows, std::size_t batch_size);

// The checks fit() makes before any step, as fit() makes them (the errors listed above); for
// other training loops over the same inputs (the distributed fit of nobias::mpi).
template <class T>
void check_fit(const Network<T>& net, DataView<T> x, DataView<T> y, const FitOptions& options,
               DataView<T> val_x = {}, DataView<T> val_y = {});

// The order of rows for an epoch: a permutation of [0, rows) from (seed, epoch) alone, the
// same on every platform and thread count.
std::vector<std::size_t> shuffled_order(std::size_t rows, std::uint64_t seed, std::size_t epoch);

}  // namespace nobias
