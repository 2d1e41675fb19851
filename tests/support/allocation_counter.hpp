// Counts heap allocations. Linking allocation_counter.cpp into a program replaces every
// form of the global operator new with a counting one, so the test suite can prove, and
// the benchmarks can report, that a training step allocates nothing.
#pragma once

namespace allocation_counter {

// Allocations made through operator new by this process so far.
long count();

}  // namespace allocation_counter
