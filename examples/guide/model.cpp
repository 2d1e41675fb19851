// A model directory: train on standardized data, save the network with its statistics, load
// it elsewhere and predict in the data's own units.
#include <nobias/nobias.hpp>

#include <cstdio>
#include <cstring>

int main() {
  // y = 100 + 3 x0 - 0.02 x1: an offset, and columns on very different scales.
  const std::size_t n = 500;
  nobias::Matrix<float> x(n, 2), y(n, 1);
  nobias::NormalGenerator random(/*seed=*/4, /*stream=*/1);
  nobias::fill_normal(x.view(), random);
  for (std::size_t i = 0; i < n; ++i) {
    x(i, 1) = 200 + 50 * x(i, 1);
    y(i, 0) = 100 + 3 * x(i, 0) - 0.02f * x(i, 1);
  }

  // The training rows' mean and scale per column; the network trains on standardized copies
  // and stays bias-free (the offset is in the statistics).
  const nobias::Standardization s = nobias::fit_standardization<float>(x, y);
  nobias::Matrix<float> x_train = x, y_train = y;
  nobias::standardize_x(s, x_train.view());
  nobias::standardize_y(s, y_train.view());

  nobias::Network<float> net({2, 32, 1}, /*seed=*/1, nobias::Init::He);
  nobias::OptimizerConfig config;
  config.kind = nobias::OptimizerKind::Adam;
  config.learning_rate = 3e-3;
  nobias::Optimizer<float> optimizer(config, net);
  nobias::FitOptions options;
  options.epochs = 60;
  options.batch_size = 32;
  options.reduction = nobias::Reduction::Mean;
  nobias::fit(net, optimizer, {x_train, y_train}, options);

  // model/ (created if missing): w1.npy, w2.npy, model.json, x_mean.npy, x_scale.npy, ...
  nobias::ModelInfo info;
  info.standardization = s;
  info.settings["optimizer"] = "adam";
  info.settings["epochs"] = "60";
  nobias::save_model("model", net, info);

  // Elsewhere: load_model checks the directory against its metadata, and Model::predict takes
  // and returns the data's own units (x standardized, y's standardization undone).
  const nobias::Model<float> model = nobias::load_model<float>("model");
  const nobias::Matrix<float> p = model.predict(x);
  const nobias::Metrics m = nobias::evaluate<float>(p, y, /*with_accuracy=*/false);
  std::printf("%zu-%zu-%zu network; R^2 %.5f, mean absolute error %.4f\n", model.info.widths[0],
              model.info.widths[1], model.info.widths[2], m.r2, m.mae);

  // The reloaded model predicts bit for bit what the trained network did.
  const nobias::Matrix<float> before = nobias::predict_with<float>(net, s, x);
  const bool same = std::memcmp(before.data(), p.data(), p.size() * sizeof(float)) == 0;
  return same && m.r2 > 0.999 ? 0 : 1;
}
