// nobias-train: trains a bias-free MLP from the command line, either on the seed's experiment
// (standard normal x and y drawn from --seed) or on .npy data; by full-batch steps (--steps,
// the seed's mode) or by epochs of shuffled mini-batches (--epochs).
//
// Exit status: 0 success, 2 bad usage or bad input (nothing half-written is left behind),
// 3 training diverged (a non-finite loss), 1 an unexpected internal error.
//
// This file is the run's order of business; the flags are in train_flags.cpp and
// train_options.cpp, the inputs in inputs.cpp, the modes in training.cpp.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "cli_common.hpp"
#include "epoch_monitor.hpp"
#include "inputs.hpp"
#include "nobias/blas.hpp"
#include "nobias/checkpoint.hpp"
#include "nobias/model.hpp"
#include "nobias/names.hpp"
#include "nobias/network.hpp"
#include "nobias/optimizer.hpp"
#include "nobias/output_plan.hpp"
#include "nobias/targets.hpp"
#include "nobias/train.hpp"
#include "outputs.hpp"
#include "problem.hpp"
#include "resume.hpp"
#include "train_options.hpp"
#include "training.hpp"

namespace nobias_tools {
namespace {

template <class T>
int run_typed(const TrainOptions& o) {
  Problem<T> p = assemble<T>(o);
  if (o.data_defaults && !o.quiet) {
    std::printf("defaults for real data:%s%s (flags given win)\n",
                o.layers ? "" : (" --layers " + join(p.widths.values)).c_str(),
                o.defaults_line.c_str());
  }
  Data<T>& data = *p.data;
  const std::size_t planned_steps =
      o.epochs == 0 ? o.steps : nobias::steps_per_epoch(data.x.rows(), o.batch_size);
  if (o.epochs > 0 && o.epochs > kMaxSteps / planned_steps) {
    throw UsageError("--epochs " + std::to_string(o.epochs) + " of " +
                     std::to_string(planned_steps) + " steps each exceeds " +
                     std::to_string(kMaxSteps) + " steps");
  }
  nobias::Network<T> net = p.weights ? nobias::Network<T>(std::move(*p.weights))
                                     : nobias::Network<T>(p.widths.values, o.seed, o.init);
  nobias::Optimizer<T> optimizer(o.optimizer, net);
  if (p.checkpoint) nobias::restore_optimizer(optimizer, *p.checkpoint);

  std::vector<double> losses;
  if (!o.loss_csv.empty()) losses.reserve(o.epochs == 0 ? o.steps : o.epochs * planned_steps);
  std::vector<double>* log = o.loss_csv.empty() ? nullptr : &losses;
  EpochMonitor<T> monitor(net, data, p.user_validation, p.stats, o, p.first_epoch);
  const RunSummary summary = o.epochs == 0 ? train_steps(net, optimizer, data, o, log)
                                           : train_epochs(net, optimizer, data, p.validation, o,
                                                          p.first_epoch, log, monitor);
  if (o.epochs > 0) monitor.finish();

  // The last update can itself blow up the weights, which only a fresh loss shows.
  const double final_loss = net.loss(data.x, data.y, o.reduction);
  // Beyond T's range counts as diverged, as it does inside a step.
  if (!(std::abs(final_loss) <= static_cast<double>(std::numeric_limits<T>::max()))) {
    throw divergence<T>(net, data.x, data.y, "after the last step " + summary.last_step, o);
  }
  // Every output is written to temporaries first and all are committed together, last: a run
  // that fails before this point (or while staging) has changed no output.
  nobias::StagedOutputs outputs;
  if (!o.weights_out.empty()) {
    outputs.add(nobias::stage_model<T>(o.weights_out, net, model_info(o, data.classes, p.stats)));
  }
  if (!o.history_csv.empty()) {
    stage_history_csv(outputs, o.history_csv, monitor.history(), data.x.rows(),
                      p.validation ? p.validation->x.rows() : 0,
                      o.reduction == nobias::Reduction::Sum, monitor.classifier());
  }
  if (!o.loss_csv.empty()) {
    stage_loss_csv(outputs, o.loss_csv, losses,
                   p.checkpoint ? p.checkpoint->optimizer_steps + 1 : 1);
  }
  outputs.commit();
  const double rate = static_cast<double>(summary.steps) / std::max(summary.seconds, 1e-9);
  std::printf("final loss %.6g after %zu steps, %.1f steps/s\n", final_loss, summary.steps, rate);
  return kExitOk;
}

int run(const TrainOptions& o) {
  if (o.threads) nobias::set_threads(*o.threads);
  return o.dtype == Dtype::F64 ? run_typed<double>(o) : run_typed<float>(o);
}

}  // namespace
}  // namespace nobias_tools

int main(int argc, char** argv) {
  using namespace nobias_tools;
  return tool_main("nobias-train", argv, [&] {
    std::optional<TrainOptions> options = parse_train_command_line(argc, argv);
    return options ? run(*options) : kExitOk;
  });
}
