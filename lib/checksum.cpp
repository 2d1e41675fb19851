#include "checksum.hpp"

namespace nobias::detail {
namespace {

std::uint64_t mix(std::uint64_t z) {  // splitmix64's finalizer: every bit reaches every bit
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

void Checksum64::update(const void* data, std::size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  length_ += size;
  std::size_t i = 0;
  // Finish a word begun by the previous call, then whole words, then keep the tail.
  for (; i < size && pending_bytes_ != 0; ++i) {
    pending_ |= std::uint64_t{bytes[i]} << (8 * pending_bytes_);
    if (++pending_bytes_ == 8) {
      h_ = mix(h_ ^ pending_);
      pending_ = 0;
      pending_bytes_ = 0;
    }
  }
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word = 0;
    for (std::size_t b = 0; b < 8; ++b)
      word |= std::uint64_t{bytes[i + b]} << (8 * b);
    h_ = mix(h_ ^ word);
  }
  for (; i < size; ++i)
    pending_ |= std::uint64_t{bytes[i]} << (8 * pending_bytes_++);
}

std::uint64_t Checksum64::value() const {
  std::uint64_t h = h_;
  if (pending_bytes_ != 0) h = mix(h ^ pending_);
  return mix(h ^ length_);
}

std::uint64_t checksum64(const void* data, std::size_t size) {
  Checksum64 sum;
  sum.update(data, size);
  return sum.value();
}

std::string hex64(std::uint64_t value) {
  static const char* digits = "0123456789abcdef";
  std::string text(16, '0');
  for (int i = 15; i >= 0; --i, value >>= 4)
    text[static_cast<std::size_t>(i)] = digits[value & 0xf];
  return text;
}

bool parse_hex64(const std::string& text, std::uint64_t& value) {
  if (text.size() != 16) return false;
  value = 0;
  for (const char c : text) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return false;
    }
    value = (value << 4) | static_cast<std::uint64_t>(digit);
  }
  return true;
}

}  // namespace nobias::detail
