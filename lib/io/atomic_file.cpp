#include "io/atomic_file.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <ostream>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "io/atomic_file_hook.hpp"
#include "io/fd_streambuf.hpp"
#include "io/file_attributes.hpp"
#include "io/fork_safe.hpp"
#include "io/path_text.hpp"
#include "nobias/error.hpp"
#include "nobias/interrupt.hpp"

namespace nobias {
namespace {

using detail::directory_of;
using detail::errno_text;
using detail::file_kind_text;

namespace fs = std::filesystem;

std::mutex hook_mutex;
detail::AtomicWriteHook hook;  // guarded by hook_mutex
// Every write takes it: a child forked while another thread wrote must still write.
[[maybe_unused]] const bool g_hook_mutex_fork_safe = detail::keep_usable_across_fork<hook_mutex>();

detail::AtomicWriteHook current_hook() {
  std::lock_guard<std::mutex> lock(hook_mutex);
  return hook;
}

// How many names a save tries before giving up with EEXIST's message.
constexpr int kNameAttempts = 100;

void remove_quietly(const std::string& path) {
  std::error_code ignored;
  fs::remove(path, ignored);
}

}  // namespace

void detail::set_atomic_write_hook(AtomicWriteHook new_hook) {
  std::lock_guard<std::mutex> lock(hook_mutex);
  hook = std::move(new_hook);
}

void detail::run_atomic_write_hook(const std::string& temp_path) {
  if (AtomicWriteHook h = current_hook()) h(temp_path);
}

std::uint64_t fnv1a64(const void* data, std::size_t size, std::uint64_t hash) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

StagedFile::StagedFile(const std::string& path,
                       const std::function<void(std::ostream&)>& write_body, const std::string& who)
    : path_(path), who_(who) {
  const OutputTarget target = resolve_output(path, who);
  target_ = target.path;
  write_through_ = target.write_through;
  descriptor_ = target.descriptor;
  device_ = target.device;
  inode_ = target.inode;
  stage(write_body);
}

StagedFile::StagedFile(Exact, const std::string& path,
                       const std::function<void(std::ostream&)>& write_body, const std::string& who)
    : path_(path), who_(who), target_(path), exact_(true) {
  stage(write_body);
}

void StagedFile::stage(const std::function<void(std::ostream&)>& write_body) {
  const std::string prefix = who_ + ": " + path_ + ": ";
  if (write_through_) {
    std::ostringstream out;
    write_body(out);
    if (!out) throw IoError(prefix + "writing the contents failed");
    through_ = std::move(out).str();
    size_ = through_.size();
    pending_ = true;
    return;
  }
  const std::string dir = directory_of(target_);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    const bool exists = fs::exists(dir, ec);
    throw IoError(prefix + "directory '" + dir + "' " +
                  (exists ? "is not a directory" : "does not exist"));
  }
  const std::string identity = process_identity();
  remove_stale_temporaries(dir, identity);

