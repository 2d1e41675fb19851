// What a replaced file keeps (its permission bits, owner and group) and which temporaries a save
// may remove (io/atomic_file.hpp): only a dead run's, of this machine and pid namespace, and
// only regular files. Processes in another pid namespace are made with unshare(CLONE_NEWPID),
// which needs root (or is skipped with a message).
#include <doctest/doctest.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
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
#include <sys/xattr.h>
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

// A process id that no longer runs: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  REQUIRE(child > 0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

// The name of the temporary a save into dir makes now (seen by the test hook).
std::string temporary_name_seen(const TempDir& dir) {
  std::string seen;
  {
    nobias::detail::ScopedAtomicWriteHook hook([&](const std::string& temp) { seen = temp; });
    write_bytes(dir.file("probe.bin"), "");
    nobias::write_file_atomically(
        dir.file("probe.bin"), [](std::ostream& out) { out << "x"; }, "test");
  }
  REQUIRE(!seen.empty());
  return fs::path(seen).filename().string();
}

// What a temporary's name says of who made it: the part between the prefix and "-<pid>-"
// (this machine's boot and this process's pid namespace).
std::string identity_of(const std::string& name) {
  const std::string pid = "-" + std::to_string(::getpid()) + "-";
  const std::size_t at = name.find(pid, sizeof kPrefix - 1);
  REQUIRE(at != std::string::npos);
  return name.substr(sizeof kPrefix - 1, at - (sizeof kPrefix - 1));
}

// This machine's boot id, its first 12 hex digits, and the pid namespace's inode in hex: what
// the names are documented to carry.
std::string expected_identity() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string boot, digits;
  REQUIRE(std::getline(in, boot));
  for (char c : boot)
    if (c != '-' && digits.size() < 12) digits += c;
  struct stat st {};
  REQUIRE(::stat("/proc/self/ns/pid", &st) == 0);
  std::ostringstream ns;
  ns << std::hex << static_cast<std::uint64_t>(st.st_ino);
  return digits + "." + ns.str();
}

// Runs body in a process of a new pid namespace (where it is pid 1) and returns the pid of the
// process that made the namespace; its exit status is body's, or 77 when no namespace can be
// made here. up and down are pipes body may use to talk with the test (both ends inherited).
pid_t in_new_pid_namespace(const std::function<int()>& body) {
  const pid_t maker = ::fork();
  REQUIRE(maker >= 0);
  if (maker == 0) {
    if (::unshare(CLONE_NEWPID) != 0) ::_exit(77);
    const pid_t child = ::fork();  // the namespace's first process
    if (child < 0) ::_exit(78);
    if (child == 0) {
      int status = 1;
      try {
        status = body();
      } catch (...) {
        status = 2;
      }
      ::_exit(status);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 79);
  }
  return maker;
}

int exit_status(pid_t pid) {
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// One byte from fd within 20 s, or 0 (closed, or nothing came).
char read_byte(int fd) {
  pollfd p{fd, POLLIN, 0};
  char c = 0;
  if (::poll(&p, 1, 20000) != 1 || ::read(fd, &c, 1) != 1) return 0;
  return c;
}

struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() { REQUIRE(::pipe(fd) == 0); }
  ~Pipe() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
};

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

// A POSIX access ACL as Linux stores it in system.posix_acl_access: version 2, then each entry's
// tag, permissions and id (little-endian), in the order the kernel keeps them.
struct AclEntry {
  std::uint16_t tag, perm;
  std::uint32_t id;
};
std::string posix_acl(const std::vector<AclEntry>& entries) {
  std::string bytes;
  const auto put = [&bytes](std::uint32_t value, int size) {
    for (int i = 0; i < size; ++i)
      bytes.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  };
  put(2, 4);
  for (const AclEntry& e : entries) {
    put(e.tag, 2);
    put(e.perm, 2);
    put(e.id, 4);
  }
  return bytes;
}

std::string access_acl_of(const std::string& path) {
  std::string bytes(1024, '\0');
  const ssize_t n = ::getxattr(path.c_str(), "system.posix_acl_access", bytes.data(), bytes.size());
  bytes.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return bytes;
}

