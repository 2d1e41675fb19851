#include "nobias/mpi/distributed_fit.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "distributed_step.hpp"
#include "split.hpp"

namespace nobias::mpi {
namespace {

// What every rank must have been given alike; checked against rank 0's.
template <class T>
void check_same_everywhere(Communicator& comm, const Network<T>& net, MatrixView<const T> x,
                           MatrixView<const T> val_x, const FitOptions& options,
                           const DistributedOptions& distributed) {
  const char* names[] = {"rows of x",     "columns of x", "outputs",    "validation rows",
                         "epochs",        "first_epoch",  "batch_size", "seed",
                         "shuffle",       "reduction",    "mode",       "max_shards",
                         "min_shard_rows"};
  std::uint64_t mine[] = {x.rows(),
                          x.cols(),
                          net.output_width(),
                          val_x.rows(),
                          options.epochs,
                          options.first_epoch,
                          options.batch_size,
                          options.seed,
                          options.shuffle,
                          static_cast<std::uint64_t>(options.reduction),
                          static_cast<std::uint64_t>(distributed.mode),
                          distributed.max_shards,
                          distributed.min_shard_rows};
  std::uint64_t root[std::size(mine)];
  std::copy(std::begin(mine), std::end(mine), root);
  comm.broadcast(root, sizeof root, 0);
  agreed(comm, [&] {
    for (std::size_t i = 0; i < std::size(mine); ++i) {
      if (mine[i] != root[i]) {
        throw ValueError("distributed_fit: " + std::string(names[i]) + " is " +
                         std::to_string(mine[i]) + " here but " + std::to_string(root[i]) +
                         " on rank 0; every rank must be given the same data and options");
      }
    }
  });
}

// This rank's rows [begin, begin + count) of a batch of n rows.
std::pair<std::size_t, std::size_t> my_rows(std::size_t n, const Communicator& comm,
                                            const DistributedOptions& options) {
  const auto rank = static_cast<std::size_t>(comm.rank());
  const auto ranks = static_cast<std::size_t>(comm.size());
  if (options.mode == Mode::Fast) return detail::piece(n, rank, ranks);
  const std::size_t shards = shards_for(n, options);
  const auto [first, count] = detail::piece(shards, rank, ranks);
  if (count == 0) return {0, 0};
  const std::size_t begin = detail::piece(n, first, shards).first;
  const auto [last_begin, last_count] = detail::piece(n, first + count - 1, shards);
  return {begin, last_begin + last_count - begin};
}

// The validation loss over the ranks: fixed shards, one slot each, summed in shard order, so
// that it (and early stopping) does not depend on the rank count.
template <class T>
double validation_loss(Communicator& comm, Network<T>& net, MatrixView<const T> x,
                       MatrixView<const T> y, const FitOptions& options,
                       const DistributedOptions& distributed) {
  const std::size_t shards = shards_for(x.rows(), distributed);
  std::vector<double> losses(shards, 0.0);
  agreed(comm, [&] {
    const auto [first, count] = detail::piece(shards, static_cast<std::size_t>(comm.rank()),
                                              static_cast<std::size_t>(comm.size()));
    for (std::size_t s = first; s < first + count; ++s) {
      const auto [begin, rows] = detail::piece(x.rows(), s, shards);
      losses[s] = net.loss(x.row_block(begin, rows), y.row_block(begin, rows), Reduction::Sum);
    }
  });
  comm.start_sum(losses.data(), losses.size());
  comm.wait_all();
  double loss = 0.0;
  for (double l : losses)
    loss += l;
  return options.reduction == Reduction::Mean
             ? loss / (static_cast<double>(x.rows()) * static_cast<double>(y.cols()))
             : loss;
}

}  // namespace

std::size_t shards_for(std::size_t rows, const DistributedOptions& options) {
  const std::size_t min_rows = std::max<std::size_t>(options.min_shard_rows, 1);
  return std::max<std::size_t>(
      1, std::min(std::max<std::size_t>(options.max_shards, 1), rows / min_rows));
}

template <class T>
void broadcast_state(Communicator& comm, Network<T>& net, Optimizer<T>& optimizer) {
  const OptimizerState<T> state = optimizer.state();
  // Shapes first: bytes broadcast into another shape would be garbage, not an error.
  std::vector<std::uint64_t> shape(net.widths().begin(), net.widths().end());
  shape.push_back(static_cast<std::uint64_t>(optimizer.config().kind));
  shape.push_back(state.first.size());
  shape.push_back(state.second.size());
  std::uint64_t length = shape.size();
  comm.broadcast(&length, sizeof length, 0);
  std::vector<std::uint64_t> root(length);
  if (comm.rank() == 0) root = shape;
  comm.broadcast(root.data(), root.size() * sizeof(std::uint64_t), 0);
  agreed(comm, [&] {
    if (root != shape) {
      throw ShapeError("distributed_fit: the network or optimizer differs in shape from rank 0's");
    }
  });
  for (std::size_t k = 0; k < net.layers(); ++k)
    comm.broadcast(net.weight(k).data(), net.weight(k).size() * sizeof(T), 0);
  // The moments travel through copies (the optimizer shows them read-only) and go back in
  // through restore(), which checks them.
  std::vector<Matrix<T>> first, second;
  for (const auto& [from, to] :
       {std::pair{&state.first, &first}, std::pair{&state.second, &second}}) {
    for (const MatrixView<const T>& m : *from) {
      to->emplace_back(m.rows(), m.cols());
      std::copy(m.data(), m.data() + m.size(), to->back().data());
      comm.broadcast(to->back().data(), m.size() * sizeof(T), 0);
    }
  }
  std::uint64_t steps = state.steps;
  comm.broadcast(&steps, sizeof steps, 0);
  agreed(comm, [&] {
    if (comm.rank() != 0) optimizer.restore(optimizer.config().kind, steps, first, second);
  });
}

template <class T>
std::vector<EpochReport> distributed_fit(Communicator& comm, Network<T>& net,
                                         Optimizer<T>& optimizer, DataView<T> x, DataView<T> y,
                                         const FitOptions& options,
                                         const DistributedOptions& distributed,
                                         const EpochCallback& on_epoch, DataView<T> val_x,
                                         DataView<T> val_y, const StepCallback& on_step) {
  check_same_everywhere(comm, net, x, val_x, options, distributed);
  agreed(comm, [&] { check_fit(net, x, y, options, val_x, val_y); });
  broadcast_state(comm, net, optimizer);

  const std::size_t rows = x.rows();
  const std::size_t batch = options.batch_size == 0 ? rows : std::min(options.batch_size, rows);
  const std::size_t steps_per_epoch = (rows + batch - 1) / batch;
  // This rank's rows of every batch, one after the other: local_begin[b] is batch b's first.
  std::vector<std::size_t> local_begin{0}, share_begin;
  for (std::size_t begin = 0; begin < rows; begin += batch) {
    const auto [first, count] = my_rows(std::min(batch, rows - begin), comm, distributed);
    share_begin.push_back(begin + first);
    local_begin.push_back(local_begin.back() + count);
  }
  Matrix<T> local_x(std::max<std::size_t>(local_begin.back(), 1), x.cols());
  Matrix<T> local_y(std::max<std::size_t>(local_begin.back(), 1), y.cols());
  std::vector<std::size_t> order(rows);
  std::iota(order.begin(), order.end(), std::size_t{0});
  detail::DistributedStep<T> step(comm, net, distributed);

  std::vector<EpochReport> reports;
  for (std::size_t epoch = options.first_epoch; epoch <= options.epochs; ++epoch) {
    if (options.shuffle) order = shuffled_order(rows, options.seed, epoch);
    for (std::size_t b = 0; b < steps_per_epoch; ++b) {
      for (std::size_t i = local_begin[b]; i < local_begin[b + 1]; ++i) {
        const std::size_t row = order[share_begin[b] + (i - local_begin[b])];
        std::copy(x.row(row), x.row(row) + x.cols(), local_x.view().row(i));
        std::copy(y.row(row), y.row(row) + y.cols(), local_y.view().row(i));
      }
    }
    EpochReport report;
    report.epoch = epoch;
    ErrorKind step_error = ErrorKind::None;
    std::string step_message;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t b = 0; b < steps_per_epoch; ++b) {
      const std::size_t begin = b * batch, count = std::min(batch, rows - begin);
      const std::size_t local = local_begin[b + 1] - local_begin[b];
      const MatrixView<const T> bx = local_x.view().row_block(local_begin[b], local);
      const MatrixView<const T> by = local_y.view().row_block(local_begin[b], local);
      ++report.steps;
      double loss = 0.0;
      try {
        loss = distributed.mode == Mode::Fast
                   ? step.fast(net, optimizer, bx, by, count, options.reduction)
                   : step.deterministic(net, optimizer, bx, by, count, options.reduction);
      } catch (const DivergenceError& e) {
        throw DivergenceError("fit: epoch " + std::to_string(epoch) + ", step " +
                              std::to_string(report.steps) + ": " + e.what());
      }
      report.train_loss += options.reduction == Reduction::Mean
                               ? loss * static_cast<double>(count) / static_cast<double>(rows)
                               : loss;
      // Without a collective per step: a failure is held until the end of the epoch.
      if (on_step && step_error == ErrorKind::None) {
        try {
          on_step({epoch, report.steps, steps_per_epoch, begin + count, loss});
        } catch (const Error& e) {
          step_error = kind_of(e);
          step_message = e.what();
        }
      }
    }
    throw_agreed(comm, step_error, step_message);
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report.samples_per_second = static_cast<double>(rows) / std::max(report.seconds, 1e-12);
    report.validation_loss = std::numeric_limits<double>::quiet_NaN();
    if (!val_x.empty()) {
      report.validation_loss = validation_loss(comm, net, val_x, val_y, options, distributed);
      if (!std::isfinite(report.validation_loss)) {
        throw DivergenceError("fit: epoch " + std::to_string(epoch) + ": the validation loss is " +
                              std::to_string(report.validation_loss) +
                              "; the last updates blew the weights up");
      }
    }
    reports.push_back(report);
    unsigned char go_on = 1;
    if (on_epoch) agreed(comm, [&] { go_on = on_epoch(report) ? 1 : 0; });
    comm.broadcast(&go_on, 1, 0);  // rank 0 decides: all ranks stop together
    if (!go_on) break;
  }
  return reports;
}

#define NOBIAS_INSTANTIATE(T)                                                                 \
  template void broadcast_state<T>(Communicator&, Network<T>&, Optimizer<T>&);                \
  template std::vector<EpochReport> distributed_fit<T>(                                       \
      Communicator&, Network<T>&, Optimizer<T>&, DataView<T>, DataView<T>, const FitOptions&, \
      const DistributedOptions&, const EpochCallback&, DataView<T>, DataView<T>,              \
      const StepCallback&);
NOBIAS_INSTANTIATE(float)
NOBIAS_INSTANTIATE(double)
#undef NOBIAS_INSTANTIATE

}  // namespace nobias::mpi
