// Internal: the temporaries a save writes before its rename (io/atomic_file.hpp), by name.
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
#pragma once

#include <cstddef>
#include <string>

namespace nobias {

// ".nobias-tmp-" + identity (12 hex digits + "." + up to 16) + "-" + up to 10 digits of pid +
// "-" + up to 20 digits of a counter + "-" + 16.
inline constexpr std::size_t kMaxTemporaryNameLength = 12 + 29 + 1 + 10 + 1 + 20 + 1 + 16;

// Who this process is, for a temporary's name: "<the boot id's first 12 hex digits>.<the pid
// namespace's inode, hex>", or "unknown" when /proc cannot say. Read afresh at every call.
std::string process_identity();

// A new temporary's path beside path, named for identity (process_identity()), this process
// and a counter: never the same twice in one process.
std::string temporary_for(const std::string& path, const std::string& identity);

// Whether name is one of these temporaries' (".nobias-tmp-<identity>-<pid>-<n>[-name]", or
// the format from before identities), whoever wrote it.
bool is_temporary_name(const std::string& name);

// Removes dir's temporaries that are provably a dead run's (see above): regular
// files named with this process's identity and the pid of no process. Best effort, silent: a
// failure leaves debris, never an error. The second form takes the identity already read.
void remove_stale_temporaries(const std::string& dir);
void remove_stale_temporaries(const std::string& dir, const std::string& identity);

}  // namespace nobias
