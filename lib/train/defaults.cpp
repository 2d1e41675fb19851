#include "nobias/defaults.hpp"

#include "nobias/targets.hpp"

namespace nobias::defaults {

std::size_t early_stopping_rows(std::size_t rows, double fraction) {
  const std::size_t held = validation_rows(rows, fraction);
  return held >= kMinValidationRows && held < rows ? held : 0;
}

}  // namespace nobias::defaults
