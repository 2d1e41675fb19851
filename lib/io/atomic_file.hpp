// Internal: replacing a file so that readers see either the old contents or the new, never a
// half-written mix. The public half is nobias/staged.hpp (StagedFile, check_output_name); this
// is what the library's writers use besides: every writer of user files (.npy, checkpoints)
// goes through here, or through io/file_set.hpp for sets of files.
//
// Temporaries are named ".nobias-tmp-<identity>-<pid>-<n>-<the target's name, cut to 16
// characters>" in the target's directory, where identity is "<the first 12 hex digits of
// /proc/sys/kernel/random/boot_id>.<the inode of /proc/self/ns/pid, hex>": which machine (since
// which boot) and which pid namespace the pid belongs to ("unknown" when /proc cannot say). Of
// bounded length (at most kMaxTemporaryNameLength characters) whatever the target's name, so a
// name that fits the filesystem also fits while it is being written, and still recognizable.
// A name already taken (a dead process's whose pid this one reuses) is passed over for the
// next counter.
//
// Every save into a directory first removes the temporaries there that are provably a dead
// run's: its identity is this process's and kill(pid, 0) fails with ESRCH (a process killed
// mid-save leaves one), and it is a regular file (never a directory, never a symlink or what it
// leads to). Kept, as possibly a live run's: another machine's (a directory shared over NFS),
// another pid namespace's (a container, `unshare --pid`), an "unknown" writer's, and names
// without an identity (".nobias-tmp-<pid>-<n>[-<name>]", as earlier builds named them: one may
// still be running, anywhere; remove them by hand when no run writes that directory). A pid
// reused by a live process keeps its temporary until that process ends too. Debris of a run
// from before a reboot stays too (another boot id): to a process it looks like another
// machine's.
//
// Replacing a regular file, the temporary (made 0600) takes that file's permission bits
// (without the set-id and sticky bits; the umask does not apply) and, where fchown allows it
// (root, or a group the process is in), its owner and group, before anything is written; the
// group not kept, the group bits are cut to the others' bits. A new file is 0666 less the umask.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include "nobias/staged.hpp"

namespace nobias {

// ".nobias-tmp-" + identity (12 hex digits + "." + up to 16) + "-" + up to 10 digits of pid +
// "-" + up to 20 digits of a counter + "-" + 16.
inline constexpr std::size_t kMaxTemporaryNameLength = 12 + 29 + 1 + 10 + 1 + 20 + 1 + 16;

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

// Whether name is one of these temporaries' (".nobias-tmp-<identity>-<pid>-<n>[-name]", or
// the format from before identities), whoever wrote it.
bool is_temporary_name(const std::string& name);

// Removes dir's temporaries that are provably a dead run's (see the top of this file): regular
// files named with this process's identity and the pid of no process. Best effort, silent: a
// failure leaves debris, never an error. The second form takes the identity already read.
void remove_stale_temporaries(const std::string& dir);
void remove_stale_temporaries(const std::string& dir, const std::string& identity);

// fsync of a file or directory opened with flags; false (errno set) when that fails.
bool sync_path(const std::string& path, int flags);
// fsync of a directory, so that renames inside it are durable; best effort.
void sync_directory(const std::string& dir);

}  // namespace nobias
