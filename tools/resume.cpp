#include "resume.hpp"

#include "nobias/names.hpp"

#include <optional>
#include <sstream>
#include <string>
#include <utility>

namespace nobias_tools {
namespace {

// How files were prepared, as a checkpoint's data source records it: fit_options
// (training.cpp) writes "prepared: --validation-fraction F --standardize", leaving out what is
// not used, and nothing when neither is.
struct Preparation {
  std::string fraction;  // "" when no fraction was held out
  bool standardize = false;
  std::string rest;  // anything else it records ("with the statistics of --weights-in W")
};

// nullopt for a source that is not a preparation of files (generated data).
std::optional<Preparation> preparation_of(const std::string& source) {
  Preparation p;
  if (source.empty()) return p;
  const std::string prefix = "prepared:";
  if (source.rfind(prefix, 0) != 0) return std::nullopt;
  std::istringstream words(source.substr(prefix.size()));
  for (std::string word; words >> word;) {
    if (word == "--validation-fraction" && p.fraction.empty() && words >> p.fraction) continue;
    if (word == "--standardize") {
      p.standardize = true;
      continue;
    }
    p.rest += " " + word;
  }
  return p;
}

// The same files split or standardized otherwise: the data differ because a flag does, which
// is what a user must hear (not "other data").
std::optional<UsageError> preparation_error(const std::string& now_source,
                                            const std::string& then_source, const TrainOptions& o) {
  const std::optional<Preparation> now = preparation_of(now_source);
  const std::optional<Preparation> then = preparation_of(then_source);
  if (!now || !then) return std::nullopt;
  const std::string tail = "; resume with the flags of the first run";
  if (now->fraction != then->fraction) {
    return UsageError("--validation-fraction is " +
                      (now->fraction.empty() ? "none (no rows held out)" : now->fraction) +
                      " but the checkpoint in " + o.resume_dir + " was trained " +
                      (then->fraction.empty() ? "without it" : "with " + then->fraction) + tail);
  }
  if (now->standardize != then->standardize) {
    return UsageError(std::string("standardization is ") +
                      (now->standardize ? "on" : "off (--no-standardize)") +
                      " but the checkpoint in " + o.resume_dir + " was trained " +
                      (then->standardize ? "with" : "without") + " it" + tail);
  }
  return std::nullopt;
}

// How a run took its steps, from the seam's name of them (StepSeam::steps(): "local",
// "mpi deterministic", "mpi fast on 3 ranks"), in the command line's words.
struct Steps {
  std::string tool;       // "nobias-train" or "nobias-train-mpi"
  std::string mode;       // "deterministic" or "fast" for nobias-train-mpi, else ""
  std::size_t ranks = 0;  // fast mode's rank count
  std::string described;  // "nobias-train-mpi --mpi-mode fast on 1 rank"
};

Steps steps_of(const std::string& steps) {
  Steps s;
  if (steps.rfind("mpi", 0) != 0) {
    s.tool = "nobias-train";
    s.described = "nobias-train (" + steps + " steps)";
    return s;
  }
  s.tool = "nobias-train-mpi";
  const std::string fast = "mpi fast on ";
  if (steps == "mpi deterministic") {
    s.mode = "deterministic";
    s.described = s.tool + " --mpi-mode deterministic";
  } else if (steps.rfind(fast, 0) == 0) {
    std::istringstream words(steps.substr(fast.size()));
    words >> s.ranks;
    s.mode = "fast";
    s.described = s.tool + " --mpi-mode fast on " + nobias::counted(s.ranks, "rank");
  } else {
    s.described = s.tool + " (" + steps + " steps)";
  }
  return s;
}

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
    const Steps then = steps_of(e.then()), now = steps_of(e.now());
    std::string advice = then.tool;
    if (then.mode == "deterministic") {
      advice += " --mpi-mode deterministic, on any number of ranks";
    } else if (then.mode == "fast") {
      // Fast mode sums the gradients in an order set by the rank count, deterministic mode in
      // one set by the batch: only the latter continues on another number of ranks.
      advice += " --mpi-mode fast on the same number of ranks (mpirun -np " +
                std::to_string(then.ranks) + "): fast mode's sums depend on it";
    }
    return UsageError("--resume " + o.resume_dir + ": the checkpoint was trained by " +
                      then.described + " and this run is " + now.described +
                      ", which would not continue it bit for bit; resume it with " + advice);
  }
  if (e.setting() == "data") {
    return UsageError("--resume " + o.resume_dir + ": the checkpoint was trained on other data (" +
                      e.now() + "); resume with the data of the first run");
  }
  if (e.setting() == "validation") {
    return UsageError("--resume " + o.resume_dir +
                      ": the checkpoint was validated on other data (" + e.now() +
                      "); resume with the validation data of the first run");
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
  // The driver would find the sources different and blame the data, or blame a setting that
  // follows from the split (patience, with no rows held out); said here by flag, first.
  const std::string& then = checkpoint.data.source;
  if (checkpoint.data.recorded() && then != options.checkpoint.data_source) {
    if (auto error = preparation_error(options.checkpoint.data_source, then, o)) throw *error;
  }
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
