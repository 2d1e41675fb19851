// One distributed update: every rank's share of a batch -> gradients summed over the ranks ->
// the same update on every rank. Owns the buffers, sized once, so that steps reuse them.
#pragma once

#include <string>
#include <vector>

#include "nobias/mpi/distributed_fit.hpp"
#include "shard_tree.hpp"

namespace nobias::mpi::detail {

template <class T>
class DistributedStep {
 public:
  DistributedStep(Communicator& comm, const Network<T>& net, const DistributedOptions& options);

  // Fast mode: x, y are this rank's rows of a batch of batch_rows rows over all ranks (maybe
  // none). Returns the batch's loss (Sum, or Mean over batch_rows x d_out).
  double fast(Network<T>& net, Optimizer<T>& optimizer, MatrixView<const T> x,
              MatrixView<const T> y, std::size_t batch_rows, Reduction reduction);

  // Deterministic mode: x, y are this rank's shards of the batch (shards_for(batch_rows) in
  // all, this rank's as blocks_of() says), contiguous.
  double deterministic(Network<T>& net, Optimizer<T>& optimizer, MatrixView<const T> x,
                       MatrixView<const T> y, std::size_t batch_rows, Reduction reduction);

 private:
  void point_views_at(T* data);  // views_ onto a gradient-sized buffer, without allocating
  // The batch's loss from the sum over the ranks; DivergenceError if it is past T's range.
  double checked_loss(double loss_sum, std::size_t batch_rows, Reduction reduction) const;
  double scale(std::size_t batch_rows, Reduction reduction) const;  // 1 / (rows x d_out) for Mean
  void apply(Network<T>& net, Optimizer<T>& optimizer, T* gradients, double scale);

  Communicator& comm_;
  DistributedOptions options_;
  std::vector<std::size_t> offsets_;  // layer k's gradient at offsets_[k] of a buffer; back(): W
  std::vector<std::size_t> rows_, cols_;
  std::size_t outputs_ = 0;
  std::vector<T> gradients_;          // fast mode: all layers, one buffer, one sum per layer
  std::vector<MatrixView<T>> views_;  // of some gradient buffer
  std::vector<MatrixView<const T>> const_views_;
  std::vector<T> send_, receive_;  // deterministic mode: this rank's blocks; everybody's
  std::vector<std::vector<T>> scratch_;
  std::vector<T*> scratch_pointers_, block_values_;
  std::vector<double> shard_losses_;
  std::vector<std::size_t> gather_bytes_;
  std::vector<Node> all_blocks_;
};

extern template class DistributedStep<float>;
extern template class DistributedStep<double>;

}  // namespace nobias::mpi::detail
