// Internal: gemm() on the calling thread alone, for the parts of a step that a
// WorkerTeam already runs side by side. OpenBLAS threads on top would oversubscribe the cores.
#pragma once

#include "nobias/blas.hpp"

namespace nobias::detail {

void gemm_on_this_thread(Op op_a, MatrixView<const float> a, Op op_b, MatrixView<const float> b,
                         float alpha, float beta, MatrixView<float> c);
void gemm_on_this_thread(Op op_a, MatrixView<const double> a, Op op_b, MatrixView<const double> b,
                         double alpha, double beta, MatrixView<double> c);

}  // namespace nobias::detail
