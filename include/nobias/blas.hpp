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

// How many threads each product runs on. This needs a backend that can be told: OpenBLAS,
// also in a generic build (NOBIAS_BLAS=Generic) whose cblas_dgemm turns out to be OpenBLAS's.
// Other backends keep their own setting, which should then be one thread (OMP_NUM_THREADS=1,
// BLIS_NUM_THREADS=1...), since nobias's own split of a step over threads still applies.
// OpenBLAS wakes its threads for every call, which
// costs more than it saves on small products, so by default the thread count is chosen per
// call from the shape: one thread for small products and for those with a short side
// (little work per thread), every available thread otherwise.
//   set_threads(0)     automatic, per call (the default)
//   set_threads(n)     every product on n threads, n >= 1
// The environment variable NOBIAS_THREADS sets the starting policy ("auto", 0 or n);
// set_threads() overrides it. The setting is process-wide, as OpenBLAS's thread count is:
// when several threads train networks at once, give each set_threads(1)'s share, or the
// cores are oversubscribed (each step's parts poll for each other).
void set_threads(int threads);
int threads_setting();  // 0 while automatic

// The threads the automatic policy may use: the CPUs this process may run on.
int available_threads();

// The thread count the current policy gives a product (m, k) x (k, n).
int threads_for(std::size_t m, std::size_t n, std::size_t k);

// Whether set_threads() reaches the BLAS backend (see above).
bool blas_has_thread_control();

// What computes our products, for reports: "OpenBLAS 0.3.21 ... core Haswell", or
// "generic CBLAS from /usr/lib/.../libblas.so.3, no thread control".
std::string blas_description();

}  // namespace nobias
