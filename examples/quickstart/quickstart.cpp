// Trains a classifier on train.csv (its "class" column), scores it on test.csv, saves it.
#include <nobias/nobias.hpp>

#include <cstdio>

int main() {
  const nobias::CsvTable train = nobias::read_csv("train.csv"), test = nobias::read_csv("test.csv");
  const std::size_t target = nobias::find_column(train, "class");
  const std::vector<std::size_t> inputs = nobias::columns_except(train, {target});
  nobias::Matrix<float> x = nobias::numeric_matrix<float>(train, inputs);
  const nobias::CsvLabels labels = nobias::class_labels(train, target);  // names -> 0, 1, ...
  const nobias::Matrix<float> y = nobias::one_hot<float>(labels.labels);

  // A bias-free network needs centred inputs: standardize with the training rows' statistics.
  const nobias::Standardization s = nobias::fit_standardization<float>(x);
  nobias::standardize_x(s, x.view());
  nobias::Network<float> net({x.cols(), 100, 100, y.cols()}, /*seed=*/0, nobias::Init::HalfGlorot);
  nobias::OptimizerConfig adam;
  adam.kind = nobias::OptimizerKind::Adam;
  adam.learning_rate = 1e-3;
  nobias::Optimizer<float> optimizer(adam, net);
  nobias::FitOptions options;
  options.epochs = 100;
  options.batch_size = 32;
  options.reduction = nobias::Reduction::Mean;
  nobias::fit(net, optimizer, {x, y}, options);

  // Scores for the test rows (standardized with the training statistics), then their classes.
  const nobias::Matrix<float> x_test = nobias::numeric_matrix<float>(test, inputs);
  const std::vector<std::int64_t> predicted =
      nobias::argmax_rows<float>(nobias::predict_with<float>(net, s, x_test));
  const std::vector<std::string>& truth = test.columns[nobias::find_column(test, "class")].texts;
  std::size_t right = 0;
  for (std::size_t i = 0; i < predicted.size(); ++i)
    right += labels.classes[static_cast<std::size_t>(predicted[i])] == truth[i];
  std::printf("test accuracy %zu/%zu\n", right, predicted.size());

  nobias::ModelInfo info;  // nobias-predict --weights cpp-model reads it
  info.classes = labels.classes.size();
  info.class_names = labels.classes;
  info.standardization = s;
  nobias::save_model("cpp-model", net, info);
  return right * 5 >= predicted.size() * 4 ? 0 : 1;  // fails below 80%
}
