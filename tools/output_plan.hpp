// Every path a run touches, known before it starts, and its outputs committed together, last.
//
// A tool registers each input and output under the flag that named it, then check()s the plan
// before reading or writing anything: an output that is an input, or that lies inside (or
// contains) another output or an input, is refused with both flags and paths named. Paths that
// exist are compared by device and inode (so hard links, symlinks, "a/../b" and bind mounts
// are seen through); paths still to be created by their weakly canonical absolute path.
//
// An output file follows nobias/staged.hpp's rule: a symlink is followed (its target replaced,
// the link kept), a device, FIFO or socket is written through at commit, a directory is refused
// by check(). Two outputs written through may share a path (both to /dev/null).
//
// Then it stages its outputs (StagedOutputs): each file or set is written completely to
// temporaries and synced, and only when all are ready, commit() renames them into place, one
// after the other. A failure before commit (bad data, divergence, a full disk while staging)
// removes every temporary and changes no output.
//
// What cannot be guaranteed: the commits of different outputs are separate renames, so a crash
// between two of them leaves some outputs new and others old. Each output is still whole, and
// sets of files (a weight set, a model directory) carry their manifest, so the loaders refuse a
// set that is not one complete save; files standing alone (a CSV) are each old or new.
#pragma once

#include <cstddef>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "nobias/staged.hpp"

// In namespace nobias for now, as the tools' callers spell it (nobias::PathPlan); it belongs to
// the tools, not to the library.
namespace nobias {

class PathPlan {
 public:
  // Which names in a directory the run reads or writes (nobias::is_model_file_name for a
  // weight set or a model directory).
  using NamePredicate = std::function<bool(const std::string& name)>;

  // A file or directory the run reads. For a directory, owns (if set) says which names in it
  // are read: only those can conflict with an output inside it; unset, any path inside does.
  void add_input(const std::string& flag, const std::string& path, NamePredicate owns = {});
  // A file the run creates or replaces, in the format its name's extension names: one of
  // extensions (see output_format), checked by check(). Empty: any name (a test's plan).
  void add_output_file(const std::string& flag, const std::string& path,
                       std::vector<std::string> extensions = {});
  // A directory the run creates if needed and fills (a weight set, a model, a checkpoint).
  // owns as for add_input: unset, any path inside it conflicts with another flag's path.
  // longest_inside: the longest name the library creates in it (nobias::
  // longest_name_in_checkpoint() for a checkpoint), so that check() refuses a path that fits
  // alone but not with what the saves add.
  void add_output_directory(const std::string& flag, const std::string& path,
                            NamePredicate owns = {},
                            std::size_t longest_inside = longest_name_in_file_set());

  // ValueError for an output file whose extension is not one of its flag's (output_format),
  // before any conflict; then for the first conflict, between two different flags (one flag may be
  // both an input and an output, as --checkpoint with --resume):
  //   "--loss-csv wo/w2.npy is inside --weights-out wo: an output may not overwrite another"
  //   "--weights-out d would overwrite --x d/w1.npy: an output may not be an input"
  //   "--y a.npy and --loss-csv b.npy are the same file"
  // IoError for an output file that is a directory (or a link to one): "--out: d: is a
  // directory, expected a file"; for an output name the filesystem cannot hold, with the
  // names its staging adds: "--weights-out: the directory name '...' has 300 characters, more
  // than the filesystem's limit of 255" (nobias::check_output_name,
  // check_output_directory_name). An empty path is ignored (an option not given).
  void check() const;

 private:
  struct Entry {
    std::string flag, path;
    bool output = false, directory = false;
    NamePredicate owns;
    std::size_t longest_inside = 0;       // an output directory: see add_output_directory
    std::vector<std::string> extensions;  // an output file: the formats its flag writes
  };
  std::vector<Entry> entries_;
};

// Outputs staged to temporaries, committed together. Destroyed uncommitted, it removes every
// temporary (StagedFile's and StagedFileSet's own guarantees).
class StagedOutputs {
 public:
  // Writes path's new contents to a temporary now (IoError with the system's reason).
  void stage_file(const std::string& path, const std::function<void(std::ostream&)>& write_body,
                  const std::string& who);
  void add(StagedFile file);
  void add(StagedFileSet set);  // from stage_weights / stage_model

  // Renames every staged output into place, in the order staged. IoError if one fails: those
  // before it are committed, it and those after are not (and their temporaries removed).
  void commit();
  bool empty() const { return files_.empty() && sets_.empty(); }

 private:
  std::vector<StagedFile> files_;
  std::vector<StagedFileSet> sets_;
  std::vector<std::pair<bool, std::size_t>> order_;  // (is_set, index)
};

}  // namespace nobias
