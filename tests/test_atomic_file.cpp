// What a replaced file keeps (io/atomic_file.hpp): its permission bits, owner and group.
#include <doctest/doctest.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/atomic_file.hpp"
#include "io/atomic_file_hook.hpp"
#include "nobias/error.hpp"
#include "nobias/npy.hpp"
#include "nobias/staged.hpp"
#include "nobias/weights_io.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using nobias::IoError;
using nobias::Matrix;
using test_support::read_bytes;
using test_support::TempDir;
using test_support::write_bytes;

namespace {

constexpr char kPrefix[] = ".nobias-tmp-";

// Sets the umask for one scope.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : saved_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(saved_); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t saved_;
};

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

struct stat stat_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

std::vector<std::string> temporaries(const TempDir& dir) {
  std::vector<std::string> found;
  for (const std::string& name : dir.names())
    if (name.rfind(kPrefix, 0) == 0) found.push_back(name);
  return found;
}

int exit_status(pid_t pid) {
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

// ---- what a replaced file keeps ----

TEST_CASE("atomic.replacing_a_file_keeps_its_permission_bits") {
  // A user who chmod 600'd their predictions must not get them world-readable from the next
  // run. The umask does not apply to a mode copied from the file replaced.
  TempDir dir("keeps-mode");
  for (const mode_t mask : {mode_t(022), mode_t(077), mode_t(0)}) {
    for (const mode_t mode :
         {mode_t(0600), mode_t(0640), mode_t(0444), mode_t(0755), mode_t(0604), mode_t(0666)}) {
      CAPTURE(mask);
      CAPTURE(mode);
      ScopedUmask umask(mask);
      const std::string path = dir.file("p.npy");
      write_bytes(path, "old");
      REQUIRE(::chmod(path.c_str(), mode) == 0);
      nobias::write_npy(path, Matrix<float>(2, 3));
      CHECK(mode_of(path) == mode);
      CHECK(nobias::read_npy<float>(path).cols() == 3);
      fs::remove(path);
    }
  }
  CHECK(temporaries(dir).empty());
}

TEST_CASE("atomic.a_temporary_never_has_more_permissions_than_the_file_it_replaces") {
  // The temporary takes the mode before any byte is written: nobody can open it, with the
  // wider mode a new file gets, while it fills.
  TempDir dir("temp-mode");
  ScopedUmask umask(022);
  const std::string path = dir.file("secret.csv");
  write_bytes(path, "old");
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  std::vector<mode_t> while_writing, before_rename;
  nobias::detail::ScopedAtomicWriteHook hook(
      [&](const std::string& temp) { before_rename.push_back(mode_of(temp)); });
  nobias::StagedFile staged(
      path,
      [&](std::ostream& out) {
        for (const std::string& name : temporaries(dir))
          while_writing.push_back(mode_of(dir.file(name)));
        out << "new";
      },
      "--out");
  staged.commit();
  CHECK(while_writing == std::vector<mode_t>{0600});
  CHECK(before_rename == std::vector<mode_t>{0600});
  CHECK(mode_of(path) == 0600);
  CHECK(read_bytes(path) == "new");
}

TEST_CASE("atomic.a_new_file_gets_0666_less_the_umask") {
  TempDir dir("new-mode");
  for (const mode_t mask : {mode_t(022), mode_t(027), mode_t(077), mode_t(002)}) {
    CAPTURE(mask);
    ScopedUmask umask(mask);
    const std::string path = dir.file("new-" + std::to_string(mask) + ".npy");
    nobias::write_npy(path, Matrix<double>(1, 1));
    CHECK(mode_of(path) == (0666 & ~mask));
  }
}

TEST_CASE("atomic.set_id_and_sticky_bits_are_not_copied") {
  // A data file has no use for them, and a set-id bit on a file whose owner could not be kept
  // would hand the writer's identity to whoever runs it.
  TempDir dir("set-id");
  ScopedUmask umask(022);
  const std::string path = dir.file("w.npy");
  for (const mode_t mode : {mode_t(04755), mode_t(02750), mode_t(01644)}) {
    CAPTURE(mode);
    write_bytes(path, "old");
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    nobias::write_npy(path, Matrix<float>(1, 1));
    CHECK(mode_of(path) == (mode & 0777));
  }
}

TEST_CASE("atomic.replacing_a_file_of_a_set_keeps_its_permission_bits") {
  TempDir dir("set-mode");
  ScopedUmask umask(022);
  std::vector<Matrix<float>> w;
  w.push_back(Matrix<float>(2, 3));
  w.push_back(Matrix<float>(3, 1));
  nobias::save_weights(dir.path().string(), w);
  REQUIRE(::chmod(dir.file("w1.npy").c_str(), 0600) == 0);
  REQUIRE(::chmod(dir.file("nobias-manifest.txt").c_str(), 0640) == 0);
  nobias::save_weights(dir.path().string(), w);
  CHECK(mode_of(dir.file("w1.npy")) == 0600);
  CHECK(mode_of(dir.file("nobias-manifest.txt")) == 0640);
  CHECK(mode_of(dir.file("w2.npy")) == 0644);
}

TEST_CASE("atomic.replacing_a_file_keeps_its_owner_and_group_where_the_process_may") {
  TempDir dir("owner");
  ScopedUmask umask(022);
  const std::string path = dir.file("p.npy");
  write_bytes(path, "old");
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  if (::geteuid() == 0) {
    // Root may give a file away: a 0640 nobody:nogroup file stays one.
    REQUIRE(::chown(path.c_str(), 65534, 65534) == 0);
    nobias::write_npy(path, Matrix<float>(1, 2));
    const struct stat st = stat_of(path);
    CHECK(st.st_uid == 65534);
    CHECK(st.st_gid == 65534);
    CHECK((st.st_mode & 07777) == 0640);
    return;
  }
  // Another user may keep a group it belongs to.
  std::vector<gid_t> groups(static_cast<std::size_t>(::getgroups(0, nullptr)) + 1);
  groups.resize(
      static_cast<std::size_t>(::getgroups(static_cast<int>(groups.size()), groups.data())));
  gid_t other = ::getegid();
  for (const gid_t g : groups)
    if (g != ::getegid()) other = g;
  if (other == ::getegid()) {
    MESSAGE("not checked: this user belongs to one group only and cannot give files away");
    return;
  }
  REQUIRE(::chown(path.c_str(), static_cast<uid_t>(-1), other) == 0);
  nobias::write_npy(path, Matrix<float>(1, 2));
  CHECK(stat_of(path).st_gid == other);
  CHECK(mode_of(path) == 0640);
}

TEST_CASE("atomic.an_owner_not_kept_is_no_error_and_its_group_gains_nothing") {
  // A user who may write the directory replaces root's 0640 root:root file: the new file is
  // the user's (fchown fails: no error) and, its group not root's, the group may do with it only
  // what others could do with the old file (0600 here; 0644 stays 0644).
  if (::geteuid() != 0) {
    MESSAGE("not checked: needs root to run a save as another user");
    return;
  }
  TempDir dir("owner-lost");
  fs::permissions(dir.path(), fs::perms(0755));  // nobody must reach it, whatever the umask
  const std::string sub = dir.file("shared");
  fs::create_directory(sub);
  REQUIRE(::chown(sub.c_str(), 65534, 65534) == 0);
  const std::string narrow = sub + "/narrow.npy", wide = sub + "/wide.npy";
  write_bytes(narrow, "old");
  write_bytes(wide, "old");
  REQUIRE(::chmod(narrow.c_str(), 0640) == 0);
  REQUIRE(::chmod(wide.c_str(), 0664) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::umask(022);
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
    try {
      nobias::write_npy(narrow, Matrix<float>(1, 2));
      nobias::write_npy(wide, Matrix<float>(1, 2));
    } catch (...) {
      ::_exit(2);
    }
    ::_exit(0);
  }
  REQUIRE(exit_status(child) == 0);
  for (const std::string& path : {narrow, wide}) {
    CAPTURE(path);
    const struct stat st = stat_of(path);
    CHECK(st.st_uid == 65534);
    CHECK(st.st_gid == 65534);
    CHECK(nobias::read_npy<float>(path).cols() == 2);
  }
  CHECK(mode_of(narrow) == 0600);
  CHECK(mode_of(wide) == 0644);
}
