// Replace a file so that readers see either the old contents or the new, never a
// half-written mix. Every writer of user files (.npy, weights, checkpoints) goes through here
// (or through file_set.hpp for sets of files), so a failed or interrupted save never destroys
// the previous one.
//
// Temporaries are named ".nobias-tmp-<pid>-<n>-<the target's name, cut to 16 characters>" in
// the target's directory: of bounded length (at most kMaxTemporaryNameLength characters)
// whatever the target's name, so a name that fits the filesystem also fits while it is being
// written, and still recognizable. Every save into a
// directory first removes the temporaries there whose process no longer runs (a process killed
// mid-save leaves one; kill(pid, 0) failing with ESRCH says it is gone). A process id reused
// by a live process keeps its temporary until that process ends too; processes in other pid
// namespaces writing the same directory cannot be told apart and must not share it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace nobias {

// ".nobias-tmp-" + up to 10 digits of pid + "-" + up to 20 digits of a counter + "-" + 16.
inline constexpr std::size_t kMaxTemporaryNameLength = 60;

// One file written completely under a temporary name in path's directory and synced to disk
// (fsync), but not yet visible under path: commit() renames it over path (atomically, then
// syncs the directory). Destroyed uncommitted (an error elsewhere, an exception), it removes
// its temporary and path is untouched. Moves, never copies.
//
// IoError messages start with "<who>: <path>: " and keep the system's reason:
// "write to temporary '.nobias-tmp-12-0-w1.npy' failed (No space left on device)". Whatever
// write_body throws propagates unchanged (the temporary removed).
class StagedFile {
 public:
  StagedFile(const std::string& path, const std::function<void(std::ostream&)>& write_body,
             const std::string& who = "write_file_atomically");
  StagedFile(StagedFile&& other) noexcept;
  StagedFile& operator=(StagedFile&& other) noexcept;
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  ~StagedFile();

  const std::string& path() const { return path_; }
  const std::string& temporary() const { return temp_; }  // empty once committed
  std::uint64_t size() const { return size_; }            // bytes written
  std::uint64_t checksum() const { return checksum_; }    // fnv1a64 of those bytes

  // Renames the temporary over path, then syncs the directory so that the rename is durable
  // (sync_directory false: the caller syncs it later, once for several renames). IoError
  // (temporary removed, path untouched) if the rename fails; a second call is a no-op.
  void commit(bool sync_directory = true);

 private:
  std::string path_, who_, temp_;
  std::uint64_t size_ = 0, checksum_ = 0;
};

// StagedFile(path, write_body, who).commit(): writes and replaces path in one call.
// The directory must exist (IoError "directory 'D' does not exist" / "is not a directory").
void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write_body,
                           const std::string& who = "write_file_atomically");

// For a tool's up-front checks, before any work: IoError if path could not be written by
// write_file_atomically for reasons of its name alone: a file name longer than the
// filesystem's NAME_MAX, a path (or its temporary's) longer than PATH_MAX. `what` starts
// the message ("--loss-csv: file name of 300 characters is longer than the 255 ...").
void check_output_name(const std::string& path, const std::string& what);

// FNV-1a, 64 bits (http://www.isthe.com/chongo/tech/comp/fnv/): the checksum of manifests.
// Chained: fnv1a64(b, nb, fnv1a64(a, na)) is the checksum of a followed by b.
inline constexpr std::uint64_t kFnv1a64Offset = 0xcbf29ce484222325ULL;
std::uint64_t fnv1a64(const void* data, std::size_t size, std::uint64_t hash = kFnv1a64Offset);

// Removes dir's temporaries (".nobias-tmp-<pid>-<n>[-name]", files or directories) whose process no
// longer runs. Best effort, silent: a failure leaves debris, never an error.
void remove_stale_temporaries(const std::string& dir);

// fsync of a file or directory opened with flags; false (errno set) when that fails.
bool sync_path(const std::string& path, int flags);
// fsync of a directory, so that renames inside it are durable; best effort.
void sync_directory(const std::string& dir);

}  // namespace nobias
