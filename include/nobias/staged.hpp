// Outputs written now and published later: what a caller holds to commit its outputs last.
//
// A staged output is written completely to a temporary beside its target and synced to disk
// (fsync), but nothing a reader looks at has changed yet. commit() publishes it with a rename;
// destroyed uncommitted (an error elsewhere, an exception), it removes its temporary and the
// target is untouched. So a program that stages every output first and commits them all at
// the end changes nothing on disk when it fails before the end.
//
//   StagedFile     one file: made from a path and a function that writes its contents.
//   StagedFileSet  a set of files that must stay consistent (a weight set, a model
//                  directory), from stage_weights (weights_io.hpp) or stage_model (model.hpp).
//                  Beside the files a manifest (nobias-manifest.txt) lists each with its size
//                  and checksum; the loaders check it, so a reader sees the old set, the new
//                  one, or a set it refuses as incomplete, never a mix of two saves.
//
//   nobias::StagedFileSet model = nobias::stage_model(dir, net, info);
//   nobias::StagedFile log(path, [&](std::ostream& out) { out << "step,loss\n"; }, "--log");
//   ...                       // anything that throws here leaves dir and path as they were
//   model.commit();
//   log.commit();
//
// Every file nobias writes (write_npy, save_weights, save_model, save_checkpoint) goes
// through these: a failed or interrupted save never destroys the previous one.
//
// Where a file lands (resolve_output below; every StagedFile, write_npy, --out, --loss-csv):
//   - a path that does not exist, or a regular file: replaced atomically, as above;
//   - a symlink is followed (through a chain of them, also to a file not there yet): the file
//     it leads to is replaced atomically (the temporary in that file's directory, renamed over
//     it) and the link stays a link. As the kernel does (fs.protected_symlinks), a link in a
//     sticky world-writable directory (/tmp) is followed only when its owner is this user
//     (geteuid) or the directory's owner: another user's link there is an IoError "<who>:
//     <path>: refusing to follow the symlink 'L': it is owned by uid N, ...". commit()
//     resolves the path again and refuses (IoError "... where it leads changed since it was
//     staged ...; nothing written", everything left as it was) if it now leads elsewhere;
//   - a character device, a FIFO or a socket (/dev/null, /dev/stdout on a terminal or a pipe,
//     a named pipe another program reads), also behind a symlink: written through. The
//     contents are staged in memory and, at commit(), the path is opened (O_APPEND, so a
//     redirection with >> appends) and written in place; never replaced. Such a write is not
//     atomic, and a FIFO's open waits for its reader. Its device and inode (st_dev, st_ino)
//     are kept at staging; commit() opens it without O_CREAT (O_WRONLY|O_APPEND|O_NOCTTY),
//     fstats what it opened, and refuses (IoError "<who>: <path>: is no longer the file
//     staged (now a regular file); nothing written") anything else: a regular file or another
//     inode put in its place;
//   - a block device (or a link to one): IoError "<who>: <path>: a block device: refused",
//     up front;
//   - a descriptor link (/dev/stdin, /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N,
//     /proc/thread-self/fd/N, /proc/<this pid>/fd/N, or a link to one) is not opened again:
//     at commit() (stdio flushed first) the contents are written to a dup of this process's
//     descriptor N, which shares N's file description and offset. So with `--loss-csv
//     /dev/stdout > run.csv` run.csv holds what was printed before the commit, then the
//     contents, then what is printed after (nobias-train: the CSV, then its final line);
//     nothing is overwritten, and a socket as stdout works. N not open: IoError "<who>:
//     <path>: names descriptor N, which is not open". Any other link under /proc (or leading
//     there): IoError "... a link under /proc that is not a descriptor link ...: refused";
//   - a directory where a file is expected: IoError "<who>: <path>: is a directory, expected
//     a file", up front, before anything is written.
//
// A regular file replaced keeps its permission bits (not the set-id and sticky bits; the umask
// does not apply) and, where the process may change them (root; or the file's owner, to a group
// it is in), its owner and group; not allowed to, the new file is the writer's, and its group
// bits are cut to the old file's bits for others. A POSIX access ACL is copied too (its group
// bits are the ACL's mask; one that cannot be copied leaves no group access). The temporary has
// them before anything is written. A new file gets 0666 less the umask.
//
// Temporaries are named ".nobias-tmp-<boot>.<pidns>-<pid>-<n>-<the target's name, cut to 16
// characters>" in the target's directory, of bounded length whatever the target's name: <boot>
// is the first 12 hex digits of the machine's boot id, <pidns> the inode of the process's pid
// namespace (hex), which together say what the pid means. Every save into a directory first
// removes the temporaries there that are provably a dead run's: regular files of this machine,
// boot and pid namespace whose process no longer runs (a process killed mid-save leaves one).
// Those of other machines (a directory over NFS), other pid namespaces (containers), from
// before a reboot, or named without an identity by earlier builds are left alone: remove them
// by hand when no run writes that directory. Runs in several containers or on several machines
// may share a directory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

