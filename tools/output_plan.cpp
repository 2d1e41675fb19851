#include "output_plan.hpp"

#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include <sys/stat.h>

#include "nobias/error.hpp"
#include "nobias/names.hpp"
#include "nobias/staged.hpp"

namespace nobias {
namespace {

namespace fs = std::filesystem;

struct Identity {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const Identity& o) const { return dev == o.dev && ino == o.ino; }
};

std::optional<Identity> identity_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return std::nullopt;
  return Identity{st.st_dev, st.st_ino};
}

fs::path resolved(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) p = fs::absolute(path, ec);
  return p.lexically_normal();
}

struct Resolved {
  fs::path path;
  std::optional<Identity> id;
};

// If inner lies strictly inside outer: the name of its ancestor right below outer.
std::optional<std::string> child_below(const Resolved& outer, const Resolved& inner) {
  fs::path below = inner.path;
  for (fs::path p = inner.path.parent_path(); !p.empty(); below = p, p = p.parent_path()) {
    const bool same_path = p == outer.path;
    bool same_file = false;
    if (!same_path && outer.id) {
      const std::optional<Identity> id = identity_of(p);
      same_file = id && *id == *outer.id;
    }
    if (same_path || same_file) return below.filename().string();
    if (p == p.parent_path()) break;
  }
  return std::nullopt;
}

}  // namespace

void PathPlan::add_input(const std::string& flag, const std::string& path, NamePredicate owns) {
  if (path.empty()) return;
  std::error_code ec;
  entries_.push_back({flag, path, false, fs::is_directory(path, ec), std::move(owns), 0, {}});
}

void PathPlan::add_output_file(const std::string& flag, const std::string& path,
                               std::vector<std::string> extensions) {
  if (path.empty()) return;
  entries_.push_back({flag, path, true, false, {}, 0, std::move(extensions)});
}

void PathPlan::add_output_directory(const std::string& flag, const std::string& path,
                                    NamePredicate owns, std::size_t longest_inside) {
  if (path.empty()) return;
  entries_.push_back({flag, path, true, true, std::move(owns), longest_inside, {}});
}

void PathPlan::check() const {
  // A name the run would write in another format than it names: refused before the rest.
  for (const Entry& e : entries_)
    if (e.output && !e.directory && !e.extensions.empty())
      output_format(e.flag, e.path, e.extensions);
  std::vector<Resolved> where;
  std::vector<bool> through;  // an output written in place (/dev/null, a FIFO): may be shared
  for (const Entry& e : entries_) {
    // A name the filesystem cannot hold, or a directory where a file is expected, would fail
    // only at the commit, after all the work.
    if (e.output && !e.directory) check_output_name(e.path, e.flag);
    if (e.output && e.directory) check_output_directory_name(e.path, e.longest_inside, e.flag);
    through.push_back(e.output && !e.directory && resolve_output(e.path, e.flag).write_through);
    const fs::path p = resolved(e.path);
    where.push_back({p, identity_of(p)});
  }
  const auto named = [](const Entry& e) { return e.flag + " " + e.path; };
  for (std::size_t a = 0; a < entries_.size(); ++a) {
    for (std::size_t b = 0; b < entries_.size(); ++b) {
      const Entry& ea = entries_[a];
      const Entry& eb = entries_[b];
      if (a == b || ea.flag == eb.flag || (!ea.output && !eb.output)) continue;
      const bool same = where[a].path == where[b].path ||
                        (where[a].id && where[b].id && *where[a].id == *where[b].id);
      if (same && a < b) {
        if (ea.output && eb.output) {
          if (through[a] && through[b]) continue;  // two outputs into /dev/null, say
          throw ValueError(named(ea) + " and " + named(eb) +
                           " are the same path: two outputs may not share it");
        }
        const Entry& out = ea.output ? ea : eb;
        const Entry& in = ea.output ? eb : ea;
        throw ValueError(named(out) + " would overwrite " + named(in) +
                         ": an output may not be an input");
      }
      if (same || !ea.directory) continue;
      // b inside directory a: a conflict when a is an output, or b an output inside input a,
      // unless a says it never touches that name.
      const std::optional<std::string> child = child_below(where[a], where[b]);
      if (!child || (ea.owns && !ea.owns(*child))) continue;
      if (ea.output) {
        throw ValueError(named(eb) + " is inside " + named(ea) + ": an output directory may not " +
                         (eb.output ? "hold another output" : "hold an input"));
      }
      throw ValueError(named(eb) + " would write inside " + named(ea) +
                       ", which is an input: an output may not overwrite an input");
    }
  }
}

void StagedOutputs::stage_file(const std::string& path,
                               const std::function<void(std::ostream&)>& write_body,
                               const std::string& who) {
  add(StagedFile(path, write_body, who));
}

void StagedOutputs::add(StagedFile file) {
  order_.emplace_back(false, files_.size());
  files_.push_back(std::move(file));
}

void StagedOutputs::add(StagedFileSet set) {
  order_.emplace_back(true, sets_.size());
  sets_.push_back(std::move(set));
}

void StagedOutputs::commit() {
  for (const auto& [is_set, index] : order_) {
    if (is_set) {
      sets_[index].commit();
    } else {
      files_[index].commit();
    }
  }
}

}  // namespace nobias
