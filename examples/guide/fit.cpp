// A regression on your own arrays: copy them into matrices, fit() with Adam, predict new rows.
#include <nobias/nobias.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  // Your data, row by row: here 600 rows of 3 features and 1 target, made up for the example.
  const std::size_t n = 600, d_in = 3;
  std::vector<float> features, targets;
  for (std::size_t i = 0; i < n; ++i) {
    const float t = static_cast<float>(i);
    const float a = std::sin(0.37f * t), b = std::cos(0.11f * t), c = std::sin(0.05f * t + 1);
    features.insert(features.end(), {a, b, c});
    targets.push_back(2 * a - b + std::abs(c));  // no constant term: see "Offsets" below
  }

  // Matrix<T>(rows, cols) is row-major and starts at zero; copy the rows in.
  nobias::Matrix<float> x(n, d_in), y(n, 1);
  std::copy(features.begin(), features.end(), x.data());
  std::copy(targets.begin(), targets.end(), y.data());

  // Widths {d_in, hidden..., d_out}. He initialization keeps ReLU layers alive on real data.
  nobias::Network<float> net({d_in, 32, 32, 1}, /*seed=*/1, nobias::Init::He);

  nobias::OptimizerConfig adam;
  adam.kind = nobias::OptimizerKind::Adam;
  adam.learning_rate = 1e-3;
  nobias::Optimizer<float> optimizer(adam, net);

  nobias::FitOptions options;
  options.epochs = 60;
  options.batch_size = 32;                      // shuffled mini-batches, a new order every epoch
  options.reduction = nobias::Reduction::Mean;  // mean squared error: lr independent of the batch
  const std::vector<nobias::EpochReport> reports =
      nobias::fit(net, optimizer, {x, y}, options).epochs;
  std::printf("training loss: epoch 1 %.4f, epoch %zu %.5f\n", reports.front().train_loss,
              reports.back().epoch, reports.back().train_loss);

  // Predictions for new rows: (rows, d_in) -> (rows, d_out).
  nobias::Matrix<float> x_new(2, d_in);
  x_new(0, 0) = 0.5f, x_new(0, 1) = -0.25f, x_new(0, 2) = 0.75f;  // target 2.0
  x_new(1, 0) = -0.5f, x_new(1, 1) = 0.5f, x_new(1, 2) = -1.0f;   // target -0.5
  const nobias::Matrix<float> y_new = net.predict(x_new);
  std::printf("predicted %.3f (want 2.0) and %.3f (want -0.5)\n", y_new(0, 0), y_new(1, 0));

  const bool learned = reports.back().train_loss < 0.01 && std::abs(y_new(0, 0) - 2.0f) < 0.2f &&
                       std::abs(y_new(1, 0) + 0.5f) < 0.2f;
  return learned ? 0 : 1;
}
