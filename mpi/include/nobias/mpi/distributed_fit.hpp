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

#include "nobias/fit.hpp"
#include "nobias/mpi/communicator.hpp"

namespace nobias::mpi {

enum class Mode { Fast, Deterministic };

struct DistributedOptions {
  Mode mode = Mode::Deterministic;
  // Deterministic mode: a batch of n rows is cut into min(max_shards, max(1, n /
  // min_shard_rows)) micro-shards; ranks beyond that count idle for the batch.
  std::size_t max_shards = 16;
  std::size_t min_shard_rows = 32;
};

// nobias::fit over the ranks of comm: the same driver (checks, early stopping, checkpoints,
// the final loss), with each step taken by the ranks together. Called by every rank with the
// same arguments (the same full data: each rank reads only its share of each batch; every
// rank's data and options are checked against rank 0's, ValueError naming what differs). The
// network and optimizer state of rank 0 are broadcast first, so starting weights and a
// resumed state need only be loaded there. Reports and callbacks are the same on every rank
// (losses summed over the ranks; seconds are each rank's own); on_epoch's answer on rank 0
// decides for all; rank 0 alone writes checkpoints. An error on any rank (divergence, bad
// data, a callback that throws) is thrown on every rank, as the same exception and message
// ("rank R: ..."); CommunicationError when a rank cannot be reached.
template <class T>
FitResult distributed_fit(Communicator& comm, Network<T>& net, Optimizer<T>& optimizer,
                          const FitData<T>& data, const FitOptions& options,
                          const DistributedOptions& distributed = {});

// Collective: rank 0's weights, optimizer moments and step count on every rank.
template <class T>
void broadcast_state(Communicator& comm, Network<T>& net, Optimizer<T>& optimizer);

// How many micro-shards a batch of n rows is cut into in deterministic mode.
std::size_t shards_for(std::size_t rows, const DistributedOptions& options);

}  // namespace nobias::mpi