TEST_CASE("atomic.replacing_a_file_keeps_its_access_acl") {
  // 0600 with an ACL that lets uid 65534 read: the group bits show the ACL's mask (r--) while
  // the owning group may do nothing. Copied as a mode alone, the owning group would gain read
  // access and 65534 lose it.
  constexpr std::uint32_t kNoId = 0xffffffff;
  TempDir dir("keeps-acl");
  const std::string path = dir.file("p.npy");
  write_bytes(path, "old");
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  const std::string acl = posix_acl(
      {{0x01, 6, kNoId}, {0x02, 4, 65534}, {0x04, 0, kNoId}, {0x10, 4, kNoId}, {0x20, 0, kNoId}});
  if (::setxattr(path.c_str(), "system.posix_acl_access", acl.data(), acl.size(), 0) != 0) {
    MESSAGE("not checked: no POSIX ACLs on this filesystem (" << std::strerror(errno) << ")");
    return;
  }
  REQUIRE(access_acl_of(path) == acl);
  REQUIRE(mode_of(path) == 0640);
  nobias::write_npy(path, Matrix<float>(2, 3));
  CHECK(access_acl_of(path) == acl);
  CHECK(mode_of(path) == 0640);
  CHECK(nobias::read_npy<float>(path).cols() == 3);
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

// ---- which temporaries a save removes ----

TEST_CASE("atomic.temporaries_carry_the_boot_and_pid_namespace") {
  TempDir dir("identity");
  const std::string name = temporary_name_seen(dir);
  CHECK(identity_of(name) == expected_identity());
  // Another process of this namespace names its temporaries alike.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    try {
      const std::string theirs = temporary_name_seen(dir);
      const std::string expected = expected_identity() + "-" + std::to_string(::getpid()) + "-";
      ::_exit(theirs.find(expected) == sizeof kPrefix - 1 ? 0 : 1);
    } catch (...) {
      ::_exit(2);
    }
  }
  CHECK(exit_status(child) == 0);
  CHECK(name.size() <= nobias::kMaxTemporaryNameLength);
  CHECK(temporaries(dir).empty());
}

TEST_CASE("atomic.only_a_dead_run_s_regular_files_of_this_machine_and_namespace_are_removed") {
  TempDir dir("stale-identity");
  // The identity as documented, not as read from a name: old code's names carry none.
  const std::string me = expected_identity();
  const std::string dead = std::to_string(dead_pid());
  const std::string boot = me.substr(0, me.find('.')), ns = me.substr(me.find('.') + 1);
  const std::string other_boot = (boot[0] == 'a' ? "b" : "a") + boot.substr(1);
  const std::string other_ns = ns + "1";
  const auto name = [](const std::string& id, const std::string& pid, const std::string& rest) {
    return kPrefix + id + "-" + pid + "-" + rest;
  };
  const std::vector<std::string> removed = {
      name(me, dead, "3"),
      name(me, dead, "0-w1.npy"),
  };
  const std::vector<std::string> kept_files = {
      name(other_boot + "." + ns, dead, "0-a.npy"),  // another machine sharing the directory
      name(boot + "." + other_ns, dead, "0-a.npy"),  // another pid namespace (a container)
      name("unknown", dead, "0-a.npy"),              // a writer that could not tell
      name(me, "1", "0-a.npy"),                      // alive
      name(me, std::to_string(::getpid()), "999999-a.npy"),  // this process's own
      kPrefix + dead + "-0-a.npy",                           // named before identities: maybe live
      kPrefix + dead + "-3",
      kPrefix + std::string("x-1"),  // not a name a save makes
  };
  for (const std::string& n : removed)
    write_bytes(dir.file(n), "debris");
  for (const std::string& n : kept_files)
    write_bytes(dir.file(n), "debris");
  // Never a directory (nor what is inside), never a symlink (nor where it leads).
  const std::vector<std::string> dirs = {name(me, dead, "1-mine"), kPrefix + dead + "-1-mine"};
  for (const std::string& d : dirs) {
    fs::create_directory(dir.file(d));
    write_bytes(dir.file(d + "/notes.txt"), "the user's");
  }
  write_bytes(dir.file("target.txt"), "the user's");
  const std::vector<std::string> links = {name(me, dead, "2-link"), kPrefix + dead + "-2-link"};
  for (const std::string& l : links)
    fs::create_symlink("target.txt", dir.file(l));

  nobias::write_npy(dir.file("a.npy"), Matrix<double>(1, 1));
  for (const std::string& n : removed) {
    CAPTURE(n);
    CHECK_FALSE(fs::exists(fs::symlink_status(dir.file(n))));
  }
  for (const std::string& n : kept_files) {
    CAPTURE(n);
    CHECK(read_bytes(dir.file(n)) == "debris");
  }
  for (const std::string& d : dirs) {
    CAPTURE(d);
    CHECK(read_bytes(dir.file(d + "/notes.txt")) == "the user's");
  }
  for (const std::string& l : links) {
    CAPTURE(l);
    CHECK(fs::is_symlink(dir.file(l)));
  }
  CHECK(read_bytes(dir.file("target.txt")) == "the user's");

  // A weight set's save cleans its directory the same way.
  write_bytes(dir.file(removed[0]), "debris");
  std::vector<Matrix<float>> w;
  w.push_back(Matrix<float>(2, 2));
  nobias::save_weights(dir.path().string(), w);
  CHECK_FALSE(fs::exists(dir.file(removed[0])));
  CHECK(fs::exists(dir.file(kept_files[0])));
}

