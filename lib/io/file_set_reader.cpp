// FileSetReader (io/file_set.hpp): a saved set read back, every file checked against the
// manifest that lists it, so that what is read is one complete save.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <ios>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "core/printable.hpp"
#include "io/checksum.hpp"
#include "io/file_set.hpp"
#include "io/regular_file.hpp"
#include "nobias/error.hpp"

namespace nobias {

namespace fs = std::filesystem;
using detail::printable;

namespace {

// How long a loader waits for a save's exclusive lock before it reads unlocked. A save's
// commit holds it for milliseconds; whoever holds it longer (a save stopped with Ctrl-Z, a large
// set still being written and synced, or any process that can read the directory and takes an
// exclusive flock on it) must not stall a load without end. Read unlocked, the load gets the
// old set unless a commit is running right then (refused as before the lock existed).
constexpr std::chrono::milliseconds kReadLockPatience{5000};

// Polls for a shared flock on fd until patience has passed: a blocking flock cannot be given a
// deadline, and a signal (Ctrl-C in Python) is then answered within a poll's sleep.
bool shared_lock_within(int fd, std::chrono::milliseconds patience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  auto nap = std::chrono::microseconds(500);
  for (;;) {
    if (::flock(fd, LOCK_SH | LOCK_NB) == 0) return true;
    if (errno != EWOULDBLOCK && errno != EINTR) return false;  // ENOLCK, EOPNOTSUPP: no flock
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::microseconds(50000));
  }
}

// A shared flock on dir, held while a reader reads (io/file_set.hpp, "Loaders"): a save's
// exclusive lock waits for it, and it for a save under way, so no commit runs while the set is
// read. -1 where none can be had, and the reader reads unlocked (a mismatch is then refused as
// before): dir cannot be opened (searchable but not readable), the filesystem has no flock
// (ENOLCK, EOPNOTSUPP on some network ones), this thread holds dir's save lock itself (a
// save's own check of what dir holds; nothing else can commit there meanwhile), or another holds
// an exclusive lock on dir for longer than kReadLockPatience.
int lock_for_reading(const std::string& dir) {
  for (;;) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st {};
    if (::fstat(fd, &st) != 0 || this_thread_saves_into(static_cast<std::uint64_t>(st.st_dev),
                                                        static_cast<std::uint64_t>(st.st_ino))) {
      ::close(fd);
      return -1;
    }
    if (!shared_lock_within(fd, kReadLockPatience)) {
      ::close(fd);
      return -1;
    }
    // The directory locked must still be the one at dir (not removed and made again while
    // this waited); if dir is gone, what follows says so.
    struct stat now {};
    if (::stat(dir.c_str(), &now) != 0 || (now.st_dev == st.st_dev && now.st_ino == st.st_ino))
      return fd;
    ::flock(fd, LOCK_UN);
    ::close(fd);
  }
}

}  // namespace

FileSetReader::SharedLock::~SharedLock() {
  if (fd < 0) return;
  // Unlocked explicitly: a child forked meanwhile shares the lock through its copy of fd.
  ::flock(fd, LOCK_UN);
  ::close(fd);
}

FileSetReader::FileSetReader(const std::string& dir, const std::string& who)
    : dir_(dir), who_(who) {
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (st.type() == fs::file_type::not_found)
    throw IoError(who + ": directory '" + dir + "' does not exist");
  if (ec) throw IoError(who + ": cannot access '" + dir + "' (" + ec.message() + ")");
  if (!fs::is_directory(st)) throw IoError(who + ": '" + dir + "' is not a directory");
  lock_.fd = lock_for_reading(dir);

  const fs::path path = fs::path(dir) / kManifestName;
  const fs::file_status mst = fs::symlink_status(path, ec);
  if (mst.type() == fs::file_type::not_found) return;
  if (!fs::is_regular_file(fs::status(path, ec)))
    fail(std::string(kManifestName) + " is not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(std::string("cannot read ") + kManifestName);
  has_manifest_ = true;
  std::string line;
  std::size_t number = 0;
  const auto bad_line = [&](const std::string& what) {
    fail(std::string(kManifestName) + ": line " + std::to_string(number) + ": " + what + ": '" +
         printable(line) + "'");
  };
  while (std::getline(in, line)) {
    ++number;
    if (number == 1) {
      if (line != kManifestHeader) bad_line(std::string("expected '") + kManifestHeader + "'");
      continue;
    }
    std::istringstream fields(line);
    std::string name, size_text, sum_text, extra;
    fields >> name >> size_text >> sum_text;
    if (!fields || (fields >> extra) || !valid_file_set_name(name) || size_text.empty() ||
        size_text.find_first_not_of("0123456789") != std::string::npos || size_text.size() > 19 ||
        sum_text.size() != 16 ||
        sum_text.find_first_not_of("0123456789abcdef") != std::string::npos) {
      bad_line("expected 'NAME SIZE CHECKSUM'");
    }
    if (entries_.count(name) != 0) bad_line("'" + name + "' is listed twice");
    Entry entry;
    entry.size = std::stoull(size_text);
    entry.checksum = std::stoull(sum_text, nullptr, 16);
    entries_[name] = entry;
    listed_.push_back(name);
  }
  if (number == 0) {
    line.clear();
    bad_line(std::string("expected '") + kManifestHeader + "'");
  }
}

void FileSetReader::fail(const std::string& what) const {
  throw IoError(who_ + ": " + dir_ + ": " + what);
}

bool FileSetReader::exists(const std::string& name) const {
  std::error_code ec;
  return fs::exists(fs::path(dir_) / name, ec);
}

bool FileSetReader::in_set(const std::string& name) const {
  return has_manifest_ ? entries_.count(name) != 0 : exists(name);
}

std::string FileSetReader::read(const std::string& name) const {
  const fs::path path = fs::path(dir_) / name;
  const auto listed = entries_.find(name);
  if (has_manifest_ && listed == entries_.end()) {
    fail(name + " is not listed in " + kManifestName + ": the directory is not one complete save");
  }
  std::optional<std::string> read =
      detail::read_regular_file(path.string(), who_ + ": " + path.string() + ": ");
  if (!read) throw IoError(who_ + ": " + path.string() + ": file does not exist");
  std::string bytes = std::move(*read);
  if (has_manifest_) {
    const std::uint64_t sum = fnv1a64(bytes.data(), bytes.size());
    if (bytes.size() != listed->second.size || sum != listed->second.checksum) {
      fail(name + " does not match " + kManifestName + " (it has " + std::to_string(bytes.size()) +
           " bytes, checksum " + detail::hex64(sum) + "; the manifest says " +
           std::to_string(listed->second.size) + " bytes, checksum " +
           detail::hex64(listed->second.checksum) +
           "): the directory is not one complete save (interrupted, mixed with files of another "
           "save, or changed since; to load files changed on purpose, delete " +
           kManifestName + ")");
    }
  }
  return bytes;
}

void FileSetReader::check_complete() const {
  if (!has_manifest_) return;
  for (const std::string& name : listed_) {
    if (!exists(name)) {
      fail(name + " is listed in " + kManifestName +
           " but missing: the directory is not one complete save");
    }
  }
}

}  // namespace nobias
