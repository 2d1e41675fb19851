// Internal: the 64-bit checksum of checkpoints and data fingerprints: FNV-1a, 64 bits
// (http://www.isthe.com/chongo/tech/comp/fnv/), the same function and values as the weight
// sets' manifests use (fnv1a64 on branch h-model), so that one can replace the other.
// Not cryptographic: it catches accidents (a flipped byte, a truncated copy, other data), not
// an adversary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace nobias::detail {

inline constexpr std::uint64_t kChecksumOffset = 0xcbf29ce484222325ULL;

// Chained: checksum64(b, nb, checksum64(a, na)) is the checksum of a followed by b.
std::uint64_t checksum64(const void* data, std::size_t size, std::uint64_t hash = kChecksumOffset);

// The same over pieces (rows of a view), fed in order.
class Checksum64 {
 public:
  void update(const void* data, std::size_t size) { hash_ = checksum64(data, size, hash_); }
  std::uint64_t value() const { return hash_; }

 private:
  std::uint64_t hash_ = kChecksumOffset;
};

// 16 lowercase hex digits, and back (false unless text is exactly that).
std::string hex64(std::uint64_t value);
bool parse_hex64(const std::string& text, std::uint64_t& value);

}  // namespace nobias::detail
