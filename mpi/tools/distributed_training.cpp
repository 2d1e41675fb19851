#include "distributed_training.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>

#include "epoch_monitor.hpp"
#include "inputs.hpp"
#include "nobias/checkpoint.hpp"
#include "nobias/model.hpp"
#include "nobias/names.hpp"
#include "nobias/targets.hpp"
#include "outputs.hpp"
#include "problem.hpp"
#include "progress.hpp"
#include "resume.hpp"
#include "training.hpp"

namespace nobias_tools {
namespace {

// agreed() for the tool's code, whose usage errors are not nobias::Errors: they travel as
// ValueErrors (exit 2 all the same).
template <class Body>
void agreed_tool(nobias::mpi::Communicator& comm, Body&& body) {
  nobias::mpi::agreed(comm, [&] {
    try {
      body();
    } catch (const UsageError& e) {
      throw nobias::ValueError(e.what());
    }
  });
}

template <class T>
int run_typed(nobias::mpi::Communicator& comm, const TrainOptions& o, nobias::mpi::Mode mode) {
  const bool root = comm.rank() == 0;
  Problem<T> p;
  std::optional<nobias::Network<T>> net;
  std::optional<nobias::Optimizer<T>> optimizer;
  agreed_tool(comm, [&] {  // a failure on any rank is every rank's
    p = assemble<T>(o);
    net.emplace(p.weights ? nobias::Network<T>(std::move(*p.weights))
                          : nobias::Network<T>(p.widths.values, o.seed, o.init));
    optimizer.emplace(o.optimizer, *net);
    if (p.checkpoint) nobias::restore_optimizer(*optimizer, *p.checkpoint);
  });
  if (root && o.data_defaults && !o.quiet) {
    std::printf("defaults for real data:%s%s (flags given win)\n",
                o.layers ? "" : (" --layers " + join(p.widths.values)).c_str(),
                o.defaults_line.c_str());
  }
  Data<T>& data = *p.data;

  // --steps: full-batch steps, one per "epoch" of an unshuffled full batch.
  const bool steps_mode = o.epochs == 0;
  nobias::FitOptions options;
  options.epochs = steps_mode ? o.steps : o.epochs;
  options.batch_size = steps_mode ? 0 : o.batch_size;
  options.shuffle = steps_mode ? false : o.shuffle;
  options.seed = o.seed;
  options.reduction = o.reduction;
  options.first_epoch = p.first_epoch;
  nobias::mpi::DistributedOptions distributed;
  distributed.mode = mode;

  // Rank 0 alone reports, checkpoints and decides on early stopping (its answer is everyone's).
  EpochMonitor<T> monitor(*net, data, p.user_validation, p.stats, o, p.first_epoch);
  std::vector<double> losses;
  std::size_t steps = 0;
  std::string last_step;
  const auto on_step = [&](const nobias::StepReport& step) {
    ++steps;
    last_step = steps_mode ? "(" + std::to_string(step.epoch) + ")"
                           : "(epoch " + std::to_string(step.epoch) + ", step " +
                                 std::to_string(step.step) + ")";
    if (root && !o.loss_csv.empty()) losses.push_back(step.loss);
    if (root && steps_mode && !o.quiet && (step.epoch == 1 || step.epoch % o.log_every == 0)) {
      std::printf("step %zu/%zu loss %.3e\n", step.epoch, o.steps, step.loss);
    }
  };
  const auto on_epoch = [&](const nobias::EpochReport& epoch) {
    if (steps_mode || !root) return true;
    if (!o.checkpoint_dir.empty() &&
        (epoch.epoch % o.checkpoint_every == 0 || epoch.epoch == o.epochs)) {
      nobias::save_checkpoint<T>(o.checkpoint_dir, *net, *optimizer,
                                 {epoch.epoch, o.seed, o.batch_size, o.shuffle, o.reduction},
                                 training_data_fingerprint<T>(o, data.x.view(), data.y.view()));
    }
    return monitor.epoch_done(epoch);
  };
  if (root && !steps_mode) monitor.start();
  const auto start = std::chrono::steady_clock::now();
  try {
    nobias::mpi::distributed_fit<T>(
        comm, *net, *optimizer, data.x, data.y, options, distributed, on_epoch,
        p.validation ? p.validation->x.view() : nobias::MatrixView<const T>(),
        p.validation ? p.validation->y.view() : nobias::MatrixView<const T>(), on_step);
  } catch (const nobias::DivergenceError& e) {
    throw nobias::DivergenceError(std::string("training diverged: ") + e.what() + " (--lr was " +
                                  format_g(o.lr) + ")");
  }
  const double seconds = seconds_since(start);
  if (root && !steps_mode) monitor.finish();  // the best epoch's weights, on rank 0
  // The weights are the same on every rank: so are this loss and its verdict (rank 0's may be
  // the best epoch's after early stopping; only it is written).
  const double final_loss = net->loss(data.x, data.y, o.reduction);
  if (!(std::abs(final_loss) <= static_cast<double>(std::numeric_limits<T>::max()))) {
    throw divergence<T>(*net, data.x, data.y, "after the last step " + last_step, o);
  }
  agreed_tool(comm, [&] {
    if (!root) return;
    // As nobias-train does: every output staged, then all committed together, last.
    nobias::StagedOutputs outputs;
    if (!o.weights_out.empty()) {
      outputs.add(
          nobias::stage_model<T>(o.weights_out, *net, model_info(o, data.classes, p.stats)));
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
  });
  if (root) {
    std::printf("final loss %.6g after %zu steps, %.1f steps/s on %d ranks\n", final_loss, steps,
                static_cast<double>(steps) / std::max(seconds, 1e-9), comm.size());
  }
  return kExitOk;
}

}  // namespace

int run_distributed(nobias::mpi::Communicator& comm, const TrainOptions& o,
                    nobias::mpi::Mode mode) {
  return o.dtype == Dtype::F64 ? run_typed<double>(comm, o, mode) : run_typed<float>(comm, o, mode);
}

}  // namespace nobias_tools
