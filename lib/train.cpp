#include "nobias/train.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "nobias/error.hpp"
#include "nobias/kernels.hpp"
#include "splitmix64.hpp"

namespace nobias {
namespace {

// Uniform in [0, bound) without modulo bias (rejection on the top remainder).
std::uint64_t below(std::uint64_t bound, std::uint64_t& state) {
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % bound;
  std::uint64_t r;
  do
    r = detail::splitmix64(state);
  while (r >= limit);
  return r % bound;
}

template <class T>
void copy_rows(MatrixView<T> to, MatrixView<const T> from, const std::vector<std::size_t>& order) {
  for (std::size_t i = 0; i < order.size(); ++i) {
    const T* src = from.row(order[i]);
    std::copy(src, src + from.cols(), to.row(i));
  }
}

}  // namespace

template <class T>
void check_fit(const Network<T>& net, DataView<T> x, DataView<T> y, const FitOptions& options,
               DataView<T> val_x, DataView<T> val_y) {
  if (options.epochs == 0) throw ValueError("fit: epochs must be >= 1, got 0");
  if (options.first_epoch == 0 || options.first_epoch > options.epochs) {
    throw ValueError("fit: first_epoch must be in [1, epochs = " + std::to_string(options.epochs) +
                     "], got " + std::to_string(options.first_epoch));
  }
  if (x.rows() == 0) throw ShapeError("fit: x has no rows");
  if (x.rows() != y.rows()) {
    throw ShapeError("fit: x has " + std::to_string(x.rows()) + " rows but y has " +
                     std::to_string(y.rows()));
  }
  if (x.cols() != net.input_width() || y.cols() != net.output_width()) {
    throw ShapeError("fit: x is " + shape_string(x.rows(), x.cols()) + " and y is " +
                     shape_string(y.rows(), y.cols()) + ", the network maps " +
                     std::to_string(net.input_width()) + " columns to " +
                     std::to_string(net.output_width()));
  }
  const bool validation = !val_x.empty() || !val_y.empty();
  if (validation && (val_x.rows() != val_y.rows() || val_x.cols() != x.cols() ||
                     val_y.cols() != y.cols() || val_x.rows() == 0)) {
    throw ShapeError("fit: validation x is " + shape_string(val_x.rows(), val_x.cols()) +
                     " and validation y is " + shape_string(val_y.rows(), val_y.cols()) +
                     "; expected the same row count and " + std::to_string(x.cols()) + " and " +
                     std::to_string(y.cols()) + " columns");
  }
  // fit copies x and y, but validates on val_x and val_y as they are: none may be the
  // network's own memory, which the steps change.
  net.require_apart("fit", "x", x);
  net.require_apart("fit", "y", y);
  net.require_apart("fit", "validation x", val_x);
  net.require_apart("fit", "validation y", val_y);
  // Once, before any step: a NaN in the data would otherwise read as a diverged loss.
  require_finite(x, "fit: x");
  require_finite(y, "fit: y");
  require_finite(val_x, "fit: validation x");
  require_finite(val_y, "fit: validation y");
}

std::vector<std::size_t> shuffled_order(std::size_t rows, std::uint64_t seed, std::size_t epoch) {
  std::vector<std::size_t> order(rows);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::uint64_t state = seed ^ (0xd1b54a32d192ed03ULL * (static_cast<std::uint64_t>(epoch) + 1));
  for (std::size_t i = rows; i > 1; --i) {  // Fisher-Yates
    const auto j = static_cast<std::size_t>(below(i, state));
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

template <class T>
std::vector<EpochReport> fit(Network<T>& net, Optimizer<T>& optimizer, DataView<T> x, DataView<T> y,
                             const FitOptions& options, const EpochCallback& on_epoch,
                             DataView<T> val_x, DataView<T> val_y, const StepCallback& on_step) {
  check_fit(net, x, y, options, val_x, val_y);
  const std::size_t rows = x.rows();
  const std::size_t batch = options.batch_size == 0 ? rows : std::min(options.batch_size, rows);
  const std::size_t epoch_steps = (rows + batch - 1) / batch;
  Matrix<T> epoch_x(rows, x.cols()), epoch_y(rows, y.cols());
  std::vector<std::size_t> order(rows);
  std::iota(order.begin(), order.end(), std::size_t{0});

  std::vector<EpochReport> reports;
  for (std::size_t epoch = options.first_epoch; epoch <= options.epochs; ++epoch) {
    if (options.shuffle) order = shuffled_order(rows, options.seed, epoch);
    copy_rows(epoch_x.view(), x, order);
    copy_rows(epoch_y.view(), y, order);

    EpochReport report;
    report.epoch = epoch;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t begin = 0; begin < rows; begin += batch) {
      const std::size_t count = std::min(batch, rows - begin);
      ++report.steps;
      double loss = 0.0;
      try {
        loss = optimizer.step(net, epoch_x.row_block(begin, count), epoch_y.row_block(begin, count),
                              options.reduction);
      } catch (const DivergenceError& e) {
        throw DivergenceError("fit: epoch " + std::to_string(epoch) + ", step " +
                              std::to_string(report.steps) + ": " + e.what());
      }
      // Mean: weight each batch by its rows, so a partial batch counts for what it holds.
      report.train_loss += options.reduction == Reduction::Mean
                               ? loss * static_cast<double>(count) / static_cast<double>(rows)
                               : loss;
      if (on_step) on_step({epoch, report.steps, epoch_steps, begin + count, loss});
    }
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report.samples_per_second = static_cast<double>(rows) / std::max(report.seconds, 1e-12);
    report.validation_loss = val_x.empty() ? std::numeric_limits<double>::quiet_NaN()
                                           : net.loss(val_x, val_y, options.reduction);
    if (!val_x.empty() && !std::isfinite(report.validation_loss)) {
      throw DivergenceError("fit: epoch " + std::to_string(epoch) + ": the validation loss is " +
                            std::to_string(report.validation_loss) +
                            "; the last updates blew the weights up");
    }
    reports.push_back(report);
    if (on_epoch && !on_epoch(report)) break;
  }
  return reports;
}

std::size_t steps_per_epoch(std::size_t rows, std::size_t batch_size) {
  if (rows == 0) return 0;
  const std::size_t batch = batch_size == 0 ? rows : std::min(batch_size, rows);
  return rows / batch + (rows % batch != 0 ? 1 : 0);
}

template void check_fit<float>(const Network<float>&, MatrixView<const float>,
                               MatrixView<const float>, const FitOptions&, MatrixView<const float>,
                               MatrixView<const float>);
template void check_fit<double>(const Network<double>&, MatrixView<const double>,
                                MatrixView<const double>, const FitOptions&,
                                MatrixView<const double>, MatrixView<const double>);
template std::vector<EpochReport> fit<float>(Network<float>&, Optimizer<float>&,
                                             MatrixView<const float>, MatrixView<const float>,
                                             const FitOptions&, const EpochCallback&,
                                             MatrixView<const float>, MatrixView<const float>,
                                             const StepCallback&);
template std::vector<EpochReport> fit<double>(Network<double>&, Optimizer<double>&,
                                              MatrixView<const double>, MatrixView<const double>,
                                              const FitOptions&, const EpochCallback&,
                                              MatrixView<const double>, MatrixView<const double>,
                                              const StepCallback&);

}  // namespace nobias
