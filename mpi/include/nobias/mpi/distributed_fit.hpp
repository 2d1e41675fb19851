// Data-parallel training: every rank holds the whole network and optimizer, trains on its share
// of every mini-batch, and the gradients are summed over the ranks before each update, which
// every rank then applies alike: the weights stay identical on every rank.
//
//   fast           each rank computes the gradient of its rows; the per-layer sums start as
//                  soon as backpropagation has produced each layer (last first), while the
//                  rest computes. The result depends on the rank count in the last bits.
//   deterministic  every batch is cut into micro-shards that depend on the batch alone; each
//                  shard's gradient is the same call on whichever rank holds it, and shards are
//                  added along a fixed binary tree (whole subtrees on one rank, the rest after
//                  an all-gather). The weights are bit-identical for any rank count, and equal
//                  to one process in this mode.
#pragma once

#include <cstddef>

#include "nobias/mpi/communicator.hpp"
#include "nobias/train.hpp"

namespace nobias::mpi {

enum class Mode { Fast, Deterministic };

struct DistributedOptions {
  Mode mode = Mode::Deterministic;
  // Deterministic mode: a batch of n rows is cut into min(max_shards, max(1, n /
  // min_shard_rows)) micro-shards; ranks beyond that count idle for the batch.
  std::size_t max_shards = 16;
  std::size_t min_shard_rows = 32;
};

// fit() over the ranks of comm, called by every rank with the same arguments (the same full x
// and y: each rank reads only its share of each batch). The network and optimizer state of
// rank 0 are broadcast first, so --weights-in and --resume need only be loaded there (other
// ranks' values are overwritten). Reports and callbacks are the same on every rank (losses
// summed over the ranks; seconds are each rank's own); on_epoch's answer on rank 0 decides for
// all. An error on any rank (divergence, bad data, a callback that throws) is thrown on every
// rank, as the same exception and message ("rank R: ..."); CommunicationError when a rank
// cannot be reached.
template <class T>
std::vector<EpochReport> distributed_fit(Communicator& comm, Network<T>& net,
                                         Optimizer<T>& optimizer, DataView<T> x, DataView<T> y,
                                         const FitOptions& options,
                                         const DistributedOptions& distributed = {},
                                         const EpochCallback& on_epoch = {}, DataView<T> val_x = {},
                                         DataView<T> val_y = {}, const StepCallback& on_step = {});

// Collective: rank 0's weights, optimizer moments and step count on every rank.
template <class T>
void broadcast_state(Communicator& comm, Network<T>& net, Optimizer<T>& optimizer);

// How many micro-shards a batch of n rows is cut into in deterministic mode.
std::size_t shards_for(std::size_t rows, const DistributedOptions& options);

}  // namespace nobias::mpi
