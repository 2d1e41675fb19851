// The step's buffers and threads: the workspace sized for a batch, its views, the team, and
// the scratch blocks of phase 2's pieces (include/nobias/network.hpp's Workspace).
#include <algorithm>
#include <memory>
#include <utility>

#include "gemm/parallel.hpp"
#include "nobias/network.hpp"

namespace nobias {

// Sized for the largest batch seen; a smaller batch uses the leading rows. Built aside and
// swapped in, so a failed allocation leaves the old workspace whole.
template <class T>
void Network<T>::prepare(std::size_t n) {
  prepare_team();
  if (n <= workspace_.rows) return;
  Workspace fresh;
  const std::size_t layers = weights_.size();
  for (std::size_t k = 0; k < layers; ++k) {
    fresh.activations.emplace_back(n, widths_[k + 1]);
    if (k + 1 < layers) fresh.gradients.emplace_back(n, widths_[k + 1]);
  }
  fresh.pieces.assign(detail::kMaxPieces, PieceResult{});
  fresh.rows = n;
  workspace_ = std::move(fresh);
}

template <class T>
void Network<T>::prepare_team() {
  const int threads = detail::step_threads();
  if (!team_ || team_->threads() != threads) {
    team_.reset();  // its helpers go before new ones start
    team_ = std::make_unique<detail::Team>(threads);
  }
}

template <class T>
MatrixView<T> Network<T>::activation(std::size_t k, std::size_t n) {
  return MatrixView<T>(workspace_.activations[k].data(), n, widths_[k + 1]);
}

template <class T>
MatrixView<T> Network<T>::gradient(std::size_t k, std::size_t n) {
  // The output layer's gradient is written over yhat, in the last activation buffer.
  Matrix<T>& buffer =
      k + 1 == weights_.size() ? workspace_.activations[k] : workspace_.gradients[k];
  return MatrixView<T>(buffer.data(), n, widths_[k + 1]);
}

// A block per thread that can take a piece (Team::run's slots: fewer than the pieces and the
// threads), of piece 0's rows (piece_range gives the first pieces the extra rows). Grown, never
// shrunk, as the workspace; built aside and swapped in, as prepare().
template <class T>
void Network<T>::prepare_piece_gradients(std::size_t pieces) {
  std::size_t most = 0;
  for (std::size_t k = 0; k < weights_.size(); ++k)
    most = std::max(most, detail::piece_range(widths_[k], 0, pieces).count * widths_[k + 1]);
  const std::size_t slots = std::min(static_cast<std::size_t>(team_->threads()), pieces);
  std::vector<Matrix<T>>& blocks = workspace_.piece_gradients;
  const std::size_t had = blocks.empty() ? 0 : blocks.front().size();
  if (blocks.size() >= slots && had >= most) return;
  std::vector<Matrix<T>> fresh;
  for (std::size_t t = 0; t < std::max(slots, blocks.size()); ++t)
    fresh.emplace_back(1, std::max(most, had));
  blocks = std::move(fresh);
}

#define NOBIAS_NETWORK_WORKSPACE(T)                                        \
  template void Network<T>::prepare(std::size_t);                          \
  template void Network<T>::prepare_team();                                \
  template MatrixView<T> Network<T>::activation(std::size_t, std::size_t); \
  template MatrixView<T> Network<T>::gradient(std::size_t, std::size_t);   \
  template void Network<T>::prepare_piece_gradients(std::size_t);
NOBIAS_NETWORK_WORKSPACE(float)
NOBIAS_NETWORK_WORKSPACE(double)

}  // namespace nobias
