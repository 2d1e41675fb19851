// A bias-free network cannot fit an offset: f(0) = 0 and f(a x) = a f(x) for a >= 0.
// y = 5 + x0 three ways: as it is, with the targets centred, with a constant input column.
#include <nobias/nobias.hpp>

#include <cstdio>

using Matrix = nobias::Matrix<float>;

// Trains a fresh network on (x, y) and returns R^2 of its predictions (1 is perfect, 0 is
// no better than predicting the mean of y). `offset` is added back to the predictions.
double fit_and_score(const Matrix& x, const Matrix& y, const Matrix& y_true, float offset) {
  nobias::Network<float> net({x.cols(), 32, 32, 1}, /*seed=*/2, nobias::Init::He);
  nobias::OptimizerConfig config;
  config.kind = nobias::OptimizerKind::Adam;
  config.learning_rate = 3e-3;
  nobias::Optimizer<float> optimizer(config, net);
  nobias::FitOptions options;
  options.epochs = 40;
  options.batch_size = 32;
  options.reduction = nobias::Reduction::Mean;
  nobias::fit(net, optimizer, {x, y}, options);

  const Matrix p = net.predict(x);
  const std::size_t n = y_true.rows();
  double mean = 0, residual = 0, total = 0;
  for (std::size_t i = 0; i < n; ++i)
    mean += y_true(i, 0) / static_cast<double>(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double error = p(i, 0) + offset - y_true(i, 0), spread = y_true(i, 0) - mean;
    residual += error * error;
    total += spread * spread;
  }
  return 1 - residual / total;
}

int main() {
  const std::size_t n = 512;
  Matrix x(n, 2), y(n, 1);
  nobias::NormalGenerator random(/*seed=*/5, /*stream=*/1);
  nobias::fill_normal(x.view(), random);
  for (std::size_t i = 0; i < n; ++i)
    y(i, 0) = 5 + x(i, 0);

  // 1. As it is: the network has to make 5 out of inputs that average 0.
  const double as_is = fit_and_score(x, y, y, 0);

  // 2. Centre the targets on their training mean, add it back to the predictions.
  float mean = 0;
  for (std::size_t i = 0; i < n; ++i)
    mean += y(i, 0) / n;
  Matrix centred(n, 1);
  for (std::size_t i = 0; i < n; ++i)
    centred(i, 0) = y(i, 0) - mean;
  const double with_centring = fit_and_score(x, centred, y, mean);

  // 3. A constant column of ones: its weights act as first-layer biases.
  Matrix x1(n, 3);
  for (std::size_t i = 0; i < n; ++i)
    x1(i, 0) = x(i, 0), x1(i, 1) = x(i, 1), x1(i, 2) = 1;
  const double with_constant = fit_and_score(x1, y, y, 0);

  std::printf("R^2 as it is %.3f, targets centred %.4f, constant column %.4f\n", as_is,
              with_centring, with_constant);
  return as_is < 0.9 && with_centring > 0.99 && with_constant > 0.99 ? 0 : 1;
}
