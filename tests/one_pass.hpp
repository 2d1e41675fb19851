// The bits a full-data pass must keep: the network's forward pass over every row at once, as
// Network ran it before passes went in blocks (lib/core/row_chunks.hpp): each of its row pieces
// (gemm/parallel.hpp) one product per layer, on the calling thread, every hidden layer of every
// row held. Written here, not called through Network, so that a blocked Network::predict or
// Network::loss is checked against something other than itself.
#pragma once

#include <cstddef>

#include "gemm/parallel.hpp"
#include "nobias/blas.hpp"
#include "nobias/kernels.hpp"
#include "nobias/matrix.hpp"
#include "nobias/network.hpp"

namespace test_support {

template <class T>
nobias::Matrix<T> one_pass_predict(const nobias::Network<T>& net, nobias::MatrixView<const T> x) {
  const std::size_t n = x.rows(), layers = net.layers();
  nobias::Matrix<T> out(n, net.output_width());
  const std::size_t pieces = nobias::detail::row_pieces<T>(n, net.widths());
  for (std::size_t p = 0; p < pieces; ++p) {
    const nobias::detail::Range rows = nobias::detail::piece_range(n, p, pieces);
    nobias::MatrixView<const T> a = x.row_block(rows.begin, rows.count);
    nobias::Matrix<T> hidden;
    for (std::size_t k = 0; k < layers; ++k) {
      const bool last = k + 1 == layers;
      nobias::Matrix<T> h(rows.count, net.widths()[k + 1]);
      const nobias::MatrixView<T> target =
          last ? out.view().row_block(rows.begin, rows.count) : h.view();
      nobias::gemm(nobias::Op::N, a, nobias::Op::N, net.weight(k), T(1), T(0), target);
      if (last) break;
      nobias::relu_forward(h.view());
      hidden = std::move(h);
      a = hidden.view();
    }
  }
  return out;
}

// Network::loss's sum over that pass: squared_error of every prediction at once.
template <class T>
double one_pass_loss(const nobias::Network<T>& net, nobias::MatrixView<const T> x,
                     nobias::MatrixView<const T> y) {
  const nobias::Matrix<T> yhat = one_pass_predict<T>(net, x);
  return nobias::squared_error(yhat.view(), y);
}

}  // namespace test_support
