#include "nobias/model.hpp"

#include <algorithm>
#include <set>

#include "core/printable.hpp"

namespace nobias {

std::string class_names_problem(const std::vector<std::string>& names, std::size_t classes) {
  if (names.empty()) return "";
  const std::string expected = " (expected " + std::to_string(classes) +
                               " unique names, each non-empty text without control characters)";
  if (names.size() != classes) {
    return "has " + std::to_string(names.size()) + " names for " + std::to_string(classes) +
           " classes" + expected;
  }
  std::set<std::string> seen;
  for (std::size_t k = 0; k < names.size(); ++k) {
    const auto control = [](unsigned char c) { return c < 0x20 || c == 0x7f; };
    if (names[k].empty() || std::any_of(names[k].begin(), names[k].end(), control)) {
      return "has '" + detail::printable(names[k]) + "' for class " + std::to_string(k) + expected;
    }
    if (!seen.insert(names[k]).second) {
      return "has '" + detail::printable(names[k]) + "' twice" + expected;
    }
  }
  return "";
}

}  // namespace nobias
