#include "paths.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "cli_common.hpp"
#include "nobias/error.hpp"
#include "nobias/staged.hpp"

namespace nobias_tools {

void require_writable_directory(const std::string& flag, const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw UsageError(flag + ": '" + dir.string() + "' is not an existing directory");
  }
  std::string probe = (dir / ".nobias-train-probe-XXXXXX").string();
  const int fd = ::mkstemp(&probe[0]);
  if (fd < 0) {
    throw UsageError(flag + ": directory '" + dir.string() + "' is not writable (" +
                     std::strerror(errno) + ")");
  }
  ::close(fd);
  ::unlink(probe.c_str());
}

void require_creatable_directory(const std::string& flag, const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) return require_writable_directory(flag, dir);
  const std::filesystem::path parent = std::filesystem::path(dir).parent_path();
  require_writable_directory(flag, parent.empty() ? std::filesystem::path(".") : parent);
}

void require_creatable_directories(const std::string& flag, const std::string& dir) {
  // The path as the user wrote it, shortened to its nearest existing ancestor.
  std::error_code ec;
  std::filesystem::path path = dir;
  while (!path.empty() && !std::filesystem::exists(path, ec)) {
    path = path.has_parent_path() && path.parent_path() != path ? path.parent_path()
                                                                : std::filesystem::path();
  }
  require_writable_directory(flag, path.empty() ? std::filesystem::path(".") : path);
}

void require_writable_file_path(const std::string& flag, const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw UsageError(flag + ": '" + path + "' is a directory, expected a file name");
  }
  nobias::OutputTarget target;
  try {
    target = nobias::resolve_output(path, flag);
  } catch (const nobias::Error& e) {
    throw UsageError(e.what());
  }
  // A device, FIFO or socket is written in place, not created: its directory does not matter.
  if (target.write_through) return;
  // A symlink's target is what is replaced: its directory must take the temporary.
  std::filesystem::path parent = std::filesystem::path(target.path).parent_path();
  require_writable_directory(flag, parent.empty() ? std::filesystem::path(".") : parent);
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return !a.empty() && !b.empty() && std::filesystem::equivalent(a, b, ec);
}

}  // namespace nobias_tools
