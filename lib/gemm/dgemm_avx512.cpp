// float64 products on Eigen's GEMM, compiled for AVX-512 (this file alone gets -mavx512*; see
// lib/CMakeLists.txt) and called only where dgemm_backend.cpp found AVX-512 usable.
//
// Two things keep AVX-512 code from reaching a CPU without it, or another copy of Eigen:
// - Eigen's namespace is renamed here, so none of its template instantiations shares a name
//   (and a linker's pick) with those of another file, or of a user's own Eigen;
// - the test dgemm_avx512_symbols checks that this object defines no other symbol, and that
//   its static initializers (which run on every CPU) use no AVX instruction. It is never
//   link-time optimised (lib/CMakeLists.txt), which would blur that boundary.
//
// The products call Eigen's blocked kernel directly with workspace owned by the calling
// thread: Eigen's own entry point would allocate it on every call of a large product, and a
// training step allocates nothing. Row-vector products (batch 1) go to Eigen's matrix-vector
// kernel, which is faster there and needs no workspace: the row is contiguous.
#define Eigen nobias_eigen_avx512
#define EIGEN_DONT_PARALLELIZE  // nobias's pieces are the parallelism: one thread per product
#define EIGEN_NO_DEBUG          // the arguments were checked by gemm()
#include <Eigen/Core>

#include <cstdlib>
#include <memory>
#include <new>

#include "gemm/dgemm_backend.hpp"

namespace nobias::detail {
namespace {

using Eigen::Index;
using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMajorMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;

// Grows, never shrinks: after a thread's first product of each size, no allocation.
class Workspace {
 public:
  double* at_least(std::size_t count) {
    if (count > capacity_) {
      const std::size_t bytes = (count * sizeof(double) + kAlign - 1) / kAlign * kAlign;
      void* fresh = std::aligned_alloc(kAlign, bytes);
      if (fresh == nullptr) throw std::bad_alloc();
      data_.reset(static_cast<double*>(fresh));
      capacity_ = count;
    }
    return data_.get();
  }

 private:
  static constexpr std::size_t kAlign = 64;
  struct Free {
    void operator()(double* p) const { std::free(p); }
  };
  std::unique_ptr<double, Free> data_;
  std::size_t capacity_ = 0;
};

thread_local Workspace packed_lhs, packed_rhs;

// Eigen's block sizes for this product (from the CPU's cache sizes), pointed at this thread's
// workspace. Eigen computes a row-major product as its column-major transpose, so its rows are
// our columns.
class Blocking : public Eigen::internal::level3_blocking<double, double> {
 public:
  Blocking(Index rows, Index cols, Index depth) {
    m_mc = rows;
    m_nc = cols;
    m_kc = depth;
    Eigen::internal::computeProductBlockingSizes<double, double, 1>(m_kc, m_mc, m_nc, Index(1));
    m_blockA = packed_lhs.at_least(static_cast<std::size_t>(m_kc * m_mc));
    m_blockB = packed_rhs.at_least(static_cast<std::size_t>(m_kc * m_nc));
  }
};

// C += alpha op(A) op(B), row-major; op is a storage order: a transposed row-major operand
// is a column-major one.
template <int OrderA, int OrderB>
void blocked_product(Index m, Index n, Index k, double alpha, const double* a, Index lda,
                     const double* b, Index ldb, double* c, Index ldc) {
  Blocking blocking(n, m, k);
  Eigen::internal::general_matrix_matrix_product<Index, double, OrderA, false, double, OrderB,
                                                 false, Eigen::RowMajor, 1>::run(m, n, k, a, lda, b,
                                                                                 ldb, c, 1, ldc,
                                                                                 alpha, blocking);
}

void scale(double beta, std::size_t m, std::size_t n, double* c, std::size_t ldc) {
  if (beta == 1.0) return;
  for (std::size_t i = 0; i < m; ++i) {
    double* row = c + i * ldc;
    for (std::size_t j = 0; j < n; ++j)
      row[j] = beta == 0.0 ? 0.0 : beta * row[j];  // beta = 0: NaN in C is not read
  }
}

}  // namespace

void eigen_avx512_dgemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n,
                        std::size_t k, double alpha, const double* a, std::size_t lda,
                        const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) {
  scale(beta, m, n, c, ldc);
  const auto M = static_cast<Index>(m), N = static_cast<Index>(n), K = static_cast<Index>(k);
  const auto LDA = static_cast<Index>(lda), LDB = static_cast<Index>(ldb),
             LDC = static_cast<Index>(ldc);
  if (m == 1 && !transpose_a) {
    // Vectors by type, not 1-row matrices: Eigen would copy a row of alpha * x into a
    // temporary on the heap to decide at run time that the product is matrix-vector.
    Eigen::Map<Eigen::RowVectorXd> row(c, N);
    const Eigen::Map<const Eigen::RowVectorXd> x(a, K);
    const ConstMap w(b, transpose_b ? N : K, transpose_b ? K : N, Eigen::OuterStride<>(LDB));
    if (transpose_b) {
      row.noalias() += alpha * x * w.transpose();
    } else {
      row.noalias() += alpha * x * w;
    }
    return;
  }
  constexpr int N_ = Eigen::RowMajor, T_ = Eigen::ColMajor;
  if (!transpose_a && !transpose_b) blocked_product<N_, N_>(M, N, K, alpha, a, LDA, b, LDB, c, LDC);
  if (!transpose_a && transpose_b) blocked_product<N_, T_>(M, N, K, alpha, a, LDA, b, LDB, c, LDC);
  if (transpose_a && !transpose_b) blocked_product<T_, N_>(M, N, K, alpha, a, LDA, b, LDB, c, LDC);
  if (transpose_a && transpose_b) blocked_product<T_, T_>(M, N, K, alpha, a, LDA, b, LDB, c, LDC);
}

}  // namespace nobias::detail
