// Replace a file so that readers see either the old contents or the new,
// never a half-written mix. Every writer of user files (.npy, weights, checkpoints)
// goes through here, so a failed or interrupted save never destroys the previous one.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace nobias {

// Writes write_body's output to a temporary in path's directory (path + ".tmp-<pid>-<n>"),
// checks the stream, closes it and renames it over path. On any failure the temporary
// is removed, path is untouched, and the exception propagates: stream and filesystem
// failures as IoError messages starting with "<who>: <path>: ", anything write_body or
// the test hook throws unchanged.
//
// The data are flushed to disk (fsync) before the rename and the directory after it, so the
// guarantee holds across a power cut too, on filesystems that honour fsync.
void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write_body,
                           const std::string& who = "write_file_atomically");

// fsync of a file or directory opened with flags; false (errno set) when that fails.
bool sync_path(const std::string& path, int flags);
// fsync of a directory, so that renames inside it are durable; best effort.
void sync_directory(const std::string& dir);

}  // namespace nobias
