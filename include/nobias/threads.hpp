// Threads. Every product runs on one BLAS thread, the caller's: nobias holds OpenBLAS at
// one thread (also in a generic build whose cblas_dgemm turns out to be OpenBLAS's) and
// never changes that, so no call on another thread can make a step's pieces run threaded
// products (blas_has_thread_control() in blas.hpp says whether it can). Other backends keep
// their own setting, which should then be one thread (OMP_NUM_THREADS=1,
// BLIS_NUM_THREADS=1...). What runs on several cores is a training step, predict(x, out),
// loss() and gradients() of a Network: nobias cuts them into pieces by the shapes alone and
// runs the pieces on a team of threads, so the results are bit for bit the same on any number
// of threads. gemm() itself and the const Network::predict(x) run on the calling thread.
#pragma once

namespace nobias {

//   set_threads(0)     automatic (the default): every CPU this process may run on
//   set_threads(n)     at most n threads per step, n >= 1 (never more than those CPUs)
// ValueError for n < 0 (the setting stays as it was). The environment variable
// NOBIAS_THREADS sets the starting value ("auto", 0 or n); set_threads() overrides it. The
// setting is process-wide: when several threads train networks at once, give each
// set_threads(1)'s share, or their teams compete for the cores.
void set_threads(int threads);

// The setting: 0 while automatic. ValueError while set_threads() has never been called and
// NOBIAS_THREADS is neither "auto" nor a count in [0, 4096].
int threads_setting();

// The threads the automatic setting uses: the CPUs this process may run on.
int available_threads();

}  // namespace nobias
