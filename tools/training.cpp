#include "training.hpp"

#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli_common.hpp"
#include "epoch_monitor.hpp"
#include "nobias/checkpoint.hpp"
#include "nobias/model.hpp"
#include "nobias/names.hpp"
#include "outputs.hpp"
#include "problem.hpp"
#include "progress.hpp"
#include "resume.hpp"

namespace nobias_tools {
namespace {

// The library's facts, in the command line's words: where in the run, the library's reason,
// and the flag to change.
nobias::DivergenceError diverged(const nobias::DivergenceError& e, const TrainOptions& o) {
  const nobias::DivergenceError::Facts& f = e.facts();
  const bool steps_mode = o.epochs == 0;
  const std::string step =
      steps_mode ? std::to_string(f.epoch)
                 : "epoch " + std::to_string(f.epoch) + ", step " + std::to_string(f.step);
  std::string text = "training diverged";
  if (f.where == nobias::DivergenceError::kAfterTraining) {
    text += " after the last step (" + step + "): " + f.detail;
  } else if (f.where.empty()) {  // a message from another rank, as it came
    text += ": " + f.detail;
  } else {
    if (f.epoch != 0) {
      text += " at " + (steps_mode ? "step " + step
                                   : "epoch " + std::to_string(f.epoch) +
                                         (f.step != 0 ? ", step " + std::to_string(f.step) : ""));
    }
    text += ": " + (f.where == "fit" ? std::string() : f.where + ": ") + f.detail;
    if (f.weights_unchanged) text += "; weights left unchanged";
  }
  return nobias::DivergenceError(text + "; try a smaller --lr (was " + nobias::format_number(o.lr) +
                                 ")");
}

// What the command line asks of the driver. --steps is epochs of one unshuffled full batch.
nobias::FitOptions fit_options(const TrainOptions& o, bool validation, bool stats_from_model) {
  nobias::FitOptions options;
  const bool steps_mode = o.epochs == 0;
  options.epochs = steps_mode ? o.steps : o.epochs;
  options.batch_size = steps_mode ? 0 : o.batch_size;
  options.shuffle = steps_mode ? false : o.shuffle;
  options.keep_reports = !steps_mode;  // a report per step would grow without end
  options.seed = o.seed;
  options.reduction = o.reduction;
  if (validation) options.early_stopping = {o.patience, kEarlyStopTolerance};
  options.checkpoint.dir = o.checkpoint_dir;
  options.checkpoint.every = o.checkpoint_every;
  // Generated data are also told apart by how they were made, and any data by how they were
  // prepared: a resume with another split or standardization is named as such.
  if (o.x_path.empty()) {
    options.checkpoint.data_source =
        "generated: --rows " + std::to_string(o.rows) + " --seed " + std::to_string(o.seed);
  } else if ((o.validation_fraction > 0.0 && validation) || o.standardize) {
    options.checkpoint.data_source =
        "prepared:" +
        (o.validation_fraction > 0.0 && validation
             ? " --validation-fraction " + nobias::format_number(o.validation_fraction)
             : std::string()) +
        (o.standardize ? " --standardize" : "") +
        (stats_from_model ? " with the statistics of --weights-in " + o.weights_in : "");
  }
  return options;
}

// The end of an epoch run's last line: how many epochs ran, why it ended and whose weights
// the network keeps: " in 30 of at most 200 epochs (stopped early: val_loss did not improve
// for 10 epochs; kept epoch 20, the lowest val_loss)".
std::string epochs_summary(const nobias::FitResult& result, const TrainOptions& o,
                           bool validation) {
  std::string text = " in ";
  if (result.stopped_early) {
    text += std::to_string(result.epochs_run) + " of at most " +
            nobias::counted(o.epochs, "epoch") + " (stopped early: val_loss did not improve for " +
            nobias::counted(o.patience, "epoch") + "; ";
  } else {
    text += nobias::counted(result.epochs_run, "epoch") + " (all asked for; ";
  }
  // With --patience 0 the validation rows only report; the last epoch's weights stay.
  if (!validation || o.patience == 0) return text + "kept the last)";
  return text + "kept epoch " + std::to_string(result.kept_epoch) + ", the lowest val_loss)";
}

}  // namespace

template <class T>
int run_training(const TrainOptions& o, const Trainer<T>& train, const RunPlace& place) {
  const bool reports = place.reports, steps_mode = o.epochs == 0;
  Problem<T> p;
  std::optional<nobias::Network<T>> net;
  std::optional<nobias::Optimizer<T>> optimizer;
  nobias::FitOptions options;
  place.agreed([&] {
    p = assemble<T>(o);
    net.emplace(p.weights ? nobias::Network<T>(std::move(*p.weights))
                          : nobias::Network<T>(p.widths.values, o.seed, o.init));
    optimizer.emplace(o.optimizer, *net);
    options = fit_options(o, validates(p), p.stats_from_model);
    if (p.checkpoint) resume_or_explain(*p.checkpoint, *optimizer, options, o);
  });
  if (reports && !p.note.empty()) {
    flush_standard_output();
    std::fprintf(stderr, "%s: note: %s\n", place.program, p.note.c_str());
  }
  if (reports && o.data_defaults && !o.quiet) {
    // --task auto: what the targets were taken for.
    const std::string task = o.task != Task::Auto  ? ""
                             : p.data->classes > 0 ? " --task classify"
                                                   : " --task regress";
    const std::string small = p.validation_note.empty() ? "" : "; " + p.validation_note;
    std::printf("defaults for real data:%s%s%s (flags given win)%s\n", task.c_str(),
                o.layers ? "" : (" --layers " + join(p.widths.values)).c_str(),
                o.defaults_line.c_str(), small.c_str());
  }
  Data<T>& data = *p.data;
  const nobias::RowSource<T> train_rows = training_rows(p);
  const nobias::RowSource<T> val_rows = validation_source(p);  // rows() 0: none
  const std::size_t planned_steps =
      steps_mode ? o.steps : nobias::steps_per_epoch(train_rows.rows(), o.batch_size);
  place.agreed([&] {
    if (!steps_mode && o.epochs > kMaxSteps / planned_steps) {
      throw UsageError("--epochs " + std::to_string(o.epochs) + " of " +
                       std::to_string(planned_steps) + " steps each exceeds " +
                       std::to_string(kMaxSteps) + " steps");
    }
  });

  // Reporting: rank 0 alone prints and logs.
  std::vector<double> losses;
  const bool log_losses = reports && !o.loss_csv.empty();
  if (log_losses) losses.reserve(steps_mode ? o.steps : o.epochs * planned_steps);
  EpochMonitor<T> monitor(*net, train_rows, data.classes, val_rows, validation_targets(p), p.stats,
                          o, options.first_epoch, place.program);
  ProgressBar bar(reports && !steps_mode && !o.quiet && ::isatty(STDOUT_FILENO) == 1);
  const std::size_t rows = train_rows.rows();
  options.on_step = [&](const nobias::StepReport& step) {
    if (log_losses) losses.push_back(step.loss);
    if (!reports || o.quiet) return;
    if (steps_mode) {
      // Step 1 too: the first loss is what the rest is measured against.
      if (step.epoch == 1 || step.epoch % o.log_every == 0) {
        std::printf("step %zu/%zu loss %.3e\n", step.epoch, o.steps, step.loss);
      }
      return;
    }
    if (step.step == 1) bar.start_epoch(step.epoch, o.epochs, rows);
    bar.update(step.rows_done, step.loss);
  };
  options.on_epoch = [&](const nobias::EpochReport& epoch) {
    bar.clear();
    if (reports && !steps_mode) monitor.epoch_done(epoch);
    return true;  // early stopping is the driver's
  };
  if (reports && !steps_mode) monitor.start();
  nobias::FitResult result;
  try {
    // The validation rows read where they lie, standardized as they are read (no copy).
    const nobias::FitData<T> fit_data{data.x,
                                      data.y,
                                      {},
                                      {},
                                      p.checkpoint ? &p.checkpoint->best_weights : nullptr,
                                      p.train_rows.empty() ? nullptr : &p.train_rows,
                                      p.stats.empty() ? nullptr : &p.stats,
                                      val_rows.rows() > 0 ? &val_rows : nullptr};
    result = train(*net, *optimizer, fit_data, options);
  } catch (const nobias::DivergenceError& e) {
    bar.clear();
    throw diverged(e, o);
  } catch (const nobias::ResumeMismatch& e) {
    throw resume_error(e, o);
  } catch (...) {
    bar.clear();  // a checkpoint that failed to save, say: the message on a line of its own
    throw;
  }
  if (reports && !steps_mode) monitor.finish();
  if (reports && !o.quiet && result.epochs_run == 0 && result.stopped_early) {
    // The checkpoint's run had met early stopping's condition: it ends as it ended then.
    std::printf("nothing to train: early stopping ended the run of --resume %s at epoch %zu\n",
                o.resume_dir.c_str(), options.first_epoch - 1);
  }

  // Every output is written to temporaries first and all are committed together, last: a run
  // that fails before this point (or while staging) has changed no output.
  place.agreed([&] {
    if (!reports) return;
    nobias::StagedOutputs outputs;
    if (!o.weights_out.empty()) {
      outputs.add(nobias::stage_model<T>(o.weights_out, *net,
                                         model_info(o, data.classes, p.stats, data.class_names)));
    }
    if (!o.history_csv.empty()) {
      stage_history_csv(outputs, o.history_csv, monitor.history(), train_rows.rows(),
                        val_rows.rows(), o.reduction == nobias::Reduction::Sum,
                        monitor.classifier());
    }
    if (!o.loss_csv.empty()) {
      stage_loss_csv(outputs, o.loss_csv, losses,
                     p.checkpoint ? p.checkpoint->optimizer_steps + 1 : 1);
    }
    outputs.commit();
  });
  if (reports) {
    const double rate = static_cast<double>(result.steps) / std::max(result.seconds, 1e-9);
    const std::string epochs = steps_mode ? "" : epochs_summary(result, o, validates(p));
    std::printf("final loss %.6g after %s%s, %.1f steps/s%s\n", result.final_loss,
                nobias::counted(result.steps, "step").c_str(), epochs.c_str(), rate,
                place.on.c_str());
  }
  return kExitOk;
}

template int run_training<float>(const TrainOptions&, const Trainer<float>&, const RunPlace&);
template int run_training<double>(const TrainOptions&, const Trainer<double>&, const RunPlace&);

}  // namespace nobias_tools
