#include "nobias/kernels.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "core/squared_error_sum.hpp"

namespace nobias {
namespace {

template <class A, class B>
void require_same_shape(const char* where, const char* name_a, const A& a, const char* name_b,
                        const B& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) {
    throw ShapeError(std::string(where) + ": " + name_a + " is " +
                     shape_string(a.rows(), a.cols()) + " but " + name_b + " is " +
                     shape_string(b.rows(), b.cols()));
  }
}

// The bits of T, and its exponent field: all ones for an infinity or a NaN. Adding the
// field's lowest bit to the field carries into the top bit exactly then.
template <class T>
using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
template <class T>
constexpr Bits<T> kExponent = sizeof(T) == 4 ? Bits<T>(0x7f800000u) : Bits<T>(0x7ff0000000000000u);
template <class T>
constexpr Bits<T> kExponentLowBit = kExponent<T> & ~(kExponent<T> << 1);
template <class T>
constexpr Bits<T> kTopBit = Bits<T>(1) << (8 * sizeof(T) - 1);

// The elementwise loops run over one span of contiguous elements: the whole matrix when it
// has no gaps, else row by row (a view of some columns).

// Returns whether every value was finite. The check rides on the same pass as integer AND,
// ADD and OR, which vectorize (a floating-point sum would not, and a compare of 64-bit
// integers is slow before SSE4.1): a -inf that ReLU turns into 0 would otherwise leave no
// trace in the loss and reach the weights as inf * 0 = NaN.
template <class T>
bool relu_span(T* __restrict p, std::size_t count) {
  Bits<T> carries = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const T v = p[i];
    Bits<T> bits;
    std::memcpy(&bits, &v, sizeof bits);
    const Bits<T> exponent = bits & kExponent<T>;
    carries |= exponent + kExponentLowBit<T>;
    const T kept = v + T(0);  // -0.0 + 0.0 = +0.0: h = -0 is h >= 0, so it must read as kept
    p[i] = v < T(0) ? T(-0.0) : kept;  // false for NaN: it passes through
  }
  return (carries & kTopBit<T>) == 0;
}

template <class T>
void relu_mask_span(T* __restrict g, const T* __restrict a, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    const T gi = g[i];
    g[i] = std::copysign(T(1), a[i]) < T(0) ? T(0) : gi;  // the sign bit, vectorized
  }
}

template <class T>
bool relu_forward_impl(MatrixView<T> h) {
  if (h.contiguous()) return relu_span(h.data(), h.size());
  bool finite = true;
  for (std::size_t i = 0; i < h.rows(); ++i)
    finite &= relu_span(h.row(i), h.cols());
  return finite;
}

template <class T>
void apply_relu_mask_impl(MatrixView<T> g, MatrixView<const T> a) {
  require_same_shape("apply_relu_mask", "g", g, "a", a);
  if (g.contiguous() && a.contiguous()) return relu_mask_span(g.data(), a.data(), g.size());
  for (std::size_t i = 0; i < g.rows(); ++i)
    relu_mask_span(g.row(i), a.row(i), g.cols());
}

// Sums of squares go to eight double accumulators, added up in a fixed order at the end:
// the additions no longer wait on each other, and the result is the same on every run.
constexpr std::size_t kLanes = 8;

double total(const double (&lanes)[kLanes]) {
  double sum = 0.0;
  for (double lane : lanes)
    sum += lane;
  return sum;
}

// g may be yhat itself: each block of kLanes is read in full before any of it is written.
template <class T>
void residual_span(T* g, const T* yhat, const T* y, std::size_t count, double (&lanes)[kLanes]) {
  std::size_t i = 0;
  for (; i + kLanes <= count; i += kLanes) {
    T p[kLanes], t[kLanes];
    for (std::size_t l = 0; l < kLanes; ++l)
      p[l] = yhat[i + l], t[l] = y[i + l];
    for (std::size_t l = 0; l < kLanes; ++l) {
      const double r = static_cast<double>(p[l]) - static_cast<double>(t[l]);
      lanes[l] += r * r;
      g[i + l] = T(2) * (p[l] - t[l]);
    }
  }
  for (; i < count; ++i) {
    const T p = yhat[i], t = y[i];
    const double r = static_cast<double>(p) - static_cast<double>(t);
    lanes[i % kLanes] += r * r;
    g[i] = T(2) * (p - t);
  }
}

// Element i goes to lane (first + i) % kLanes.
template <class T>
void square_span(const T* yhat, const T* y, std::size_t count, double (&lanes)[kLanes],
                 std::size_t first = 0) {
  std::size_t i = 0;
  for (; i < count && (first + i) % kLanes != 0; ++i) {
    const double r = static_cast<double>(yhat[i]) - static_cast<double>(y[i]);
    lanes[(first + i) % kLanes] += r * r;
  }
  yhat += i, y += i, count -= i;  // from here on lane i % kLanes: the loop the compiler unrolls
  for (i = 0; i < count; ++i) {
    const double r = static_cast<double>(yhat[i]) - static_cast<double>(y[i]);
    lanes[i % kLanes] += r * r;
  }
}

