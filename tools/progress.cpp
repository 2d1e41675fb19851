#include "progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "cli_common.hpp"

namespace nobias_tools {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e8) return "?";
  const auto total = static_cast<unsigned long long>(seconds + 0.5);
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%llu:%02llu:%02llu", total / 3600, total / 60 % 60,
                  total % 60);
  } else {
    std::snprintf(text, sizeof text, "%llu:%02llu", total / 60, total % 60);
  }
  return text;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void ProgressBar::start_epoch(std::size_t epoch, std::size_t epochs, std::size_t rows) {
  epoch_ = epoch;
  epochs_ = epochs;
  rows_ = rows;
  start_ = std::chrono::steady_clock::now();
  last_draw_ = start_;  // the first draw waits too: a rate from one step means nothing
}

void ProgressBar::update(std::size_t done, double loss) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = static_cast<double>(done) / std::max(elapsed, 1e-9);
  constexpr std::size_t kWidth = 30;
  const std::size_t filled = rows_ == 0 ? kWidth : done * kWidth / rows_;
  const std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
  char line[256];
  std::snprintf(line, sizeof line, "epoch %zu/%zu [%s] %zu/%zu loss %.3e %.0f samples/s ETA %s",
                epoch_, epochs_, bar.c_str(), done, rows_, loss, rate,
                format_duration(static_cast<double>(rows_ - done) / rate).c_str());
  // A line wider than the terminal wraps, and \r then redraws only its last part.
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 1 &&
      std::strlen(line) >= size.ws_col) {
    line[size.ws_col - 1] = '\0';
  }
  const std::size_t length = std::strlen(line);
  // Pad over the rest of a longer previous line.
  std::printf("\r%s%s", line, std::string(length < shown_ ? shown_ - length : 0, ' ').c_str());
  flush_standard_output();
  shown_ = std::max(shown_, length);
}

void ProgressBar::clear() {
  if (!enabled_ || shown_ == 0) return;
  std::printf("\r%s\r", std::string(shown_, ' ').c_str());
  flush_standard_output();
  shown_ = 0;
}

}  // namespace nobias_tools
