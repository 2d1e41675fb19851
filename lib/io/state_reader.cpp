#include "io/state_reader.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "io/checksum.hpp"

namespace nobias::detail {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// [-+]digits[.digits][(e|E)[-+]digits]: what %.17g writes for a finite value, and nothing that
// strtod would also take (spaces, hex, inf, nan).
bool is_decimal(const std::string& s) {
  std::size_t i = 0;
  const auto digits = [&] {
    const std::size_t from = i;
    while (i < s.size() && is_digit(s[i]))
      ++i;
    return i > from;
  };
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  if (!digits()) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

}  // namespace

StateReader::StateReader(const std::string& text, const std::string& prefix)
    : prefix_(prefix + "state.txt: ") {
  std::size_t at = 0, line_number = 1;
  while (at < text.size()) {
    const std::size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end == std::string::npos ? end : end - at);
    const std::string where = "line " + std::to_string(line_number);
    if (end == std::string::npos) fail(where + " does not end in a newline: " + printable(line));
    const auto eq = line.find('=');
    if (eq == std::string::npos) fail(where + " has no '=': " + printable(line));
    const std::string key = line.substr(0, eq);
    if (!fields_.emplace(key, line.substr(eq + 1)).second)
      fail("'" + printable(key) + "' appears twice");
    at = end + 1;
    ++line_number;
  }
}

const std::string& StateReader::text(const std::string& key) const {
  const auto it = fields_.find(key);
  if (it == fields_.end()) fail("has no " + key);
  return it->second;
}

double StateReader::real(const std::string& key) const {
  const std::string& value = text(key);
  if (!is_decimal(value)) fail(key + " is not a decimal number: " + printable(value));
  errno = 0;
  const double parsed = std::strtod(value.c_str(), nullptr);
  // Beyond double's range either way: inf, or 0 from digits that are not all zeros.
  const bool nonzero = value.find_first_of("123456789") < value.find_first_of("eE");
  if (!std::isfinite(parsed) || (parsed == 0 && nonzero)) {
    fail(key + " is out of range: " + printable(value));
  }
  return parsed;
}

std::uint64_t StateReader::count(const std::string& key, std::uint64_t most,
                                 const char* why) const {
  const std::string& value = text(key);
  std::uint64_t parsed = 0;
  bool ok = !value.empty();
  for (const char c : value) {
    if (!is_digit(c) || parsed > (UINT64_MAX - static_cast<std::uint64_t>(c - '0')) / 10) {
      ok = false;
      break;
    }
    parsed = parsed * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (!ok) fail(key + " is not a count: " + printable(value));
  if (parsed > most) {
    fail(key + " is " + value + ", more than " + std::to_string(most) + why);
  }
  return parsed;
}

bool StateReader::flag(const std::string& key) const {
  const std::string& value = text(key);
  if (value != "0" && value != "1") fail(key + " must be 0 or 1, got " + printable(value));
  return value == "1";
}

std::uint64_t StateReader::hex(const std::string& key) const {
  std::uint64_t value = 0;
  if (!parse_hex64(text(key), value))
    fail(key + " must be 16 lowercase hex digits, got '" + printable(text(key)) + "'");
  return value;
}

}  // namespace nobias::detail
