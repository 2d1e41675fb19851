// Internal: a file the library reads whole (a file of a saved set, a checkpoint's state.txt and
// arrays), refused at once unless it is a regular file: a FIFO named like one is never waited
// on for a writer, a device never read.
#pragma once

#include <optional>
#include <string>

namespace nobias::detail {

// The bytes of the regular file at path (a link to one followed), read whole; std::nullopt when
// there is no such file (ENOENT, ENOTDIR). Opened without waiting (O_NONBLOCK), then checked
// with fstat. IoError, its message prefix followed by "is a FIFO (named pipe), expected a
// regular file" (a directory, a device, a socket the same), "cannot open the file for reading
// (<errno's text>)" or "read error (<errno's text>)".
std::optional<std::string> read_regular_file(const std::string& path, const std::string& prefix);

}  // namespace nobias::detail
