// nobias-train: trains a bias-free MLP from the command line, either on the seed's experiment
// (standard normal x and y drawn from --seed) or on .npy data; by full-batch steps (--steps,
// the seed's mode) or by epochs of shuffled mini-batches (--epochs).
//
// Exit status: 0 success, 2 bad usage or bad input (nothing half-written is left behind),
// 3 training diverged (a non-finite loss), 1 an unexpected internal error.
//
// The flags are in train_flags.cpp and train_options.cpp, the inputs in inputs.cpp and
// problem.cpp, the run (shared with nobias-train-mpi) in training.cpp; training policy is
// the library's (nobias::fit).
#include <optional>

#include "cli_common.hpp"
#include "nobias/fit.hpp"
#include "nobias/threads.hpp"
#include "train_options.hpp"
#include "training.hpp"

namespace nobias_tools {
namespace {

template <class T>
int run_typed(const TrainOptions& o) {
  return run_training<T>(o, [](nobias::Network<T>& net, nobias::Optimizer<T>& optimizer,
                               const nobias::FitData<T>& data, const nobias::FitOptions& options) {
    return nobias::fit(net, optimizer, data, options);
  });
}

int run(const TrainOptions& o) {
  apply_threads(o.threads);
  return o.dtype == Dtype::F64 ? run_typed<double>(o) : run_typed<float>(o);
}

}  // namespace
}  // namespace nobias_tools

int main(int argc, char** argv) {
  using namespace nobias_tools;
  return tool_main("nobias-train", argv, [&] {
    std::optional<TrainOptions> options = parse_train_command_line(argc, argv);
    return options ? run(*options) : kExitOk;
  });
}
