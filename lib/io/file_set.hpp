// Internal: sets of files that must stay consistent (a weight set, a model directory) written as a
// whole: a reader sees the complete old set, the complete new one, or a set it refuses as
// incomplete; never a mix of two saves that it takes for one.
//
// The files stay where numpy expects them (DIR/w1.npy, ...); beside them a manifest,
// DIR/nobias-manifest.txt, lists each file of the last save with its size and checksum
// (FNV-1a 64):
//
//   nobias-manifest 1
//   w1.npy 8320 9f3c2a0d5e7b1148
//   w2.npy 1088 03be77a1c2d4e5f6
//
// A save (stage_file_set, then the StagedFileSet's commit(); nobias/staged.hpp) goes:
//   0. lock DIR: an exclusive flock on the directory itself, held until the commit ends (or
//      the staged set is destroyed). Saves into one directory, from any process or thread,
//      wait for each other, so the directory always ends as one complete save, the last to
//      commit. The lock leaves no file behind; a filesystem without flock is not locked.
//      Released with flock(LOCK_UN) before the close, so a child forked meanwhile (which
//      shares the lock through its copy of the descriptor) does not keep it;
//   1. remove temporaries of dead processes in DIR (io/atomic_file.hpp);
//   2. write every file, then the new manifest, to temporaries in DIR, each synced (fsync),
//      and sync DIR. Nothing a reader looks at has changed yet: a kill here leaves the old set;
//   3. commit: rename the new manifest over the old one. From this moment the directory claims
//      to be the new set, and every file not yet replaced fails the manifest's check;
//   4. remove the files the previous manifest lists, of the set's kind (`owned`), that the new
//      set does not have (a deeper network's w3.npy, an old x_mean.npy). Nothing else: a
//      file nobias did not write (a user's own w7.npy), or any file when there was no
//      manifest, stays; the loaders go by the manifest, so it is not taken for part of the set;
//   5. rename each file's temporary over it; sync DIR.
// A kill before 3 leaves the old set loadable; between 3 and the end of 5, a directory the
// loaders refuse ("does not match nobias-manifest.txt: not one complete save") until the next
// save; after 5, the new set. A loader therefore never takes new and old files for one set, even
// when the old set had no manifest (numpy's): with a manifest, the set is what it lists. What is
// not guaranteed: that the old set survives a crash inside the commit's renames (a few
// microseconds): it is refused, not loaded.
//
// Loaders (FileSetReader) take a shared flock on the directory before reading the manifest and
// hold it until they have read every file they need (headers examined by path included). A
// save's exclusive lock (step 0) waits for the loaders reading, and a loader waits for a save
// under way (staging and commit, a few milliseconds; as long as a caller holds a StagedFileSet
// uncommitted), so no commit runs while a set is read: a load that overlaps a save, from any
// process or thread, gives the complete old set or the complete new one, never a refusal that
// only a running commit caused. It waits 5 seconds at most (polling: a blocking flock has no
// deadline, and a stopped save, or anyone who can read the directory and locks it, must not
// stall loads without end), then reads unlocked. A loader reads unlocked, and is then refused
// in the commit's window as before, also when the directory cannot be opened (it can be
// searched but not read), the filesystem has no flock (ENOLCK, EOPNOTSUPP: some network
// filesystems), or the thread holds that directory's save lock itself (a save's own look at
// what the directory holds; nothing else commits there meanwhile). A thread that holds a
// loader does not save into that directory: the library's loaders keep their reader inside
// one call. A shared flock is granted while an exclusive one waits, so loaders that overlap
// without a gap could keep a save waiting; measured, two threads loading in a tight loop did
// not (four threads made their 600 saves in 30 s meanwhile, while 24,601 loads ran).
//
// Loaders read each file once into memory, check its size and checksum against the manifest
// there, and parse those same bytes, so a file replaced between check and parse cannot slip
// through (the check that still catches a mixed set where the lock is missing, or where files
// were changed by hand). A directory without a manifest (written by numpy, or by nobias before
// 0.2) loads as it is, unchecked.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "io/atomic_file.hpp"
#include "nobias/staged.hpp"

