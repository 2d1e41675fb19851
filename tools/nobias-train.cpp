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
#include "inputs.hpp"
#include "nobias/blas.hpp"
#include "nobias/checkpoint.hpp"
#include "nobias/network.hpp"
#include "nobias/optimizer.hpp"
#include "nobias/weights_io.hpp"
#include "outputs.hpp"
#include "resume.hpp"
#include "train_options.hpp"
#include "training.hpp"

namespace nobias_tools {
namespace {

// Optimizer steps per epoch: batches of batch_size rows, the last one partial.
std::size_t steps_per_epoch(std::size_t rows, std::size_t batch_size) {
  const std::size_t batch = std::min(batch_size, rows);
  return rows / batch + (rows % batch != 0 ? 1 : 0);
}

template <class T>
int run_typed(const TrainOptions& o) {
  std::optional<Data<T>> data = read_data<T>(o);
  std::optional<Data<T>> validation = read_validation<T>(o);
  std::optional<std::vector<nobias::Matrix<T>>> weights = read_weights<T>(o);
  std::optional<nobias::Checkpoint<T>> checkpoint;
  std::size_t first_epoch = 1;
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
  const std::size_t planned_steps =
      o.epochs == 0 ? o.steps : steps_per_epoch(data->x.rows(), o.batch_size);
  if (o.epochs > 0 && o.epochs > kMaxSteps / planned_steps) {
    throw UsageError("--epochs " + std::to_string(o.epochs) + " of " +
                     std::to_string(planned_steps) + " steps each exceeds " +
                     std::to_string(kMaxSteps) + " steps");
  }
  nobias::Network<T> net = weights ? nobias::Network<T>(std::move(*weights))
                                   : nobias::Network<T>(widths.values, o.seed, o.init);
  nobias::Optimizer<T> optimizer(o.optimizer, net);
  if (checkpoint) nobias::restore_optimizer(optimizer, *checkpoint);

  std::vector<double> losses;
  if (!o.loss_csv.empty()) losses.reserve(o.epochs == 0 ? o.steps : o.epochs * planned_steps);
  std::vector<double>* log = o.loss_csv.empty() ? nullptr : &losses;
  const RunSummary summary =
      o.epochs == 0 ? train_steps(net, optimizer, *data, o, log)
                    : train_epochs(net, optimizer, *data, validation, o, first_epoch, log);

  // The last update can itself blow up the weights, which only a fresh loss shows.
  const double final_loss = net.loss(data->x, data->y, o.reduction);
  // Beyond T's range counts as diverged, as it does inside a step.
  if (!(std::abs(final_loss) <= static_cast<double>(std::numeric_limits<T>::max()))) {
    throw divergence<T>(net, data->x, data->y, "after the last step " + summary.last_step, o);
  }
  if (!o.weights_out.empty()) nobias::save_weights<T>(o.weights_out, net.weights());
  if (!o.loss_csv.empty()) {
    write_loss_csv(o.loss_csv, losses, checkpoint ? checkpoint->optimizer_steps + 1 : 1);
  }
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
  return run_tool("nobias-train", [&] {
    std::optional<TrainOptions> options = parse_train_command_line(argc, argv);
    return options ? run(*options) : kExitOk;
  });
}
