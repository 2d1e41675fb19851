#include "io/file_set.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/printable.hpp"
#include "io/checksum.hpp"
#include "io/fork_safe.hpp"
#include "nobias/error.hpp"

namespace nobias {
namespace fs = std::filesystem;
using detail::printable;

bool valid_file_set_name(const std::string& name) {
  if (name.empty() || name.front() == '.' || name == kManifestName) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

namespace {

// Creates dir and its missing parents; returns those it created, the outermost first.
std::vector<std::string> create_directories_noting(const std::string& dir, const std::string& who) {
  std::vector<std::string> missing;
  std::error_code ec;
  for (fs::path p = fs::path(dir); !p.empty(); p = p.parent_path()) {
    const fs::file_status st = fs::status(p, ec);
    if (st.type() != fs::file_type::not_found) {
      if (!fs::is_directory(st))
        throw IoError(who + ": cannot create '" + dir + "': '" + p.string() +
                      "' is not a directory");
      break;
    }
    missing.push_back(p.string());
    if (p == p.parent_path()) break;
  }
  std::reverse(missing.begin(), missing.end());
  std::vector<std::string> created;
  for (const std::string& p : missing) {
    if (!fs::create_directory(p, ec) && ec) {
      for (auto it = created.rbegin(); it != created.rend(); ++it) {
        std::error_code ignored;
        fs::remove(*it, ignored);
      }
      throw IoError(who + ": cannot create '" + dir + "' (" + ec.message() + ")");
    }
    created.push_back(p);
  }
  return created;
}

// The names dir's manifest lists, or none (no manifest, or one that cannot be read or parsed:
// then a save removes nothing).
std::vector<std::string> listed_in_manifest(const std::string& dir) {
  try {
    return FileSetReader(dir, "").listed();
  } catch (const Error&) {
    return {};
  }
}

// Saves into one directory, of this process's threads and of other processes, one at a time:
// an exclusive flock on the directory itself, held from staging until commit (or discard).
// flock belongs to the open file description, so two threads contend as two processes do; a
// thread that already holds a directory's lock would wait for itself, and is refused instead.
// The holder is a thread of a process: a child forked meanwhile inherits the map, and its
// thread's id can equal the one that forked, but the save is its parent's.
struct Holder {
  pid_t pid;
  std::thread::id thread;
};
std::mutex held_mutex;
std::map<std::pair<dev_t, ino_t>, Holder> held;  // guarded by held_mutex

// A child forked while another thread held it must still load and save.
[[maybe_unused]] const bool g_held_mutex_fork_safe = detail::keep_usable_across_fork<held_mutex>();

// Called with held_mutex held.
bool held_by_this_thread(const std::pair<dev_t, ino_t>& id) {
  const auto it = held.find(id);
  return it != held.end() && it->second.pid == ::getpid() &&
         it->second.thread == std::this_thread::get_id();
}

}  // namespace

bool this_thread_saves_into(std::uint64_t device, std::uint64_t inode) {
  std::lock_guard<std::mutex> guard(held_mutex);
  return held_by_this_thread({static_cast<dev_t>(device), static_cast<ino_t>(inode)});
}

namespace {

// Owns its descriptor: moves, never copies; released (unlocked, closed) when destroyed.
class DirectoryLock {
 public:
  DirectoryLock() = default;
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  DirectoryLock(DirectoryLock&& other) noexcept : fd(std::exchange(other.fd, -1)), id(other.id) {}
  DirectoryLock& operator=(DirectoryLock&& other) noexcept {
    if (this != &other) {
      release();
      fd = std::exchange(other.fd, -1);
      id = other.id;
    }
    return *this;
  }
  ~DirectoryLock() { release(); }

  void release() noexcept {
    if (fd < 0) return;
    {
      std::lock_guard<std::mutex> lock(held_mutex);
      held.erase(id);
    }
    // Unlocked explicitly: a child forked while the save was staged shares this open file
    // description (and its flock) through its copy of fd; closing ours alone would leave the
    // directory locked until that child exits or execs.
    ::flock(fd, LOCK_UN);
    ::close(fd);
    fd = -1;
  }

  int fd = -1;
  std::pair<dev_t, ino_t> id{};
};

// Blocks until dir is this save's alone. A filesystem without flock (some network ones)
// leaves the save unlocked, as before.
DirectoryLock lock_directory(const std::string& dir, const std::string& who) {
  for (;;) {
    DirectoryLock lock;
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      throw IoError(who + ": " + dir + ": cannot open the directory to lock it (" +
                    std::generic_category().message(errno) + ")");
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      throw IoError(who + ": " + dir + ": cannot examine the directory to lock it (" +
                    std::generic_category().message(err) + ")");
    }
    lock.id = {st.st_dev, st.st_ino};
    {
      std::lock_guard<std::mutex> guard(held_mutex);
      if (held_by_this_thread(lock.id)) {
        ::close(fd);
        throw ValueError(who + ": " + dir +
                         ": this thread has already staged a save there and not committed it; "
                         "commit or destroy that one first");
      }
    }
    int rc = 0;
    while ((rc = ::flock(fd, LOCK_EX)) != 0 && errno == EINTR) {
    }
    if (rc != 0) {
      const int err = errno;
      if (err == EOPNOTSUPP || err == ENOLCK || err == EINVAL) {
        ::close(fd);
        return lock;  // no locking here
      }
      ::close(fd);
      throw IoError(who + ": " + dir + ": cannot lock the directory (" +
                    std::generic_category().message(err) + ")");
    }
    // The directory locked must still be the one at dir (not removed and made again while
    // this waited).
    struct stat now {};
    if (::stat(dir.c_str(), &now) == 0 && now.st_dev == st.st_dev && now.st_ino == st.st_ino) {
      lock.fd = fd;
      std::lock_guard<std::mutex> guard(held_mutex);
      held[lock.id] = Holder{::getpid(), std::this_thread::get_id()};
      return lock;
    }
    ::close(fd);
    create_directories_noting(dir, who);
  }
}

}  // namespace

// What a staged set holds: its files' temporaries, the new manifest's, and what its commit
// needs to know.
struct StagedFileSet::State {
  std::string dir, who;
  NamePredicate owned;
  std::vector<std::string> names;
  std::vector<StagedFile> files;
  std::vector<StagedFile> manifest;  // zero or one
  std::vector<std::string> created_dirs;
  std::vector<std::string> previous;  // what the manifest there listed when this was staged
  DirectoryLock lock;
  bool committed = false;

