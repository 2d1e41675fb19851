// adopt_file_attributes (io/file_attributes.hpp): the owner, group, mode and POSIX ACL a file
// that replaces another keeps of it.
#include "io/file_attributes.hpp"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstddef>
#include <string>

namespace nobias::detail {
namespace {

// The extended attribute that holds a file's POSIX access ACL (Linux).
constexpr char kAccessAcl[] = "system.posix_acl_access";

// The new file takes the replaced one's (old's) owner, group and permission bits, as sed -i,
// editors and install do, on fd before anything is written to it. An owner or group the
// process may not give (fchown fails: not root, or a group it is not in) is no error: the file
// stays the writer's. Its group is then another, so the group bits are cut to what the old
// file let others do: nobody gains access the old file did not give them. The set-user-ID,
// set-group-ID and sticky bits are not copied (a data file has no use for them, and a set-id
// bit kept on a file that became the writer's would let whoever runs it act as the writer).
// The umask does not apply (fchmod). A filesystem that refuses the mode leaves the 0600 the
// temporary was made with. A POSIX access ACL of the old file (acl, its attribute's bytes; ""
// for none) is copied too: its group bits are then the ACL's mask, not the owning group's
// rights, and copied alone they would give the owning group the mask's access and take the
// named users' away. An ACL that cannot be copied leaves the file without group access.
void adopt_owner_and_mode(int fd, const struct stat& old, const std::string& acl) {
  if (::fchown(fd, old.st_uid, old.st_gid) != 0 &&
      ::fchown(fd, static_cast<uid_t>(-1), old.st_gid) != 0) {
    // Neither: the file stays the writer's, in the writer's group (fstat below says which).
  }
  struct stat now {};
  const bool same_group = ::fstat(fd, &now) == 0 && now.st_gid == old.st_gid;
  const mode_t user = old.st_mode & S_IRWXU, others = old.st_mode & S_IRWXO;
  mode_t group = old.st_mode & S_IRWXG;
  if (!same_group) group &= others << 3;
  const mode_t mode = user | group | others;
  if (::fchmod(fd, mode) != 0) {
    // Refused: the 0600 it was made with, narrower than any mode copied.
  }
  if (!acl.empty() && ::fsetxattr(fd, kAccessAcl, acl.data(), acl.size(), 0) != 0)
    ::fchmod(fd, mode & static_cast<mode_t>(~S_IRWXG));
}

// The POSIX access ACL of the file at path, as its extended attribute's bytes; "" when it has
// none (or they cannot be read: its mode alone is copied).
std::string access_acl(const std::string& path) {
  const ssize_t size = ::lgetxattr(path.c_str(), kAccessAcl, nullptr, 0);
  if (size <= 0) return "";
  std::string acl(static_cast<std::size_t>(size), '\0');
  const ssize_t read = ::lgetxattr(path.c_str(), kAccessAcl, acl.data(), acl.size());
  return read == size ? acl : "";
}

}  // namespace

void adopt_file_attributes(int fd, const std::string& old_path, const struct stat& old) {
  adopt_owner_and_mode(fd, old, access_acl(old_path));
}

}  // namespace nobias::detail
