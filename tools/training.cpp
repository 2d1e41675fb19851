#include "training.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

#include "nobias/checkpoint.hpp"
#include "nobias/names.hpp"
#include "nobias/train.hpp"
#include "progress.hpp"
#include "resume.hpp"

namespace nobias_tools {

template <class T>
nobias::DivergenceError divergence(nobias::Network<T>& net, nobias::MatrixView<const T> x,
                                   nobias::MatrixView<const T> y, const std::string& when,
                                   const TrainOptions& o) {
  std::string loss = "not finite";
  try {
    // The weights are those before the failed step, so this is the loss that step saw.
    loss = "loss is " + nobias::format_number(net.loss(x, y, o.reduction));
  } catch (const nobias::Error&) {
  }
  return nobias::DivergenceError("training diverged " + when + ": " + loss +
                                 "; try a smaller --lr (was " + nobias::format_number(o.lr) + ")");
}

template <class T>
RunSummary train_steps(nobias::Network<T>& net, nobias::Optimizer<T>& optimizer,
                       const Data<T>& data, const TrainOptions& o, std::vector<double>* losses) {
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t step = 1; step <= o.steps; ++step) {
    double loss = 0.0;
    try {
      loss = optimizer.step(net, data.x, data.y, o.reduction);
    } catch (const nobias::DivergenceError& e) {
      // The library's message says what went wrong (the loss, or which hidden layer
      // overflowed); recomputing a loss here would hide it. Its advice names the flag here.
      std::string what = e.what();
      const std::string advice = "try a smaller learning rate";
      const std::string flag_advice =
          "try a smaller --lr (was " + nobias::format_number(o.lr) + ")";
      const std::size_t at = what.find(advice);
      what = at == std::string::npos ? what + "; " + flag_advice
                                     : what.replace(at, advice.size(), flag_advice);
      throw nobias::DivergenceError("training diverged at step " + std::to_string(step) + ": " +
                                    what);
    }
    if (losses != nullptr) losses->push_back(loss);
    // Step 1 too: the first loss is what the rest is measured against.
    if (!o.quiet && (step == 1 || step % o.log_every == 0)) {
      std::printf("step %zu/%zu loss %.3e\n", step, o.steps, loss);
    }
  }
  return {o.steps, seconds_since(start), "(" + std::to_string(o.steps) + ")"};
}

namespace {

// The epoch's last update may have blown the weights up: such a state must not replace a
// good checkpoint.
template <class T>
void require_finite_weights(const nobias::Network<T>& net, std::size_t epoch) {
  for (std::size_t k = 0; k < net.layers(); ++k) {
    for (std::size_t i = 0; i < net.weight(k).size(); ++i) {
      if (!std::isfinite(net.weight(k).data()[i])) {
        throw nobias::DivergenceError("epoch " + std::to_string(epoch) +
                                      ": the weights are no longer finite");
      }
    }
  }
}

}  // namespace

template <class T>
RunSummary train_epochs(nobias::Network<T>& net, nobias::Optimizer<T>& optimizer,
                        const Data<T>& data, const std::optional<Data<T>>& validation,
                        const TrainOptions& o, std::size_t first_epoch, std::vector<double>* losses,
                        EpochMonitor<T>& monitor) {
  const std::size_t rows = data.x.rows();
  // Hashed once: every checkpoint records what it was trained on, for --resume to check.
  const nobias::DataFingerprint fingerprint =
      o.checkpoint_dir.empty() ? nobias::DataFingerprint{}
                               : training_data_fingerprint<T>(o, data.x.view(), data.y.view());
  ProgressBar bar(!o.quiet && ::isatty(STDOUT_FILENO) == 1);
  RunSummary summary;
  const auto on_step = [&](const nobias::StepReport& step) {
    if (step.step == 1) bar.start_epoch(step.epoch, o.epochs, rows);
    ++summary.steps;
    summary.last_step =
        "(epoch " + std::to_string(step.epoch) + ", step " + std::to_string(step.step) + ")";
    if (losses != nullptr) losses->push_back(step.loss);
    bar.update(step.rows_done, step.loss);
  };
  const auto on_epoch = [&](const nobias::EpochReport& epoch) {
    bar.clear();
    if (!o.checkpoint_dir.empty() &&
        (epoch.epoch % o.checkpoint_every == 0 || epoch.epoch == o.epochs)) {
      require_finite_weights(net, epoch.epoch);
      nobias::save_checkpoint<T>(o.checkpoint_dir, net, optimizer,
                                 {epoch.epoch, o.seed, o.batch_size, o.shuffle, o.reduction},
                                 fingerprint);
    }
    return monitor.epoch_done(epoch);
  };
  nobias::FitOptions options;
  options.epochs = o.epochs;
  options.batch_size = o.batch_size;
  options.shuffle = o.shuffle;
  options.seed = o.seed;
  options.reduction = o.reduction;
  options.first_epoch = first_epoch;
  monitor.start();
  const auto start = std::chrono::steady_clock::now();
  try {
    nobias::fit<T>(net, optimizer, data.x, data.y, options, on_epoch,
                   validation ? validation->x.view() : nobias::MatrixView<const T>(),
                   validation ? validation->y.view() : nobias::MatrixView<const T>(), on_step);
  } catch (const nobias::DivergenceError& e) {
    bar.clear();
    throw nobias::DivergenceError(std::string("training diverged: ") + e.what() + " (--lr was " +
                                  format_g(o.lr) + ")");
  }
  summary.seconds = seconds_since(start);
  return summary;
}

#define NOBIAS_TOOLS_TRAINING(T)                                                                   \
  template nobias::DivergenceError divergence<T>(nobias::Network<T>&, nobias::MatrixView<const T>, \
                                                 nobias::MatrixView<const T>, const std::string&,  \
                                                 const TrainOptions&);                             \
  template RunSummary train_steps<T>(nobias::Network<T>&, nobias::Optimizer<T>&, const Data<T>&,   \
                                     const TrainOptions&, std::vector<double>*);                   \
  template RunSummary train_epochs<T>(nobias::Network<T>&, nobias::Optimizer<T>&, const Data<T>&,  \
                                      const std::optional<Data<T>>&, const TrainOptions&,          \
                                      std::size_t, std::vector<double>*, EpochMonitor<T>&);
NOBIAS_TOOLS_TRAINING(float)
NOBIAS_TOOLS_TRAINING(double)
#undef NOBIAS_TOOLS_TRAINING

}  // namespace nobias_tools
