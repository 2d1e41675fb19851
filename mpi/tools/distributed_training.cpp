#include "distributed_training.hpp"

#include <functional>
#include <string>

#include "cli_common.hpp"
#include "training.hpp"

namespace nobias_tools {
namespace {

// agreed() for the tool's code, whose usage errors are not nobias::Errors: they travel as
// ValueErrors (exit 2 all the same).
template <class Body>
void agreed_tool(nobias::mpi::Communicator& comm, const Body& body) {
  nobias::mpi::agreed(comm, [&] {
    try {
      body();
    } catch (const UsageError& e) {
      throw nobias::ValueError(e.what());
    }
  });
}

template <class T>
int run_typed(nobias::mpi::Communicator& comm, const TrainOptions& o, nobias::mpi::Mode mode) {
  RunPlace place;
  place.reports = comm.rank() == 0;  // rank 0 alone prints and writes
  place.agreed = [&](const std::function<void()>& body) { agreed_tool(comm, body); };
  place.program = "nobias-train-mpi";
  place.on = " on " + std::to_string(comm.size()) + (comm.size() == 1 ? " rank" : " ranks");
  nobias::mpi::DistributedOptions distributed;
  distributed.mode = mode;
  return run_training<T>(
      o,
      [&](nobias::Network<T>& net, nobias::Optimizer<T>& optimizer, const nobias::FitData<T>& data,
          const nobias::FitOptions& options) {
        return nobias::mpi::distributed_fit<T>(comm, net, optimizer, data, options, distributed);
      },
      place);
}

}  // namespace

int run_distributed(nobias::mpi::Communicator& comm, const TrainOptions& o,
                    nobias::mpi::Mode mode) {
  return o.dtype == Dtype::F64 ? run_typed<double>(comm, o, mode) : run_typed<float>(comm, o, mode);
}

}  // namespace nobias_tools
