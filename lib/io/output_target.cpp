// Where an output lands (resolve_output, nobias/staged.hpp): links followed by the kernel's
// fs.protected_symlinks rule, descriptor links and special files written through, directories
// refused. Apart from the staging in atomic_file.cpp, which commits to what this resolves.
// And whether an output's name fits the filesystem (check_output_name,
// check_output_directory_name), with the names its staging adds.
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomic_file.hpp"
#include "io/path_text.hpp"
#include "nobias/error.hpp"
#include "nobias/staged.hpp"

namespace nobias {
namespace fs = std::filesystem;
using detail::directory_of;
using detail::errno_text;

namespace {

// The kernel's fs.protected_symlinks rule, which a link followed by hand (readlink) skips: in a
// sticky world-writable directory (/tmp) a link is followed only when its owner is the user
// following it or the directory's owner, so that another user's link planted there cannot
// redirect the write onto a file of ours.
void check_link_may_be_followed(const std::string& link, const struct stat& link_st,
                                const std::string& path, const std::string& who) {
  const std::string dir = directory_of(link);
  struct stat dir_st {};
  if (::stat(dir.c_str(), &dir_st) != 0) {
    throw IoError(who + ": " + path + ": cannot check the directory '" + dir +
                  "' holding the link '" + link + "' (" + errno_text(errno) + ")");
  }
  if ((dir_st.st_mode & S_ISVTX) == 0 || (dir_st.st_mode & S_IWOTH) == 0) return;
  if (link_st.st_uid == ::geteuid() || link_st.st_uid == dir_st.st_uid) return;
  throw IoError(who + ": " + path + ": refusing to follow the symlink '" + link +
                "': it is owned by uid " + std::to_string(link_st.st_uid) +
                ", neither this user nor the owner of the sticky world-writable directory '" + dir +
                "' (the kernel's fs.protected_symlinks rule)");
}

}  // namespace

namespace {

// "N" of a descriptor's number, or -1.
int descriptor_number(const std::string& text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  return std::stoi(text);
}

// The descriptor of this process a descriptor link names: /dev/stdin, /dev/stdout,
// /dev/stderr, /dev/fd/N, /proc/self/fd/N, /proc/thread-self/fd/N, /proc/<this pid>/fd/N
// (p absolute and normalized). -1 for anything else.
int descriptor_of(const std::string& p) {
  if (p == "/dev/stdin") return 0;
  if (p == "/dev/stdout") return 1;
  if (p == "/dev/stderr") return 2;
  const std::string pid = std::to_string(static_cast<long long>(::getpid()));
  for (const std::string& prefix :
       {std::string("/dev/fd/"), std::string("/proc/self/fd/"),
        std::string("/proc/thread-self/fd/"), "/proc/" + pid + "/fd/"}) {
    if (p.compare(0, prefix.size(), prefix) == 0) return descriptor_number(p.substr(prefix.size()));
  }
  return -1;
}

bool under_proc(const std::string& p) {
  return p == "/proc" || p.rfind("/proc/", 0) == 0;
}

// p made absolute and normalized, lexically; and with its directory's links resolved too
// (/dev/fd/1 is /proc/<pid>/fd/1), where that directory exists.
std::vector<std::string> spellings_of(const std::string& p) {
  std::error_code ec;
  std::vector<std::string> names{fs::absolute(p, ec).lexically_normal().string()};
  const fs::path dir = fs::canonical(directory_of(p), ec);
  if (!ec) names.push_back((dir / fs::path(p).filename()).lexically_normal().string());
  return names;
}

}  // namespace

OutputTarget resolve_output(const std::string& path, const std::string& who) {
  // Symlinks are followed by hand, hop by hop, so that a link to a file not there yet still
  // names where to create it, and a descriptor link (/dev/stdout -> /proc/self/fd/1) is seen
  // as one whatever it leads to.
  constexpr int kMaxHops = 40;  // Linux's own limit (ELOOP)
  std::string current = path;
  for (int hops = 0;; ++hops) {
    // A descriptor link names a descriptor of this process, written through a dup of it: a
    // new open would start a new file description (its own offset: `> log` overwritten; a
    // socket cannot be opened at all). Other links under /proc are refused below.
    bool in_proc = false;
    for (const std::string& name : spellings_of(current)) {
      const int fd = descriptor_of(name);
      if (fd >= 0) {
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
          throw IoError(who + ": " + path + ": names descriptor " + std::to_string(fd) +
                        ", which is not open (" + errno_text(errno) + ")");
        }
        if (S_ISDIR(st.st_mode))
          throw IoError(who + ": " + path + ": is a directory, expected a file");
        OutputTarget target{path, true};
        target.descriptor = fd;
        return target;
      }
      in_proc = in_proc || under_proc(name);
    }
    struct stat st {};
    if (::lstat(current.c_str(), &st) != 0) return {current, false};  // a new file
    // A link under /proc, or one leading there, names no file to write.
    if (in_proc && (hops > 0 || S_ISLNK(st.st_mode))) {
      throw IoError(who + ": " + path + ": " +
                    (current == path ? std::string() : "leads to '" + current + "', ") +
                    "a link under /proc that is not a descriptor link (/proc/self/fd/N): refused");
    }
    if (S_ISLNK(st.st_mode)) {
      if (hops == kMaxHops)
        throw IoError(who + ": " + path + ": too many levels of symbolic links");
      check_link_may_be_followed(current, st, path, who);
      std::error_code ec;
      const fs::path link = fs::read_symlink(current, ec);
      if (ec) throw IoError(who + ": " + path + ": cannot read the link (" + ec.message() + ")");
      current = (link.is_absolute() ? link : fs::path(directory_of(current)) / link).string();
      continue;
    }
    if (S_ISDIR(st.st_mode)) throw IoError(who + ": " + path + ": is a directory, expected a file");
    if (S_ISREG(st.st_mode)) return {current, false};
    if (S_ISBLK(st.st_mode)) {
      throw IoError(who + ": " + path + ": " +
                    (current == path ? std::string() : "leads to '" + current + "', ") +
                    "a block device: refused (nobias writes no disk directly)");
    }
    OutputTarget target{path, true};  // a character device, a FIFO, a socket
    target.device = static_cast<std::uint64_t>(st.st_dev);
    target.inode = static_cast<std::uint64_t>(st.st_ino);
    return target;
  }
}

