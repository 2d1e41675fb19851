#include "resume.hpp"

#include <string>

#include "nobias/names.hpp"

namespace nobias_tools {

template <class T>
void check_resume_matches(const TrainOptions& o, const nobias::Checkpoint<T>& checkpoint) {
  const nobias::OptimizerConfig& given = o.optimizer;
  const nobias::OptimizerConfig& saved = checkpoint.optimizer;
  const nobias::TrainingProgress& run = checkpoint.progress;
  const auto differ = [&](const char* flag, const std::string& now, const std::string& then) {
    throw UsageError(std::string(flag) + " is " + now + " but the checkpoint in " + o.resume_dir +
                     " was trained with " + then + "; resume with the flags of the first run");
  };
  if (given.kind != saved.kind) differ("--optimizer", "different", "another optimizer");
  if (given.learning_rate != saved.learning_rate) {
    differ("--lr", nobias::format_number(given.learning_rate),
           nobias::format_number(saved.learning_rate));
  }
  if (given.weight_decay != saved.weight_decay) {
    differ("--weight-decay", nobias::format_number(given.weight_decay),
           nobias::format_number(saved.weight_decay));
  }
  if (saved.kind == nobias::OptimizerKind::Momentum &&
      (given.momentum != saved.momentum || given.nesterov != saved.nesterov)) {
    differ("--momentum/--nesterov", "different", "other values");
  }
  if (o.seed != run.seed) differ("--seed", std::to_string(o.seed), std::to_string(run.seed));
  const std::string dtype = dtype_name(o.dtype);
  if (dtype != checkpoint.dtype) differ("--dtype", dtype, checkpoint.dtype);
  if (o.batch_size != run.batch_size) {
    differ("--batch-size", std::to_string(o.batch_size), std::to_string(run.batch_size));
  }
  if (o.shuffle != run.shuffle) differ("--no-shuffle", "different", "the other setting");
  if (o.reduction != run.reduction) differ("--loss", "different", "the other reduction");
}

template <class T>
nobias::DataFingerprint training_data_fingerprint(const TrainOptions& o,
                                                  nobias::MatrixView<const T> x,
                                                  nobias::MatrixView<const T> y) {
  const std::string source = o.x_path.empty() ? "generated: --rows " + std::to_string(o.rows) +
                                                    " --seed " + std::to_string(o.seed)
                                              : "";
  return nobias::fingerprint_data<T>(x, y, source);
}

template <class T>
void check_resume_data(const TrainOptions& o, const nobias::Checkpoint<T>& checkpoint,
                       nobias::MatrixView<const T> x, nobias::MatrixView<const T> y) {
  const std::string difference =
      nobias::data_difference(checkpoint.data, training_data_fingerprint<T>(o, x, y));
  if (!difference.empty()) {
    throw UsageError("--resume " + o.resume_dir + ": the checkpoint was trained on other data (" +
                     difference + "); resume with the data of the first run");
  }
}

template void check_resume_matches<float>(const TrainOptions&, const nobias::Checkpoint<float>&);
template void check_resume_matches<double>(const TrainOptions&, const nobias::Checkpoint<double>&);
template nobias::DataFingerprint training_data_fingerprint<float>(const TrainOptions&,
                                                                  nobias::MatrixView<const float>,
                                                                  nobias::MatrixView<const float>);
template nobias::DataFingerprint training_data_fingerprint<double>(
    const TrainOptions&, nobias::MatrixView<const double>, nobias::MatrixView<const double>);
template void check_resume_data<float>(const TrainOptions&, const nobias::Checkpoint<float>&,
                                       nobias::MatrixView<const float>,
                                       nobias::MatrixView<const float>);
template void check_resume_data<double>(const TrainOptions&, const nobias::Checkpoint<double>&,
                                        nobias::MatrixView<const double>,
                                        nobias::MatrixView<const double>);

}  // namespace nobias_tools
