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
// The guarantee covers a failing process or a full disk, not power loss: there is no
// fsync, so after a crash of the machine the rename may be durable before the data is.
void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write_body,
                           const std::string& who = "write_file_atomically");

namespace detail {

// Test seam: if set, called with the temporary's path after it is completely written
// and closed, just before the rename. A hook that throws simulates a crash at the worst
// moment; write_file_atomically then cleans up and rethrows. An empty function clears
// it. Process-wide and meant for tests only: do not set it in library code.
using AtomicWriteHook = std::function<void(const std::string& temp_path)>;
void set_atomic_write_hook(AtomicWriteHook hook);

// Sets the hook for one scope and clears it on exit, even when a test fails.
class ScopedAtomicWriteHook {
 public:
  explicit ScopedAtomicWriteHook(AtomicWriteHook hook) { set_atomic_write_hook(std::move(hook)); }
  ~ScopedAtomicWriteHook() { set_atomic_write_hook(nullptr); }
  ScopedAtomicWriteHook(const ScopedAtomicWriteHook&) = delete;
  ScopedAtomicWriteHook& operator=(const ScopedAtomicWriteHook&) = delete;
};

}  // namespace detail
}  // namespace nobias