TEST_CASE("atomic.a_name_already_taken_is_passed_over") {
  // A dead process whose pid this one reuses may have left temporaries with the names this
  // process would pick next: the save takes another name instead of failing.
  TempDir dir("taken");
  const std::string seen = temporary_name_seen(dir);  // "<prefix>...-<pid>-<n>-probe.bin"
  const std::size_t end = seen.rfind("-probe.bin");
  const std::size_t start = seen.rfind('-', end - 1) + 1;
  const unsigned long long n = std::stoull(seen.substr(start, end - start));
  std::vector<std::string> taken;
  for (unsigned long long k = n + 1; k <= n + 5; ++k)
    taken.push_back(seen.substr(0, start) + std::to_string(k) + "-a.npy");
  for (const std::string& t : taken)
    write_bytes(dir.file(t), "debris");
  nobias::write_npy(dir.file("a.npy"), Matrix<float>(1, 4));
  CHECK(nobias::read_npy<float>(dir.file("a.npy")).cols() == 4);
  for (const std::string& t : taken)
    CHECK(read_bytes(dir.file(t)) == "debris");  // not this process's: left alone
}

TEST_CASE("atomic.a_save_in_another_pid_namespace_keeps_a_live_run_s_temporary") {
  // A run in a container (or `unshare --pid`) writing the same directory sees this process's
  // pid as no process at all: it must not take this staged file's temporary for debris.
  TempDir dir("other-ns");
  nobias::StagedFile staged(
      dir.file("a.npy"), [](std::ostream& out) { out << "a"; }, "--out");
  REQUIRE(temporaries(dir).size() == 1);
  const pid_t maker = in_new_pid_namespace([&] {
    if (::getpid() != 1) return 3;
    nobias::write_file_atomically(
        dir.file("b.npy"), [](std::ostream& out) { out << "b"; }, "--out");
    return 0;
  });
  const int status = exit_status(maker);
  if (status == 77) {
    MESSAGE("not checked: no pid namespace can be made here (needs root)");
    return;
  }
  REQUIRE(status == 0);
  CHECK(read_bytes(dir.file("b.npy")) == "b");
  CHECK(temporaries(dir).size() == 1);
  staged.commit();  // before the fix: "cannot rename temporary ... (No such file or directory)"
  CHECK(read_bytes(dir.file("a.npy")) == "a");
  CHECK(temporaries(dir).empty());
}

TEST_CASE("atomic.the_same_pid_in_two_namespaces_writes_the_same_file") {
  // Two containers' first processes (pid 1 both) save the same output at the same time: the
  // second must not fail "cannot create a temporary file ... (File exists)", and neither may
  // remove the other's temporary.
  TempDir dir("same-pid");
  const std::string path = dir.file("out.npy");
  Pipe up_a, up_b, down;
  const auto run = [&](int up, char tag) {
    return [&, up, tag] {
      if (::getpid() != 1) return 3;
      nobias::StagedFile staged(
          path, [tag](std::ostream& out) { out << tag; }, "--out");
      if (::write(up, "s", 1) != 1) return 4;
      char go = 0;
      if (::read(down.fd[0], &go, 1) != 1) return 5;
      staged.commit();
      return 0;
    };
  };
  const pid_t a = in_new_pid_namespace(run(up_a.fd[1], 'a'));
  ::close(std::exchange(up_a.fd[1], -1));       // a's failure is then an end of file, not a wait
  const char a_staged = read_byte(up_a.fd[0]);  // a's temporary exists before b stages
  const pid_t b = in_new_pid_namespace(run(up_b.fd[1], 'b'));
  ::close(std::exchange(up_b.fd[1], -1));
  const char b_staged = a_staged == 's' ? read_byte(up_b.fd[0]) : 0;
  REQUIRE(::write(down.fd[1], "gg", 2) == 2);
  const int status_a = exit_status(a), status_b = exit_status(b);
  if (status_a == 77) {
    MESSAGE("not checked: no pid namespace can be made here (needs root)");
    return;
  }
  CHECK(a_staged == 's');
  CHECK(b_staged == 's');
  CHECK(status_a == 0);
  CHECK(status_b == 0);
  const std::string written = read_bytes(path);
  CHECK((written == "a" || written == "b"));
  CHECK(temporaries(dir).empty());
}
