// A bias-free network is exactly linear around each input: f(x) = x . J(x), where J(x) is the
// product of the weights with the ReLU masks of x (nobias/jacobian.hpp), and J(a x) = J(x).
#include <nobias/nobias.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

using Matrix = nobias::Matrix<double>;

int main() {
  nobias::Network<double> net({7, 13, 5, 3}, /*seed=*/1, nobias::Init::He);
  Matrix x(1, 7);
  nobias::NormalGenerator random(/*seed=*/3);
  nobias::fill_normal(x.view(), random);

  const Matrix j = nobias::jacobian(net, x);  // (7, 3): column c is what output c weighs
  const Matrix y = net.predict(x);
  Matrix xj(1, 3);
  nobias::gemm(nobias::Op::N, x, nobias::Op::N, j, 1.0, 0.0, xj);
  double largest = 0;
  for (std::size_t c = 0; c < 3; ++c)
    largest = std::max(largest, std::abs(xj(0, c) - y(0, c)));

  // 8 x turns no ReLU on or off, so J is the same, bit for bit.
  Matrix x8 = x;
  for (std::size_t i = 0; i < 7; ++i)
    x8(0, i) *= 8;
  const Matrix j8 = nobias::jacobian(net, x8);
  const bool same = std::equal(j.data(), j.data() + j.size(), j8.data());

  std::printf("largest |x J(x) - f(x)| %.1e; J(8 x) == J(x): %s\n", largest, same ? "yes" : "no");
  return largest < 1e-12 && same ? 0 : 1;
}
