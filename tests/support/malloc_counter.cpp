#include "malloc_counter.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdlib>

#include <atomic>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NOBIAS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define NOBIAS_SANITIZED 1
#endif
#endif
#if defined(__GLIBC__) && !defined(NOBIAS_SANITIZED)
#define NOBIAS_COUNT_MALLOC 1
#else
#define NOBIAS_COUNT_MALLOC 0
#endif

namespace {
std::atomic<long> g_calls{0};
void counted() {
  g_calls.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

bool malloc_counter::counting() {
  return NOBIAS_COUNT_MALLOC != 0;
}

long malloc_counter::count() {
  return g_calls.load(std::memory_order_relaxed);
}

#if NOBIAS_COUNT_MALLOC
// glibc's allocator under its internal names; free() stays glibc's and takes all of these.
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);

void* malloc(std::size_t size) noexcept {
  counted();
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) noexcept {
  counted();
  return __libc_calloc(count, size);
}
void* realloc(void* p, std::size_t size) noexcept {
  counted();
  return __libc_realloc(p, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  counted();
  return __libc_memalign(alignment, size);
}
void* memalign(std::size_t alignment, std::size_t size) noexcept {
  counted();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  counted();
  if (alignment == 0 || alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) {
    return EINVAL;
  }
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
}
#endif
