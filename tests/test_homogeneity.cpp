// A bias-free ReLU network is positively homogeneous: f(alpha x) = alpha f(x) for alpha >= 0,
// and f(0) = 0 (docs/derivation.md). Every layer is a product with no bias (linear in its input)
// and relu(alpha h) = alpha relu(h) for alpha >= 0. This is why such a network cannot fit an
// offset by itself, and users rely on it, so it is checked exactly here.
//
// Exactly, in floating point: multiplying by a power of two only changes exponents, so every
// product and every partial sum of every gemm is the unscaled one times alpha, bit for bit,
// as long as nothing overflows or becomes subnormal (the values here stay far from both).
// The scaled and unscaled batches have the same shapes, so they take the same path through
// BLAS and the same thread split: the comparison is of bits, not of a tolerance.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "nobias/matrix.hpp"
#include "nobias/network.hpp"
#include "test_support.hpp"

using nobias::Matrix;
using nobias::MatrixView;
using nobias::Network;
using test_support::same_bits;

namespace {

// 2, 3, 5 and 8 weight matrices, odd widths drawn from the seed: no two shapes alike.
std::vector<std::size_t> odd_widths(std::size_t layers, std::uint64_t seed) {
  std::uint64_t state = seed * 0x9e3779b97f4a7c15ULL + 1;
  std::vector<std::size_t> widths;
  for (std::size_t k = 0; k <= layers; ++k) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    widths.push_back(2 * ((state >> 33) % 20) + 3);  // 3, 5, ..., 41
  }
  return widths;
}

template <class T>
Matrix<T> scaled(const Matrix<T>& m, T alpha) {
  Matrix<T> out(m.rows(), m.cols());
  for (std::size_t i = 0; i < m.size(); ++i)
    out.data()[i] = alpha * m.data()[i];
  return out;
}

template <class T>
std::size_t nonzeros(MatrixView<const T> m) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < m.rows(); ++i)
    for (std::size_t j = 0; j < m.cols(); ++j)
      count += m(i, j) != T(0);
  return count;
}

// Both predict paths: the const one (per-product thread policy) and the one into a buffer
// (the network's workspace, rows split across threads).
template <class T>
std::vector<Matrix<T>> predictions(Network<T>& net, MatrixView<const T> x) {
  Matrix<T> into(x.rows(), net.output_width());
  net.predict(x, into);
  return {static_cast<const Network<T>&>(net).predict(x), into};
}

}  // namespace

TEST_CASE_TEMPLATE("homogeneity.predict.power_of_two_scales_exactly", T, float, double) {
  // Powers of two from 2^-6 to 2^20, 1 included; with He weights the outputs stay O(|x|).
  const std::vector<T> alphas{T(1) / 64, T(0.5), T(1), T(2), T(8), T(1024), T(1 << 20)};
  std::uint64_t seed = 1;
  for (std::size_t layers : {2u, 3u, 5u, 8u}) {
    for (std::size_t n : {7u, 53u}) {  // one part, and several parts of a split step
      const std::vector<std::size_t> widths = odd_widths(layers, seed);
      CAPTURE(layers);
      CAPTURE(n);
      CAPTURE(widths.front());
      CAPTURE(widths.back());
      Network<T> net(test_support::random_weights<T>(widths, seed, 2.0));
      const Matrix<T> x = test_support::random_matrix<T>(n, widths.front(), seed + 100);
      ++seed;
      const std::vector<Matrix<T>> f = predictions(net, x.view());
      // Not a vacuous pass: the network must say something (dead ReLUs everywhere give f = 0,
      // which is homogeneous trivially).
      REQUIRE(nonzeros(f[0].view()) > f[0].size() / 2);
      for (const T alpha : alphas) {
        CAPTURE(alpha);
        const Matrix<T> alpha_x = scaled(x, alpha);
        const std::vector<Matrix<T>> f_alpha_x = predictions(net, alpha_x.view());
        for (std::size_t path = 0; path < f.size(); ++path) {
          CAPTURE(path);
          const Matrix<T> alpha_f = scaled(f[path], alpha);
          CHECK(same_bits(f_alpha_x[path].view(), alpha_f.view()));
        }
      }
    }
  }
}

TEST_CASE_TEMPLATE("homogeneity.predict.zero_input_gives_zero", T, float, double) {
  std::uint64_t seed = 11;
  for (std::size_t layers : {2u, 3u, 5u, 8u}) {
    const std::vector<std::size_t> widths = odd_widths(layers, seed);
    CAPTURE(layers);
    Network<T> net(test_support::random_weights<T>(widths, seed, 2.0));
    ++seed;
    const Matrix<T> zero(9, widths.front());
    // Every element is zero (of either sign: 0 * w is -0 for a negative w, and -0 == 0).
    for (const Matrix<T>& f : predictions(net, zero.view()))
      CHECK(nonzeros(f.view()) == 0);
  }
}

// Only positive scales: ReLU is not odd, so f(-x) is not -f(x). This is what separates a ReLU
// network from a linear map, and shows that the comparison above can tell outputs apart.
TEST_CASE_TEMPLATE("homogeneity.predict.negative_scale_is_not_homogeneous", T, float, double) {
  const std::vector<std::size_t> widths = odd_widths(3, 21);
  Network<T> net(test_support::random_weights<T>(widths, 21, 2.0));
  const Matrix<T> x = test_support::random_matrix<T>(13, widths.front(), 22);
  const Matrix<T> minus_x = scaled(x, T(-1));
  const Matrix<T> minus_f = scaled(net.predict(x), T(-1));
  const Matrix<T> f_minus_x = net.predict(minus_x);
  std::size_t differing = 0;
  for (std::size_t i = 0; i < f_minus_x.size(); ++i)
    differing += f_minus_x.data()[i] != minus_f.data()[i];
  CHECK(differing > f_minus_x.size() / 2);
}
