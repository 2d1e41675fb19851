// fit(): the training driver. Every front door (nobias-train, Python's nobias.fit and its
// estimators, nobias-train-mpi) trains through it, so the training policy exists once: the
// checks, epochs of shuffled mini-batches, validation, early stopping (keeping the best
// epoch's weights), checkpoints (when, what, the finite-weights check, the data fingerprint),
// resuming, and what a finished run reports. How a step is taken is its seam, StepSeam: one
// process (the default), or the ranks of nobias::mpi (distributed_fit).
//
//   nobias::FitOptions options;
//   options.epochs = 20;
//   options.batch_size = 32;
//   options.early_stopping.patience = 5;
//   const nobias::FitResult result = nobias::fit(net, optimizer, {x, y, val_x, val_y}, options);
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "nobias/checkpoint.hpp"
#include "nobias/matrix.hpp"
#include "nobias/network.hpp"
#include "nobias/optimizer.hpp"
#include "nobias/row_source.hpp"

namespace nobias {

struct EpochReport {
  std::size_t epoch = 0;    // from 1
  std::size_t steps = 0;    // updates in this epoch (the last batch may be partial)
  double train_loss = 0.0;  // this epoch's batch losses, summed (Sum) or averaged by rows (Mean)
  double validation_loss = std::numeric_limits<double>::quiet_NaN();  // after the epoch; NaN: none
  double seconds = 0.0;
  double samples_per_second = 0.0;
  // Early stopping's account after this epoch (with a validation set; else 0 and NaN).
  std::size_t best_epoch = 0;  // the epoch with the best validation loss so far
  double best_validation_loss = std::numeric_limits<double>::quiet_NaN();
  std::size_t epochs_without_improvement = 0;
  bool stops = false;  // early stopping ends the run after this epoch
};

struct StepReport {
  std::size_t epoch = 0;  // from 1
  std::size_t step = 0;   // in this epoch, from 1
  std::size_t steps_per_epoch = 0;
  std::size_t rows_done = 0;  // rows of this epoch trained on so far
  double loss = 0.0;          // the loss this step computed, before its update
};

// Called after every epoch, after early stopping's verdict; returning false stops training.
using EpochCallback = std::function<bool(const EpochReport&)>;
// Called after every step (progress displays, loss logs, a look for signals).
using StepCallback = std::function<void(const StepReport&)>;

struct EarlyStopping {
  // Stop after `patience` epochs in a row whose validation loss is not below the best one by
  // more than `tolerance`, and keep the best epoch's weights. 0: never stop early (the best
  // epoch is still reported). Needs a validation set.
  std::size_t patience = 0;
  double tolerance = 1e-4;  // scikit-learn's tol
};

struct CheckpointPolicy {
  std::string dir;          // empty: no checkpoints (checkpoint.hpp says what one holds)
  std::size_t every = 1;    // epochs between saves; the last epoch is always saved
  std::string data_source;  // how the caller made the data, recorded with their fingerprint
};

struct FitOptions {
  std::size_t epochs = 1;       // trains epochs first_epoch..epochs
  std::size_t first_epoch = 1;  // > 1 to resume: the shuffle depends on (seed, epoch) alone
  std::size_t batch_size = 0;   // 0: the whole set in one batch
  bool shuffle = true;          // a new order every epoch, from seed alone
  std::uint64_t seed = 0;
  Reduction reduction = Reduction::Sum;
  EarlyStopping early_stopping;
  CheckpointPolicy checkpoint;
  // What a resumed run must train and validate on, and where its early stopping stood (resume()
  // sets them); not recorded / patience 0: nothing to continue.
  DataFingerprint resumed_data;
  ValidationFingerprint resumed_validation;
  EarlyStoppingState resumed_stopping;
  std::string resumed_steps;  // the seam that took the checkpoint's steps; empty: unknown
  // Hooks run with the caller's signal mask (float32 steps on oneDNN hold signals otherwise).
  EpochCallback on_epoch;
  StepCallback on_step;
  // 0: on_step after every step; otherwise after a step at least this long after the last call
  // (a poll, such as Python's for Ctrl-C, that must not cost a step two system calls).
  std::chrono::microseconds on_step_every{0};
  // false: FitResult::epochs keeps only the last epoch's report, for runs of many tiny epochs
  // (the seed's full-batch steps are one-batch epochs), whose reports would grow without end.
  bool keep_reports = true;
};

// The data of a run. T comes from the network alone, so Matrix arguments convert:
// fit(net, optimizer, {x, y}, options).
template <class T>
struct FitData {
  MatrixView<const T> x, y;                    // the training rows
  MatrixView<const T> val_x = {}, val_y = {};  // a validation set, or both empty
  // Resuming a run with early stopping: its best epoch's weights (Checkpoint::best_weights).
  const std::vector<Matrix<T>>* best_weights = nullptr;
  // Train on these rows of x and y, in this order, or on all of them (nullptr): a validation
  // split held out of x without copying the others (RowSource).
  const std::vector<std::size_t>* rows = nullptr;
  // The training rows' values standardized as each batch (or block of a full pass) is read,
  // with standardize_x's and standardize_y's bits, instead of a standardized copy of x; nullptr:
  // as they are. val_x and val_y are the caller's to standardize.
  const Standardization* standardization = nullptr;
  // The validation set read where it lies, instead of val_x and val_y (then both empty): some
  // rows of an array (a split held out of x, say), standardized as they are read, a block at a
  // time, with the same losses as over a standardized copy of them; nullptr: val_x and val_y.
  // Must outlive fit.
  const RowSource<T>* validation = nullptr;

