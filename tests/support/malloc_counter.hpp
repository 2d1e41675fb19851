// Counts the C allocation functions (malloc, calloc, realloc, aligned_alloc, posix_memalign,
// memalign) in the program that links malloc_counter.cpp, which replaces them with counting
// ones over glibc's own. operator new alone (allocation_counter) misses what a C library or
// a backend allocates: Eigen, oneDNN and OpenBLAS call malloc.
#pragma once

namespace malloc_counter {

// Whether this build counts them: glibc, and no sanitizer (which brings its own malloc).
bool counting();

// Calls of the functions above by this process so far; 0 when not counting().
long count();

}  // namespace malloc_counter
