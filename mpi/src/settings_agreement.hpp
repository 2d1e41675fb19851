// Before training, every rank checks that it was given the same data and options as rank 0,
// so that a difference is an error naming the setting, not a silent mix of runs.
#pragma once

#include "nobias/mpi/distributed_fit.hpp"

namespace nobias::mpi::detail {

// Collective: ValueError on every rank naming the first setting (or data) that differs from
// rank 0's, with both values as the user gave them.
template <class T>
void check_same_everywhere(Communicator& comm, const Network<T>& net, const Optimizer<T>& optimizer,
                           const FitData<T>& data, const FitOptions& options,
                           const DistributedOptions& distributed);

extern template void check_same_everywhere<float>(Communicator&, const Network<float>&,
                                                  const Optimizer<float>&, const FitData<float>&,
                                                  const FitOptions&, const DistributedOptions&);
extern template void check_same_everywhere<double>(Communicator&, const Network<double>&,
                                                   const Optimizer<double>&, const FitData<double>&,
                                                   const FitOptions&, const DistributedOptions&);

}  // namespace nobias::mpi::detail
