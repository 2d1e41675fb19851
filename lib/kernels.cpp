#include "nobias/kernels.hpp"

#include <cmath>
#include <string>

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

template <class T>
void relu_forward_impl(MatrixView<T> h, MatrixView<Mask> mask) {
  require_same_shape("relu_forward", "h", h, "mask", mask);
  T* p = h.data();
  Mask* m = mask.data();
  const std::size_t size = h.size();
  for (std::size_t i = 0; i < size; ++i) {
    const bool negative = p[i] < T(0);  // false for 0, -0 and NaN: relu'(0) = 1 (eq. 25)
    m[i] = negative ? Mask(0) : Mask(1);
    p[i] = negative ? T(0) : p[i];
  }
}

template <class T>
void relu_inplace_impl(MatrixView<T> h) {
  T* p = h.data();
  const std::size_t size = h.size();
  for (std::size_t i = 0; i < size; ++i)
    p[i] = p[i] < T(0) ? T(0) : p[i];
}

template <class T>
void apply_mask_impl(MatrixView<T> g, MatrixView<const Mask> mask) {
  require_same_shape("apply_mask", "g", g, "mask", mask);
  T* p = g.data();
  const Mask* m = mask.data();
  const std::size_t size = g.size();
  // A select, not a multiply: 0 * inf would make NaN where the seed's A o G has a zero.
  for (std::size_t i = 0; i < size; ++i)
    p[i] = m[i] ? p[i] : T(0);
}

template <class T>
double residual_and_loss_impl(MatrixView<T> g, MatrixView<const T> yhat, MatrixView<const T> y) {
  require_same_shape("residual_and_loss", "yhat", yhat, "y", y);
  require_same_shape("residual_and_loss", "g", g, "y", y);
  const T* p = yhat.data();
  const T* t = y.data();
  T* out = g.data();
  const std::size_t size = y.size();
  double loss = 0.0;
  for (std::size_t i = 0; i < size; ++i) {
    const double r = static_cast<double>(p[i]) - static_cast<double>(t[i]);
    loss += r * r;
    out[i] = T(2) * (p[i] - t[i]);
  }
  return loss;
}

template <class T>
double squared_error_impl(MatrixView<const T> yhat, MatrixView<const T> y) {
  require_same_shape("squared_error", "yhat", yhat, "y", y);
  const T* p = yhat.data();
  const T* t = y.data();
  const std::size_t size = y.size();
  double loss = 0.0;
  for (std::size_t i = 0; i < size; ++i) {
    const double r = static_cast<double>(p[i]) - static_cast<double>(t[i]);
    loss += r * r;
  }
  return loss;
}

template <class T>
void require_finite_impl(MatrixView<const T> m, const std::string& what) {
  for (std::size_t i = 0; i < m.rows(); ++i) {
    for (std::size_t j = 0; j < m.cols(); ++j) {
      if (!std::isfinite(m(i, j))) {
        throw ValueError(what + ": element (" + std::to_string(i) + ", " + std::to_string(j) +
                         ") is " + std::to_string(m(i, j)) + "; values must be finite");
      }
    }
  }
}

}  // namespace

#define NOBIAS_KERNELS(T)                                                                      \
  void relu_forward(MatrixView<T> h, MatrixView<Mask> mask) {                                  \
    relu_forward_impl(h, mask);                                                                \
  }                                                                                            \
  void relu_inplace(MatrixView<T> h) {                                                         \
    relu_inplace_impl(h);                                                                      \
  }                                                                                            \
  void apply_mask(MatrixView<T> g, MatrixView<const Mask> mask) {                              \
    apply_mask_impl(g, mask);                                                                  \
  }                                                                                            \
  double residual_and_loss(MatrixView<T> g, MatrixView<const T> yhat, MatrixView<const T> y) { \
    return residual_and_loss_impl(g, yhat, y);                                                 \
  }                                                                                            \
  double squared_error(MatrixView<const T> yhat, MatrixView<const T> y) {                      \
    return squared_error_impl(yhat, y);                                                        \
  }                                                                                            \
  void require_finite(MatrixView<const T> m, const std::string& what) {                        \
    require_finite_impl(m, what);                                                              \
  }
NOBIAS_KERNELS(float)
NOBIAS_KERNELS(double)
#undef NOBIAS_KERNELS

}  // namespace nobias
