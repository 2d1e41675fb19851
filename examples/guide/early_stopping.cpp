// Validation and a callback that stops early, keeping the best weights seen.
#include <nobias/nobias.hpp>

#include <cmath>
#include <cstdio>
#include <limits>

int main() {
  // 400 rows: y = |x0| - x1 plus noise; the first 300 train, the last 100 validate.
  const std::size_t n = 400;
  nobias::Matrix<double> x(n, 2), y(n, 1), noise(n, 1);
  nobias::NormalGenerator random(/*seed=*/7, /*stream=*/1);
  nobias::fill_normal(x.view(), random);
  nobias::fill_normal(noise.view(), random, /*scale=*/0.1);
  for (std::size_t i = 0; i < n; ++i)
    y(i, 0) = std::abs(x(i, 0)) - x(i, 1) + noise(i, 0);
  // Views of blocks of rows: nothing is copied.
  const auto train_x = x.row_block(0, 300), train_y = y.row_block(0, 300);
  const auto val_x = x.row_block(300, 100), val_y = y.row_block(300, 100);

  nobias::Network<double> net({2, 64, 64, 1}, /*seed=*/3, nobias::Init::He);
  nobias::OptimizerConfig config;
  config.kind = nobias::OptimizerKind::Adam;
  config.learning_rate = 3e-3;
  nobias::Optimizer<double> optimizer(config, net);

  nobias::FitOptions options;
  options.epochs = 300;  // an upper bound: the callback stops sooner
  options.batch_size = 16;
  options.reduction = nobias::Reduction::Mean;

  // Called after every epoch with the validation loss of the weights after it; returning
  // false stops training. Stop when it has not improved for `patience` epochs.
  const std::size_t patience = 10;
  double best_loss = std::numeric_limits<double>::infinity();
  std::size_t best_epoch = 0;
  nobias::Network<double> best = net;  // a copy: weights of its own
  auto keep_best = [&](const nobias::EpochReport& report) {
    if (report.validation_loss < best_loss) {
      best_loss = report.validation_loss;
      best_epoch = report.epoch;
      best = net;
    }
    return report.epoch < best_epoch + patience;
  };
  const auto reports =
      nobias::fit(net, optimizer, train_x, train_y, options, keep_best, val_x, val_y);
  net = best;  // back to the best epoch's weights

  std::printf("stopped after epoch %zu of %zu; best validation loss %.4f at epoch %zu\n",
              reports.back().epoch, options.epochs, best_loss, best_epoch);
  // The noise alone has a mean squared error of about 0.01: the fit should come close.
  const double check = net.loss(val_x, val_y, nobias::Reduction::Mean);
  return reports.size() < options.epochs && check == best_loss && best_loss < 0.03 ? 0 : 1;
}
