// Counts heap allocations. Linking allocation_counter.cpp into a program replaces every
// form of the global operator new with a counting one, so the test suite can prove, and
// the benchmarks can report, that a training step allocates nothing.
#pragma once

#include <cstddef>

namespace allocation_counter {

// Allocations made through operator new by this process so far.
long count();

// Bytes asked of operator new by this process so far (freed or not): what a call takes in all.
std::size_t bytes();

// The largest single allocation through operator new, in bytes, since reset_largest(): what
// a call takes at once, to bound the memory of a pass that must not grow with the rows.
std::size_t largest();
void reset_largest();

}  // namespace allocation_counter
