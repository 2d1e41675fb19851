// Building a Network<T>: its widths checked, its weights drawn (eqs. 1-5 need nothing else)
// or taken from the caller and checked. Kept apart from network.cpp, which holds the step.
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "gemm/parallel.hpp"
#include "nobias/init.hpp"
#include "nobias/kernels.hpp"
#include "nobias/network.hpp"

namespace nobias {
namespace {

void check_widths(const std::vector<std::size_t>& widths) {
  if (widths.size() < 2) {
    throw ValueError("Network: expected at least two widths {d_in, ..., d_out}, got " +
                     std::to_string(widths.size()));
  }
  for (std::size_t k = 0; k < widths.size(); ++k) {
    if (widths[k] == 0) {
      throw ValueError("Network: width " + std::to_string(k) + " is 0; every width must be >= 1");
    }
    // Every width is a dimension and a leading dimension of some gemm, which cblas takes as int.
    if (widths[k] > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      throw ValueError("Network: width " + std::to_string(k) + " is " + std::to_string(widths[k]) +
                       "; BLAS indexes with int, so every width must be <= " +
                       std::to_string(std::numeric_limits<int>::max()));
    }
  }
}

// Widths for drawn weights: each w_k must also be countable in bytes, or Matrix would refuse
// it without saying which layer it was.
template <class T>
std::vector<std::size_t> widths_of(const std::vector<std::size_t>& given) {
  check_widths(given);
  for (std::size_t k = 1; k < given.size(); ++k) {
    if (given[k] > std::numeric_limits<std::size_t>::max() / sizeof(T) / given[k - 1]) {
      throw ValueError("Network: w" + std::to_string(k) + " of " +
                       shape_string(given[k - 1], given[k]) + " elements of " +
                       std::to_string(sizeof(T)) + " bytes overflows size_t");
    }
  }
  return given;
}

template <class T>
std::vector<std::size_t> widths_of(const std::vector<Matrix<T>>& weights) {
  if (weights.empty()) throw ValueError("Network: expected at least one weight matrix, got none");
  std::vector<std::size_t> widths{weights.front().rows()};
  for (std::size_t k = 0; k < weights.size(); ++k) {
    const Matrix<T>& w = weights[k];
    if (w.rows() != widths.back()) {
      throw ShapeError("Network: w" + std::to_string(k + 1) + " is " +
                       shape_string(w.rows(), w.cols()) + " but w" + std::to_string(k) + " has " +
                       std::to_string(widths.back()) + " columns");
    }
    widths.push_back(w.cols());
  }
  check_widths(widths);
  // Given weights are checked once here: a NaN in them would otherwise surface as a diverged
  // loss, blamed on the learning rate.
  for (std::size_t k = 0; k < weights.size(); ++k)
    require_finite(weights[k], "Network: w" + std::to_string(k + 1));
  return widths;
}

}  // namespace

template <class T>
Network<T>::Network(const std::vector<std::size_t>& widths, std::uint64_t seed, Init init)
    : widths_(widths_of<T>(widths)) {
  NormalGenerator generator(seed);
  for (std::size_t k = 1; k < widths_.size(); ++k) {
    weights_.emplace_back(widths_[k - 1], widths_[k]);
    fill_normal(weights_.back().view(), generator, init_scale(init, widths_[k - 1], widths_[k]));
  }
}

template <class T>
Network<T>::Network(std::vector<Matrix<T>> weights)
    : widths_(widths_of(weights)), weights_(std::move(weights)) {}

template <class T>
Network<T>::~Network() = default;

#define NOBIAS_NETWORK_INIT(T)                                                        \
  template Network<T>::Network(const std::vector<std::size_t>&, std::uint64_t, Init); \
  template Network<T>::Network(std::vector<Matrix<T>>);                               \
  template Network<T>::~Network();
NOBIAS_NETWORK_INIT(float)
NOBIAS_NETWORK_INIT(double)
#undef NOBIAS_NETWORK_INIT

}  // namespace nobias
