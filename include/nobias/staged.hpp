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
// Temporaries are named ".nobias-tmp-<pid>-<n>-<the target's name, cut to 16 characters>" in
// the target's directory, of bounded length whatever the target's name. Every save into a
// directory first removes the temporaries there whose process no longer runs (a process killed
// mid-save leaves one). Processes in other pid namespaces writing the same directory cannot be
// told apart and must not share it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

namespace nobias {

namespace detail {
struct StagedFileAccess;  // the library's own access (lib/io/atomic_file.hpp)
}  // namespace detail

// One file, written and synced under a temporary name in path's directory (which must exist:
// IoError "<who>: <path>: directory 'D' does not exist" / "is not a directory"). IoError
// messages start with "<who>: <path>: " and keep the system's reason: "write to temporary
// '.nobias-tmp-12-0-w1.npy' failed (No space left on device)". Whatever write_body throws
// propagates unchanged (the temporary removed). Moves, never copies.
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

  // Renames the temporary over path (atomically), then syncs the directory so that the
  // rename is durable. IoError (temporary removed, path untouched) if the rename fails; a
  // second call is a no-op.
  void commit() { rename_into_place(true); }

 private:
  friend struct detail::StagedFileAccess;
  void rename_into_place(bool sync_directory);

  std::string path_, who_, temp_;
  std::uint64_t size_ = 0, checksum_ = 0;
};

// A set of files staged as a whole (stage_weights, stage_model): dir and its missing parents
// already created, every file and the new manifest written and synced. commit() renames the
// manifest first (from then on the directory claims to be the new set), removes the files of
// an earlier set the new one lacks (a deeper network's w3.npy, an old x_mean.npy), then renames
// each file into place. A kill inside the commit leaves a directory the loaders refuse as "not
// one complete save" until the next save; before it, the old set. Destroyed uncommitted, it
// removes its temporaries and the directories it created if they are still empty: nothing
// visible changed. IoError "<who>: <dir>: ..." with the system's reason.
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
// reasons of its name alone: a file name longer than the filesystem's NAME_MAX, a path (or its
// temporary's) longer than PATH_MAX. `what` starts the message ("--loss-csv: the file name
// '...' has 300 characters, more than the filesystem's limit of 255").
void check_output_name(const std::string& path, const std::string& what);

}  // namespace nobias