  State(const std::string& d, NamePredicate o, const std::string& w)
      : dir(d), who(w), owned(std::move(o)) {}
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    if (!committed) discard();
  }

  void discard() noexcept {
    files.clear();  // each removes its temporary
    manifest.clear();
    for (auto it = created_dirs.rbegin(); it != created_dirs.rend(); ++it) {
      std::error_code ignored;
      fs::remove(*it, ignored);  // only if still empty
    }
    created_dirs.clear();
    lock.release();
  }
};

StagedFileSet stage_file_set(const std::string& dir, const std::vector<FileSetEntry>& files,
                             NamePredicate owned, const std::string& who,
                             const std::function<void()>& under_lock) {
  std::set<std::string> seen;
  for (const FileSetEntry& entry : files) {
    if (!valid_file_set_name(entry.name)) {
      throw ValueError(who + ": '" + printable(entry.name) +
                       "' cannot be a file of a set (letters, digits, '.', '_', '-'; not starting "
                       "with '.'; not " +
                       kManifestName + ")");
    }
    if (!seen.insert(entry.name).second)
      throw ValueError(who + ": '" + entry.name + "' is twice in one set");
  }
  // Destroyed by an exception below, the state discards what it has staged.
  auto state = std::make_unique<StagedFileSet::State>(dir, std::move(owned), who);
  state->created_dirs = create_directories_noting(dir, who);
  state->lock = lock_directory(dir, who);
  if (under_lock) under_lock();
  state->previous = listed_in_manifest(dir);
  remove_stale_temporaries(dir);
  std::string manifest = std::string(kManifestHeader) + "\n";
  for (const FileSetEntry& entry : files) {
    const StagedFile& file = state->files.emplace_back(
        detail::StagedFileAccess::exact((fs::path(dir) / entry.name).string(), entry.write, who));
    state->names.push_back(entry.name);
    manifest += entry.name + " " + std::to_string(detail::StagedFileAccess::size(file)) + " " +
                detail::hex64(detail::StagedFileAccess::checksum(file)) + "\n";
  }
  state->manifest.emplace_back(detail::StagedFileAccess::exact(
      (fs::path(dir) / kManifestName).string(), [&](std::ostream& out) { out << manifest; }, who));
  sync_directory(dir);  // the temporaries' names, before any rename depends on them
  return StagedFileSet(std::move(state));
}

StagedFileSet::StagedFileSet(std::unique_ptr<State> state) : state_(std::move(state)) {}
StagedFileSet::StagedFileSet(StagedFileSet&& other) noexcept = default;
// The state replaced, if uncommitted, discards what it staged.
StagedFileSet& StagedFileSet::operator=(StagedFileSet&& other) noexcept = default;
StagedFileSet::~StagedFileSet() = default;

const std::string& StagedFileSet::directory() const {
  static const std::string none;
  return state_ ? state_->dir : none;
}

bool StagedFileSet::committed() const {
  return !state_ || state_->committed;
}

void StagedFileSet::commit() {
  if (committed()) return;
  State& s = *state_;
  // The commit point: from here on the directory claims to be the new set.
  for (StagedFile& m : s.manifest)
    m.commit();
  s.created_dirs.clear();  // the directories now hold the manifest: they stay
  // Only files the previous save wrote (its manifest lists them) are removed: a file of the
  // user's that merely has a model's name stays.
  std::error_code ec;
  std::vector<fs::path> stale;
  for (const std::string& name : s.previous) {
    if (s.owned && s.owned(name) &&
        std::find(s.names.begin(), s.names.end(), name) == s.names.end())
      stale.push_back(fs::path(s.dir) / name);
  }
  for (const fs::path& p : stale) {
    if (!fs::remove(p, ec) && ec && ec != std::errc::no_such_file_or_directory) {
      throw IoError(s.who + ": " + s.dir + ": cannot remove " + p.filename().string() +
                    " of an earlier save (" + ec.message() + ")");
    }
  }
  // The manifest's rename is durable (synced) before any file's; the files' renames are
  // synced once, together.
  for (StagedFile& f : s.files)
    detail::StagedFileAccess::commit_unsynced(f);
  sync_directory(s.dir);
  s.committed = true;
  s.files.clear();
  s.manifest.clear();
  s.lock.release();
}

void write_file_set(const std::string& dir, const std::vector<FileSetEntry>& files,
                    const NamePredicate& owned, const std::string& who) {
  stage_file_set(dir, files, owned, who, {}).commit();
}

}  // namespace nobias
