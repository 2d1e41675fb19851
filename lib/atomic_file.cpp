#include "nobias/atomic_file.hpp"

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include "atomic_file_hook.hpp"
#include "nobias/error.hpp"

namespace nobias {
namespace {

namespace fs = std::filesystem;

std::mutex hook_mutex;
detail::AtomicWriteHook hook;  // guarded by hook_mutex

detail::AtomicWriteHook current_hook() {
  std::lock_guard<std::mutex> lock(hook_mutex);
  return hook;
}

// pid keeps two processes apart, the counter two threads (or two writes) of one process.
std::string temp_name_for(const std::string& path) {
  static std::atomic<std::uint64_t> counter{0};
  return path + ".tmp-" + std::to_string(static_cast<long long>(::getpid())) + "-" +
         std::to_string(counter.fetch_add(1));
}

std::string errno_text(int err) {
  return std::generic_category().message(err);
}

}  // namespace

void detail::set_atomic_write_hook(AtomicWriteHook new_hook) {
  std::lock_guard<std::mutex> lock(hook_mutex);
  hook = std::move(new_hook);
}

void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write_body,
                           const std::string& who) {
  const std::string prefix = who + ": " + path + ": ";
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    const bool exists = fs::exists(dir, ec);
    throw IoError(prefix + "directory '" + dir.string() + "' " +
                  (exists ? "is not a directory" : "does not exist"));
  }

  const std::string temp = temp_name_for(path);
  // Removes the temporary unless the rename has consumed it.
  struct TempGuard {
    const std::string& name;
    bool armed = true;
    ~TempGuard() {
      if (armed) {
        std::error_code ignored;
        fs::remove(name, ignored);
      }
    }
  } guard{temp};

  {
    errno = 0;
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) {
      const int err = errno;
      throw IoError(prefix + "cannot create a temporary file in directory '" + dir.string() + "'" +
                    (err != 0 ? " (" + errno_text(err) + ")" : std::string()));
    }
    write_body(out);
    // A full disk often shows only at flush or close, so check after each.
    out.flush();
    if (!out) throw IoError(prefix + "write to temporary '" + temp + "' failed");
    out.close();
    if (out.fail()) throw IoError(prefix + "closing temporary '" + temp + "' failed");
  }

  // The data must be on disk before the rename that publishes it, or after a power cut the
  // new name could point at an empty file.
  if (!sync_path(temp, O_RDONLY)) {
    throw IoError(prefix + "cannot flush temporary '" + temp + "' to disk (" + errno_text(errno) +
                  ")");
  }

  if (detail::AtomicWriteHook h = current_hook()) h(temp);

  // std::filesystem::rename replaces an existing target (POSIX rename, and
  // MoveFileEx with MOVEFILE_REPLACE_EXISTING on Windows), atomically on POSIX.
  fs::rename(temp, path, ec);
  if (ec) {
    throw IoError(prefix + "cannot rename temporary '" + temp + "' over it (" + ec.message() + ")");
  }
  guard.armed = false;
  sync_directory(dir.string());  // and the rename itself
}

bool sync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

void sync_directory(const std::string& dir) {
  sync_path(dir, O_RDONLY | O_DIRECTORY);  // best effort: some filesystems refuse it
}

}  // namespace nobias
