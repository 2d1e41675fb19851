// Slow, obvious references for metrics.hpp and targets.hpp: each formula as written in a
// textbook, one column at a time, in long double, with no shared helper.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "nobias/matrix.hpp"

namespace reference {

template <class T>
double mse(const nobias::Matrix<T>& p, const nobias::Matrix<T>& y) {
  long double sum = 0;
  for (std::size_t i = 0; i < p.rows(); ++i)
    for (std::size_t j = 0; j < p.cols(); ++j) {
      const long double e = static_cast<long double>(p(i, j)) - static_cast<long double>(y(i, j));
      sum += e * e;
    }
  return static_cast<double>(sum / static_cast<long double>(p.size()));
}

template <class T>
double mae(const nobias::Matrix<T>& p, const nobias::Matrix<T>& y) {
  long double sum = 0;
  for (std::size_t i = 0; i < p.rows(); ++i)
    for (std::size_t j = 0; j < p.cols(); ++j)
      sum += std::fabs(static_cast<long double>(p(i, j)) - static_cast<long double>(y(i, j)));
  return static_cast<double>(sum / static_cast<long double>(p.size()));
}

// sklearn.metrics.r2_score(y, p) with multioutput='uniform_average' and force_finite=True.
template <class T>
double r2(const nobias::Matrix<T>& p, const nobias::Matrix<T>& y) {
  long double total = 0;
  for (std::size_t j = 0; j < y.cols(); ++j) {
    long double mean = 0;
    for (std::size_t i = 0; i < y.rows(); ++i)
      mean += y(i, j);
    mean /= static_cast<long double>(y.rows());
    long double ss_res = 0, ss_tot = 0;
    for (std::size_t i = 0; i < y.rows(); ++i) {
      ss_res += (static_cast<long double>(y(i, j)) - p(i, j)) *
                (static_cast<long double>(y(i, j)) - p(i, j));
      ss_tot +=
          (static_cast<long double>(y(i, j)) - mean) * (static_cast<long double>(y(i, j)) - mean);
    }
    if (ss_tot == 0) {
      total += ss_res == 0 ? 1 : 0;
    } else {
      total += 1 - ss_res / ss_tot;
    }
  }
  return static_cast<double>(total / static_cast<long double>(y.cols()));
}

// Column means and population standard deviations (1 where it is 0).
template <class T>
void column_mean_and_std(const nobias::Matrix<T>& m, std::vector<double>& mean,
                         std::vector<double>& std_dev) {
  mean.clear();
  std_dev.clear();
  for (std::size_t j = 0; j < m.cols(); ++j) {
    long double sum = 0;
    for (std::size_t i = 0; i < m.rows(); ++i)
      sum += m(i, j);
    const long double mu = sum / static_cast<long double>(m.rows());
    long double squares = 0;
    for (std::size_t i = 0; i < m.rows(); ++i)
      squares += (m(i, j) - mu) * (m(i, j) - mu);
    const long double sd = std::sqrt(squares / static_cast<long double>(m.rows()));
    mean.push_back(static_cast<double>(mu));
    std_dev.push_back(sd == 0 ? 1.0 : static_cast<double>(sd));
  }
}

}  // namespace reference
