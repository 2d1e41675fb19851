// Fused elementwise kernels: each makes one pass over memory. They sit between the
// GEMMs of a step and are all of its non-GEMM work, so they must stay cheap.
//
// Legend: n = rows of a batch, d = width of a layer.
#pragma once

#include <cstdint>
#include <string>

#include "nobias/matrix.hpp"

namespace nobias {

// The ReLU derivative as a 0/1 byte per element.
using Mask = std::uint8_t;

// Each kernel has a float and a double overload (not a template, so a Matrix converts to its
// view at the call).

// h: (n, d) becomes relu(h) in place; mask: (n, d) records relu'(h).
// relu'(0) = 1, as the seed defines it (eqs. 25 and 43). NaN passes through unchanged
// so that a diverging network shows up in the loss instead of being hidden.
void relu_forward(MatrixView<float> h, MatrixView<Mask> mask);
void relu_forward(MatrixView<double> h, MatrixView<Mask> mask);

// h: (n, d) becomes relu(h) in place, no mask: inference only.
void relu_inplace(MatrixView<float> h);
void relu_inplace(MatrixView<double> h);

// g: (n, d) becomes mask o g in place (the Hadamard products of eqs. 26 and 42).
void apply_mask(MatrixView<float> g, MatrixView<const Mask> mask);
void apply_mask(MatrixView<double> g, MatrixView<const Mask> mask);

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
// rather than surfacing later as a diverged loss.
void require_finite(MatrixView<const float> m, const std::string& what);
void require_finite(MatrixView<const double> m, const std::string& what);

}  // namespace nobias
