// Where an output lands (resolve_output, nobias/staged.hpp): links followed by the kernel's
// fs.protected_symlinks rule, descriptor links and special files written through, directories
// refused. Apart from the staging in atomic_file.cpp, which commits to what this resolves.
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

}  // namespace nobias