namespace nobias {

inline constexpr const char* kManifestName = "nobias-manifest.txt";
// The manifest's first line (the writer's and the reader's).
inline constexpr const char* kManifestHeader = "nobias-manifest 1";

// Whether name may be a file of a set: a plain name (see FileSetEntry), not the manifest's.
bool valid_file_set_name(const std::string& name);

struct FileSetEntry {
  std::string name;  // a plain file name: letters, digits, '.', '_', '-'; not starting with '.'
  std::function<void(std::ostream&)> write;
};

// Which names of a directory belong to a set of some kind: a save removes those the previous
// manifest lists and its new set lacks.
using NamePredicate = std::function<bool(const std::string& name)>;

// Steps 0 to 2 above: dir (and missing parents) is created if needed; under_lock, if set, runs
// once the lock is held, before anything is written (a check of what dir holds; what it throws
// propagates, nothing written). The set's commit() does 3 to 5. Destroyed uncommitted, it
// removes its temporaries, and the directories it created if they are still empty: nothing
// visible changed. IoError "<who>: <dir>: ..." with the system's reason; ValueError for a bad
// or repeated name, or when this thread already holds an uncommitted save into dir (it would
// wait for itself).
StagedFileSet stage_file_set(const std::string& dir, const std::vector<FileSetEntry>& files,
                             NamePredicate owned, const std::string& who,
                             const std::function<void()>& under_lock);

// stage_file_set(dir, files, owned, who).commit().
void write_file_set(const std::string& dir, const std::vector<FileSetEntry>& files,
                    const NamePredicate& owned, const std::string& who);

// Whether this thread holds dir's save lock (step 0), dir given by its device and inode: a
// reader of dir in this thread then takes no lock of its own (it would wait for itself).
bool this_thread_saves_into(std::uint64_t device, std::uint64_t inode);

// The reading side. The constructor takes the shared lock on dir (see "Loaders" above), then
// reads dir's manifest if there is one (IoError "<who>: dir '<dir>' does not exist" / "is not a
// directory" / "<who>: <dir>: nobias-manifest.txt: line N: ...") for a malformed one. The lock
// is held until the reader is destroyed: everything read through it, and every file examined
// by its path meanwhile, is of one save. Not copyable.
class FileSetReader {
 public:
  FileSetReader(const std::string& dir, const std::string& who);

  const std::string& directory() const { return dir_; }
  bool has_manifest() const { return has_manifest_; }
  // The manifest's names, in its order; empty without a manifest.
  const std::vector<std::string>& listed() const { return listed_; }
  bool exists(const std::string& name) const;  // dir/name is there (listed or not)
  // name is part of the set: with a manifest, listed there (a file beside it that the manifest
  // does not list is not the save's, and is ignored); without one, there.
  bool in_set(const std::string& name) const;

  // The bytes of dir/name. With a manifest: IoError unless it lists name and the file has
  // exactly the listed size and checksum ("<who>: <dir>: w2.npy does not match
  // nobias-manifest.txt (...): the directory is not one complete save ..."). IoError
  // "<who>: <dir>/<name>: file does not exist" when missing.
  std::string read(const std::string& name) const;

  // With a manifest: IoError naming the first listed file that is missing. No-op without.
  void check_complete() const;

 private:
  struct Entry {
    std::uint64_t size = 0, checksum = 0;
  };
  // A shared flock on the directory, released (unlocked, then closed) when destroyed; fd -1
  // when none could be taken.
  struct SharedLock {
    int fd = -1;
    SharedLock() = default;
    SharedLock(const SharedLock&) = delete;
    SharedLock& operator=(const SharedLock&) = delete;
    ~SharedLock();
  };
  [[noreturn]] void fail(const std::string& what) const;

  SharedLock lock_;
  std::string dir_, who_;
  bool has_manifest_ = false;
  std::vector<std::string> listed_;
  std::map<std::string, Entry> entries_;
};

}  // namespace nobias
