// Internal: whether two blocks of memory share an element, for the checks that refuse a
// caller's view of a network's or an optimizer's own buffers (a step would read it while
// another part of the step writes it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "nobias/matrix.hpp"

namespace nobias::detail {

// [begin, end) of the elements a view touches, rows apart by ld included: conservative for a
// column block (the gaps count), which is what a refusal needs.
template <class T>
std::pair<std::uintptr_t, std::uintptr_t> span_of(MatrixView<const T> v) {
  if (v.empty() || v.data() == nullptr) return {0, 0};
  // Saturating: a view claiming more elements than memory holds reaches the top of it.
  constexpr std::uintptr_t kTop = UINTPTR_MAX;
  const auto begin = reinterpret_cast<std::uintptr_t>(v.data());
  const std::uintptr_t room = (kTop - begin) / sizeof(T);  // elements up to the top
  if (v.cols() > room || v.rows() - 1 > (room - v.cols()) / v.ld()) return {begin, kTop};
  return {begin, begin + ((v.rows() - 1) * v.ld() + v.cols()) * sizeof(T)};
}

template <class T>
bool overlap(MatrixView<const T> a, MatrixView<const T> b) {
  const auto [a0, a1] = span_of(a);
  const auto [b0, b1] = span_of(b);
  return a0 != a1 && b0 != b1 && a0 < b1 && b0 < a1;
}

}  // namespace nobias::detail
