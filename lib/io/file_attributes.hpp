// Internal: what a file that replaces another keeps of it, for io/atomic_file.cpp: the
// replaced file's owner, group, permission bits and POSIX access ACL, given to the temporary
// before anything is written to it (as sed -i, editors and install do).
#pragma once

#include <sys/stat.h>

#include <string>

namespace nobias::detail {

// Gives fd (the temporary, made 0600) the attributes of old_path, the regular file it will
// replace, whose lstat is old: its owner and group where fchown allows it (root, or a group the
// process is in), its permission bits without the set-id and sticky bits (the umask does not
// apply), the group bits cut to the others' when the group is not kept, and its POSIX access
// ACL. Never throws: what cannot be given leaves the file narrower, never wider.
void adopt_file_attributes(int fd, const std::string& old_path, const struct stat& old);

}  // namespace nobias::detail
