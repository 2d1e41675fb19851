// Internal: the class names a model directory may hold (ModelInfo::class_names).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace nobias::detail {

// Why names cannot name classes classes, or "" when they can: empty (unnamed), or exactly
// classes unique names, each non-empty without control characters (a terminal shows them).
std::string class_names_problem(const std::vector<std::string>& names, std::size_t classes);

}  // namespace nobias::detail
