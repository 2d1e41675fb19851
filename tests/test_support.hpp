// Shared helpers of the test suite: random inputs and matrix comparisons.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "nobias/init.hpp"
#include "nobias/matrix.hpp"
#include "nobias/targets.hpp"
#include "nobias/threads.hpp"

namespace test_support {

namespace fs = std::filesystem;

// A fresh directory under the system's temporary directory, removed with everything in it
// when the object goes.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    path_ = fs::temp_directory_path() / ("nobias-test-" + tag + "-" + std::to_string(::getpid()) +
                                         "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

  std::vector<std::string> names() const { return names_of(path_); }
  // The names in any directory, sorted.
  static std::vector<std::string> names_of(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator(dir)) {
      out.push_back(entry.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  fs::path path_;
};

template <class T>
nobias::Matrix<T> random_matrix(std::size_t rows, std::size_t cols, std::uint64_t seed,
                                double scale = 1.0) {
  nobias::Matrix<T> m(rows, cols);
  nobias::NormalGenerator generator(seed);
  nobias::fill_normal(m.view(), generator, scale);
  return m;
}

// Weights for widths {d_0, ..., d_K}, w_k drawn N(0, gain / d_{k-1}) by random_matrix (not by
// the code under test): gain 1 keeps activations O(1), gain 2 is He's scaling for ReLU.
template <class T>
std::vector<nobias::Matrix<T>> random_weights(const std::vector<std::size_t>& widths,
                                              std::uint64_t seed, double gain) {
  std::vector<nobias::Matrix<T>> w;
  for (std::size_t k = 1; k < widths.size(); ++k)
    w.push_back(random_matrix<T>(widths[k - 1], widths[k], seed + k,
                                 std::sqrt(gain / static_cast<double>(widths[k - 1]))));
  return w;
}

// max |a - b| / max(max |a|, max |b|): one relative error for a whole matrix, guarded
// against an all-zero pair. Returns infinity when the shapes differ.
template <class T>
double max_relative_error(nobias::MatrixView<const T> a, nobias::MatrixView<const T> b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return INFINITY;
  double diff = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < a.rows(); ++i) {
    for (std::size_t j = 0; j < a.cols(); ++j) {  // by element: views may have a wider stride
      const double x = static_cast<double>(a(i, j)), y = static_cast<double>(b(i, j));
      if (std::isnan(x) != std::isnan(y)) return INFINITY;
      diff = std::max(diff, std::abs(x - y));
      scale = std::max({scale, std::abs(x), std::abs(y)});
    }
  }
  return scale == 0.0 ? diff : diff / scale;
}

// Input statistics of `inputs` columns, means and scales varied by column (none 0 or 1).
inline nobias::Standardization varied_statistics(std::size_t inputs) {
  nobias::Standardization s;
  for (std::size_t j = 0; j < inputs; ++j) {
    s.x_mean.push_back(0.25 * static_cast<double>(j % 5) - 0.5);
    s.x_scale.push_back(0.5 + 0.125 * static_cast<double>(j % 7));
  }
  return s;
}

// The same shape and the same bits in every element (views may have a wider stride).
template <class T>
bool same_bits(nobias::MatrixView<const T> a, nobias::MatrixView<const T> b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (std::size_t i = 0; i < a.rows(); ++i)
    if (a.cols() != 0 && std::memcmp(a.row(i), b.row(i), a.cols() * sizeof(T)) != 0) return false;
  return true;
}
template <class T>
bool same_bits(const nobias::Matrix<T>& a, const nobias::Matrix<T>& b) {
  return same_bits<T>(a.view(), b.view());
}
// Every matrix of a against b's, in order; b holds matrices or views.
template <class T, class B>
bool same_bits(const std::vector<nobias::Matrix<T>>& a, const std::vector<B>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k)
    if (!same_bits<T>(a[k].view(), nobias::MatrixView<const T>(b[k]))) return false;
  return true;
}

// The bytes of values, as a file holds them.
template <class S>
std::string raw_bytes(const std::vector<S>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(S));
}

// The tolerance a product of `terms` rounded terms of type T can be held to.
template <class T>
double tolerance(std::size_t terms) {
  const double eps = std::is_same_v<T, float> ? 1.2e-7 : 2.3e-16;
  return 8.0 * eps * static_cast<double>(std::max<std::size_t>(terms, 1));
}

// Restores the automatic thread policy however a test ends.
struct AutomaticThreadsAfterwards {
  ~AutomaticThreadsAfterwards() { nobias::set_threads(0); }
};

}  // namespace test_support