  RowSource<T> training_rows() const { return RowSource<T>(x, y, rows, standardization); }
  // The validation rows, from whichever of the two ways they were given (none: no rows).
  RowSource<T> validation_rows() const {
    return validation != nullptr ? *validation : RowSource<T>(val_x, val_y);
  }
};

struct FitResult {
  // One per epoch run (the last one only: keep_reports). None when a resumed run's early
  // stopping had already ended it (the checkpoint of its last epoch): as the uninterrupted run,
  // it trains no more, stopped_early is true and the network holds the best epoch's weights.
  std::vector<EpochReport> epochs;
  std::size_t epochs_run = 0;
  std::size_t steps = 0;       // updates taken
  double seconds = 0.0;        // of training, without the checks and the final loss
  std::size_t kept_epoch = 0;  // whose weights the network holds: the best one after early
                               // stopping, otherwise the last one run
  bool stopped_early = false;
  double final_loss = 0.0;  // of the kept weights over the training rows (options.reduction)
};

// A reference to a callable, for the seam's hooks: unlike std::function it never allocates,
// so the driver can hand the seam a lambda at every step. Valid while the callable lives.
class Body {
 public:
  template <class F>
  Body(F& f) : object_(&f), call_([](void* o) { (*static_cast<F*>(o))(); }) {}  // NOLINT
  void operator()() const { call_(object_); }

 private:
  void* object_;
  void (*call_)(void*);
};

// How a step is taken: the seam between the driver and the arithmetic. One process takes its
// steps itself; nobias::mpi's ranks each take their share and sum the gradients. The driver
// calls start() once, then per epoch arrange() and step() for each batch.
template <class T>
class StepSeam {
 public:
  virtual ~StepSeam() = default;
  // After the checks: what the steps update, the training rows (a batch of them is gathered
  // with rows.gather, or viewed in x() and y() when rows.in_place() and unshuffled), and the
  // rows per batch (>= 1). rows lives until fit returns.
  virtual void start(Network<T>& net, Optimizer<T>& optimizer, const RowSource<T>& rows,
                     std::size_t batch) = 0;
  // The coming epoch takes the rows in this order (a permutation of the source's positions), or
  // as they are (nullptr).
  virtual void arrange(const std::vector<std::size_t>* order) = 0;
  // One update on batch `index` of the epoch; its loss. DivergenceError as Optimizer::step.
  virtual double step(std::size_t index, Reduction reduction) = 0;
  // The loss of the network over rows (read as they lie: validation rows), bit for bit as
  // Network::loss over a copy of them.
  virtual double loss(const RowSource<T>& rows, Reduction reduction) = 0;
  // How the steps are taken, recorded in checkpoints: another seam would not continue a run
  // bit for bit ("local", "mpi deterministic", "mpi fast on 3 ranks").
  virtual std::string steps() const = 0;

