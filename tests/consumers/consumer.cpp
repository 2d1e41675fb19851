// A program that uses nobias as a user would: trains a small network briefly and
// exits 0 only if the loss fell and, when given a regular expression, the BLAS in use
// ("BLAS: " + blas_description()) matches it. Built by every consumer project.
#include <nobias/nobias.hpp>

#include <cstdio>
#include <regex>
#include <string>

int main(int argc, char** argv) {
  const std::string blas = "BLAS: " + nobias::blas_description();
  std::printf("%s\n", blas.c_str());
  if (argc > 1 && !std::regex_search(blas, std::regex(argv[1]))) {
    std::printf("expected the BLAS to match \"%s\"\n", argv[1]);
    return 1;
  }
  nobias::Matrix<float> x(16, 20), y(16, 3);
  nobias::NormalGenerator generator(1);
  nobias::fill_normal(x.view(), generator);
  nobias::fill_normal(y.view(), generator);
  nobias::Network<float> net({20, 12, 3}, 2, nobias::Init::He);
  const double first = net.train_step(x, y, 1e-3f);
  for (int step = 0; step < 50; ++step)
    net.train_step(x, y, 1e-3f);
  const double last = net.loss(x, y);
  std::printf("loss %g -> %g\n", first, last);
  return last < first ? 0 : 1;
}
