// Internal: a 64-bit checksum of bytes, to tell a file or a data set from a damaged or a
// different one. Not cryptographic: it catches accidents (a flipped byte, a truncated copy,
// other data), not an adversary.
//
// Definition (fixed: checkpoints store its values): the bytes are read as little-endian
// 64-bit words, the last one padded with zeros; h starts at 0x9e3779b97f4a7c15 and each
// word is folded in as h = mix(h ^ word) (splitmix64's finalizer); the result is
// mix(h ^ length in bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace nobias::detail {

class Checksum64 {
 public:
  void update(const void* data, std::size_t size);
  std::uint64_t value() const;  // of everything so far; update() may continue afterwards

 private:
  std::uint64_t h_ = 0x9e3779b97f4a7c15ULL;
  std::uint64_t pending_ = 0;      // bytes of an unfinished word, little-endian
  std::size_t pending_bytes_ = 0;  // how many
  std::uint64_t length_ = 0;
};

std::uint64_t checksum64(const void* data, std::size_t size);

// 16 lowercase hex digits, and back (false unless text is exactly that).
std::string hex64(std::uint64_t value);
bool parse_hex64(const std::string& text, std::uint64_t& value);

}  // namespace nobias::detail
