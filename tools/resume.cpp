#include "resume.hpp"

#include <string>
#include <utility>

namespace nobias_tools {
namespace {

// The flag that sets each of the library's settings.
const char* flag_of(const std::string& setting) {
  static const std::pair<const char*, const char*> flags[] = {
      {"optimizer", "--optimizer"}, {"learning_rate", "--lr"},          {"momentum", "--momentum"},
      {"nesterov", "--nesterov"},   {"weight_decay", "--weight-decay"}, {"seed", "--seed"},
      {"dtype", "--dtype"},         {"batch_size", "--batch-size"},     {"reduction", "--loss"},
      {"patience", "--patience"}};
  for (const auto& [name, flag] : flags)
    if (setting == name) return flag;
  return nullptr;
}

}  // namespace

UsageError resume_error(const nobias::ResumeMismatch& e, const TrainOptions& o) {
  if (e.setting() == "epochs") {
    return UsageError("the checkpoint in " + o.resume_dir + " has done " + e.then() +
                      " epochs already; ask for more with --epochs");
  }
  if (e.setting() == "steps") {
    const auto tool = [](const std::string& steps) {
      return steps.rfind("mpi", 0) == 0 ? "nobias-train-mpi" : "nobias-train";
    };
    return UsageError("--resume " + o.resume_dir + ": the checkpoint was trained by " +
                      tool(e.then()) + " (" + e.then() + " steps) and this run takes " + e.now() +
                      " steps, which would not continue it bit for bit; resume it with " +
                      tool(e.then()) + (e.then().rfind("mpi", 0) == 0 ? " in the same mode" : ""));
  }
  if (e.setting() == "data") {
    return UsageError("--resume " + o.resume_dir + ": the checkpoint was trained on other data (" +
                      e.now() + "); resume with the data of the first run");
  }
  if (e.setting() == "shuffle") {
    return UsageError(std::string("--no-shuffle is ") + (e.now() == "off" ? "given" : "not given") +
                      " but the checkpoint in " + o.resume_dir + " was trained with" +
                      (e.then() == "on" ? " shuffled batches" : " --no-shuffle") +
                      "; resume with the flags of the first run");
  }
  const char* flag = flag_of(e.setting());
  return UsageError(std::string(flag != nullptr ? flag : e.setting().c_str()) + " is " + e.now() +
                    " but the checkpoint in " + o.resume_dir + " was trained with " + e.then() +
                    "; resume with the flags of the first run");
}

template <class T>
void resume_or_explain(const nobias::Checkpoint<T>& checkpoint, nobias::Optimizer<T>& optimizer,
                       nobias::FitOptions& options, const TrainOptions& o) {
  try {
    nobias::resume(checkpoint, optimizer, options);
  } catch (const nobias::ResumeMismatch& e) {
    throw resume_error(e, o);
  }
}

template void resume_or_explain<float>(const nobias::Checkpoint<float>&, nobias::Optimizer<float>&,
                                       nobias::FitOptions&, const TrainOptions&);
template void resume_or_explain<double>(const nobias::Checkpoint<double>&,
                                        nobias::Optimizer<double>&, nobias::FitOptions&,
                                        const TrainOptions&);

}  // namespace nobias_tools