  // Replacing a regular file: the temporary is made 0600, then given that file's owner and
  // mode before anything is written, so that it is never readable by more than the file.
  struct stat old {};
  const bool replacing = ::lstat(target_.c_str(), &old) == 0 && S_ISREG(old.st_mode);
  std::string temp;
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < kNameAttempts; ++attempt) {
    temp = temporary_for(target_, identity);
    fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                replacing ? S_IRUSR | S_IWUSR : 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    throw IoError(prefix + "cannot create a temporary file in directory '" + dir + "' (" +
                  errno_text(errno) + ")");
  }
  if (replacing) detail::adopt_file_attributes(fd, target_, old);
  // Closes and removes the temporary unless it is complete.
  struct Guard {
    const std::string& temp;
    int fd;
    bool armed = true;
    ~Guard() {
      if (fd >= 0) ::close(fd);
      if (armed) remove_quietly(temp);
    }
  } guard{temp, fd};

  // Only a file of a set has its checksum read (its manifest's line): nobias-predict's output
  // of 100,000 rows spent 4 ms of its ~0.5 s on a checksum nobody read.
  detail::FdStreamBuf buffer(fd, exact_);
  {
    std::ostream out(&buffer);
    // The first write that fails (a full disk) stops write_body there, as an exception, rather
    // than letting a long stream (nobias-predict over a file larger than memory) compute on
    // into a stream that drops everything, to be refused only at its end.
    out.exceptions(std::ios::badbit);
    try {
      write_body(out);
      out.flush();
    } catch (const std::ios_base::failure&) {
      if (!out.bad()) throw;  // another stream's failure, write_body's own: not ours to word
    }
    if (!out || buffer.error() != 0) {
      const int err = buffer.error();
      throw IoError(prefix + "write to temporary '" + temp + "' failed" +
                    (err != 0 ? " (" + errno_text(err) + ")" : std::string()));
    }
  }
  // The data must be on disk before the rename that publishes it, or after a power cut the
  // new name could point at an empty file. A full disk can show only here, or at close.
  if (::fsync(fd) != 0) {
    throw IoError(prefix + "cannot flush temporary '" + temp + "' to disk (" + errno_text(errno) +
                  ")");
  }
  guard.fd = -1;
  if (::close(fd) != 0) {
    throw IoError(prefix + "closing temporary '" + temp + "' failed (" + errno_text(errno) + ")");
  }
  guard.armed = false;
  temp_ = temp;
  pending_ = true;
  size_ = buffer.size();
  checksum_ = buffer.checksum();
}

StagedFile::StagedFile(StagedFile&& other) noexcept
    : path_(std::move(other.path_)),
      who_(std::move(other.who_)),
      target_(std::move(other.target_)),
      temp_(std::exchange(other.temp_, std::string())),
      through_(std::exchange(other.through_, std::string())),
      pending_(std::exchange(other.pending_, false)),
      write_through_(other.write_through_),
      exact_(other.exact_),
      descriptor_(other.descriptor_),
      device_(other.device_),
      inode_(other.inode_),
      size_(other.size_),
      checksum_(other.checksum_) {}

StagedFile& StagedFile::operator=(StagedFile&& other) noexcept {
  if (this != &other) {
    if (!temp_.empty()) remove_quietly(temp_);
    path_ = std::move(other.path_);
    who_ = std::move(other.who_);
    target_ = std::move(other.target_);
    temp_ = std::exchange(other.temp_, std::string());
    through_ = std::exchange(other.through_, std::string());
    pending_ = std::exchange(other.pending_, false);
    write_through_ = other.write_through_;
    exact_ = other.exact_;
    descriptor_ = other.descriptor_;
    device_ = other.device_;
    inode_ = other.inode_;
    size_ = other.size_;
    checksum_ = other.checksum_;
  }
  return *this;
}

StagedFile::~StagedFile() {
  if (!temp_.empty()) remove_quietly(temp_);
}

namespace {

// Opens what path names for writing in place: a character device, a FIFO (waiting for its
// reader), a socket (connected to); never creating anything. It must still be the file
// (device, inode) staged: anything else (a regular file put in its place, another inode) is
// an IoError, nothing written.
int open_in_place(const std::string& path, std::uint64_t device, std::uint64_t inode,
                  const std::string& prefix) {
  const auto same = [&](const struct stat& st) {
    return static_cast<std::uint64_t>(st.st_dev) == device &&
           static_cast<std::uint64_t>(st.st_ino) == inode && !S_ISREG(st.st_mode) &&
           !S_ISDIR(st.st_mode) && !S_ISBLK(st.st_mode);
  };
  const auto replaced = [&](const struct stat& st) {
    return IoError(prefix + "is no longer the file staged (now " + file_kind_text(st.st_mode) +
                   (S_ISREG(st.st_mode) ? "" : ", another inode") + "); nothing written");
  };
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw IoError(prefix + "cannot open it for writing (" + errno_text(errno) + ")");
  if (S_ISSOCK(st.st_mode)) {
    if (!same(st)) throw replaced(st);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path)
      throw IoError(prefix + "cannot open it for writing (" + errno_text(ENAMETOOLONG) + ")");
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      const int err = errno;
      if (fd >= 0) ::close(fd);
      throw IoError(prefix + "cannot open it for writing (" + errno_text(err) + ")");
    }
    return fd;
  }
  if (!same(st)) throw replaced(st);  // before an open that could wait for a FIFO's reader
  int fd = -1;
  for (;;) {
    fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC);  // never O_CREAT
    if (fd >= 0 || errno != EINTR) break;
    // A FIFO without a reader waits here: a caller's interrupt check may end the wait.
    interruption_point(Interruption::Signal);
  }
  if (fd < 0) throw IoError(prefix + "cannot open it for writing (" + errno_text(errno) + ")");
  // What was opened, not what the name said a moment before.
  struct stat opened {};
  if (::fstat(fd, &opened) != 0) {
    const int err = errno;
    ::close(fd);
    throw IoError(prefix + "cannot check what was opened (" + errno_text(err) + ")");
  }
  if (!same(opened)) {
    ::close(fd);
    throw replaced(opened);
  }
  return fd;
}

