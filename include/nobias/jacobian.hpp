// The exact local linear map of a bias-free network. With no additive constant anywhere, a ReLU
// network is positively homogeneous, f(alpha x) = alpha f(x) for alpha >= 0, and exactly
// linear around each input: f(x) = x . J(x), where
//
//   J(x) = w_1 D_1(x) w_2 D_2(x) ... D_{K-1}(x) w_K,   D_k(x) = diag(relu'(h_k(x)))
//
// is the product of the weights with the ReLU masks of that input (docs/derivation.md's
// network; relu'(0) = 1, as the forward pass and the backward pass take it). J(x) is also the
// derivative of f at x wherever no h_k is exactly 0, and J(alpha x) = J(x) for alpha > 0.
//
// Legend: n = rows of x, d_in = input_width(), d_out = output_width().
#pragma once

#include "nobias/matrix.hpp"
#include "nobias/network.hpp"

namespace nobias {

// J(x) for one input: x_row: (1, d_in) -> (d_in, d_out), so that x_row . J == predict(x_row) to
// rounding. The masks are the ones predict() computes, bit for bit; the products are GEMMs,
// in the cheaper order: about min(d_in, d_out) x (the multiply-adds of one forward pass).
// ShapeError for a width other than d_in or a count of rows other than 1; ValueError naming the
// first NaN or infinity of x_row, or the layer where the forward pass overflowed (no masks).
Matrix<float> jacobian(const Network<float>& net, MatrixView<const float> x_row);
Matrix<double> jacobian(const Network<double>& net, MatrixView<const double> x_row);

// J(x_i) of every row of x: (n, d_in) -> (n * d_in, d_out), whose rows [i * d_in, (i + 1) *
// d_in) are J(x_i), as jacobian() would give them up to rounding: one allocation, an (n, d_in,
// d_out) array as it stands. Each layer's product takes several inputs at once, so the
// weights are read once per few inputs, not once per input. Errors as jacobian(), and
// ShapeError for no rows.
Matrix<float> jacobians(const Network<float>& net, MatrixView<const float> x);
Matrix<double> jacobians(const Network<double>& net, MatrixView<const double> x);

}  // namespace nobias
