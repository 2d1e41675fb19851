// The one door to BLAS: every matrix product in nobias goes through gemm(), which
// checks shapes and calls cblas_sgemm or cblas_dgemm. Transposes are flags, never copies.
#pragma once

#include "nobias/matrix.hpp"

namespace nobias {

enum class Op { N, T };  // use the operand as stored, or its transpose

// c = alpha * op(a) * op(b) + beta * c.
// a: op(a) is (m, k), b: op(b) is (k, n), c: (m, n). With beta == 0, c is only written.
// Throws ShapeError naming every shape when they do not fit. Overloads rather than a template
// so that a Matrix converts to its view at the call.
void gemm(Op op_a, MatrixView<const float> a, Op op_b, MatrixView<const float> b, float alpha,
          float beta, MatrixView<float> c);
void gemm(Op op_a, MatrixView<const double> a, Op op_b, MatrixView<const double> b, double alpha,
          double beta, MatrixView<double> c);

// The BLAS's own thread count; set_blas_threads(n) with n >= 1 (ValueError otherwise).
int blas_threads();
void set_blas_threads(int threads);

// "OpenBLAS 0.3.21 ... Haswell": what computes our products, for benchmark reports.
std::string blas_description();

}  // namespace nobias
