// A program that uses nobias as a user would: trains the seed's network briefly and
// exits 0 only if the loss fell. Built by every consumer project.
#include <nobias/nobias.hpp>

#include <cstdio>

int main() {
  nobias::Matrix<float> x(16, 20), y(16, 3);
  nobias::NormalGenerator generator(1);
  nobias::fill_normal(x.view(), generator);
  nobias::fill_normal(y.view(), generator);
  nobias::Network<float> net({20, 12, 3}, 2, nobias::Init::He);
  const double first = net.train_step(x, y, 1e-3f);
  for (int step = 0; step < 50; ++step)
    net.train_step(x, y, 1e-3f);
  const double last = net.loss(x, y);
  std::printf("BLAS: %s\nloss %g -> %g\n", nobias::blas_description().c_str(), first, last);
  return last < first ? 0 : 1;
}
