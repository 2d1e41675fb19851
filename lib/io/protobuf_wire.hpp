// Internal: protobuf's wire format, the little of it that an ONNX writer needs
// (https://protobuf.dev/programming-guides/encoding/). A message is a sequence of fields, each
// a key varint (field_number << 3 | wire_type) and a value: a varint (wire type 0) or a length
// varint and that many bytes (wire type 2: strings, bytes, nested messages). Fields are
// written in the order called; protobuf readers accept any order. A few dozen lines instead of
// a dependency on protobuf's compiler and runtime.
#pragma once

#include <cstdint>
#include <string>

namespace nobias::wire {

class Message {
 public:
  // An int64, int32 or enum field (negative values are not needed here, so never written).
  Message& varint(std::uint32_t field, std::uint64_t value) {
    key(field, 0);
    put_varint(value);
    return *this;
  }
  // A string, bytes or nested message field.
  Message& bytes(std::uint32_t field, const std::string& value) {
    key(field, 2);
    put_varint(value.size());
    out_ += value;
    return *this;
  }
  Message& message(std::uint32_t field, const Message& value) { return bytes(field, value.out_); }

  const std::string& encoded() const { return out_; }

 private:
  void key(std::uint32_t field, std::uint32_t wire_type) {
    put_varint((std::uint64_t{field} << 3) | wire_type);
  }
  // Seven bits at a time, least significant first, the high bit set on all but the last.
  void put_varint(std::uint64_t value) {
    while (value >= 0x80) {
      out_ += static_cast<char>((value & 0x7f) | 0x80);
      value >>= 7;
    }
    out_ += static_cast<char>(value);
  }

  std::string out_;
};

}  // namespace nobias::wire
