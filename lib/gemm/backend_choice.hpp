// Internal: how NOBIAS_SGEMM and NOBIAS_DGEMM name the backend of one precision's products,
// and how reports say who chose it. Shared so that both read, fail and report alike.
#pragma once

#include <atomic>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "nobias/error.hpp"

namespace nobias::detail {

template <class Backend>
struct BackendOption {
  const char* name;  // as the variable spells it
  Backend backend;
  std::string unavailable;  // why it cannot run in this process; empty when it can
};

// The backend `variable` names, or `fallback` when it is unset. ValueError for an unknown name
// (listing the known ones) and for one that cannot run here (with the reason).
template <class Backend>
Backend backend_from_environment(const char* variable,
                                 const std::vector<BackendOption<Backend>>& options,
                                 Backend fallback) {
  const char* env = std::getenv(variable);
  if (env == nullptr) return fallback;
  const std::string value = env;
  std::string expected;
  for (std::size_t i = 0; i < options.size(); ++i) {
    const BackendOption<Backend>& option = options[i];
    if (value == option.name) {
      if (!option.unavailable.empty()) {
        throw ValueError(std::string(variable) + "=" + value + ": " + option.unavailable +
                         "; unset it, or set it to blas");
      }
      return option.backend;
    }
    expected += std::string(i == 0                    ? ""
                            : i + 1 == options.size() ? " or "
                                                      : ", ") +
                "\"" + option.name + "\"";
  }
  throw ValueError(std::string(variable) + ": expected " + expected + ", got \"" + value + "\"");
}

// A test's choice of one precision's backend, over the environment's, for the whole process.
template <class Backend>
class BackendOverride {
 public:
  std::optional<Backend> get() const {
    const int value = value_.load(std::memory_order_relaxed);
    return value == kNone ? std::nullopt : std::optional<Backend>(static_cast<Backend>(value));
  }
  void set(std::optional<Backend> backend) {
    value_.store(backend ? static_cast<int>(*backend) : kNone, std::memory_order_relaxed);
  }

 private:
  static constexpr int kNone = -1;
  std::atomic<int> value_{kNone};
};

// Who chose a precision's backend, for blas_description(): a test, the environment, or nobias.
inline std::string backend_chooser(const char* variable, bool chosen_by_test) {
  if (chosen_by_test) return "chosen by a test";
  if (const char* env = std::getenv(variable)) {
    return std::string("chosen by the environment: ") + variable + "=" + env;
  }
  return std::string("chosen by nobias; ") + variable + "=blas puts them on the BLAS";
}

}  // namespace nobias::detail
