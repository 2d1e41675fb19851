#include "nobias/mpi/mpi_communicator.hpp"

#include <climits>
#include <cstdlib>
#include <string>
#include <thread>

namespace nobias::mpi {

std::chrono::duration<double> default_timeout() {
  if (const char* text = std::getenv("NOBIAS_MPI_TIMEOUT")) {
    char* end = nullptr;
    const double seconds = std::strtod(text, &end);
    if (end != text && *end == '\0' && seconds > 0) return std::chrono::duration<double>(seconds);
    throw ValueError(std::string("NOBIAS_MPI_TIMEOUT must be a number of seconds > 0, got '") +
                     text + "'");
  }
  return std::chrono::duration<double>(300.0);
}

MpiCommunicator::MpiCommunicator(MPI_Comm comm, std::chrono::duration<double> timeout)
    : comm_(comm), timeout_(timeout) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) throw ValueError("MpiCommunicator: MPI_Init has not been called");
  // Errors come back as codes and become exceptions, instead of MPI aborting the job unnamed.
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

void MpiCommunicator::check(int code, const char* what) const {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw CommunicationError("rank " + std::to_string(rank_) + ": " + what +
                           " failed: " + std::string(text, static_cast<std::size_t>(length)));
}

void MpiCommunicator::start(void* data, std::size_t count, MPI_Datatype type,
                            std::size_t element_bytes) {
  auto* bytes = static_cast<char*>(data);
  while (count > 0) {  // MPI counts are int
    const int chunk = static_cast<int>(std::min<std::size_t>(count, INT_MAX));
    pending_.emplace_back();
    check(MPI_Iallreduce(MPI_IN_PLACE, bytes, chunk, type, MPI_SUM, comm_, &pending_.back()),
          "MPI_Iallreduce");
    bytes += static_cast<std::size_t>(chunk) * element_bytes;
    count -= static_cast<std::size_t>(chunk);
  }
}

void MpiCommunicator::start_sum(float* data, std::size_t count) {
  start(data, count, MPI_FLOAT, sizeof(float));
}
void MpiCommunicator::start_sum(double* data, std::size_t count) {
  start(data, count, MPI_DOUBLE, sizeof(double));
}

void MpiCommunicator::progress() {
  if (pending_.empty()) return;
  int done = 0;
  check(MPI_Testall(static_cast<int>(pending_.size()), pending_.data(), &done, MPI_STATUSES_IGNORE),
        "MPI_Testall");
  if (done) pending_.clear();
}

void MpiCommunicator::wait(const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  std::size_t polls = 0;
  while (!pending_.empty()) {
    progress();
    if (pending_.empty()) break;
    // Yield: with more ranks than cores the rank we wait for may need this core.
    std::this_thread::yield();
    if (++polls % 64 == 0 && std::chrono::steady_clock::now() > deadline) {
      throw CommunicationError("rank " + std::to_string(rank_) + " of " + std::to_string(size_) +
                               ": waited " + std::to_string(static_cast<int>(timeout_.count())) +
                               " s for the other ranks in " + what +
                               "; a rank has died or stalled (NOBIAS_MPI_TIMEOUT sets the limit)");
    }
  }
}

void MpiCommunicator::wait_all() {
  wait("a sum (MPI_Iallreduce)");
}

void MpiCommunicator::broadcast(void* data, std::size_t bytes, int root) {
  auto* p = static_cast<char*>(data);
  while (bytes > 0) {
    const int chunk = static_cast<int>(std::min<std::size_t>(bytes, INT_MAX));
    pending_.emplace_back();
    check(MPI_Ibcast(p, chunk, MPI_BYTE, root, comm_, &pending_.back()), "MPI_Ibcast");
    p += chunk;
    bytes -= static_cast<std::size_t>(chunk);
  }
  wait("a broadcast (MPI_Ibcast)");
}

void MpiCommunicator::gather_all(const void* mine, void* all,
                                 const std::vector<std::size_t>& bytes) {
  if (bytes.size() != static_cast<std::size_t>(size_)) {
    throw ValueError("gather_all: expected " + std::to_string(size_) + " byte counts, got " +
                     std::to_string(bytes.size()));
  }
  counts_.resize(bytes.size());
  displacements_.resize(bytes.size());
  std::size_t offset = 0;
  for (std::size_t r = 0; r < bytes.size(); ++r) {
    if (bytes[r] > INT_MAX || offset > INT_MAX) {
      throw ValueError("gather_all: more than 2^31 bytes; MPI counts are int");
    }
    counts_[r] = static_cast<int>(bytes[r]);
    displacements_[r] = static_cast<int>(offset);
    offset += bytes[r];
  }
  pending_.emplace_back();
  check(MPI_Iallgatherv(mine, counts_[static_cast<std::size_t>(rank_)], MPI_BYTE, all,
                        counts_.data(), displacements_.data(), MPI_BYTE, comm_, &pending_.back()),
        "MPI_Iallgatherv");
  wait("an all-gather (MPI_Iallgatherv)");
}

}  // namespace nobias::mpi