void check_output_name(const std::string& given, const std::string& what) {
  const OutputTarget target = resolve_output(given, what);
  if (target.write_through) return;  // it exists: its name fits
  const std::string& path = target.path;
  const std::string name = fs::path(path).filename().string();
  const std::string dir = directory_of(path);
  long name_max = ::pathconf(dir.c_str(), _PC_NAME_MAX);
  if (name_max <= 0) name_max = NAME_MAX;
  if (name.size() > static_cast<std::size_t>(name_max)) {
    throw IoError(what + ": the file name '" + name.substr(0, 40) + "...' has " +
                  std::to_string(name.size()) +
                  " characters, more than the filesystem's limit of " + std::to_string(name_max));
  }
  const std::size_t longest = std::max(path.size(), dir.size() + 1 + kMaxTemporaryNameLength);
  if (longest >= PATH_MAX) {
    throw IoError(what + ": the path '" + path.substr(0, 40) + "...' (with its temporary, " +
                  std::to_string(longest) + " characters) is longer than the system's limit of " +
                  std::to_string(PATH_MAX - 1));
  }
}

namespace {

// The filesystem's longest name where dir is or would be made: that of its nearest existing
// ancestor (the one a missing directory is created on).
std::size_t name_limit(const std::string& dir) {
  fs::path existing = dir;
  std::error_code ec;
  while (!existing.empty() && !fs::exists(existing, ec)) {
    existing = existing.has_parent_path() && existing.parent_path() != existing
                   ? existing.parent_path()
                   : fs::path();
  }
  const long limit = ::pathconf(existing.empty() ? "." : existing.c_str(), _PC_NAME_MAX);
  return static_cast<std::size_t>(limit > 0 ? limit : NAME_MAX);
}

}  // namespace

void check_output_directory_name(const std::string& dir, std::size_t longest_inside,
                                 const std::string& what) {
  const std::size_t name_max = name_limit(dir);
  for (const fs::path& part : fs::path(dir)) {
    const std::string name = part.string();
    if (name.size() > name_max) {
      throw IoError(what + ": the directory name '" + name.substr(0, 40) + "...' has " +
                    std::to_string(name.size()) +
                    " characters, more than the filesystem's limit of " + std::to_string(name_max));
    }
  }
  const std::size_t longest = dir.size() + 1 + longest_inside;
  if (longest >= PATH_MAX) {
    throw IoError(what + ": the path '" + dir.substr(0, 40) +
                  "...' (with the names nobias creates inside it, " + std::to_string(longest) +
                  " characters) is longer than the system's limit of " +
                  std::to_string(PATH_MAX - 1));
  }
}

std::size_t longest_name_in_file_set() {
  // The files' own names (w1.npy, model.json, nobias-manifest.txt) are shorter.
  return kMaxTemporaryNameLength;
}

}  // namespace nobias
