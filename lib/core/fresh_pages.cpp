// detail::populate_for_writing and populate_for_reading (nobias/matrix.hpp): memory's pages
// mapped in with one call instead of a fault at a time.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "nobias/matrix.hpp"

// Linux 5.14's values; glibc's headers name them from 2.35 on.
#if defined(__linux__) && !defined(MADV_POPULATE_READ)
#define MADV_POPULATE_READ 22
#endif
#if defined(__linux__) && !defined(MADV_POPULATE_WRITE)
#define MADV_POPULATE_WRITE 23
#endif

namespace nobias::detail {
namespace {

// madvise(advice) over the whole pages that hold [p, p + bytes): the page that holds p is
// mapped (it holds the allocator's header, or the memory itself), and so is the one that holds
// the last byte. Whether it took; errno is the caller's again either way.
bool advise_pages(const void* p, std::size_t bytes, int advice) noexcept {
#if defined(__linux__)
  static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto start = reinterpret_cast<std::uintptr_t>(p) / page * page;
  const auto end = reinterpret_cast<std::uintptr_t>(p) + bytes;
  const int caller_errno = errno;
  const bool took = ::madvise(reinterpret_cast<void*>(start), end - start, advice) == 0;
  errno = caller_errno;
  return took;
#else
  (void)p;
  (void)bytes;
  (void)advice;
  return false;
#endif
}

}  // namespace

bool populate_for_writing(void* p, std::size_t bytes) noexcept {
#if defined(__linux__)
  return bytes >= kPopulateBytes && advise_pages(p, bytes, MADV_POPULATE_WRITE);
#else
  return advise_pages(p, bytes, 0);
#endif
}

bool populate_for_reading(const void* p, std::size_t bytes) noexcept {
#if defined(__linux__)
  return bytes != 0 && advise_pages(p, bytes, MADV_POPULATE_READ);
#else
  return advise_pages(p, bytes, 0);
#endif
}

}  // namespace nobias::detail
