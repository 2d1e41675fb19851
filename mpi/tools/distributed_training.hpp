// nobias-train's run, data-parallel: the same inputs, checks, modes and outputs, with the
// training done by nobias::mpi::distributed_fit and the writing done by rank 0.
#pragma once

#include "nobias/mpi/distributed_fit.hpp"
#include "train_options.hpp"

namespace nobias_tools {

// Returns the exit code. A failure on any rank is thrown on every rank, alike.
int run_distributed(nobias::mpi::Communicator& comm, const TrainOptions& o, nobias::mpi::Mode mode);

}  // namespace nobias_tools
