// MpiCommunicator: the Communicator of an MPI communicator (MPI_COMM_WORLD by default).
// Every wait is bounded: a rank that has died or stalled makes the others throw
// CommunicationError after `timeout` instead of hanging (mpirun usually kills them sooner
// when a rank dies; the timeout covers a rank that hangs, and launchers that do not).
#pragma once

#include <mpi.h>

#include <chrono>
#include <vector>

#include "nobias/mpi/communicator.hpp"

namespace nobias::mpi {

// The timeout when none is given: NOBIAS_MPI_TIMEOUT seconds from the environment, else 300.
std::chrono::duration<double> default_timeout();

class MpiCommunicator final : public Communicator {
 public:
  // MPI must be initialized (MPI_Init) and stay so while this lives.
  explicit MpiCommunicator(MPI_Comm comm = MPI_COMM_WORLD,
                           std::chrono::duration<double> timeout = default_timeout());

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void start_sum(float* data, std::size_t count) override;
  void start_sum(double* data, std::size_t count) override;
  void progress() override;
  void wait_all() override;
  void broadcast(void* data, std::size_t bytes, int root) override;
  void gather_all(const void* mine, void* all, const std::vector<std::size_t>& bytes) override;

 private:
  void start(void* data, std::size_t count, MPI_Datatype type, std::size_t element_bytes);
  void wait(const char* what);  // every pending request, or CommunicationError at the deadline
  void check(int code, const char* what) const;

  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::chrono::duration<double> timeout_;
  std::vector<MPI_Request> pending_;
  std::vector<int> counts_, displacements_;  // reused by gather_all
};

}  // namespace nobias::mpi
