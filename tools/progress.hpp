// The current epoch's progress on a terminal, redrawn in place (\r) at most 10 times a second.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace nobias_tools {

// "m:ss", or "h:mm:ss" from an hour on; "?" before a rate is known.
std::string format_duration(double seconds);

double seconds_since(std::chrono::steady_clock::time_point start);

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  void start_epoch(std::size_t epoch, std::size_t epochs, std::size_t rows);
  void update(std::size_t done, double loss);
  // Erases the bar, leaving the cursor at the start of the empty line.
  void clear();

 private:
  bool enabled_;
  std::size_t epoch_ = 0, epochs_ = 0, rows_ = 0, shown_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace nobias_tools
