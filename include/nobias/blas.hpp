// The one door to BLAS: every matrix product in nobias goes through gemm(), which
// checks shapes and calls cblas_dgemm, and cblas_sgemm or (a build with NOBIAS_ONEDNN, unless
// NOBIAS_SGEMM=blas) oneDNN's dnnl_sgemm, on one thread. Transposes are flags, never copies.
#pragma once

#include <string>
#include <thread>

#include "nobias/matrix.hpp"
#include "nobias/threads.hpp"

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

// The one-time set-up of float32 products, begun on a helper thread of its own: oneDNN
// generates the kernels of its sgemm at its first products (35-90 ms of one core). A program that
// will multiply float32 matrices soon (nobias-predict, once it knows the model's dtype and that --x
// has rows to spare) makes one, goes on reading its model and inputs, and its first product finds
// the kernels made. The destructor waits for the thread. The thread holds asynchronous signals
// (they go to the program's other threads); nothing at all where float32 products run on the BLAS.
// Products computed after it are the same bits.
class Float32WarmUp {
 public:
  Float32WarmUp();
  ~Float32WarmUp();
  Float32WarmUp(const Float32WarmUp&) = delete;
  Float32WarmUp& operator=(const Float32WarmUp&) = delete;
  // Whether a thread was started (a build and environment whose float32 products are oneDNN's).
  bool started() const { return thread_.joinable(); }

 private:
  std::thread thread_;
};

// Ends the BLAS's own idle threads. OpenBLAS (its pthreads build) starts a thread per core but
// one when it is loaded, and each spins (sched_yield) for about 2^28 cycles, 0.1-0.2 s, before
// it sleeps: on a 2-core machine a core taken from whatever the program does first (in
// nobias-predict, the model's load and oneDNN's kernel generation; bench/ANALYSIS.md). nobias
// never runs a product on more than one BLAS thread (its own threads split the work), so this
// sets the BLAS to one thread and ends its pool. OpenBLAS 0.3.21 starts the whole pool again at
// any later openblas_set_num_threads call (even of 1: numpy's or threadpoolctl's in the same
// process) and at a product asked to run on more threads. A no-op for a BLAS without a pool.
// Products computed after it are the same bits. Call it early, while no other thread is inside the
// BLAS: the tools do, first thing in main.
void release_blas_threads();

// set_threads() and the thread counts are in threads.hpp (included here for the callers that
// found them here).

// Whether nobias can hold the backend at one thread (OpenBLAS can be told; others cannot):
// see threads.hpp.
bool blas_has_thread_control();

// What computes our products, and who chose its kernel, for reports: "OpenBLAS 0.3.21 ...,
// core Haswell (chosen by the environment: OPENBLAS_CORETYPE=Haswell)", or "generic CBLAS
// from /usr/lib/.../libblas.so.3, no thread control"; then, in a build with oneDNN, where the
// float32 products run: "; float32 products on oneDNN 2.6.3 sgemm, ISA avx512_core (chosen by
// nobias; NOBIAS_SGEMM=blas puts them on the BLAS)".
std::string blas_description();

// The fastest kernel, out of the box. OpenBLAS chooses its kernels ("core") once, when it
// is loaded, before main; OpenBLAS 0.3.21 does not know recent CPUs and may fall back to
// slow ones (SSE3 "Prescott" on an AVX-512 Xeon). Call this first in main: when the
// environment sets no OPENBLAS_CORETYPE and the CPU can run a faster verified core than the
// one loaded (AVX-512 -> SkylakeX, AVX2 + FMA -> Haswell), it restarts the program (execv
// of /proc/self/exe with argv, ~30 ms, once) with OPENBLAS_CORETYPE set, and does not
// return; otherwise it returns false and changes nothing. A value the environment sets is
// always kept. Call it before starting threads or opening files you need to keep.
bool use_best_blas_kernel(char** argv);

// Who chose the kernel in use: "chosen by the environment: OPENBLAS_CORETYPE=...", "chosen
// by nobias for this CPU: ...", "chosen by OpenBLAS from the CPU"; "" when not OpenBLAS.
std::string blas_kernel_note();

// When OpenBLAS runs slower kernels than this CPU supports and the environment did not ask
// for them: one line that says so and how to fix it; "" otherwise.
std::string slow_blas_kernel_advice();
// Prints that advice to stderr, once per process; true if there was any. For the tools.
bool warn_if_slow_blas_kernel();

}  // namespace nobias
