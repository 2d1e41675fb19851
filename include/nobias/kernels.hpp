// Fused elementwise kernels: each makes one pass over memory. They sit between the
// GEMMs of a step and are all of its non-GEMM work, so they must stay cheap.
//
// Legend: n = rows of a batch, d = width of a layer. Equation numbers are those of
// docs/derivation.md.
#pragma once

#include <string>

#include "nobias/matrix.hpp"

namespace nobias {

// Each kernel has a float and a double overload (not a template, so a Matrix converts to its
// view at the call).

// h: (n, d) becomes a = relu(h) in place, and a keeps the mask relu'(h) in its sign
// bit: where h < 0, a holds -0.0, elsewhere a = h (and h = -0.0 becomes +0.0). Numerically
// a is relu(h) exactly, so it feeds the next product as it is, and the mask costs no memory
// and no extra pass. relu'(0) = 1, as the derivation defines it (eqs. 25 and 43). NaN passes
// through, so that a diverging network shows up in the loss instead of being hidden.
// Returns false if any h was an infinity or a NaN, which a -inf turned into 0 would hide.
bool relu_forward(MatrixView<float> h);
bool relu_forward(MatrixView<double> h);

// g: (n, d) becomes relu'(h) o g in place (the Hadamard products of eqs. 26 and 42), with
// the mask read from a: (n, d), the output of relu_forward. A select, not a multiply, so a
// masked inf becomes 0 rather than NaN.
void apply_relu_mask(MatrixView<float> g, MatrixView<const float> a);
void apply_relu_mask(MatrixView<double> g, MatrixView<const double> a);

// g = 2 (yhat - y) and returns L = sum (yhat - y)^2 accumulated in double (eq. 6 and the
// start of eq. 44). g may be yhat itself: each element is read before it is written.
double residual_and_loss(MatrixView<float> g, MatrixView<const float> yhat,
                         MatrixView<const float> y);
double residual_and_loss(MatrixView<double> g, MatrixView<const double> yhat,
                         MatrixView<const double> y);

// L = sum (yhat - y)^2 in double, without writing a gradient.
double squared_error(MatrixView<const float> yhat, MatrixView<const float> y);
double squared_error(MatrixView<const double> yhat, MatrixView<const double> y);

// Throws ValueError naming `what` and the first element (row, column) that is NaN or
// infinite: data is checked once, up front, so that a bad value is reported as bad data
// rather than surfacing later as a diverged loss. m may be rows first_row ... of the data, as
// a pass that reads them a block at a time checks them: rows are numbered from first_row.
void require_finite(MatrixView<const float> m, const std::string& what, std::size_t first_row = 0);
void require_finite(MatrixView<const double> m, const std::string& what, std::size_t first_row = 0);

}  // namespace nobias
