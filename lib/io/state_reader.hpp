// Internal: the reader of a checkpoint's state.txt, its "key=value" lines (the format is
// io/checkpoint_state.hpp's), each value read as a number, count, flag, name or checksum, or
// refused with an IoError naming the line or the field.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/printable.hpp"
#include "nobias/error.hpp"
#include "nobias/names.hpp"

namespace nobias::detail {

class StateReader {
 public:
  // Splits text into its fields; IoError for a line without '\n' or '=', or a key twice.
  StateReader(const std::string& text, const std::string& prefix);

  [[noreturn]] void fail(const std::string& what) const { throw IoError(prefix_ + what); }

  bool has(const std::string& key) const { return fields_.count(key) != 0; }
  const std::map<std::string, std::string>& fields() const { return fields_; }

  const std::string& text(const std::string& key) const;
  double real(const std::string& key) const;
  std::uint64_t count(const std::string& key, std::uint64_t most = UINT64_MAX,
                      const char* why = "") const;
  bool flag(const std::string& key) const;

  // A name of E's (names.hpp's table, the one every front door uses).
  template <class E>
  E name(const std::string& key) const {
    const std::string& value = text(key);
    if (const std::optional<E> parsed = from_name<E>(value)) return *parsed;
    std::string list;
    for (const std::string& a : names_of<E>())
      list += (list.empty() ? "" : " or ") + a;
    fail(key + " must be " + list + ", got '" + printable(value) + "'");
  }

  std::uint64_t hex(const std::string& key) const;

 private:
  std::string prefix_;
  std::map<std::string, std::string> fields_;
};

}  // namespace nobias::detail
