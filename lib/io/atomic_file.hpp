// Internal: replacing a file so that readers see either the old contents or the new, never a
// half-written mix. The public half is nobias/staged.hpp (StagedFile, check_output_name); this
// is what the library's writers use besides: every writer of user files (.npy, checkpoints)
// goes through here, or through io/file_set.hpp for sets of files.
//
// Temporaries: io/temporaries.hpp (their names, and which a save removes).
//
// Replacing a regular file, the temporary (made 0600) takes that file's owner, group, mode and
// POSIX access ACL before anything is written: io/file_attributes.hpp says which and how. A new
// file is 0666 less the umask.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include "io/temporaries.hpp"
#include "nobias/staged.hpp"

namespace nobias {

namespace detail {

// What the library reads of a StagedFile beyond its public face (io/file_set.cpp writes a
// manifest from the sizes and checksums, and syncs the directory once for several renames).
struct StagedFileAccess {
  // A file of a set: written to path itself, never through a link or a device.
  static StagedFile exact(const std::string& path,
                          const std::function<void(std::ostream&)>& write_body,
                          const std::string& who) {
    return StagedFile(StagedFile::Exact{}, path, write_body, who);
  }
  static const std::string& temporary(const StagedFile& f) { return f.temp_; }  // "" committed
  static std::uint64_t size(const StagedFile& f) { return f.size_; }            // bytes written
  static std::uint64_t checksum(const StagedFile& f) { return f.checksum_; }    // their fnv1a64
  // commit() without the directory's sync: the caller syncs it later, once.
  static void commit_unsynced(StagedFile& f) { f.rename_into_place(false); }
};

}  // namespace detail

// StagedFile(path, write_body, who).commit(): writes and replaces path in one call.
// The directory must exist (IoError "directory 'D' does not exist" / "is not a directory").
void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write_body,
                           const std::string& who);

// FNV-1a, 64 bits (http://www.isthe.com/chongo/tech/comp/fnv/): the checksum of manifests.
// Chained: fnv1a64(b, nb, fnv1a64(a, na)) is the checksum of a followed by b.
inline constexpr std::uint64_t kFnv1a64Offset = 0xcbf29ce484222325ULL;
std::uint64_t fnv1a64(const void* data, std::size_t size, std::uint64_t hash = kFnv1a64Offset);

// fsync of a file or directory opened with flags; false (errno set) when that fails.
bool sync_path(const std::string& path, int flags);
// fsync of a directory, so that renames inside it are durable; best effort.
void sync_directory(const std::string& dir);

}  // namespace nobias
