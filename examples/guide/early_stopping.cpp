// Validation and early stopping, keeping the best epoch's weights.
#include <nobias/nobias.hpp>

#include <cmath>
#include <cstdio>

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
  options.epochs = 300;  // an upper bound: early stopping stops sooner
  options.batch_size = 16;
  options.reduction = nobias::Reduction::Mean;
  // After every epoch fit() measures the validation loss; it stops when that has not fallen
  // by more than the tolerance for `patience` epochs, and puts the best epoch's weights back.
  options.early_stopping.patience = 10;
  options.early_stopping.tolerance = 0.0;
  // A hook sees every epoch (and early stopping's account of it); returning false would stop.
  options.on_epoch = [](const nobias::EpochReport& report) {
    if (report.stops) std::printf("epoch %zu: no gain for 10 epochs\n", report.epoch);
    return true;
  };
  const nobias::FitResult result =
      nobias::fit(net, optimizer, {train_x, train_y, val_x, val_y}, options);
  const nobias::EpochReport& last = result.epochs.back();

  std::printf("stopped after epoch %zu of %zu; best validation loss %.4f at epoch %zu\n",
              last.epoch, options.epochs, last.best_validation_loss, result.kept_epoch);
  // The noise alone has a mean squared error of about 0.01: the fit should come close.
  const double check = net.loss(val_x, val_y, nobias::Reduction::Mean);
  return result.stopped_early && check == last.best_validation_loss && check < 0.03 ? 0 : 1;
}