// A write in place cut short by a signal: the caller's interrupt check may end it (what was
// written stays written), fd closed first.
void interrupted(int fd) {
  try {
    interruption_point(Interruption::Signal);
  } catch (...) {
    ::close(fd);
    throw;
  }
}

}  // namespace

void StagedFile::check_target_unchanged() const {
  if (exact_) return;  // a file of a set, in a directory its save holds locked
  // Links changed between staging and now would redirect the commit somewhere not checked:
  // where path leads is resolved again (by the same rules) and must be where it led then.
  const OutputTarget now = resolve_output(path_, who_);
  if (now.path != target_ || now.write_through != write_through_ || now.descriptor != descriptor_ ||
      now.device != device_ || now.inode != inode_) {
    throw IoError(who_ + ": " + path_ + ": where it leads changed since it was staged (then '" +
                  target_ + "', now '" + now.path + "'); nothing written");
  }
}

void StagedFile::rename_into_place(bool sync_dir) {
  if (!pending_) return;
  check_target_unchanged();
  if (write_through_) {
    // What the program printed so far comes first, as it would on a terminal.
    std::fflush(nullptr);
    const std::string prefix = who_ + ": " + path_ + ": ";
    // A descriptor link: this process's own descriptor, duplicated (one file description,
    // one offset: what the program prints after this follows it, nothing overwritten).
    int fd = -1;
    if (descriptor_ >= 0) {
      fd = ::fcntl(descriptor_, F_DUPFD_CLOEXEC, 0);
      if (fd < 0) throw IoError(prefix + "cannot open it for writing (" + errno_text(errno) + ")");
    } else {
      fd = open_in_place(path_, device_, inode_, prefix);
    }
    std::size_t done = 0;
    while (done < through_.size()) {
      const std::size_t wanted = through_.size() - done;
      const ssize_t n = ::write(fd, through_.data() + done, wanted);
      if (n < 0 && errno == EINTR) {
        interrupted(fd);
        continue;
      }
      if (n <= 0) {
        const int err = n < 0 ? errno : EIO;
        ::close(fd);
        throw IoError(prefix + "write failed (" + errno_text(err) + ")");
      }
      done += static_cast<std::size_t>(n);
      // A blocking write to a pipe or socket stops short only when a signal came: a slow reader.
      if (static_cast<std::size_t>(n) < wanted) interrupted(fd);
    }
    if (::close(fd) != 0 && errno != EINTR)
      throw IoError(prefix + "write failed (" + errno_text(errno) + ")");
    pending_ = false;
    through_.clear();
    return;
  }
  detail::run_atomic_write_hook(temp_);
  // std::filesystem::rename replaces an existing target, atomically on POSIX.
  std::error_code ec;
  fs::rename(temp_, target_, ec);
  if (ec) {
    throw IoError(who_ + ": " + path_ + ": cannot rename temporary '" + temp_ + "' over it (" +
                  ec.message() + ")");
  }
  temp_.clear();
  pending_ = false;
  if (sync_dir) sync_directory(directory_of(target_));  // and the rename itself
}

void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write_body,
                           const std::string& who) {
  StagedFile(path, write_body, who).commit();
}

bool sync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

void sync_directory(const std::string& dir) {
  sync_path(dir, O_RDONLY | O_DIRECTORY);  // best effort: some filesystems refuse it
}

}  // namespace nobias
