// Internal test seam of write_file_atomically: lets the tests fail a write at the worst
// moment, between the finished temporary and the rename. Not installed, not public.
#pragma once

#include <functional>
#include <string>
#include <utility>

namespace nobias {
namespace detail {

// Test seam: if set, called with the temporary's path after it is completely written
// and closed, just before the rename (in a file set: before each rename of its commit, the
// manifest's first). A hook that throws simulates a crash at the worst
// moment; write_file_atomically then cleans up and rethrows. An empty function clears
// it. Process-wide and meant for tests only: do not set it in library code.
using AtomicWriteHook = std::function<void(const std::string& temp_path)>;
void set_atomic_write_hook(AtomicWriteHook hook);
// Calls the hook, if set: StagedFile::commit and StagedFileSet::commit, before each rename.
void run_atomic_write_hook(const std::string& temp_path);

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
