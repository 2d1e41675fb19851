// The training driver: one loop for every front door; how a step is taken is the seam's.
#include "nobias/fit.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "gemm/sgemm_backend.hpp"
#include "gemm/signal_safety.hpp"
#include "nobias/error.hpp"
#include "nobias/full_pass.hpp"
#include "nobias/kernels.hpp"
#include "nobias/names.hpp"
#include "train/fit_checks.hpp"
#include "train/local_steps.hpp"

namespace nobias {
namespace {

// The epoch's last update may have blown the weights up: such a state must not replace a
// good checkpoint.
template <class T>
void require_finite_weights(const Network<T>& net, std::size_t epoch) {
  for (const Matrix<T>& w : net.weights()) {
    if (!std::all_of(w.data(), w.data() + w.size(), [](T v) { return std::isfinite(v); })) {
      DivergenceError::Facts facts;
      facts.where = "fit";
      facts.detail = "the weights are no longer finite; no checkpoint written";
      facts.epoch = epoch;
      facts.weights_unchanged = false;
      throw DivergenceError(std::move(facts));
    }
  }
}

template <class T>
void copy_weights(std::vector<Matrix<T>>& to, const std::vector<Matrix<T>>& from) {
  for (std::size_t k = 0; k < from.size(); ++k)
    std::copy(from[k].data(), from[k].data() + from[k].size(), to[k].data());
}

template <class T>
void restore_weights(Network<T>& net, const std::vector<Matrix<T>>& from) {
  for (std::size_t k = 0; k < from.size(); ++k)
    std::copy(from[k].data(), from[k].data() + from[k].size(), net.weight(k).data());
}

// A loss that is not finite, or past T's range (as a step counts it), after the epoch.
DivergenceError blown_up(const char* what, double loss, std::size_t epoch) {
  DivergenceError::Facts facts;
  facts.where = "fit";
  facts.detail =
      std::string(what) + " is " + format_number(loss) + "; the last updates blew the weights up";
  facts.loss = loss;
  facts.epoch = epoch;
  facts.weights_unchanged = false;
  return DivergenceError(std::move(facts));
}

template <class T>
bool within_range(double loss) {
  return std::abs(loss) <= static_cast<double>(std::numeric_limits<T>::max());
}

}  // namespace

template <class T>
FitResult fit(StepSeam<T>& seam, Network<T>& net, Optimizer<T>& optimizer, const FitData<T>& data,
              const FitOptions& options) {
  auto check = [&] { detail::check_fit(net, data, options); };
  seam.agreed(check);
  const bool checkpoints = !options.checkpoint.dir.empty();
  // Hashed once: every checkpoint records what it was trained and validated on, for a resume
  // to check. Not agreed: every process has been given the same data, so each reaches the same
  // verdict, and ResumeMismatch keeps its fields.
  const RowSource<T> source = data.training_rows();
  // Read where they lie (a block at a time), as the training rows are: no copy of them.
  const RowSource<T> validation_source = data.validation_rows();
  const bool validation = validation_source.rows() > 0;
  DataFingerprint fingerprint;
  if (checkpoints || options.resumed_data.recorded()) {
    fingerprint = fingerprint_data<T>(source, options.checkpoint.data_source);
  }
  ValidationFingerprint validation_fingerprint;
  if (checkpoints || options.resumed_validation.recorded) {
    validation_fingerprint = fingerprint_validation<T>(validation_source);
  }
  if (!options.resumed_steps.empty() && options.resumed_steps != seam.steps()) {
    throw ResumeMismatch("steps", seam.steps(), options.resumed_steps);
  }
  if (options.resumed_data.recorded()) {
    const std::string difference = data_difference(options.resumed_data, fingerprint);
    if (!difference.empty()) throw ResumeMismatch("data", difference, "the first run's data");
  }
  // Early stopping's best loss (and the weights kept for it) were measured on these rows.
  const std::string validation_differs =
      validation_difference(options.resumed_validation, validation_fingerprint);
  if (!validation_differs.empty()) {
    throw ResumeMismatch("validation", validation_differs, "the first run's validation data");
  }

  const std::size_t rows = source.rows();
  const std::size_t batch = options.batch_size == 0 ? rows : std::min(options.batch_size, rows);
  const std::size_t epoch_steps = steps_per_epoch(rows, batch);
  const EarlyStopping& stopping = options.early_stopping;
  seam.start(net, optimizer, source, batch);

  FitResult result;
  // Reports of up to 2^16 epochs without reallocating; a longer run grows the list rarely.
  if (options.keep_reports) {
    result.epochs.reserve(std::min<std::size_t>(options.epochs - options.first_epoch + 1, 65536));
  }
  // The best epoch's weights, copied into buffers allocated once.
  std::vector<Matrix<T>> best_weights;
  if (stopping.patience > 0) best_weights = net.weights();
  EpochReport best;  // best_epoch 0: none yet
  std::size_t without_improvement = 0;
  const EarlyStoppingState& resumed = options.resumed_stopping;
  if (stopping.patience > 0 && resumed.best_epoch > 0) {  // where the resumed run stood
    const auto* from = data.best_weights;
    bool fits = from != nullptr && from->size() == best_weights.size();
    for (std::size_t k = 0; fits && k < best_weights.size(); ++k)
      fits = (*from)[k].rows() == best_weights[k].rows() &&
             (*from)[k].cols() == best_weights[k].cols();
    if (!fits) {
      throw ValueError("fit: resuming early stopping at best epoch " +
                       std::to_string(resumed.best_epoch) +
                       " needs that epoch's weights (FitData::best_weights) in the network's "
                       "shapes");
    }
    copy_weights(best_weights, *from);
    best.best_epoch = resumed.best_epoch;
    best.best_validation_loss = resumed.best_validation_loss;
    without_improvement = resumed.epochs_without_improvement;
  }
  // A checkpoint saved at the epoch whose verdict ended the run (its last, or one asked for at
  // that epoch) continues with no more epochs: the uninterrupted run trained none either.
  const bool stopped_already =
      stopping.patience > 0 && best.best_epoch > 0 && without_improvement >= stopping.patience;
  std::vector<std::size_t> order(options.shuffle ? rows : 0);
  if (!options.shuffle) seam.arrange(nullptr);

  // Float32 steps on oneDNN run with asynchronous signals held, let in between steps at least
  // every millisecond and before every epoch's hook and checkpoint (see gemm/signal_safety.hpp).
  detail::SignalHold signals(std::is_same_v<T, float> &&
                             detail::sgemm_backend() == detail::SgemmBackend::OneDnn);
  const auto start = std::chrono::steady_clock::now();
  auto last_step_hook = start - options.on_step_every;
  for (std::size_t epoch = options.first_epoch; !stopped_already && epoch <= options.epochs;
       ++epoch) {
    if (options.shuffle) {
      shuffle_rows(order, options.seed, epoch);
      seam.arrange(&order);
    }
    EpochReport report;
    report.epoch = epoch;
    const auto epoch_start = std::chrono::steady_clock::now();
    for (std::size_t b = 0; b < epoch_steps; ++b) {
      const std::size_t count = std::min(batch, rows - b * batch);
      ++report.steps;
      double loss = 0.0;
      signals.hold();
      try {
        loss = seam.step(b, options.reduction);
      } catch (const DivergenceError& e) {
        throw e.at(epoch, report.steps);
      }
      // Mean: weight each batch by its rows, so a partial batch counts for what it holds.
      report.train_loss += options.reduction == Reduction::Mean
                               ? loss * static_cast<double>(count) / static_cast<double>(rows)
                               : loss;
      const auto now = std::chrono::steady_clock::now();
      if (options.on_step && now - last_step_hook >= options.on_step_every) {
        last_step_hook = now;
        signals.let_in();  // user code: it may start processes or threads, which inherit the mask
        const StepReport step{epoch, report.steps, epoch_steps, b * batch + count, loss};
        auto hook = [&] { options.on_step(step); };
        seam.step_hook(hook);
      } else {
        signals.let_in_if_due();
      }
    }
    seam.end_epoch();
    result.steps += report.steps;
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    report.samples_per_second = static_cast<double>(rows) / std::max(report.seconds, 1e-12);

    if (validation) {
      signals.hold();
      report.validation_loss = seam.loss(validation_source, options.reduction);
      if (!std::isfinite(report.validation_loss)) {
        throw blown_up("the validation loss", report.validation_loss, epoch);
      }
      // Early stopping: the same losses on every process, so the same verdict.
      if (best.best_epoch == 0 ||
          report.validation_loss < best.best_validation_loss - stopping.tolerance) {
        best.best_epoch = epoch;
        best.best_validation_loss = report.validation_loss;
        without_improvement = 0;
        if (stopping.patience > 0) copy_weights(best_weights, net.weights());
      } else {
        ++without_improvement;
      }
      report.best_epoch = best.best_epoch;
      report.best_validation_loss = best.best_validation_loss;
      report.epochs_without_improvement = without_improvement;
      report.stops = stopping.patience > 0 && without_improvement >= stopping.patience;
    }
    signals.let_in();  // the hooks and the checkpoint run with the caller's signals
    if (checkpoints && (epoch % options.checkpoint.every == 0 || epoch == options.epochs)) {
      auto save = [&] {
        if (!seam.writes()) return;
        require_finite_weights(net, epoch);
        EarlyStoppingState account;  // none without early stopping
        if (stopping.patience > 0) {
          account = {stopping.patience, stopping.tolerance, best.best_epoch,
                     best.best_validation_loss, without_improvement};
        }
        const TrainingProgress progress{epoch,           options.seed,      options.batch_size,
                                        options.shuffle, options.reduction, account,
                                        seam.steps()};
        save_checkpoint<T>(options.checkpoint.dir, net, optimizer, progress, fingerprint,
                           best_weights, validation_fingerprint);
      };
      seam.agreed(save);
    }
    if (options.keep_reports || result.epochs.empty()) {
      result.epochs.push_back(report);
    } else {
      result.epochs.back() = report;
    }
    ++result.epochs_run;
    // Every process asks, with a hook or without: agreeing on the answer is collective.
    bool answer = true;
    auto ask = [&] { answer = !options.on_epoch || options.on_epoch(report); };
    seam.agreed(ask);
    if (!seam.decide(answer) || report.stops) break;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // Where the run stands: the last epoch trained, or the resumed one when none was.
  const EpochReport last = result.epochs.empty() ? EpochReport{} : result.epochs.back();
  const std::size_t last_epoch = result.epochs.empty() ? options.first_epoch - 1 : last.epoch;
  result.stopped_early = result.epochs.empty() ? stopped_already : last.stops;
  result.kept_epoch = last_epoch;
  if (stopping.patience > 0 && best.best_epoch != last_epoch) {
    restore_weights(net, best_weights);
    result.kept_epoch = best.best_epoch;
  }
  // The last update can itself blow up the weights, which only a fresh loss shows; beyond
  // T's range counts as diverged, as it does inside a step.
  // Every process holds all the rows and the same weights: the loss of one process, bit for bit.
  // In blocks of rows, the same bits without a workspace for every row (core/row_chunks.hpp).
  signals.hold();
  result.final_loss = full_loss<T>(net, source, options.reduction);
  signals.let_in();
  if (!within_range<T>(result.final_loss)) {
    DivergenceError::Facts facts;
    facts.where = DivergenceError::kAfterTraining;
    facts.detail = "the loss is " + format_number(result.final_loss);
    facts.loss = result.final_loss;
    facts.epoch = last_epoch;
    facts.step = last.steps;
    facts.weights_unchanged = false;
    throw DivergenceError(std::move(facts));
  }
  return result;
}

template <class T>
FitResult fit(Network<T>& net, Optimizer<T>& optimizer, const FitData<T>& data,
              const FitOptions& options) {
  detail::LocalSteps<T> seam;
  return fit(seam, net, optimizer, data, options);
}

template <class T>
void resume(const Checkpoint<T>& checkpoint, Optimizer<T>& optimizer, FitOptions& options) {
  const OptimizerConfig& given = optimizer.config();
  const OptimizerConfig& saved = checkpoint.optimizer;
  const TrainingProgress& run = checkpoint.progress;
  const auto differ = [](const char* setting, const std::string& now, const std::string& then) {
    throw ResumeMismatch(setting, now, then);
  };
  if (given.kind != saved.kind) differ("optimizer", to_name(given.kind), to_name(saved.kind));
  if (given.learning_rate != saved.learning_rate) {
    differ("learning_rate", format_number(given.learning_rate), format_number(saved.learning_rate));
  }
  if (given.weight_decay != saved.weight_decay) {
    differ("weight_decay", format_number(given.weight_decay), format_number(saved.weight_decay));
  }
  if (saved.kind == OptimizerKind::Momentum) {
    if (given.momentum != saved.momentum) {
      differ("momentum", format_number(given.momentum), format_number(saved.momentum));
    }
    if (given.nesterov != saved.nesterov) {
      differ("nesterov", given.nesterov ? "on" : "off", saved.nesterov ? "on" : "off");
    }
  }
  if (options.seed != run.seed)
    differ("seed", std::to_string(options.seed), std::to_string(run.seed));
  if (to_name(dtype_of<T>()) != checkpoint.dtype) {
    differ("dtype", to_name(dtype_of<T>()), checkpoint.dtype);
  }
  if (options.batch_size != run.batch_size) {
    differ("batch_size", std::to_string(options.batch_size), std::to_string(run.batch_size));
  }
  if (options.shuffle != run.shuffle) {
    differ("shuffle", options.shuffle ? "on" : "off", run.shuffle ? "on" : "off");
  }
  if (options.reduction != run.reduction) {
    differ("reduction", to_name(options.reduction), to_name(run.reduction));
  }
  const EarlyStoppingState& stopped = run.stopping;
  if (options.early_stopping.patience != stopped.patience) {
    differ("patience", std::to_string(options.early_stopping.patience),
           std::to_string(stopped.patience));
  }
  if (stopped.patience > 0 && options.early_stopping.tolerance != stopped.tolerance) {
    differ("tolerance", format_number(options.early_stopping.tolerance),
           format_number(stopped.tolerance));
  }
  if (run.epochs_done >= options.epochs) {
    differ("epochs", std::to_string(options.epochs), std::to_string(run.epochs_done));
  }
  restore_optimizer(optimizer, checkpoint);
  options.first_epoch = run.epochs_done + 1;
  options.resumed_data = checkpoint.data;
  options.resumed_validation = checkpoint.validation;
  options.resumed_stopping = stopped;
  options.resumed_steps = run.steps;
}

#define NOBIAS_FIT(T)                                                                          \
  template FitResult fit<T>(StepSeam<T>&, Network<T>&, Optimizer<T>&, const FitData<T>&,       \
                            const FitOptions&);                                                \
  template FitResult fit<T>(Network<T>&, Optimizer<T>&, const FitData<T>&, const FitOptions&); \
  template void resume<T>(const Checkpoint<T>&, Optimizer<T>&, FitOptions&);
NOBIAS_FIT(float)
NOBIAS_FIT(double)
#undef NOBIAS_FIT

}  // namespace nobias
