#include "nobias/blas.hpp"
#include "nobias/threads.hpp"

#include "gemm/blas_backend.hpp"
#include "gemm/dgemm_backend.hpp"
#include "gemm/sgemm_backend.hpp"

#include <cblas.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <type_traits>

namespace nobias {
namespace {

std::string operand_string(const char* name, Op op, std::size_t rows, std::size_t cols) {
  std::string s = std::string(name) + (op == Op::T ? "^T " : " ");
  return s + (op == Op::T ? shape_string(cols, rows) : shape_string(rows, cols));
}

// BLAS takes int dimensions; a larger matrix must fail loudly, not wrap around.
int blas_int(std::size_t v, const char* what) {
  if (v > static_cast<std::size_t>(INT_MAX)) {
    throw ShapeError(std::string("gemm: ") + what + " = " + std::to_string(v) +
                     " exceeds the BLAS integer range");
  }
  return static_cast<int>(v);
}

template <class T>
const T* span_end(MatrixView<const T> v) {
  return v.data() + (v.rows() - 1) * v.ld() + v.cols();
}

// Conservative for views of some columns: their spans may interleave without sharing an
// element, and are refused all the same.
template <class T>
bool overlaps(MatrixView<T> c, MatrixView<const T> x) {
  if (c.empty() || x.empty()) return false;
  const std::less<const T*> before;
  return before(x.data(), span_end<T>(c)) && before(c.data(), span_end(x));
}

CBLAS_TRANSPOSE to_cblas(Op op) {
  return op == Op::T ? CblasTrans : CblasNoTrans;
}

// Row-major with contiguous rows: the leading dimension is the column count, and at least 1
// so that BLAS accepts empty operands.
template <class T>
int leading_dimension(MatrixView<T> v) {
  return blas_int(v.ld() == 0 ? 1 : v.ld(), "leading dimension");
}

void call_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, float alpha,
               const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  if (detail::sgemm_backend() == detail::SgemmBackend::OneDnn) {
    const auto size = [](int v) { return static_cast<std::size_t>(v); };
    detail::onednn_sgemm(ta == CblasTrans, tb == CblasTrans, size(m), size(n), size(k), alpha, a,
                         size(lda), b, size(ldb), beta, c, size(ldc));
    return;
  }
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void call_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, double alpha,
               const double* a, int lda, const double* b, int ldb, double beta, double* c,
               int ldc) {
  if (detail::dgemm_backend() == detail::DgemmBackend::EigenAvx512) {
    const auto size = [](int v) { return static_cast<std::size_t>(v); };
    detail::eigen_avx512_dgemm(ta == CblasTrans, tb == CblasTrans, size(m), size(n), size(k), alpha,
                               a, size(lda), b, size(ldb), beta, c, size(ldc));
    return;
  }
  cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <class T>
void checked_gemm(Op op_a, MatrixView<const T> a, Op op_b, MatrixView<const T> b, T alpha, T beta,
                  MatrixView<T> c) {
  const std::size_t m = op_a == Op::N ? a.rows() : a.cols();
  const std::size_t k = op_a == Op::N ? a.cols() : a.rows();
  const std::size_t k_b = op_b == Op::N ? b.rows() : b.cols();
  const std::size_t n = op_b == Op::N ? b.cols() : b.rows();
  if (k != k_b || c.rows() != m || c.cols() != n) {
    throw ShapeError("gemm: " + operand_string("a", op_a, a.rows(), a.cols()) + " times " +
                     operand_string("b", op_b, b.rows(), b.cols()) + " does not fit c " +
                     shape_string(c.rows(), c.cols()));
  }
  if (overlaps(c, a) || overlaps(c, b)) {
    throw ValueError("gemm: c overlaps an input; BLAS would read what it is writing");
  }
  if (m == 0 || n == 0) return;
  // An empty sum, or alpha = 0: BLAS reads neither a nor b (0 * NaN would be NaN), and may
  // skip the beta scaling; not every backend behaves so, so it is done here for all.
  if (k == 0 || alpha == T(0)) {
    for (std::size_t i = 0; i < c.rows(); ++i)
      for (std::size_t j = 0; j < c.cols(); ++j)
        c(i, j) = beta == T(0) ? T(0) : beta * c(i, j);
    return;
  }
  // Every product nobias computes runs on one BLAS thread: nobias never asks for more, so
  // no call on another thread can leave a piece of a step running a threaded product. This
  // only reads the setting, unless something else in the process has changed it.
  detail::use_blas_threads(1);
  call_gemm(to_cblas(op_a), to_cblas(op_b), blas_int(m, "m"), blas_int(n, "n"), blas_int(k, "k"),
            alpha, a.data(), leading_dimension(a), b.data(), leading_dimension(b), beta, c.data(),
            leading_dimension(c));
}

}  // namespace

void gemm(Op op_a, MatrixView<const float> a, Op op_b, MatrixView<const float> b, float alpha,
          float beta, MatrixView<float> c) {
  checked_gemm(op_a, a, op_b, b, alpha, beta, c);
}
void gemm(Op op_a, MatrixView<const double> a, Op op_b, MatrixView<const double> b, double alpha,
          double beta, MatrixView<double> c) {
  checked_gemm(op_a, a, op_b, b, alpha, beta, c);
}

namespace {

// Decimal digits only: strtol alone would take " 2" and "+2" (it skips leading spaces and
// reads a sign), which the documentation refuses as it refuses "auto ".
int parse_threads(const std::string& text) {
  if (text == "auto") return 0;
  const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  const long value = digits ? std::strtol(text.c_str(), nullptr, 10) : -1;
  if (value < 0 || value > 4096) {
    throw ValueError("NOBIAS_THREADS: expected \"auto\", 0 or a thread count, got \"" + text +
                     "\"");
  }
  return static_cast<int>(value);
}

// set_threads() wins over the environment, which is read once and only while the API has
// said nothing: a bad NOBIAS_THREADS then throws from every call until it is fixed or
// overridden (a function-local static whose initializer throws is tried again next time).
constexpr int kUnset = -1;
std::atomic<int> g_api_setting{kUnset};

int environment_setting() {
  static const int setting = [] {
    const char* env = std::getenv("NOBIAS_THREADS");
    return env ? parse_threads(env) : 0;
  }();
  return setting;
}

}  // namespace

void set_threads(int threads) {
  if (threads < 0) {
    throw ValueError("set_threads: expected 0 (automatic) or a thread count >= 1, got " +
                     std::to_string(threads));
  }
  g_api_setting = threads;
}

int threads_setting() {
  const int api = g_api_setting;
  return api != kUnset ? api : environment_setting();
}

// The CPUs this process may run on (its affinity mask, which container limits and taskset
// narrow), fixed at first use: not OpenBLAS's thread count, which nobias itself changes.
int available_threads() {
  static const int available = [] {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  }();
  return available;
}

std::string blas_description() {
  const std::string note = blas_kernel_note();
  return detail::blas_backend_description() + (note.empty() ? "" : " (" + note + ")") +
         detail::sgemm_description() + detail::dgemm_description();
}

void release_blas_threads() {
  // First: OpenBLAS would otherwise start the pool again at its next product.
  detail::use_blas_threads(1);
  detail::end_blas_thread_pool();
}

bool blas_has_thread_control() {
  return detail::blas_has_thread_control();
}

}  // namespace nobias
