// Proves that a training step allocates nothing once the workspace exists. Every form of
// global operator new is replaced by a counting one for this test binary.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "nobias/network.hpp"
#include "test_support.hpp"

namespace {
std::atomic<long> g_allocations{0};

void* counted_alloc(std::size_t size, std::size_t alignment) {
  ++g_allocations;
  void* p = nullptr;
  if (alignment <= alignof(std::max_align_t)) {
    p = std::malloc(size ? size : 1);
  } else if (posix_memalign(&p, alignment, size ? size : 1) != 0) {
    p = nullptr;
  }
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t size) {
  return counted_alloc(size, 0);
}
void* operator new[](std::size_t size) {
  return counted_alloc(size, 0);
}
void* operator new(std::size_t size, std::align_val_t a) {
  return counted_alloc(size, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t size, std::align_val_t a) {
  return counted_alloc(size, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

TEST_CASE("allocations.counter_sees_allocations") {
  const long before = g_allocations.load();
  std::vector<double> v(100);
  nobias::Matrix<float> m(3, 3);
  CHECK(g_allocations.load() - before >= 2);
}

TEST_CASE_TEMPLATE("allocations.train_step_allocates_nothing_in_steady_state", T, float, double) {
  const auto x = test_support::random_matrix<T>(37, 29, 1);
  const auto y = test_support::random_matrix<T>(37, 7, 2);
  const auto small_x = test_support::random_matrix<T>(13, 29, 3);
  const auto small_y = test_support::random_matrix<T>(13, 7, 4);
  nobias::Network<T> net({29, 23, 19, 11, 7}, 5, nobias::Init::He);

  const long before_first = g_allocations.load();
  net.train_step(x, y, T(1e-4));  // sizes the workspace
  CHECK(g_allocations.load() > before_first);

  const long before = g_allocations.load();
  for (int step = 0; step < 10; ++step)
    net.train_step(x, y, T(1e-4));
  // A smaller batch reuses the leading rows of the same workspace.
  for (int step = 0; step < 10; ++step)
    net.train_step(small_x, small_y, T(1e-4));
  CHECK(g_allocations.load() - before == 0);
}
