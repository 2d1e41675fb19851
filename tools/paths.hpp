// Output locations, checked before any work so that a typo costs nothing and writes nothing.
#pragma once

#include <filesystem>
#include <string>

namespace nobias_tools {

// An existing directory in which a file can be created. The check creates (and removes) a
// file there, as the outputs will be: access() says yes to root everywhere, even in /proc or
// on a read-only mount, where a run would then fail at its end, after its other outputs.
void require_writable_directory(const std::string& flag, const std::filesystem::path& dir);

// A directory that exists and is writable, or can be created in a writable parent.
void require_creatable_directory(const std::string& flag, const std::string& dir);

// A directory that exists and is writable, or whose nearest existing ancestor is a writable
// directory (it is created with its missing parents, as mkdir -p).
void require_creatable_directories(const std::string& flag, const std::string& dir);

// A file name (not a directory, nor a link to one) in a writable directory; for a symlink,
// the directory of the file it leads to. A device, FIFO or socket (written through, see
// nobias/staged.hpp) is accepted as it is.
void require_writable_file_path(const std::string& flag, const std::string& path);

// Whether two paths name the same existing file.
bool same_file(const std::string& a, const std::string& b);

}  // namespace nobias_tools