  // What several processes must agree on; for one process, the plain calls.
  // Runs body; an error it throws anywhere is thrown everywhere alike.
  virtual void agreed(Body body) { body(); }
  // The first process's answer, on every process.
  virtual bool decide(bool answer) { return answer; }
  // Whether this process writes what the run writes (checkpoints).
  virtual bool writes() const { return true; }
  // Calls a step hook; an error may be held until end_epoch() (no collective per step).
  virtual void step_hook(Body hook) { hook(); }
  virtual void end_epoch() {}
};

// Trains net on data with optimizer, one process. Before any step: ShapeError for shapes that
// do not fit (or no rows), ValueError for bad options or a NaN or an infinity anywhere in the
// data (naming the first such element), ResumeMismatch for other data than resumed_data
// (setting "data") or other validation rows than resumed_validation, none where it had some or
// some where it had none ("validation"; its now() says which input differs, as
// validation_difference does).
// DivergenceError names the epoch and the step (facts().epoch, .step); a loss past T's range
// after the last step is divergence too. Without shuffling the batches are views of x and y;
// with it, or with FitData::rows or ::standardization, each batch's rows are gathered into one
// batch-sized buffer (x and y are not copied).
// The steps allocate nothing.
template <class T>
FitResult fit(Network<T>& net, Optimizer<T>& optimizer, const FitData<T>& data,
              const FitOptions& options = {});

// The same driver, the steps taken by seam.
template <class T>
FitResult fit(StepSeam<T>& seam, Network<T>& net, Optimizer<T>& optimizer, const FitData<T>& data,
              const FitOptions& options);

// Makes options continue the run checkpoint comes from, bit for bit: ResumeMismatch for a
// setting that differs (optimizer, learning_rate, momentum, nesterov, weight_decay, seed,
// batch_size, shuffle, reduction, dtype, patience, tolerance), or "epochs" when it has done
// options.epochs already (now: the epochs asked for, then: those done). Then restores the
// optimizer's state and sets first_epoch, resumed_data, resumed_validation (not recorded in a
// checkpoint from before validation fingerprints were: the validation rows are not checked
// then) and resumed_stopping; pass
// &checkpoint.best_weights as FitData::best_weights so that early stopping goes on alike (a
// run it had ended then ends at once, with the best epoch's weights).
// The network must hold the checkpoint's weights (Network<T>(checkpoint.weights)).
template <class T>
void resume(const Checkpoint<T>& checkpoint, Optimizer<T>& optimizer, FitOptions& options);

// Updates in one epoch of rows rows in batches of batch_size (0: the whole set, one batch):
// ceil(rows / batch_size), the last batch possibly partial; 0 for no rows.
std::size_t steps_per_epoch(std::size_t rows, std::size_t batch_size);

// The order of rows for an epoch: a permutation of [0, rows) from (seed, epoch) alone, the
// same on every platform and thread count.
std::vector<std::size_t> shuffled_order(std::size_t rows, std::uint64_t seed, std::size_t epoch);
// The same order written into order (its size is the rows), without allocating.
void shuffle_rows(std::vector<std::size_t>& order, std::uint64_t seed, std::size_t epoch);

}  // namespace nobias
