// Network<T>'s checks of its callers' arguments, its accessors, copies and moves (a moved-from
// network has no widths, which every method checks), and its reports of unusable steps: kept
// apart from network.cpp, which holds the step itself.
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "core/overlap.hpp"
#include "gemm/parallel.hpp"
#include "nobias/blas.hpp"
#include "nobias/kernels.hpp"
#include "nobias/names.hpp"
#include "nobias/network.hpp"

namespace nobias {

template <class T>
MatrixView<const T> Network<T>::weight(std::size_t k) const {
  require_live("weight");
  if (k >= weights_.size()) {
    throw ValueError("weight: index " + std::to_string(k) + " out of range, the network has " +
                     std::to_string(weights_.size()) + " weight matrices");
  }
  return weights_[k].view();
}

template <class T>
MatrixView<T> Network<T>::weight(std::size_t k) {
  std::as_const(*this).weight(k);  // range check
  weights_as_built_ = false;       // the caller may change them
  return weights_[k].view();
}

template <class T>
Network<T>::Network(const Network& other)
    : widths_((other.require_live("copy"), other.widths_)),
      weights_(other.weights_),
      weights_as_built_(other.weights_as_built_) {}

template <class T>
Network<T>& Network<T>::operator=(const Network& other) {
  if (this != &other) *this = Network(other);
  return *this;
}

// What is left behind has no widths, which every method checks.
template <class T>
Network<T>::Network(Network&& other) noexcept
    : widths_(std::exchange(other.widths_, {})),
      weights_(std::exchange(other.weights_, {})),
      weights_as_built_(other.weights_as_built_),
      workspace_(std::exchange(other.workspace_, {})),
      team_(std::move(other.team_)) {}
template <class T>
Network<T>& Network<T>::operator=(Network&& other) noexcept {
  if (this != &other) {
    widths_ = std::exchange(other.widths_, {});
    weights_ = std::exchange(other.weights_, {});
    weights_as_built_ = other.weights_as_built_;
    workspace_ = std::exchange(other.workspace_, {});
    team_ = std::move(other.team_);
  }
  return *this;
}
template <class T>
void Network<T>::moved_from(const char* where) {
  throw ValueError(std::string("Network::") + where + ": called on a moved-from Network");
}

template <class T>
void Network<T>::check_batch(const char* where, MatrixView<const T> x,
                             const MatrixView<const T>* y) const {
  require_live(where);
  // Strings are built only on the way to a throw: the happy path must not allocate.
  const auto fail = [where](const std::string& what) { throw ShapeError(where + (": " + what)); };
  if (x.rows() == 0) fail("x has no rows");
  if (x.cols() != input_width()) {
    fail("x has " + std::to_string(x.cols()) + " columns, network input has " +
         std::to_string(input_width()));
  }
  if (y == nullptr) return;
  if (y->cols() != output_width()) {
    fail("y has " + std::to_string(y->cols()) + " columns, network output has " +
         std::to_string(output_width()));
  }
  if (y->rows() != x.rows()) {
    fail("x has " + std::to_string(x.rows()) + " rows but y has " + std::to_string(y->rows()));
  }
}

template <class T>
void Network<T>::require_apart(const char* where, const char* name,
                               MatrixView<const T> view) const {
  require_live(where);
  const auto refuse = [&](const std::string& what) {
    throw ValueError(std::string(where) + ": " + name + " overlaps " + what +
                     ", which a step writes while it reads " + name + "; pass a copy");
  };
  for (std::size_t k = 0; k < weights_.size(); ++k)
    if (detail::overlap(view, weights_[k].view())) refuse("w" + std::to_string(k + 1));
  for (const auto* buffers : {&workspace_.activations, &workspace_.gradients})
    for (const Matrix<T>& m : *buffers)
      if (detail::overlap(view, m.view())) refuse("the network's workspace");
}

namespace {

// dw must hold one matrix shaped like each w_k (Matrix or MatrixView).
template <class T, class Gradient>
void check_gradient_shapes(const std::vector<Matrix<T>>& weights, const std::vector<Gradient>& dw) {
  if (dw.size() != weights.size()) {
    throw ShapeError("gradients: expected " + std::to_string(weights.size()) +
                     " gradient matrices, got " + std::to_string(dw.size()));
  }
  for (std::size_t k = 0; k < dw.size(); ++k) {
    if (dw[k].rows() != weights[k].rows() || dw[k].cols() != weights[k].cols()) {
      throw ShapeError("gradients: dw" + std::to_string(k + 1) + " is " +
                       shape_string(dw[k].rows(), dw[k].cols()) + ", w" + std::to_string(k + 1) +
                       " is " + shape_string(weights[k].rows(), weights[k].cols()));
    }
  }
}

// The step writes dw while it reads x and y: they must not share memory.
template <class T, class Gradient>
void require_apart_from_gradients(MatrixView<const T> x, MatrixView<const T> y,
                                  const std::vector<Gradient>& dw) {
  for (std::size_t k = 0; k < dw.size(); ++k) {
    const MatrixView<const T> target(dw[k]);
    for (const auto& [name, view] : {std::pair{"x", x}, std::pair{"y", y}}) {
      if (detail::overlap(view, target)) {
        throw ValueError(std::string("gradients: ") + name + " overlaps dw" +
                         std::to_string(k + 1) + ", which the step writes; pass a copy");
      }
    }
  }
}

}  // namespace

template <class T>
template <class Gradient>
void Network<T>::check_gradients_call(MatrixView<const T> x, MatrixView<const T> y,
                                      const std::vector<Gradient>& dw) {
  check_batch("gradients", x, &y);
  check_gradient_shapes(weights_, dw);
  prepare(x.rows());
  require_apart("gradients", "x", x);
  require_apart("gradients", "y", y);
  require_apart_from_gradients(x, y, dw);
}

template <class T>
std::size_t Network<T>::first_overflowing_layer(MatrixView<const T> x) const {
  // Slow and plain on purpose: it runs once, on the way to an error.
  Matrix<T> a = Matrix<T>::copy_of(x);
  for (std::size_t k = 0; k < weights_.size(); ++k) {
    Matrix<T> h(x.rows(), widths_[k + 1]);
    gemm(Op::N, a.view(), Op::N, weights_[k].view(), T(1), T(0), h.view());
    for (std::size_t i = 0; i < h.size(); ++i)
      if (!std::isfinite(h.data()[i])) return k + 1;
    if (k + 1 < weights_.size()) relu_forward(h.view());
    a = std::move(h);
  }
  return 0;
}

template <class T>
void Network<T>::report_unusable(const char* where, MatrixView<const T> x, double loss,
                                 bool hidden_finite) const {
  const std::size_t layer = first_overflowing_layer(x);
  std::string what;
  if (layer != 0) {
    what = "the forward pass overflowed at layer " + std::to_string(layer) + " of " +
           std::to_string(weights_.size()) + " (h" + std::to_string(layer) +
           " reached an infinity or a NaN)";
  } else if (!hidden_finite) {
    what = "a hidden layer reached an infinity or a NaN (the loss, " + format_number(loss) +
           ", did not show it)";
  } else {
    what = "loss is " + format_number(loss);
  }
  if (weights_as_built_) {
    // Nothing was learned yet, so no learning rate is to blame: the weights as drawn or given
    // are too large (N(0, 1) weights multiply an activation's scale by about sqrt(width / 2)
    // per layer), or the data's scale is.
    throw ValueError(std::string(where) + ": " + what + " before any update: " +
                     (layer != 0 ? "the initial weights are too large for " +
                                       std::to_string(weights_.size()) +
                                       " layers; draw them with Init::He (or scale them down)"
                                 : std::string("the initial outputs are too far from y for ") +
                                       (std::is_same_v<T, float> ? "float32" : "float64") +
                                       "; scale the data or the initial weights down") +
                     "; weights left unchanged");
  }
  DivergenceError::Facts facts;
  facts.where = where;
  facts.detail = what;
  facts.loss = loss;
  facts.layer = layer;
  throw DivergenceError(std::move(facts));
}

#define NOBIAS_NETWORK_CHECKS(T)                                                                \
  template MatrixView<const T> Network<T>::weight(std::size_t) const;                           \
  template MatrixView<T> Network<T>::weight(std::size_t);                                       \
  template Network<T>::Network(const Network&);                                                 \
  template Network<T>& Network<T>::operator=(const Network&);                                   \
  template Network<T>::Network(Network&&) noexcept;                                             \
  template Network<T>& Network<T>::operator=(Network&&) noexcept;                               \
  template void Network<T>::moved_from(const char*);                                            \
  template void Network<T>::check_batch(const char*, MatrixView<const T>,                       \
                                        const MatrixView<const T>*) const;                      \
  template void Network<T>::require_apart(const char*, const char*, MatrixView<const T>) const; \
  template void Network<T>::check_gradients_call(MatrixView<const T>, MatrixView<const T>,      \
                                                 const std::vector<Matrix<T>>&);                \
  template void Network<T>::check_gradients_call(MatrixView<const T>, MatrixView<const T>,      \
                                                 const std::vector<MatrixView<T>>&);            \
  template std::size_t Network<T>::first_overflowing_layer(MatrixView<const T>) const;          \
  template void Network<T>::report_unusable(const char*, MatrixView<const T>, double, bool) const;
NOBIAS_NETWORK_CHECKS(float)
NOBIAS_NETWORK_CHECKS(double)
#undef NOBIAS_NETWORK_CHECKS

}  // namespace nobias
