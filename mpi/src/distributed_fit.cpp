#include "nobias/mpi/distributed_fit.hpp"

#include <optional>
#include <string>
#include <utility>

#include "distributed_step.hpp"
#include "settings_agreement.hpp"
#include "split.hpp"

namespace nobias::mpi {
namespace {

// This rank's rows [begin, begin + count) of a batch of n rows.
std::pair<std::size_t, std::size_t> my_rows(std::size_t n, const Communicator& comm,
                                            const DistributedOptions& options) {
  const auto rank = static_cast<std::size_t>(comm.rank());
  const auto ranks = static_cast<std::size_t>(comm.size());
  if (options.mode == Mode::Fast) {
    const auto [begin, count] = detail::piece_range(n, rank, ranks);
    return {begin, count};
  }
  const std::size_t shards = shards_for(n, options);
  const auto [first, count] = detail::piece_range(shards, rank, ranks);
  if (count == 0) return {0, 0};
  const std::size_t begin = detail::piece_range(n, first, shards).begin;
  const auto [last_begin, last_count] = detail::piece_range(n, first + count - 1, shards);
  return {begin, last_begin + last_count - begin};
}

// A loss over the ranks (validation): fixed shards, one slot each, summed in shard order, so
// that it (and early stopping) does not depend on the rank count. A shard of rows that are not
// views (a split, standardized) is gathered into one buffer: memory for a shard, not a copy.
template <class T>
double sharded_loss(Communicator& comm, Network<T>& net, const RowSource<T>& rows,
                    Reduction reduction, const DistributedOptions& distributed) {
  const std::size_t n = rows.rows();
  const std::size_t shards = shards_for(n, distributed);
  std::vector<double> losses(shards, 0.0);
  agreed(comm, [&] {
    const auto [first, count] = detail::piece_range(shards, static_cast<std::size_t>(comm.rank()),
                                                    static_cast<std::size_t>(comm.size()));
    Matrix<T> shard_x, shard_y;
    for (std::size_t s = first; s < first + count; ++s) {
      const auto [begin, size] = detail::piece_range(n, s, shards);
      if (rows.in_place()) {
        losses[s] = net.loss(rows.x().row_block(begin, size), rows.y().row_block(begin, size),
                             Reduction::Sum);
        continue;
      }
      if (shard_x.rows() < size) {
        shard_x = Matrix<T>(size, rows.x_cols());
        shard_y = Matrix<T>(size, rows.y_cols());
      }
      const MatrixView<T> bx = shard_x.row_block(0, size), by = shard_y.row_block(0, size);
      rows.gather(bx, by, nullptr, begin);
      losses[s] = net.loss(MatrixView<const T>(bx), MatrixView<const T>(by), Reduction::Sum);
    }
  });
  comm.start_sum(losses.data(), losses.size());
  comm.wait_all();
  double loss = 0.0;
  for (double l : losses)
    loss += l;
  return reduction == Reduction::Mean
             ? loss / (static_cast<double>(n) * static_cast<double>(rows.y_cols()))
             : loss;
}

// Rank 0's fingerprint on every rank.
DataFingerprint broadcast_fingerprint(Communicator& comm, const DataFingerprint& mine) {
  std::uint64_t numbers[] = {mine.rows, mine.x_cols, mine.y_cols, mine.x_hash, mine.y_hash};
  comm.broadcast(numbers, sizeof numbers, 0);
  DataFingerprint root;
  root.rows = numbers[0];
  root.x_cols = numbers[1];
  root.y_cols = numbers[2];
  root.x_hash = numbers[3];
  root.y_hash = numbers[4];
  root.dtype = broadcast_string(comm, mine.dtype, 0);
  root.source = broadcast_string(comm, mine.source, 0);
  return root;
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

namespace {

// The ranks' steps: each rank keeps its rows of every batch, in the epoch's order, one after
// the other, and takes its share of each step (DistributedStep sums the gradients).
template <class T>
class DistributedSteps final : public StepSeam<T> {
 public:
  DistributedSteps(Communicator& comm, const DistributedOptions& options)
      : comm_(comm), options_(options) {}

  void start(Network<T>& net, Optimizer<T>& optimizer, const RowSource<T>& rows,
             std::size_t batch) override {
    broadcast_state(comm_, net, optimizer);
    net_ = &net;
    optimizer_ = &optimizer;
    rows_ = &rows;
    batch_ = batch;
    const std::size_t n = rows.rows();
    share_begin_.clear();
    share_rows_.clear();
    std::size_t most = 1;
    for (std::size_t begin = 0; begin < n; begin += batch) {
      const auto [first, count] = my_rows(std::min(batch, n - begin), comm_, options_);
      share_begin_.push_back(begin + first);
      share_rows_.push_back(count);
      most = std::max(most, count);
    }
    share_x_ = Matrix<T>(most, rows.x_cols());
    share_y_ = Matrix<T>(most, rows.y_cols());
    step_.emplace(comm_, net, options_);
  }

  void arrange(const std::vector<std::size_t>* order) override {
    shuffled_ = order != nullptr;
    if (shuffled_) order_.assign(order->begin(), order->end());  // capacity kept: no allocation
  }

  // This rank's share of each batch is gathered when it is stepped on, from the rows where
  // they lie (a mapped file is the page cache's, one copy for all the ranks on a machine):
  // a rank holds one share, not its rows of the whole epoch.
  double step(std::size_t index, Reduction reduction) override {
    const std::size_t count = std::min(batch_, rows_->rows() - index * batch_);
    const std::size_t local = share_rows_[index];
    const MatrixView<T> bx = share_x_.row_block(0, local), by = share_y_.row_block(0, local);
    rows_->gather(bx, by, shuffled_ ? order_.data() : nullptr, share_begin_[index]);
    return options_.mode == Mode::Fast
               ? step_->fast(*net_, *optimizer_, bx, by, count, reduction)
               : step_->deterministic(*net_, *optimizer_, bx, by, count, reduction);
  }

  double loss(const RowSource<T>& rows, Reduction reduction) override {
    return sharded_loss(comm_, *net_, rows, reduction, options_);
  }

  void agreed(Body body) override { mpi::agreed(comm_, body); }

  bool decide(bool answer) override {
    unsigned char go_on = answer ? 1 : 0;
    comm_.broadcast(&go_on, 1, 0);  // rank 0 decides: all ranks go on or stop together
    return go_on != 0;
  }

  bool writes() const override { return comm_.rank() == 0; }

  // Deterministic steps give the same bits on any number of ranks; fast ones depend on it.
  std::string steps() const override {
    return options_.mode == Mode::Deterministic
               ? "mpi deterministic"
               : "mpi fast on " + std::to_string(comm_.size()) + " ranks";
  }

  // Without a collective per step: a failure is held until the end of the epoch.
  void step_hook(Body hook) override {
    if (hook_error_ == ErrorKind::None) hook_error_ = capture(hook, hook_message_);
  }

  void end_epoch() override {
    const ErrorKind kind = hook_error_;
    hook_error_ = ErrorKind::None;
    throw_agreed(comm_, kind, hook_message_);
  }

 private:
  Communicator& comm_;
  DistributedOptions options_;
  Network<T>* net_ = nullptr;
  Optimizer<T>* optimizer_ = nullptr;
  const RowSource<T>* rows_ = nullptr;
  std::size_t batch_ = 0;
  // This rank's share of batch b: share_rows_[b] rows from the epoch's position share_begin_[b].
  std::vector<std::size_t> share_begin_, share_rows_;
  bool shuffled_ = false;
  std::vector<std::size_t> order_;  // this epoch's, when shuffled_
  Matrix<T> share_x_, share_y_;     // the share being stepped on
  std::optional<detail::DistributedStep<T>> step_;
  ErrorKind hook_error_ = ErrorKind::None;
  std::string hook_message_;
};

}  // namespace

template <class T>
FitResult distributed_fit(Communicator& comm, Network<T>& net, Optimizer<T>& optimizer,
                          const FitData<T>& data, const FitOptions& options,
                          const DistributedOptions& distributed) {
  detail::check_same_everywhere(comm, net, optimizer, data, options, distributed);
  // Rank 0's resumed state is everyone's (broadcast_state), so is what it must be trained on:
  // every rank then reaches the same verdict on the same data.
  FitOptions ranks_options = options;
  ranks_options.resumed_data = broadcast_fingerprint(comm, options.resumed_data);
  std::uint64_t validation_recorded = options.resumed_validation.recorded;
  comm.broadcast(&validation_recorded, sizeof validation_recorded, 0);
  ranks_options.resumed_validation.recorded = validation_recorded != 0;
  ranks_options.resumed_validation.data =
      broadcast_fingerprint(comm, options.resumed_validation.data);
  ranks_options.resumed_steps = broadcast_string(comm, options.resumed_steps, 0);
  DistributedSteps<T> seam(comm, distributed);
  return fit(seam, net, optimizer, data, ranks_options);
}

#define NOBIAS_INSTANTIATE(T)                                                      \
  template void broadcast_state<T>(Communicator&, Network<T>&, Optimizer<T>&);     \
  template FitResult distributed_fit<T>(Communicator&, Network<T>&, Optimizer<T>&, \
                                        const FitData<T>&, const FitOptions&,      \
                                        const DistributedOptions&);
NOBIAS_INSTANTIATE(float)
NOBIAS_INSTANTIATE(double)
#undef NOBIAS_INSTANTIATE

}  // namespace nobias::mpi
