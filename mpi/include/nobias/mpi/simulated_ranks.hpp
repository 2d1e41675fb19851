// P ranks as P threads of one process, for tests: each thread gets a Communicator whose sums
// add the ranks' data in rank order, so that the distributed fit runs unchanged, without
// mpirun, and deterministically. A rank that throws makes the others' collectives throw
// CommunicationError instead of waiting forever, as a dead MPI rank should.
#pragma once

#include <functional>

#include "nobias/mpi/communicator.hpp"

namespace nobias::mpi {

// Runs body(comm) on `ranks` threads, each one rank, and returns when all are done.
// Rethrows the exception of the lowest rank that threw, if any (a CommunicationError caused by
// another rank's failure counts only when no rank failed for a reason of its own).
void run_simulated_ranks(int ranks, const std::function<void(Communicator&)>& body);

}  // namespace nobias::mpi
