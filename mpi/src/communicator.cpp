#include "nobias/mpi/communicator.hpp"

#include <cstring>

namespace nobias::mpi {

void LocalCommunicator::gather_all(const void* mine, void* all,
                                   const std::vector<std::size_t>& bytes) {
  if (bytes.size() != 1) {
    throw ValueError("gather_all: expected 1 byte count (one rank), got " +
                     std::to_string(bytes.size()));
  }
  if (bytes[0] != 0) std::memmove(all, mine, bytes[0]);
}

ErrorKind kind_of(const Error& error) {
  if (dynamic_cast<const DivergenceError*>(&error)) return ErrorKind::Divergence;
  if (dynamic_cast<const ValueError*>(&error)) return ErrorKind::Value;
  if (dynamic_cast<const ShapeError*>(&error)) return ErrorKind::Shape;
  if (dynamic_cast<const IoError*>(&error)) return ErrorKind::Io;
  return ErrorKind::Other;
}

std::string message_of(const Error& error) {
  if (const auto* divergence = dynamic_cast<const DivergenceError*>(&error)) {
    return divergence->describe();
  }
  return error.what();
}

std::string broadcast_string(Communicator& comm, const std::string& text, int root) {
  std::uint64_t length = text.size();
  comm.broadcast(&length, sizeof length, root);
  std::string out = comm.rank() == root ? text : std::string(length, '\0');
  if (length != 0) comm.broadcast(out.data(), length, root);
  return out;
}

ErrorKind agree_on_error(Communicator& comm, ErrorKind mine, std::string& message) {
  // Each rank writes its kind into its own slot: a sum with one nonzero term per slot is exact.
  std::vector<double> kinds(static_cast<std::size_t>(comm.size()), 0.0);
  kinds[static_cast<std::size_t>(comm.rank())] = static_cast<double>(mine);
  comm.start_sum(kinds.data(), kinds.size());
  comm.wait_all();
  for (int r = 0; r < comm.size(); ++r) {
    const auto kind = static_cast<ErrorKind>(static_cast<int>(kinds[static_cast<std::size_t>(r)]));
    if (kind == ErrorKind::None) continue;
    const std::string text = broadcast_string(comm, message, r);
    message = "rank " + std::to_string(r) + ": " + text;
    return kind;
  }
  return ErrorKind::None;
}

void throw_error(ErrorKind kind, const std::string& message) {
  switch (kind) {
    case ErrorKind::Divergence:
      throw DivergenceError(message);
    case ErrorKind::Value:
      throw ValueError(message);
    case ErrorKind::Shape:
      throw ShapeError(message);
    case ErrorKind::Io:
      throw IoError(message);
    default:
      throw Error(message);
  }
}

void throw_agreed(Communicator& comm, ErrorKind mine, const std::string& my_message) {
  std::string message = my_message;
  const ErrorKind kind = agree_on_error(comm, mine, message);
  if (kind != ErrorKind::None) throw_error(kind, message);
}

}  // namespace nobias::mpi
