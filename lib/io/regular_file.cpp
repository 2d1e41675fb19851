// read_regular_file (io/regular_file.hpp): a regular file read whole, anything else refused
// before a byte is read.
#include "io/regular_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>

#include "io/path_text.hpp"
#include "nobias/error.hpp"
#include "nobias/matrix.hpp"

namespace nobias::detail {
namespace {

// Closes its descriptor on every way out.
struct Descriptor {
  int fd = -1;
  ~Descriptor() {
    if (fd != -1) ::close(fd);
  }
};

}  // namespace

std::optional<std::string> read_regular_file(const std::string& path, const std::string& prefix) {
  // O_NONBLOCK: a FIFO in the file's place (a named pipe called model.json) opens at once, to be
  // refused below, instead of waiting forever for a writer; a regular file ignores the flag.
  Descriptor file;
  do {
    file.fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  } while (file.fd == -1 && errno == EINTR);
  if (file.fd == -1) {
    const int error = errno;
    if (error == ENOENT || error == ENOTDIR) return std::nullopt;
    if (error == EISDIR) throw IoError(prefix + "is a directory, expected a regular file");
    throw IoError(prefix + "cannot open the file for reading (" + errno_text(error) + ")");
  }
  struct stat st {};
  if (::fstat(file.fd, &st) != 0)
    throw IoError(prefix + "cannot check what was opened (" + errno_text(errno) + ")");
  if (!S_ISREG(st.st_mode))
    throw IoError(prefix + "is " + file_kind_text(st.st_mode) + ", expected a regular file");
  // One read of the whole file into a string of its size: a string grown a character at a time
  // copies it again at every doubling, each into fresh pages (half of nobias-predict's start-up
  // page faults on a 784->512->512->10 model). Then on to the end, should it have grown.
  // Its pages faulted in with one call, not one at a time as read() fills them.
  const auto size = static_cast<std::size_t>(std::max<off_t>(st.st_size, 0));
  std::string bytes;
  bytes.reserve(size);
  populate_for_writing(bytes.data(), size);
  bytes.resize(size);
  std::size_t have = 0;
  char more[4096];
  while (true) {
    const bool inside = have < bytes.size();
    char* to = inside ? bytes.data() + have : more;
    const ssize_t got = ::read(file.fd, to, inside ? bytes.size() - have : sizeof more);
    if (got == -1 && errno == EINTR) continue;
    if (got == -1) throw IoError(prefix + "read error (" + errno_text(errno) + ")");
    if (got == 0) break;
    if (!inside) bytes.append(more, static_cast<std::size_t>(got));
    have += static_cast<std::size_t>(got);
  }
  bytes.resize(have);  // shorter if it shrank meanwhile
  return bytes;
}

}  // namespace nobias::detail
