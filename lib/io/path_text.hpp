// Internal: small helpers the files' readers and writers share for paths and messages.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace nobias::detail {

inline std::string errno_text(int err) {
  return std::generic_category().message(err);
}

// The directory holding path: its parent, or "." for a bare name.
inline std::string directory_of(const std::string& path) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  return dir.empty() ? std::string(".") : dir.string();
}

// What a file of this st_mode is, for a message that says what came and what was expected:
// "a regular file", "a FIFO (named pipe)", "a directory", ...
inline const char* file_kind_text(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "another kind of file";
}

}  // namespace nobias::detail