template <class T>
double residual_and_loss_impl(MatrixView<T> g, MatrixView<const T> yhat, MatrixView<const T> y) {
  require_same_shape("residual_and_loss", "yhat", yhat, "y", y);
  require_same_shape("residual_and_loss", "g", g, "y", y);
  double lanes[kLanes] = {};
  if (g.contiguous() && yhat.contiguous() && y.contiguous()) {
    residual_span(g.data(), yhat.data(), y.data(), y.size(), lanes);
  } else {
    for (std::size_t i = 0; i < y.rows(); ++i)
      residual_span(g.row(i), yhat.row(i), y.row(i), y.cols(), lanes);
  }
  return total(lanes);
}

template <class T>
double squared_error_impl(MatrixView<const T> yhat, MatrixView<const T> y) {
  require_same_shape("squared_error", "yhat", yhat, "y", y);
  detail::SquaredErrorSum<T> sum;
  if (yhat.contiguous() && y.contiguous()) {
    sum.add_flat(yhat, y, 0);
  } else {
    sum.add_rows(yhat, y);
  }
  return sum.total();
}

// Whether n values hold no infinity or NaN (an exponent of all ones), as integer operations
// without an early exit: vectorized, so that checking a large input runs at memory speed.
template <class T>
bool all_finite(const T* values, std::size_t n) {
  using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  constexpr Bits kExponent = sizeof(T) == 4 ? Bits(0x7f800000u) : Bits(0x7ff0000000000000ull);
  Bits bad = 0;
  for (std::size_t j = 0; j < n; ++j) {
    Bits bits;
    std::memcpy(&bits, values + j, sizeof bits);
    bad |= static_cast<Bits>((bits & kExponent) == kExponent);
  }
  return bad == 0;
}

template <class T>
void require_finite_impl(MatrixView<const T> m, const std::string& what, std::size_t first_row) {
  for (std::size_t i = 0; i < m.rows(); ++i) {
    if (all_finite(m.row(i), m.cols())) continue;
    for (std::size_t j = 0; j < m.cols(); ++j) {
      if (!std::isfinite(m(i, j))) {
        throw ValueError(what + ": element (" + std::to_string(first_row + i) + ", " +
                         std::to_string(j) + ") is " + std::to_string(m(i, j)) +
                         "; values must be finite");
      }
    }
  }
}

}  // namespace

#define NOBIAS_KERNELS(T)                                                                      \
  bool relu_forward(MatrixView<T> h) {                                                         \
    return relu_forward_impl(h);                                                               \
  }                                                                                            \
  void apply_relu_mask(MatrixView<T> g, MatrixView<const T> a) {                               \
    apply_relu_mask_impl(g, a);                                                                \
  }                                                                                            \
  double residual_and_loss(MatrixView<T> g, MatrixView<const T> yhat, MatrixView<const T> y) { \
    return residual_and_loss_impl(g, yhat, y);                                                 \
  }                                                                                            \
  double squared_error(MatrixView<const T> yhat, MatrixView<const T> y) {                      \
    return squared_error_impl(yhat, y);                                                        \
  }                                                                                            \
  void require_finite(MatrixView<const T> m, const std::string& what, std::size_t first_row) { \
    require_finite_impl(m, what, first_row);                                                   \
  }
NOBIAS_KERNELS(float)
NOBIAS_KERNELS(double)
#undef NOBIAS_KERNELS

namespace detail {

static_assert(SquaredErrorSum<float>::kLanes == kLanes);

template <class T>
void SquaredErrorSum<T>::add_flat(MatrixView<const T> yhat, MatrixView<const T> y,
                                  std::size_t first) {
  require_same_shape("squared_error", "yhat", yhat, "y", y);
  if (!yhat.contiguous() || !y.contiguous()) {
    throw ShapeError("squared_error: add_flat takes contiguous rows; yhat " +
                     std::string(yhat.contiguous() ? "is" : "is not") + ", y " +
                     (y.contiguous() ? "is" : "is not"));
  }
  square_span(yhat.data(), y.data(), y.size(), lanes_, first);
}

template <class T>
void SquaredErrorSum<T>::add_rows(MatrixView<const T> yhat, MatrixView<const T> y) {
  require_same_shape("squared_error", "yhat", yhat, "y", y);
  for (std::size_t i = 0; i < y.rows(); ++i)
    square_span(yhat.row(i), y.row(i), y.cols(), lanes_);
}

template <class T>
double SquaredErrorSum<T>::total() const {
  return nobias::total(lanes_);
}

template class SquaredErrorSum<float>;
template class SquaredErrorSum<double>;

}  // namespace detail
}  // namespace nobias