namespace nobias {

namespace detail {
struct StagedFileAccess;  // the library's own access (lib/io/atomic_file.hpp)
}  // namespace detail

// Where a write to path lands, by the rule above. IoError "<who>: <path>: is a directory,
// expected a file" for a directory (or a link to one), "... too many levels of symbolic links"
// for a loop of links.
struct OutputTarget {
  std::string path;            // the file replaced: path itself, or where its links lead
  bool write_through = false;  // a device, FIFO, socket or descriptor link: path is written in
                               // place at commit, and this is path as given
  int descriptor = -1;         // a descriptor link: the descriptor of this process it names
                               // (written through a dup of it), else -1
  std::uint64_t device = 0, inode = 0;  // a device, FIFO or socket: its st_dev and st_ino,
                                        // which commit() requires it still has
};
OutputTarget resolve_output(const std::string& path, const std::string& who);

// One file, written and synced under a temporary name in its target's directory (which must
// exist: IoError "<who>: <path>: directory 'D' does not exist" / "is not a directory"); or,
// written through (resolve_output), kept in memory until commit(). IoError
// messages start with "<who>: <path>: " and keep the system's reason: "write to temporary
// '.nobias-tmp-3f9a0c61d2b7.effffffc-12-0-w1.npy' failed (No space left on device)". Whatever
// write_body throws propagates unchanged (the temporary removed). Moves, never copies.
class StagedFile {
 public:
  StagedFile(const std::string& path, const std::function<void(std::ostream&)>& write_body,
             const std::string& who);
  StagedFile(StagedFile&& other) noexcept;
  StagedFile& operator=(StagedFile&& other) noexcept;
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  ~StagedFile();

  const std::string& path() const { return path_; }

  // Renames the temporary over its target (atomically), then syncs the directory so that the
  // rename is durable. IoError (temporary removed, target untouched) if the rename fails. A
  // file written through is opened and written now (IoError "<who>: <path>: cannot open it
  // for writing (...)" / "write failed (...)"). A second call is a no-op.
  void commit() { rename_into_place(true); }

 private:
  friend struct detail::StagedFileAccess;
  struct Exact {};
  // A file of a set (stage_file_set): path itself, never followed nor written through.
  StagedFile(Exact, const std::string& path, const std::function<void(std::ostream&)>& write_body,
             const std::string& who);
  void stage(const std::function<void(std::ostream&)>& write_body);
  void rename_into_place(bool sync_directory);
  void check_target_unchanged() const;  // IoError if path_ no longer leads to target_

  std::string path_, who_;
  std::string target_;    // what commit() replaces or writes: path_, or where its links lead
  std::string temp_;      // the temporary; "" once committed (and for a file written through)
  std::string through_;   // a file written through: its contents until commit()
  bool pending_ = false;  // staged and not yet committed
  bool write_through_ = false;
  bool exact_ = false;                     // a file of a set: path_ itself, never resolved
  int descriptor_ = -1;                    // a descriptor link: this process's descriptor it names
  std::uint64_t device_ = 0, inode_ = 0;   // a device, FIFO or socket written through
  std::uint64_t size_ = 0, checksum_ = 0;  // checksum_: a file of a set's only
};

// A set of files staged as a whole (stage_weights, stage_model): dir and its missing parents
// already created, every file and the new manifest written and synced. commit() renames the
// manifest first (from then on the directory claims to be the new set), removes the files of
// an earlier set the new one lacks and that the earlier manifest lists (a deeper network's
// w3.npy, an old x_mean.npy; never a file nobias did not write), then renames each file into
// place. From staging to the end of commit() (or destruction) it holds an exclusive lock on
// the directory (flock on the directory itself, no lock file): another save into it, from any
// process or thread, waits, so concurrent saves leave one complete save, the last committed;
// so do the loaders of the directory (load_weights, load_model, read_model_info: they hold a
// shared lock while they read, waiting up to 5 seconds before they read unlocked), which then
// read the new set: keep a staged set briefly.
// Staging a second set into a directory this thread holds uncommitted is a ValueError. A kill
// inside the commit leaves a directory the loaders refuse as "not one complete save" until the next
// save; before it, the old set. Destroyed uncommitted, it removes its temporaries and the
// directories it created if they are still empty: nothing visible changed. IoError "<who>: <dir>:
// ..." with the system's reason.
class StagedFileSet {
 public:
  struct State;  // made by the library only (lib/io/file_set.cpp)
  explicit StagedFileSet(std::unique_ptr<State> state);
  StagedFileSet(StagedFileSet&& other) noexcept;
  StagedFileSet& operator=(StagedFileSet&& other) noexcept;
  StagedFileSet(const StagedFileSet&) = delete;
  StagedFileSet& operator=(const StagedFileSet&) = delete;
  ~StagedFileSet();

  const std::string& directory() const;  // empty once moved from
  void commit();                         // a second call is a no-op
  bool committed() const;

 private:
  std::unique_ptr<State> state_;
};

// For a program's up-front checks, before any work: IoError if path could not be staged for
// reasons of its name alone: a directory (or a link to one) where a file is expected, a file
// name longer than the filesystem's NAME_MAX, a path (or its temporary's) longer than
// PATH_MAX. A symlink's target is what is checked; a file written through has nothing to check.
// `what` starts the message ("--loss-csv: the file name
// '...' has 300 characters, more than the filesystem's limit of 255").
void check_output_name(const std::string& path, const std::string& what);

// The same for a directory of outputs that nobias creates (with its missing parents) and fills:
// IoError if a component of dir is longer than the filesystem's NAME_MAX ("--weights-out: the
// directory name '...' has 300 characters, more than the filesystem's limit of 255"), or if dir
// with the longest name created inside it (longest_inside characters after dir's separator:
// longest_name_in_file_set() for stage_weights and stage_model, longest_name_in_checkpoint()
// for save_checkpoint) is longer than PATH_MAX. dir is checked as given: it is the path the
// saves open.
void check_output_directory_name(const std::string& dir, std::size_t longest_inside,
                                 const std::string& what);

// The longest name a set (stage_weights, stage_model) creates in its directory: a temporary,
// longer than the names of the set's files.
std::size_t longest_name_in_file_set();

}  // namespace nobias
