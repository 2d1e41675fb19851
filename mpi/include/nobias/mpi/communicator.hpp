// Communicator: everything the distributed fit needs from the ranks it runs on, and nothing
// more: sums of gradients and losses, a broadcast, an all-gather. MpiCommunicator
// (mpi_communicator.hpp) moves the bytes with MPI; LocalCommunicator is one rank alone and
// simulated_ranks.hpp runs P ranks as threads of one process, so that the same training code
// runs in unit tests without mpirun.
//
// Every rank calls the same operations in the same order (MPI's rule for collectives).
// A sum gives every rank the same bits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nobias/error.hpp"

namespace nobias::mpi {

// The other ranks cannot be reached: one has died or stalled past the timeout, or the
// transport failed. The communicator is unusable afterwards (an MPI program should call
// MPI_Abort: the other ranks may be waiting inside a collective).
class CommunicationError : public IoError {
 public:
  using IoError::IoError;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // Starts summing data[0, count) in place over the ranks; the sums are final when wait_all()
  // returns. Nonblocking so that a layer's gradient travels while the next one is computed.
  virtual void start_sum(float* data, std::size_t count) = 0;
  virtual void start_sum(double* data, std::size_t count) = 0;
  // Lets started sums advance while the caller computes (MPI moves nonblocking collectives
  // only from inside MPI calls).
  virtual void progress() {}
  virtual void wait_all() = 0;

  // root's bytes into every rank's data. Blocking.
  virtual void broadcast(void* data, std::size_t bytes, int root) = 0;
  // bytes[r] bytes from each rank r, concatenated in rank order into all on every rank; mine
  // holds this rank's bytes[rank()]. Blocking.
  virtual void gather_all(const void* mine, void* all, const std::vector<std::size_t>& bytes) = 0;
};

// One rank alone: a sum is its own data, a broadcast keeps what is there.
class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void start_sum(float*, std::size_t) override {}
  void start_sum(double*, std::size_t) override {}
  void wait_all() override {}
  void broadcast(void*, std::size_t, int) override {}
  void gather_all(const void* mine, void* all, const std::vector<std::size_t>& bytes) override;
};

// What kind of nobias::Error a rank raised, so that every rank can throw the same one.
enum class ErrorKind : std::uint8_t { None, Divergence, Value, Shape, Io, Other };

ErrorKind kind_of(const Error& error);
// What travels to the other ranks: the message, or a divergence's facts without the library's
// advice (each front door words its own).
std::string message_of(const Error& error);

// Collective: every rank learns the error of the lowest rank that had one. Returns None and
// leaves message alone when no rank had an error; otherwise the kind and, in message,
// "rank R: " + that rank's message, the same on every rank.
ErrorKind agree_on_error(Communicator& comm, ErrorKind mine, std::string& message);

// Collective: throws on every rank what agree_on_error agreed on (no-op when nothing).
void throw_agreed(Communicator& comm, ErrorKind mine, const std::string& my_message);

// Throws the exception of the given kind carrying message.
[[noreturn]] void throw_error(ErrorKind kind, const std::string& message);

// Local: runs body and returns the kind of nobias::Error it threw (None if none), its message
// in message; CommunicationError passes through at once.
template <class Body>
ErrorKind capture(Body&& body, std::string& message) {
  try {
    body();
  } catch (const CommunicationError&) {
    throw;
  } catch (const Error& e) {
    message = message_of(e);
    return kind_of(e);
  }
  return ErrorKind::None;
}

// Collective: runs body, local code that may throw a nobias::Error on some ranks only; then
// every rank throws the same (CommunicationError passes through at once).
template <class Body>
void agreed(Communicator& comm, Body&& body) {
  std::string message;
  const ErrorKind kind = capture(body, message);
  throw_agreed(comm, kind, message);
}

// Collective: root's string on every rank.
std::string broadcast_string(Communicator& comm, const std::string& text, int root);

}  // namespace nobias::mpi
