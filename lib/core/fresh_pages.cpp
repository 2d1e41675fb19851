// detail::populate_for_writing (nobias/matrix.hpp): large fresh memory faulted in with one call.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "nobias/matrix.hpp"

// Linux 5.14's value; glibc's headers name it from 2.35 on.
#if defined(__linux__) && !defined(MADV_POPULATE_WRITE)
#define MADV_POPULATE_WRITE 23
#endif

namespace nobias::detail {

bool populate_for_writing(void* p, std::size_t bytes) noexcept {
#if defined(__linux__)
  if (bytes < kPopulateBytes) return false;
  // From the page that holds p: madvise takes whole pages, and the allocation's first page is
  // mapped (it holds the allocator's header or the allocation itself).
  static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto start = reinterpret_cast<std::uintptr_t>(p) / page * page;
  const auto end = reinterpret_cast<std::uintptr_t>(p) + bytes;
  const int caller_errno = errno;
  const bool populated =
      ::madvise(reinterpret_cast<void*>(start), end - start, MADV_POPULATE_WRITE) == 0;
  errno = caller_errno;
  return populated;
#else
  (void)p;
  (void)bytes;
  return false;
#endif
}

}  // namespace nobias::detail
