// Internal: the 64-bit checksum of checkpoints and data fingerprints, which is the weight sets'
// manifests' own (nobias::fnv1a64, FNV-1a 64), and its text form. Not cryptographic: it
// catches accidents (a flipped byte, a truncated copy, other data), not an adversary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "io/atomic_file.hpp"

namespace nobias::detail {

// fnv1a64 over pieces (rows of a view), fed in order.
class Checksum64 {
 public:
  void update(const void* data, std::size_t size) { hash_ = fnv1a64(data, size, hash_); }
  std::uint64_t value() const { return hash_; }

 private:
  std::uint64_t hash_ = kFnv1a64Offset;
};

// 16 lowercase hex digits, and back (false unless text is exactly that).
std::string hex64(std::uint64_t value);
bool parse_hex64(const std::string& text, std::uint64_t& value);

}  // namespace nobias::detail
