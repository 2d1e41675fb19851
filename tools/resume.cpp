#include "resume.hpp"

#include <string>

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
    differ("--lr", format_g(given.learning_rate), format_g(saved.learning_rate));
  }
  if (given.weight_decay != saved.weight_decay) {
    differ("--weight-decay", format_g(given.weight_decay), format_g(saved.weight_decay));
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

template void check_resume_matches<float>(const TrainOptions&, const nobias::Checkpoint<float>&);
template void check_resume_matches<double>(const TrainOptions&, const nobias::Checkpoint<double>&);

}  // namespace nobias_tools
