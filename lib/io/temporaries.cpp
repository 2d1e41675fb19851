// Temporaries' names and the removal of a dead run's (io/temporaries.hpp).
#include "io/temporaries.hpp"

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/path_text.hpp"

namespace nobias {
namespace {

using detail::directory_of;

namespace fs = std::filesystem;

constexpr char kTempPrefix[] = ".nobias-tmp-";
constexpr std::size_t kTempPrefixLength = sizeof kTempPrefix - 1;

// Characters of the target's name a temporary keeps, for people and tests to recognize it.
constexpr std::size_t kTargetNameKept = 16;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f');
}

// Hex digits of the boot id a temporary's name keeps: 48 random bits, so that two machines
// sharing a directory are told apart but for a chance of one in 2^48 per pair.
constexpr std::size_t kBootDigits = 12;
// What a writer that cannot read its identity puts in its temporaries' names: never removed.
constexpr char kUnknownIdentity[] = "unknown";

// Whether text[begin, end) is an identity process_identity() makes: 12 hex digits, '.', 1 to 16
// hex digits; or kUnknownIdentity.
bool is_identity(const std::string& text, std::size_t begin, std::size_t end) {
  const std::string id = text.substr(begin, end - begin);
  if (id == kUnknownIdentity) return true;
  if (id.size() < kBootDigits + 2 || id.size() > kBootDigits + 1 + 16 || id[kBootDigits] != '.')
    return false;
  for (std::size_t i = 0; i < id.size(); ++i)
    if (i != kBootDigits && !is_hex(id[i])) return false;
  return true;
}

// What a temporary's name says of its writer.
struct TemporaryName {
  bool ours = false;     // a name a save makes, of either format
  std::string identity;  // "" in the format from before identities
  long long pid = 0;
};

// ".nobias-tmp-<identity>-<pid>-<n>[-<name>]", or the format from before identities,
// ".nobias-tmp-<pid>-<n>[-<name>]". Anything else is not ours.
TemporaryName parse_temporary(const std::string& name) {
  TemporaryName t;
  if (name.compare(0, kTempPrefixLength, kTempPrefix) != 0) return t;
  std::size_t i = kTempPrefixLength;
  const std::size_t dash = name.find('-', i);
  if (dash == std::string::npos) return t;
  if (is_identity(name, i, dash)) {
    t.identity = name.substr(i, dash - i);
    i = dash + 1;
  }
  const std::size_t pid = i;
  for (; i < name.size() && is_digit(name[i]) && i < pid + 10; ++i)
    t.pid = t.pid * 10 + (name[i] - '0');
  if (i == pid || i >= name.size() || name[i] != '-') return t;
  const std::size_t counter = ++i;
  while (i < name.size() && is_digit(name[i]))
    ++i;
  if (i == counter || (i < name.size() && name[i] != '-')) return t;
  t.ours = true;
  return t;
}

}  // namespace

// Who this process is, for a temporary's name: "<the boot id's first 12 hex digits>.<the pid
// namespace's inode, hex>" (/proc/sys/kernel/random/boot_id, stat("/proc/self/ns/pid")), or
// kUnknownIdentity when /proc cannot say. A pid means a process only with both: the same
// machine since the same boot, and the same pid namespace. Read afresh at every save, not
// cached: a child forked into a new pid namespace inherits the memory, not the namespace.
std::string process_identity() {
  std::string digits;
  if (std::FILE* f = std::fopen("/proc/sys/kernel/random/boot_id", "re")) {
    for (int c; digits.size() < kBootDigits && (c = std::fgetc(f)) != EOF;) {
      if (is_hex(static_cast<char>(c))) {
        digits += static_cast<char>(c);
      } else if (c != '-') {
        break;
      }
    }
    std::fclose(f);
  }
  struct stat ns {};
  if (digits.size() != kBootDigits || ::stat("/proc/self/ns/pid", &ns) != 0 || ns.st_ino == 0)
    return kUnknownIdentity;
  char inode[17];
  std::snprintf(inode, sizeof inode, "%llx", static_cast<unsigned long long>(ns.st_ino));
  return digits + "." + inode;
}

// identity and pid keep two processes apart, the counter two threads (or two writes) of one
// process; the start of the target's name says what it is for, and bounds the length. A name
// already taken (a dead process's, whose pid this one reuses) is passed over for the next.
std::string temporary_for(const std::string& path, const std::string& identity) {
  static std::atomic<std::uint64_t> counter{0};
  const std::string name = kTempPrefix + identity + "-" +
                           std::to_string(static_cast<long long>(::getpid())) + "-" +
                           std::to_string(counter.fetch_add(1)) + "-" +
                           fs::path(path).filename().string().substr(0, kTargetNameKept);
  return (fs::path(directory_of(path)) / name).string();
}

bool is_temporary_name(const std::string& name) {
  return parse_temporary(name).ours;
}

void remove_stale_temporaries(const std::string& dir) {
  remove_stale_temporaries(dir, process_identity());
}

void remove_stale_temporaries(const std::string& dir, const std::string& identity) {
  if (identity == kUnknownIdentity) return;  // nothing can be shown to be a dead run's
  std::error_code ec;
  const long long self = ::getpid();
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const TemporaryName t = parse_temporary(it->path().filename().string());
    // Of another machine, another pid namespace, or named before identities (a live run of
    // an older nobias may be writing it): its pid says nothing here. Kept.
    if (!t.ours || t.identity != identity) continue;
    if (t.pid <= 0 || t.pid == self || t.pid > INT_MAX) continue;
    // ESRCH: no such process. EPERM means it runs under another user: keep its file.
    if (::kill(static_cast<pid_t>(t.pid), 0) == 0 || errno != ESRCH) continue;
    // Only a regular file, as a save leaves one; never a directory or what a symlink leads
    // to. unlink() removes neither a directory nor what a link names, whatever is there by then.
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) ::unlink(it->path().c_str());
  }
}

}  // namespace nobias
