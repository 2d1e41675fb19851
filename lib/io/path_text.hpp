// Internal: two small helpers the crash-safe writers share for paths and messages.
#pragma once

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

}  // namespace nobias::detail
