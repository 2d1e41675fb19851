#include "distributed_step.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "nobias/names.hpp"
#include "split.hpp"

namespace nobias::mpi::detail {

template <class T>
DistributedStep<T>::DistributedStep(Communicator& comm, const Network<T>& net,
                                    const DistributedOptions& options)
    : comm_(comm), options_(options), outputs_(net.output_width()) {
  offsets_.push_back(0);
  for (std::size_t k = 0; k < net.layers(); ++k) {
    rows_.push_back(net.weight(k).rows());
    cols_.push_back(net.weight(k).cols());
    offsets_.push_back(offsets_.back() + rows_.back() * cols_.back());
  }
  for (std::size_t k = 0; k < rows_.size(); ++k) {
    views_.emplace_back(nullptr, rows_[k], cols_[k]);
    const_views_.emplace_back(views_.back());
  }
  if (options_.mode == Mode::Fast) gradients_.assign(offsets_.back(), T(0));
}

template <class T>
void DistributedStep<T>::point_views_at(T* data) {
  for (std::size_t k = 0; k < rows_.size(); ++k) {
    views_[k] = MatrixView<T>(data + offsets_[k], rows_[k], cols_[k]);
    const_views_[k] = views_[k];
  }
}

template <class T>
double DistributedStep<T>::checked_loss(double loss_sum, std::size_t batch_rows,
                                        Reduction reduction) const {
  // Each rank's loss was usable; their sum may still be past T's range.
  if (!(loss_sum <= static_cast<double>(std::numeric_limits<T>::max()))) {
    DivergenceError::Facts facts;
    facts.where = "distributed step";
    facts.detail = "the loss summed over the ranks is " + format_number(loss_sum);
    facts.loss = loss_sum;
    throw DivergenceError(std::move(facts));
  }
  return loss_sum * scale(batch_rows, reduction);
}

template <class T>
double DistributedStep<T>::scale(std::size_t batch_rows, Reduction reduction) const {
  return reduction == Reduction::Mean
             ? 1.0 / (static_cast<double>(batch_rows) * static_cast<double>(outputs_))
             : 1.0;
}

template <class T>
void DistributedStep<T>::apply(Network<T>& net, Optimizer<T>& optimizer, T* gradients,
                               double scale) {
  // Mean: the gradient of the whole batch's sum, times 1 / (rows x d_out).
  if (scale != 1.0) {
    const T s = static_cast<T>(scale);
    for (std::size_t i = 0; i < offsets_.back(); ++i)
      gradients[i] *= s;
  }
  point_views_at(gradients);
  optimizer.apply(net, const_views_);
}

template <class T>
double DistributedStep<T>::fast(Network<T>& net, Optimizer<T>& optimizer, MatrixView<const T> x,
                                MatrixView<const T> y, std::size_t batch_rows,
                                Reduction reduction) {
  const std::size_t layers = rows_.size();
  point_views_at(gradients_.data());
  ErrorKind kind = ErrorKind::None;
  std::string message;
  double status[2] = {0.0, 0.0};  // this rank's loss; 1 if its step failed
  std::size_t started = 0;        // layers whose sum has started, from the last one down
  const auto start_layer = [&](std::size_t k) {
    comm_.start_sum(gradients_.data() + offsets_[k], offsets_[k + 1] - offsets_[k]);
    ++started;
    comm_.progress();
  };
  try {
    if (x.rows() > 0) status[0] = net.gradients(x, y, views_, Reduction::Sum, start_layer);
  } catch (const Error& e) {
    kind = kind_of(e);
    message = message_of(e);
  }
  // Every rank starts the same sums: a rank without rows (or whose step failed) adds zeros.
  for (std::size_t k = layers - started; k-- > 0;) {
    std::fill(gradients_.begin() + static_cast<std::ptrdiff_t>(offsets_[k]),
              gradients_.begin() + static_cast<std::ptrdiff_t>(offsets_[k + 1]), T(0));
    start_layer(k);
  }
  status[1] = kind == ErrorKind::None ? 0.0 : 1.0;
  comm_.start_sum(status, 2);
  comm_.wait_all();
  if (status[1] != 0.0) throw_agreed(comm_, kind, message);  // on every rank alike
  const double loss = checked_loss(status[0], batch_rows, reduction);
  apply(net, optimizer, gradients_.data(), scale(batch_rows, reduction));
  return loss;
}

template <class T>
double DistributedStep<T>::deterministic(Network<T>& net, Optimizer<T>& optimizer,
                                         MatrixView<const T> x, MatrixView<const T> y,
                                         std::size_t batch_rows, Reduction reduction) {
  const std::size_t shards = shards_for(batch_rows, options_);
  const std::size_t count = offsets_.back();  // elements of one gradient (all layers)
  const int ranks = comm_.size();
  // Every rank's blocks, in leaf order: which of the gathered bytes belong to which node.
  all_blocks_.clear();
  gather_bytes_.assign(static_cast<std::size_t>(ranks), 0);
  std::size_t mine_begin = 0, mine_end = 0, filled = 0;
  for (int r = 0; r < ranks; ++r) {
    if (r == comm_.rank()) mine_begin = all_blocks_.size();
    for (const Node& node : blocks_of(shards, r, ranks)) {
      all_blocks_.push_back(node);
      if (node.lo < shards) {
        gather_bytes_[static_cast<std::size_t>(r)] += count * sizeof(T);
        ++filled;
      }
    }
    if (r == comm_.rank()) mine_end = all_blocks_.size();
  }
  send_.resize(
      std::max<std::size_t>(gather_bytes_[static_cast<std::size_t>(comm_.rank())] / sizeof(T), 1));
  receive_.resize(filled * count);
  std::size_t levels = 0;
  for (std::size_t leaves = tree_leaves(shards); leaves > 1; leaves /= 2)
    ++levels;
  while (scratch_.size() < levels)
    scratch_.emplace_back(count);
  scratch_pointers_.clear();
  for (std::vector<T>& buffer : scratch_)
    scratch_pointers_.push_back(buffer.data());
  shard_losses_.assign(shards + 1, 0.0);  // one slot per shard, one for failures

  const std::size_t first_shard =
      piece_range(shards, static_cast<std::size_t>(comm_.rank()), static_cast<std::size_t>(ranks))
          .begin;
  const std::size_t first_row = piece_range(batch_rows, first_shard, shards).begin;
  auto leaf = [&](std::size_t shard, T* out) {
    const auto [begin, rows] = piece_range(batch_rows, shard, shards);
    point_views_at(out);
    shard_losses_[shard] =
        net.gradients(x.row_block(begin - first_row, rows), y.row_block(begin - first_row, rows),
                      views_, Reduction::Sum, {});
  };
  ErrorKind kind = ErrorKind::None;
  std::string message;
  try {
    T* out = send_.data();
    for (std::size_t b = mine_begin; b < mine_end; ++b) {
      if (compute_node(all_blocks_[b], shards, out, scratch_pointers_, 0, count, leaf))
        out += count;
    }
  } catch (const Error& e) {
    kind = kind_of(e);
    message = message_of(e);
    shard_losses_.back() = 1.0;
  }
  // A slot written by one rank only sums exactly: the losses do not depend on the rank count.
  comm_.start_sum(shard_losses_.data(), shard_losses_.size());
  comm_.gather_all(send_.data(), receive_.data(), gather_bytes_);
  comm_.wait_all();
  if (shard_losses_.back() != 0.0) throw_agreed(comm_, kind, message);
  double loss_sum = 0.0;
  for (std::size_t s = 0; s < shards; ++s)
    loss_sum += shard_losses_[s];
  const double loss = checked_loss(loss_sum, batch_rows, reduction);

  block_values_.clear();
  T* next = receive_.data();
  for (const Node& node : all_blocks_) {
    block_values_.push_back(node.lo < shards ? next : nullptr);
    if (node.lo < shards) next += count;
  }
  T* root = merge_blocks(all_blocks_, block_values_, count);
  apply(net, optimizer, root, scale(batch_rows, reduction));
  return loss;
}

template class DistributedStep<float>;
template class DistributedStep<double>;

}  // namespace nobias::mpi::detail
