#include "distributed_training.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>

#include "inputs.hpp"
#include "nobias/checkpoint.hpp"
#include "nobias/weights_io.hpp"
#include "outputs.hpp"
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
  std::optional<Data<T>> data, validation;
  std::optional<std::vector<nobias::Matrix<T>>> weights;
  std::optional<nobias::Checkpoint<T>> checkpoint;
  std::size_t first_epoch = 1;
  std::optional<nobias::Network<T>> net;
  std::optional<nobias::Optimizer<T>> optimizer;
  // Every rank reads and checks the inputs as nobias-train does.
  agreed_tool(comm, [&] {
    data = read_data<T>(o);
    validation = read_validation<T>(o);
    weights = read_weights<T>(o);
    if (!o.resume_dir.empty()) {
      checkpoint = nobias::load_checkpoint<T>(o.resume_dir);
      check_resume_matches(o, *checkpoint);
      first_epoch = checkpoint->progress.epochs_done + 1;
      if (first_epoch > o.epochs) {
        throw UsageError("the checkpoint in " + o.resume_dir + " has done " +
                         std::to_string(checkpoint->progress.epochs_done) +
                         " epochs already; ask for more with --epochs");
      }
      weights = std::move(checkpoint->weights);
    }
    const Widths widths = choose_widths(o, data, weights);
    check_widths(widths);
    if (data) check_data("--x " + o.x_path, "--y " + o.y_path, widths, *data);
    if (validation) {
      check_data("--val-x " + o.val_x_path, "--val-y " + o.val_y_path, widths, *validation);
    }
    if (weights) check_weights(o, widths, *weights);
    if (!data) data = generate_data<T>(o.rows, widths.values, o.seed);
    net.emplace(weights ? nobias::Network<T>(std::move(*weights))
                        : nobias::Network<T>(widths.values, o.seed, o.init));
    optimizer.emplace(o.optimizer, *net);
    if (checkpoint) nobias::restore_optimizer(*optimizer, *checkpoint);
  });

  // --steps: full-batch steps, one per "epoch" of an unshuffled full batch.
  const bool steps_mode = o.epochs == 0;
  nobias::FitOptions options;
  options.epochs = steps_mode ? o.steps : o.epochs;
  options.batch_size = steps_mode ? 0 : o.batch_size;
  options.shuffle = steps_mode ? false : o.shuffle;
  options.seed = o.seed;
  options.reduction = o.reduction;
  options.first_epoch = first_epoch;
  nobias::mpi::DistributedOptions distributed;
  distributed.mode = mode;

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
                                 {epoch.epoch, o.seed, o.batch_size, o.shuffle, o.reduction});
    }
    if (o.quiet) return true;
    std::string line = "epoch " + std::to_string(epoch.epoch) + "/" + std::to_string(o.epochs) +
                       " train_loss " + format_g(epoch.train_loss);
    if (validation) line += " val_loss " + format_g(epoch.validation_loss);
    std::printf("%s samples/s %.0f\n", line.c_str(), epoch.samples_per_second);
    std::fflush(stdout);
    return true;
  };
  const auto start = std::chrono::steady_clock::now();
  try {
    nobias::mpi::distributed_fit<T>(
        comm, *net, *optimizer, data->x, data->y, options, distributed, on_epoch,
        validation ? validation->x.view() : nobias::MatrixView<const T>(),
        validation ? validation->y.view() : nobias::MatrixView<const T>(), on_step);
  } catch (const nobias::DivergenceError& e) {
    throw nobias::DivergenceError(std::string("training diverged: ") + e.what() + " (--lr was " +
                                  format_g(o.lr) + ")");
  }
  const double seconds = seconds_since(start);
  // The weights are the same on every rank: so are this loss and its verdict.
  const double final_loss = net->loss(data->x, data->y, o.reduction);
  if (!(std::abs(final_loss) <= static_cast<double>(std::numeric_limits<T>::max()))) {
    throw divergence<T>(*net, data->x, data->y, "after the last step " + last_step, o);
  }
  agreed_tool(comm, [&] {
    if (!root) return;
    if (!o.weights_out.empty()) nobias::save_weights<T>(o.weights_out, net->weights());
    if (!o.loss_csv.empty()) {
      write_loss_csv(o.loss_csv, losses, checkpoint ? checkpoint->optimizer_steps + 1 : 1);
    }
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
