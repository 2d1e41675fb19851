// Removing superseded checkpoint states and interrupted saves' debris
// (io/checkpoint_cleanup.hpp): only what a save made, never through a link.
#include "io/checkpoint_cleanup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "io/checkpoint_state.hpp"
#include "io/temporaries.hpp"

namespace nobias::detail {
namespace {

namespace fs = std::filesystem;

// Whether path is a state (or the debris of an interrupted save) that save_checkpoint made: a
// directory, not a link, holding nothing but the files a save writes there (the arrays,
// state.txt, and their temporaries); a committed state (committed) also holds a state.txt in
// the checkpoint format, unless it is empty (what a removal killed before its rmdir leaves:
// remove_state takes state.txt last). Anything else named like a state is not nobias's to
// remove: a user's file, a directory of theirs, or one of nobias's to which they added a file.
bool made_by_a_save(const fs::path& path, bool committed) {
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(path, ec))) return false;
  bool state_txt = false, empty = true;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const bool written = name == "state.txt" || is_array_name(name) || is_temporary_name(name);
    std::error_code type_ec;
    if (!written || !fs::is_regular_file(it->symlink_status(type_ec))) return false;
    state_txt = state_txt || name == "state.txt";
    empty = false;
  }
  if (ec) return false;
  if (!committed || empty) return true;
  if (!state_txt) return false;
  std::ifstream in(path / "state.txt", std::ios::binary);
  std::string first;
  return static_cast<bool>(std::getline(in, first)) &&
         first.rfind(std::string("format=") + kCheckpointFormatStem, 0) == 0;
}

// Removes a state made_by_a_save vouched for: the regular files a save writes there, state.txt
// last (a removal killed midway leaves a directory the next save still knows for its own), then
// the directory if nothing else is left. Through a descriptor of the directory opened without
// following a link: an entry swapped for a link since it was vouched for (by anyone who can
// write the checkpoint's directory) is not entered, and nothing outside it is removed. Best
// effort.
void remove_state(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  DIR* listing = ::fdopendir(fd);
  if (listing == nullptr) {
    ::close(fd);
    return;
  }
  std::vector<std::string> files;
  bool state_txt = false;
  while (const dirent* entry = ::readdir(listing)) {
    const std::string name = entry->d_name;
    if (name == "state.txt") {
      state_txt = true;
    } else if (is_array_name(name) || is_temporary_name(name)) {
      files.push_back(name);
    }
  }
  if (state_txt) files.push_back("state.txt");
  for (const std::string& name : files) {
    struct stat st {};
    if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
      ::unlinkat(fd, name.c_str(), 0);  // inside the directory held open, whatever path names now
  }
  ::closedir(listing);    // and fd
  ::rmdir(path.c_str());  // not a link, nor a directory holding anything
}

}  // namespace

bool clear_interrupted_save(const fs::path& building) {
  std::error_code status_ec;
  if (!fs::exists(fs::symlink_status(building, status_ec))) return true;
  if (!made_by_a_save(building, false)) return false;
  remove_state(building);
  return !fs::exists(fs::symlink_status(building, status_ec));
}

void remove_superseded_states(const std::string& dir, const std::string& current) {
  // Listed first: removing while iterating may skip entries.
  std::vector<fs::path> stale;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string other = it->path().filename().string();
    if (other == current || !is_state_name(other, true)) continue;
    if (made_by_a_save(it->path(), is_state_name(other, false))) stale.push_back(it->path());
  }
  for (const fs::path& p : stale)
    remove_state(p);
}

}  // namespace nobias::detail
