// FitOptions with a hook set, for tests that pass options by value.
#pragma once

#include <utility>

#include "nobias/fit.hpp"

inline nobias::FitOptions with_on_epoch(nobias::FitOptions options, nobias::EpochCallback hook) {
  options.on_epoch = std::move(hook);
  return options;
}

inline nobias::FitOptions with_on_step(nobias::FitOptions options, nobias::StepCallback hook) {
  options.on_step = std::move(hook);
  return options;
}
