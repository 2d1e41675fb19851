// Optimizers and the fit loop: every update against its textbook formula (written here in
// double with plain loops), Mean against Sum, the shuffled order, the batching of fit, its
// reports and errors, and a teacher-student run.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "nobias/checkpoint.hpp"
#include "nobias/error.hpp"
#include "nobias/fit.hpp"
#include "nobias/network.hpp"
#include "nobias/optimizer.hpp"
#include "nobias/targets.hpp"
#include "reference/reference.hpp"
#include "support/fit_hooks.hpp"
#include "test_support.hpp"

using nobias::EpochReport;
using nobias::FitOptions;
using nobias::Matrix;
using nobias::MatrixView;
using nobias::Network;
using nobias::Optimizer;
using nobias::OptimizerConfig;
using nobias::OptimizerKind;
using nobias::Reduction;
using test_support::max_relative_error;
using test_support::random_matrix;

namespace {

// Weights drawn N(0, 2 / fan_in), as Init::He, from random_matrix (not the code under test).
template <class T>
std::vector<Matrix<T>> he_weights(const std::vector<std::size_t>& widths, std::uint64_t seed) {
  return test_support::random_weights<T>(widths, seed, 2.0);
}

template <class T>
Matrix<double> to_double(MatrixView<const T> a) {
  Matrix<double> d(a.rows(), a.cols());
  for (std::size_t i = 0; i < a.rows(); ++i)
    for (std::size_t j = 0; j < a.cols(); ++j)
      d(i, j) = static_cast<double>(a(i, j));
  return d;
}

template <class T>
std::vector<Matrix<double>> weights_in_double(const Network<T>& net) {
  std::vector<Matrix<double>> w;
  for (std::size_t k = 0; k < net.layers(); ++k)
    w.push_back(to_double<T>(net.weight(k)));
  return w;
}

double max_abs(const std::vector<Matrix<double>>& ms) {
  double m = 0.0;
  for (const auto& a : ms)
    for (std::size_t i = 0; i < a.size(); ++i)
      m = std::max(m, std::abs(a.data()[i]));
  return m;
}

// Every weight of a equal to the same weight of b, bit for bit.
template <class T>
bool identical(const Network<T>& a, const Network<T>& b) {
  if (a.layers() != b.layers()) return false;
  for (std::size_t k = 0; k < a.layers(); ++k) {
    const MatrixView<const T> wa = a.weight(k), wb = b.weight(k);
    if (wa.rows() != wb.rows() || wa.cols() != wb.cols()) return false;
    for (std::size_t i = 0; i < wa.rows(); ++i)
      for (std::size_t j = 0; j < wa.cols(); ++j)
        if (!(wa(i, j) == wb(i, j))) return false;
  }
  return true;
}

// The largest relative error over the layers of two networks.
template <class T>
double network_error(const Network<T>& a, const Network<T>& b) {
  double e = 0.0;
  for (std::size_t k = 0; k < a.layers(); ++k)
    e = std::max(e, max_relative_error<T>(a.weight(k), b.weight(k)));
  return e;
}

// The optimizers as the textbooks (and PyTorch) write them, in double, element by element.
struct Textbook {
  OptimizerConfig config;
  std::vector<Matrix<double>> w, first, second;  // weights, v or m, s
  std::uint64_t t = 0;

  Textbook(const OptimizerConfig& c, std::vector<Matrix<double>> weights)
      : config(c), w(std::move(weights)) {
    for (const auto& m : w) {
      first.emplace_back(m.rows(), m.cols());
      second.emplace_back(m.rows(), m.cols());
    }
  }

  void step(const std::vector<Matrix<double>>& g) {
    ++t;
    const double lr = config.learning_rate, decay = config.weight_decay;
    const double mu = config.momentum, b1 = config.beta1, b2 = config.beta2;
    const double td = static_cast<double>(t);
    for (std::size_t k = 0; k < w.size(); ++k) {
      for (std::size_t i = 0; i < w[k].rows(); ++i)
        for (std::size_t j = 0; j < w[k].cols(); ++j) {
          double& wij = w[k](i, j);
          const double gp = g[k](i, j) + decay * wij;
          switch (config.kind) {
            case OptimizerKind::Sgd:
              wij -= lr * gp;
              break;
            case OptimizerKind::Momentum: {
              double& v = first[k](i, j);
              v = mu * v + gp;
              wij -= lr * (config.nesterov ? gp + mu * v : v);
              break;
            }
            case OptimizerKind::Adam: {
              double& m = first[k](i, j);
              double& s = second[k](i, j);
              m = b1 * m + (1.0 - b1) * gp;
              s = b2 * s + (1.0 - b2) * gp * gp;
              const double m_hat = m / (1.0 - std::pow(b1, td));
              const double s_hat = s / (1.0 - std::pow(b2, td));
              wij -= lr * m_hat / (std::sqrt(s_hat) + config.epsilon);
              break;
            }
          }
        }
    }
  }
};

// The scales the tests pick their hyperparameters from, so that every update is a few percent
// of the weights: far above the tolerance, far below divergence.
struct Scales {
  double weights;   // max |w|
  double gradient;  // max |dL/dw| (Sum)
};

Scales scales_of(const Matrix<double>& x, const Matrix<double>& y,
                 const std::vector<Matrix<double>>& w) {
  return {max_abs(w), max_abs(reference::backprop<double>(x, y, w))};
}

// Three consecutive steps of the optimizer made from `make_config` on a {7, 5, 3} network with
// n = 9, each compared with the textbook update (and the returned loss with the reference's).
template <class T>
void check_against_textbook(const std::function<OptimizerConfig(const Scales&)>& make_config) {
  const std::vector<std::size_t> widths{7, 5, 3};
  const std::size_t n = 9;
  const Matrix<T> x = random_matrix<T>(n, widths.front(), 31);
  const Matrix<T> y = random_matrix<T>(n, widths.back(), 32);
  Network<T> net(he_weights<T>(widths, 33));

  const Matrix<double> xd = to_double<T>(x), yd = to_double<T>(y);
  const OptimizerConfig config = make_config(scales_of(xd, yd, weights_in_double(net)));
  Textbook book(config, weights_in_double(net));
  Optimizer<T> optimizer(config, net);
  REQUIRE(optimizer.steps_taken() == 0);

  const double tol = test_support::tolerance<T>(64);
  for (int step = 1; step <= 3; ++step) {
    CAPTURE(step);
    double expected_loss = 0.0;
    const auto g = reference::backprop<double>(xd, yd, book.w, &expected_loss);
    const std::vector<Matrix<double>> before = book.w;
    book.step(g);

    const double loss = optimizer.step(net, x, y);
    CHECK(loss == doctest::Approx(expected_loss).epsilon(test_support::tolerance<T>(64)));
    CHECK(optimizer.steps_taken() == static_cast<std::uint64_t>(step));
    REQUIRE(net.layers() == book.w.size());
    for (std::size_t k = 0; k < net.layers(); ++k) {
      CAPTURE(k);
      // The step must be large against the tolerance, or the comparison proves nothing.
      REQUIRE(max_relative_error<double>(book.w[k], before[k]) > 100 * tol);
      CHECK(max_relative_error<double>(to_double<T>(net.weight(k)), book.w[k]) <= tol);
    }
    // The state a checkpoint keeps: the velocity (Momentum), the moments (Adam).
    if (config.kind == OptimizerKind::Momentum) {
      REQUIRE(optimizer.state().first.size() == net.layers());
      for (std::size_t k = 0; k < net.layers(); ++k)
        CHECK(max_relative_error<double>(to_double<T>(optimizer.state().first[k]), book.first[k]) <=
              tol);
    } else if (config.kind == OptimizerKind::Adam) {
      REQUIRE(optimizer.state().first.size() == net.layers());
      REQUIRE(optimizer.state().second.size() == net.layers());
      for (std::size_t k = 0; k < net.layers(); ++k) {
        CHECK(max_relative_error<double>(to_double<T>(optimizer.state().first[k]), book.first[k]) <=
              tol);
        CHECK(max_relative_error<double>(to_double<T>(optimizer.state().second[k]),
                                         book.second[k]) <= tol);
      }
    }
  }
}

OptimizerConfig sgd_config(const Scales& s) {
  OptimizerConfig c;
  c.kind = OptimizerKind::Sgd;
  c.learning_rate = 0.05 * s.weights / s.gradient;
  return c;
}

OptimizerConfig momentum_config(const Scales& s) {
  OptimizerConfig c;
  c.kind = OptimizerKind::Momentum;
  c.learning_rate = 0.03 * s.weights / s.gradient;
  c.momentum = 0.9;
  return c;
}

OptimizerConfig adam_config(const Scales& s) {
  OptimizerConfig c;
  c.kind = OptimizerKind::Adam;
  c.learning_rate = 0.03 * s.weights;  // Adam's first steps move each weight by about lr
  return c;
}

// A small Sum-reduced problem for the fit tests: x (n x 6), y (n x 2), a {6, 5, 2} network.
template <class T>
struct Problem {
  Matrix<T> x, y;
  Network<T> net;
  explicit Problem(std::size_t n, std::uint64_t seed = 40)
      : x(random_matrix<T>(n, 6, seed)),
        y(random_matrix<T>(n, 2, seed + 1)),
        net(he_weights<T>({6, 5, 2}, seed + 2)) {}
};

OptimizerConfig fit_momentum_config() {
  OptimizerConfig c;
  c.kind = OptimizerKind::Momentum;
  c.learning_rate = 0.05;  // with Reduction::Mean, gradients are O(1)
  c.momentum = 0.9;
  return c;
}

FitOptions fit_options(std::size_t epochs, std::size_t batch_size, bool shuffle,
                       std::uint64_t seed = 0, Reduction reduction = Reduction::Mean) {
  FitOptions o;
  o.epochs = epochs;
  o.batch_size = batch_size;
  o.shuffle = shuffle;
  o.seed = seed;
  o.reduction = reduction;
  return o;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// 1. Every optimizer against its textbook formula, three steps in a row.

TEST_CASE_TEMPLATE("optimizer.sgd.matches_textbook", T, float, double) {
  check_against_textbook<T>(sgd_config);
}

TEST_CASE_TEMPLATE("optimizer.sgd.weight_decay_matches_textbook", T, float, double) {
  check_against_textbook<T>([](const Scales& s) {
    OptimizerConfig c = sgd_config(s);
    c.weight_decay = 0.5 * s.gradient / s.weights;  // decay w as large as half the gradient
    return c;
  });
}

TEST_CASE_TEMPLATE("optimizer.momentum.matches_textbook", T, float, double) {
  check_against_textbook<T>(momentum_config);
}

TEST_CASE_TEMPLATE("optimizer.momentum.nesterov_matches_textbook", T, float, double) {
  check_against_textbook<T>([](const Scales& s) {
    OptimizerConfig c = momentum_config(s);
    c.nesterov = true;
    c.momentum = 0.8;
    return c;
  });
}

TEST_CASE_TEMPLATE("optimizer.momentum.weight_decay_matches_textbook", T, float, double) {
  for (const bool nesterov : {false, true}) {
    CAPTURE(nesterov);
    check_against_textbook<T>([nesterov](const Scales& s) {
      OptimizerConfig c = momentum_config(s);
      c.nesterov = nesterov;
      c.weight_decay = 0.5 * s.gradient / s.weights;
      return c;
    });
  }
}

TEST_CASE_TEMPLATE("optimizer.adam.matches_textbook", T, float, double) {
  check_against_textbook<T>(adam_config);
}

TEST_CASE_TEMPLATE("optimizer.adam.weight_decay_matches_textbook", T, float, double) {
  check_against_textbook<T>([](const Scales& s) {
    OptimizerConfig c = adam_config(s);
    c.weight_decay = 0.5 * s.gradient / s.weights;
    return c;
  });
}

TEST_CASE_TEMPLATE("optimizer.adam.betas_and_epsilon_are_used", T, float, double) {
  check_against_textbook<T>([](const Scales& s) {
    OptimizerConfig c = adam_config(s);
    c.beta1 = 0.7;
    c.beta2 = 0.95;
    c.epsilon = 0.1 * s.gradient;  // large enough to change every update visibly
    return c;
  });
}

TEST_CASE_TEMPLATE("optimizer.sgd.has_no_state", T, float, double) {
  Problem<T> p(8);
  OptimizerConfig c;
  c.kind = OptimizerKind::Sgd;
  c.learning_rate = 1e-3;
  Optimizer<T> optimizer(c, p.net);
  optimizer.step(p.net, p.x, p.y);
  CHECK(optimizer.steps_taken() == 1);
  CHECK(optimizer.state().first.empty());
  CHECK(optimizer.state().second.empty());
}

// A step whose loss is not finite leaves the weights and the optimizer's state as they were.
TEST_CASE("optimizer.divergence.leaves_weights_and_state_untouched") {
  for (const OptimizerKind kind :
       {OptimizerKind::Sgd, OptimizerKind::Momentum, OptimizerKind::Adam}) {
    CAPTURE(static_cast<int>(kind));
    Problem<double> p(8);
    OptimizerConfig c;
    c.kind = kind;
    c.learning_rate = 1e-3;
    Optimizer<double> optimizer(c, p.net);
    optimizer.step(p.net, p.x, p.y);
    REQUIRE(optimizer.steps_taken() == 1);

    auto w0 = p.net.weight(0);  // 1e200 . 1e200 overflows: the loss is infinite
    for (std::size_t i = 0; i < w0.rows(); ++i)
      for (std::size_t j = 0; j < w0.cols(); ++j)
        w0(i, j) *= 1e200;
    const Network<double> weights_before = p.net;
    std::vector<Matrix<double>> first_before, second_before;  // copies, not views
    for (const auto& m : optimizer.state().first)
      first_before.push_back(Matrix<double>::copy_of(m));
    for (const auto& m : optimizer.state().second)
      second_before.push_back(Matrix<double>::copy_of(m));

    CHECK_THROWS_WITH_AS(optimizer.step(p.net, p.x, p.y),
                         doctest::Contains("weights left unchanged; try a smaller learning rate"),
                         nobias::DivergenceError);
    CHECK(identical(p.net, weights_before));
    CHECK(optimizer.steps_taken() == 1);
    REQUIRE(optimizer.state().first.size() == first_before.size());
    REQUIRE(optimizer.state().second.size() == second_before.size());
    for (std::size_t k = 0; k < first_before.size(); ++k)
      CHECK(max_relative_error<double>(optimizer.state().first[k], first_before[k]) == 0.0);
    for (std::size_t k = 0; k < second_before.size(); ++k)
      CHECK(max_relative_error<double>(optimizer.state().second[k], second_before[k]) == 0.0);
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Reduction::Mean is Reduction::Sum divided by n * d_out.

TEST_CASE_TEMPLATE("train.reduction.mean_gradients_are_sum_scaled", T, float, double) {
  const std::vector<std::size_t> widths{7, 5, 3};
  const std::size_t n = 9;
  const double scale = 1.0 / static_cast<double>(n * widths.back());
  const Matrix<T> x = random_matrix<T>(n, widths.front(), 51);
  const Matrix<T> y = random_matrix<T>(n, widths.back(), 52);
  Network<T> net(he_weights<T>(widths, 53));

  const auto sum = net.gradients(x, y, Reduction::Sum);
  const auto mean = net.gradients(x, y, Reduction::Mean);
  const double tol = test_support::tolerance<T>(64);
  CHECK(mean.loss == doctest::Approx(sum.loss * scale).epsilon(tol));
  CHECK(net.loss(x, y, Reduction::Mean) ==
        doctest::Approx(net.loss(x, y, Reduction::Sum) * scale).epsilon(tol));
  REQUIRE(sum.dw.size() == mean.dw.size());
  for (std::size_t k = 0; k < sum.dw.size(); ++k) {
    CAPTURE(k);
    Matrix<double> expected = to_double<T>(sum.dw[k]);
    for (std::size_t i = 0; i < expected.size(); ++i)
      expected.data()[i] *= scale;
    CHECK(max_relative_error<double>(to_double<T>(mean.dw[k]), expected) <= tol);
  }
}

TEST_CASE_TEMPLATE("train.reduction.mean_step_is_sum_step_with_scaled_lr", T, float, double) {
  const std::vector<std::size_t> widths{7, 5, 3};
  const std::size_t n = 9;
  const double count = static_cast<double>(n * widths.back());
  const Matrix<T> x = random_matrix<T>(n, widths.front(), 61);
  const Matrix<T> y = random_matrix<T>(n, widths.back(), 62);
  const Network<T> start(he_weights<T>(widths, 63));
  const Scales s = scales_of(to_double<T>(x), to_double<T>(y), weights_in_double(start));
  const double lr_sum = 0.05 * s.weights / s.gradient;
  const double tol = test_support::tolerance<T>(64);

  SUBCASE("train_step") {
    Network<T> mean = start, sum = start;
    for (int step = 0; step < 2; ++step) {
      const double l_mean = mean.train_step(x, y, static_cast<T>(lr_sum * count), Reduction::Mean);
      const double l_sum = sum.train_step(x, y, static_cast<T>(lr_sum), Reduction::Sum);
      CHECK(l_mean == doctest::Approx(l_sum / count).epsilon(tol));
    }
    REQUIRE(network_error(sum, start) > 100 * tol);
    CHECK(network_error(mean, sum) <= tol);
  }
  SUBCASE("momentum optimizer") {
    Network<T> mean = start, sum = start;
    OptimizerConfig c;
    c.kind = OptimizerKind::Momentum;
    c.learning_rate = lr_sum;
    Optimizer<T> opt_sum(c, sum);
    c.learning_rate = lr_sum * count;
    Optimizer<T> opt_mean(c, mean);
    for (int step = 0; step < 3; ++step) {
      const double l_mean = opt_mean.step(mean, x, y, Reduction::Mean);
      const double l_sum = opt_sum.step(sum, x, y, Reduction::Sum);
      CHECK(l_mean == doctest::Approx(l_sum / count).epsilon(tol));
    }
    REQUIRE(network_error(sum, start) > 100 * tol);
    CHECK(network_error(mean, sum) <= tol);
  }
}

// ---------------------------------------------------------------------------------------------
// 3. shuffled_order

TEST_CASE("shuffle.order.is_a_permutation") {
  for (const std::size_t rows : {2u, 3u, 10u, 100u, 1000u}) {
    CAPTURE(rows);
    const std::vector<std::size_t> order = nobias::shuffled_order(rows, 7, 1);
    REQUIRE(order.size() == rows);
    std::vector<int> seen(rows, 0);
    for (const std::size_t i : order) {
      REQUIRE(i < rows);
      ++seen[i];
    }
    CHECK(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
  }
}

TEST_CASE("shuffle.order.depends_on_seed_and_epoch_alone") {
  const std::size_t rows = 100;
  std::vector<std::size_t> identity(rows);
  for (std::size_t i = 0; i < rows; ++i)
    identity[i] = i;

  CHECK(nobias::shuffled_order(rows, 3, 1) == nobias::shuffled_order(rows, 3, 1));
  CHECK(nobias::shuffled_order(rows, 3, 2) == nobias::shuffled_order(rows, 3, 2));
  CHECK(nobias::shuffled_order(rows, 3, 1) != identity);

  // Different epochs of one seed, and one epoch of different seeds: all different orders.
  std::vector<std::vector<std::size_t>> orders;
  for (std::size_t epoch = 0; epoch < 4; ++epoch)
    orders.push_back(nobias::shuffled_order(rows, 3, epoch));
  for (std::uint64_t seed : {0u, 1u, 4u, 12345u})
    orders.push_back(nobias::shuffled_order(rows, seed, 1));
  for (std::size_t a = 0; a < orders.size(); ++a)
    for (std::size_t b = a + 1; b < orders.size(); ++b) {
      CAPTURE(a);
      CAPTURE(b);
      CHECK(orders[a] != orders[b]);
    }
}

TEST_CASE("shuffle.order.zero_and_one_rows") {
  CHECK(nobias::shuffled_order(0, 5, 1).empty());
  CHECK(nobias::shuffled_order(1, 5, 1) == std::vector<std::size_t>{0});
  CHECK(nobias::shuffled_order(1, 9, 17) == std::vector<std::size_t>{0});
}

// ---------------------------------------------------------------------------------------------
// 4. fit: determinism and the natural order without shuffling.

TEST_CASE_TEMPLATE("fit.determinism.same_seed_same_bits", T, float, double) {
  Problem<T> p(40);
  Network<T> a = p.net, b = p.net, c = p.net;
  Optimizer<T> opt_a(fit_momentum_config(), a), opt_b(fit_momentum_config(), b),
      opt_c(fit_momentum_config(), c);
  nobias::fit<T>(a, opt_a, {p.x, p.y}, fit_options(3, 8, true, 11));
  nobias::fit<T>(b, opt_b, {p.x, p.y}, fit_options(3, 8, true, 11));
  nobias::fit<T>(c, opt_c, {p.x, p.y}, fit_options(3, 8, true, 12));
  REQUIRE(network_error(a, p.net) > 1e-3);  // training happened
  CHECK(identical(a, b));
  CHECK_FALSE(identical(a, c));  // another seed, another order of the batches
}

TEST_CASE_TEMPLATE("fit.no_shuffle.is_the_natural_order", T, float, double) {
  const std::size_t n = 20, half = n / 2;
  Problem<T> p(n);
  Network<T> fitted = p.net, manual = p.net;
  Optimizer<T> opt_fit(fit_momentum_config(), fitted), opt_manual(fit_momentum_config(), manual);

  const auto reports =
      nobias::fit<T>(fitted, opt_fit, {p.x, p.y}, fit_options(2, half, false)).epochs;
  REQUIRE(reports.size() == 2);
  for (std::size_t epoch = 0; epoch < 2; ++epoch) {
    CAPTURE(epoch);
    const double l1 =
        opt_manual.step(manual, p.x.row_block(0, half), p.y.row_block(0, half), Reduction::Mean);
    const double l2 = opt_manual.step(manual, p.x.row_block(half, half), p.y.row_block(half, half),
                                      Reduction::Mean);
    CHECK(reports[epoch].epoch == epoch + 1);
    CHECK(reports[epoch].steps == 2);
    CHECK(reports[epoch].train_loss == doctest::Approx((l1 + l2) / 2).epsilon(1e-12));
  }
  REQUIRE(network_error(manual, p.net) > 1e-3);
  CHECK(identical(fitted, manual));
  CHECK(opt_fit.steps_taken() == 4);
}

// ---------------------------------------------------------------------------------------------
// 5. The partial last batch.

TEST_CASE_TEMPLATE("fit.batches.partial_last_batch", T, float, double) {
  const std::size_t n = 10, batch = 4;
  for (const Reduction reduction : {Reduction::Sum, Reduction::Mean}) {
    CAPTURE(static_cast<int>(reduction));
    Problem<T> p(n);
    Network<T> fitted = p.net, manual = p.net;
    OptimizerConfig c = fit_momentum_config();
    if (reduction == Reduction::Sum) c.learning_rate = 0.01;
    Optimizer<T> opt_fit(c, fitted), opt_manual(c, manual);

    const auto reports =
        nobias::fit<T>(fitted, opt_fit, {p.x, p.y}, fit_options(2, batch, false, 0, reduction))
            .epochs;
    REQUIRE(reports.size() == 2);
    for (std::size_t epoch = 0; epoch < 2; ++epoch) {
      CAPTURE(epoch);
      double total = 0.0;
      for (const std::size_t begin : {0u, 4u, 8u}) {
        const std::size_t rows = std::min(batch, n - begin);
        const double l = opt_manual.step(manual, p.x.row_block(begin, rows),
                                         p.y.row_block(begin, rows), reduction);
        total += reduction == Reduction::Sum ? l : l * static_cast<double>(rows);
      }
      const double expected = reduction == Reduction::Sum ? total : total / static_cast<double>(n);
      CHECK(reports[epoch].steps == 3);
      CHECK(reports[epoch].train_loss == doctest::Approx(expected).epsilon(1e-12));
    }
    CHECK(identical(fitted, manual));
    CHECK(opt_fit.steps_taken() == 6);
  }
}

TEST_CASE_TEMPLATE("fit.batches.larger_than_rows_or_zero_is_one_batch", T, float, double) {
  for (const std::size_t batch : {0u, 10u, 11u, 1000u}) {
    CAPTURE(batch);
    Problem<T> p(10);
    Network<T> fitted = p.net, manual = p.net;
    Optimizer<T> opt_fit(fit_momentum_config(), fitted), opt_manual(fit_momentum_config(), manual);
    const auto reports =
        nobias::fit<T>(fitted, opt_fit, {p.x, p.y}, fit_options(1, batch, true, 3)).epochs;
    const double l = opt_manual.step(manual, p.x, p.y, Reduction::Mean);
    REQUIRE(reports.size() == 1);
    CHECK(reports[0].steps == 1);
    CHECK(reports[0].train_loss == doctest::Approx(l).epsilon(1e-12));
    // One batch of every row: the shuffle changes the order of the rows, not the gradient.
    CHECK(network_error(fitted, manual) <= test_support::tolerance<T>(64));
  }
}

// ---------------------------------------------------------------------------------------------
// 6. The callback and the reports.

TEST_CASE_TEMPLATE("fit.callback.false_stops_training", T, float, double) {
  Problem<T> p(20);
  Network<T> stopped = p.net, two_epochs = p.net;
  Optimizer<T> opt_stopped(fit_momentum_config(), stopped),
      opt_two(fit_momentum_config(), two_epochs);

  std::vector<std::size_t> seen;
  const auto reports = nobias::fit<T>(stopped, opt_stopped, {p.x, p.y},
                                      with_on_epoch(fit_options(5, 6, true, 9),
                                                    [&seen](const EpochReport& r) {
                                                      seen.push_back(r.epoch);
                                                      return r.epoch < 2;
                                                    }))
                           .epochs;
  REQUIRE(reports.size() == 2);
  CHECK(seen == std::vector<std::size_t>{1, 2});
  CHECK(reports[0].epoch == 1);
  CHECK(reports[1].epoch == 2);
  // Stopping after epoch 2 is the same as asking for two epochs.
  nobias::fit<T>(two_epochs, opt_two, {p.x, p.y}, fit_options(2, 6, true, 9));
  CHECK(identical(stopped, two_epochs));
  CHECK(opt_stopped.steps_taken() == 8);  // 20 rows in batches of 6: 4 steps an epoch
}

TEST_CASE_TEMPLATE("fit.report.fields", T, float, double) {
  Problem<T> p(20);
  Optimizer<T> optimizer(fit_momentum_config(), p.net);
  const auto reports =
      nobias::fit<T>(p.net, optimizer, {p.x, p.y}, fit_options(3, 8, true, 2)).epochs;
  REQUIRE(reports.size() == 3);
  for (std::size_t i = 0; i < reports.size(); ++i) {
    CAPTURE(i);
    CHECK(reports[i].epoch == i + 1);
    CHECK(reports[i].steps == 3);
    CHECK(std::isfinite(reports[i].train_loss));
    CHECK(reports[i].train_loss > 0.0);
    CHECK(std::isnan(reports[i].validation_loss));  // no validation set
    CHECK(reports[i].seconds >= 0.0);
    CHECK(reports[i].samples_per_second > 0.0);
  }
}

TEST_CASE_TEMPLATE("fit.report.validation_loss_of_the_weights_after_each_epoch", T, float, double) {
  for (const Reduction reduction : {Reduction::Sum, Reduction::Mean}) {
    CAPTURE(static_cast<int>(reduction));
    Problem<T> p(20);
    const Matrix<T> val_x = random_matrix<T>(7, 6, 70);
    const Matrix<T> val_y = random_matrix<T>(7, 2, 71);
    OptimizerConfig c = fit_momentum_config();
    if (reduction == Reduction::Sum) c.learning_rate = 0.005;
    Optimizer<T> optimizer(c, p.net);

    std::vector<double> expected;  // from a copy, so fit's own network is not disturbed
    const auto reports =
        nobias::fit<T>(p.net, optimizer, {p.x, p.y, val_x, val_y},
                       with_on_epoch(fit_options(3, 8, true, 5, reduction),
                                     [&](const EpochReport&) {
                                       Network<T> copy = p.net;
                                       expected.push_back(copy.loss(val_x, val_y, reduction));
                                       return true;
                                     }))
            .epochs;
    REQUIRE(reports.size() == 3);
    REQUIRE(expected.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CAPTURE(i);
      CHECK(reports[i].validation_loss == doctest::Approx(expected[i]).epsilon(1e-12));
    }
    CHECK(expected[0] != expected[2]);  // the weights moved between epochs
    CHECK(reports.back().validation_loss ==
          doctest::Approx(p.net.loss(val_x, val_y, reduction)).epsilon(1e-12));
  }
}

// ---------------------------------------------------------------------------------------------
// 7. Teacher and student.

// A random bias-free teacher makes y from x; a student of the same shape, trained with Adam
// through fit, must lower its loss on the data by at least 10^3 (here by about 10^5; every
// student seed from 2 to 10 passes). 64 rows, not more: with 256 rows a same-shape student
// stalls near a 10^2 reduction (30 seeds, lr 3e-3 to 1e-1, up to 5000 epochs, full batch too).
TEST_CASE("fit.adam.teacher_student_lowers_the_loss_1000x") {
  const std::vector<std::size_t> widths{8, 16, 16, 3};
  const Network<double> teacher(widths, 1, nobias::Init::He);
  const Matrix<double> x = random_matrix<double>(64, 8, 100);
  const Matrix<double> y = teacher.predict(x);
  Network<double> student(widths, 2, nobias::Init::He);

  OptimizerConfig c;
  c.kind = OptimizerKind::Adam;
  c.learning_rate = 5e-3;
  Optimizer<double> optimizer(c, student);
  const double before = student.loss(x, y, Reduction::Mean);
  const auto reports = nobias::fit<double>(student, optimizer, {x, y},
                                           fit_options(1000, 32, true, 1, Reduction::Mean))
                           .epochs;
  const double after = student.loss(x, y, Reduction::Mean);
  REQUIRE(reports.size() == 1000);
  CAPTURE(before);
  CAPTURE(after);
  CHECK(before / after >= 1e3);
}

// ---------------------------------------------------------------------------------------------
// 8. Divergence.

TEST_CASE_TEMPLATE("fit.divergence.names_epoch_and_step", T, float, double) {
  // One linear layer: no ReLU can die and stop the blow-up.
  const Matrix<T> x = random_matrix<T>(20, 4, 80);
  const Matrix<T> y = random_matrix<T>(20, 3, 81);
  Network<T> net(he_weights<T>({4, 3}, 82));
  OptimizerConfig c;
  c.kind = OptimizerKind::Sgd;
  c.learning_rate = 1e10;
  Optimizer<T> optimizer(c, net);

  // The weights after every completed step, and where that step was.
  Network<T> last_good = net;
  nobias::StepReport last_step;
  const nobias::StepCallback on_step = [&](const nobias::StepReport& r) {
    last_good = net;
    last_step = r;
  };
  std::string message;
  nobias::DivergenceError::Facts facts;
  try {
    nobias::fit<T>(net, optimizer, {x, y},
                   with_on_step(fit_options(50, 5, true, 1, Reduction::Sum), on_step));
  } catch (const nobias::DivergenceError& e) {
    message = e.what();
    facts = e.facts();
  }
  REQUIRE_FALSE(message.empty());  // DivergenceError was thrown
  CAPTURE(message);
  // The step after the last one completed: the next of its epoch, or the first of the next.
  const bool new_epoch = last_step.step == last_step.steps_per_epoch;
  const std::size_t epoch = new_epoch ? last_step.epoch + 1 : last_step.epoch;
  const std::size_t step = new_epoch ? 1 : last_step.step + 1;
  const std::string where =
      "fit: epoch " + std::to_string(epoch) + ", step " + std::to_string(step) + ": train_step: ";
  CHECK(message.rfind(where, 0) == 0);
  CHECK(message.find("; weights left unchanged; try a smaller learning rate") != std::string::npos);
  // The same facts as fields, for a front door to word its own advice.
  CHECK(facts.epoch == epoch);
  CHECK(facts.step == step);
  CHECK(facts.where == "train_step");
  CHECK(facts.weights_unchanged);
  CHECK_FALSE(std::abs(facts.loss) <= static_cast<double>(std::numeric_limits<T>::max()));
  // The weights are those of the step before: every one finite, bit for bit the last good ones.
  CHECK(identical(net, last_good));
  for (std::size_t k = 0; k < net.layers(); ++k) {
    const auto w = net.weight(k);
    for (std::size_t i = 0; i < w.rows(); ++i)
      for (std::size_t j = 0; j < w.cols(); ++j)
        CHECK(std::isfinite(w(i, j)));
  }
}

// Early stopping is the driver's: the rule (a validation loss below the best by more than the
// tolerance resets the count; `patience` epochs without one stop), the kept weights (the best
// epoch's, bit for bit), the reports' account, and a hook that still sees every epoch.
TEST_CASE_TEMPLATE("fit.early_stopping.keeps_the_best_epoch", T, float, double) {
  Problem<T> p(60);
  const Matrix<T> val_x = random_matrix<T>(23, 6, 90), val_y = random_matrix<T>(23, 2, 91);
  for (const double tolerance : {0.0, 1e-3}) {
    CAPTURE(tolerance);
    // The reference: the same run without early stopping, every epoch's weights kept.
    Network<T> plain = p.net;
    Optimizer<T> plain_opt(fit_momentum_config(), plain);
    std::vector<double> losses;
    std::vector<Network<T>> after;
    FitOptions reference = fit_options(40, 7, true, 3);
    reference.on_epoch = [&](const EpochReport& r) {
      losses.push_back(r.validation_loss);
      after.push_back(plain);
      return true;
    };
    nobias::fit<T>(plain, plain_opt, {p.x, p.y, val_x, val_y}, reference);
    const std::size_t patience = 3;
    std::size_t best = 0, stale = 0, stop = losses.size();
    for (std::size_t e = 0; e < losses.size(); ++e) {
      if (e == 0 || losses[e] < losses[best] - tolerance) {
        best = e;
        stale = 0;
      } else if (++stale == patience) {
        stop = e + 1;
        break;
      }
    }
    Network<T> net = p.net;
    Optimizer<T> optimizer(fit_momentum_config(), net);
    FitOptions options = fit_options(40, 7, true, 3);
    options.early_stopping = {patience, tolerance};
    std::size_t hooked = 0;
    options.on_epoch = [&](const EpochReport&) { return ++hooked > 0; };
    const nobias::FitResult result =
        nobias::fit<T>(net, optimizer, {p.x, p.y, val_x, val_y}, options);
    CHECK(result.epochs.size() == stop);
    CHECK(hooked == stop);
    CHECK(result.kept_epoch == best + 1);
    CHECK(result.stopped_early == (stop < losses.size()));
    CHECK(result.epochs.back().best_epoch == best + 1);
    CHECK(result.epochs.back().best_validation_loss == losses[best]);
    CHECK(identical(net, after[best]));
    CHECK(result.final_loss == net.loss(p.x, p.y, Reduction::Mean));
  }
}

TEST_CASE("fit.early_stopping.needs_a_validation_set") {
  Problem<double> p(20);
  Optimizer<double> optimizer(fit_momentum_config(), p.net);
  FitOptions options = fit_options(3, 4, true);
  options.early_stopping.patience = 2;
  CHECK_THROWS_WITH_AS(nobias::fit<double>(p.net, optimizer, {p.x, p.y}, options),
                       "fit: early stopping (patience 2) needs a validation set; got none",
                       nobias::ValueError);
  options.early_stopping.tolerance = -1.0;
  CHECK_THROWS_WITH_AS(nobias::fit<double>(p.net, optimizer, {p.x, p.y}, options),
                       "fit: early_stopping.tolerance must be finite and >= 0, got -1",
                       nobias::ValueError);
}

// A resumed run must be the run it continues; what differs is named as fields.
TEST_CASE("fit.resume.names_the_setting_that_differs") {
  Problem<float> p(24);
  const test_support::TempDir temp("resume_mismatch");
  const std::string dir = temp.file("ck");
  Optimizer<float> optimizer(fit_momentum_config(), p.net);
  FitOptions options = fit_options(2, 8, true, 5);
  options.checkpoint.dir = dir;
  nobias::fit<float>(p.net, optimizer, {p.x, p.y}, options);
  const auto checkpoint = nobias::load_checkpoint<float>(dir);

  const auto mismatch = [&](OptimizerConfig config, FitOptions again) {
    Network<float> net(checkpoint.weights);
    Optimizer<float> other(config, net);
    try {
      nobias::resume(checkpoint, other, again);
    } catch (const nobias::ResumeMismatch& e) {
      return std::vector<std::string>{e.setting(), e.now(), e.then()};
    }
    return std::vector<std::string>{};
  };
  OptimizerConfig faster = fit_momentum_config();
  faster.learning_rate = 0.5;
  CHECK(mismatch(faster, fit_options(4, 8, true, 5)) ==
        std::vector<std::string>{"learning_rate", "0.5", "0.05"});
  CHECK(mismatch(fit_momentum_config(), fit_options(4, 8, true, 6)) ==
        std::vector<std::string>{"seed", "6", "5"});
  CHECK(mismatch(fit_momentum_config(), fit_options(4, 9, true, 5)) ==
        std::vector<std::string>{"batch_size", "9", "8"});
  CHECK(mismatch(fit_momentum_config(), fit_options(2, 8, true, 5)) ==
        std::vector<std::string>{"epochs", "2", "2"});

  // The same settings: it continues at epoch 3, and other data are refused by fit.
  FitOptions again = fit_options(4, 8, true, 5);
  Network<float> net(checkpoint.weights);
  Optimizer<float> resumed(fit_momentum_config(), net);
  nobias::resume(checkpoint, resumed, again);
  CHECK(again.first_epoch == 3);
  Matrix<float> other_x = p.x;
  other_x(0, 0) += 1.0f;
  try {
    nobias::fit<float>(net, resumed, {other_x, p.y}, again);
    FAIL("other data were not refused");
  } catch (const nobias::ResumeMismatch& e) {
    CHECK(e.setting() == "data");
    CHECK(e.now().find("x differs") != std::string::npos);
  }
}

// Issue 19 item 9: a run with early stopping, checkpointed and resumed, is the uninterrupted run
// bit for bit: the best epoch, its weights and the patience count travel in the checkpoint.
TEST_CASE_TEMPLATE("fit.resume.continues_early_stopping", T, float, double) {
  Problem<T> p(60, 70);
  const Matrix<T> val_x = random_matrix<T>(23, 6, 92), val_y = random_matrix<T>(23, 2, 93);
  const auto options_for = [](std::size_t epochs, const std::string& dir) {
    FitOptions o = fit_options(epochs, 7, true, 3);
    o.early_stopping = {4, 0.0};
    o.checkpoint.dir = dir;
    return o;
  };
  const test_support::TempDir temp("resume_stopping");
  Network<T> whole = p.net;
  Optimizer<T> whole_opt(fit_momentum_config(), whole);
  const nobias::FitResult uninterrupted = nobias::fit<T>(whole, whole_opt, {p.x, p.y, val_x, val_y},
                                                         options_for(60, temp.file("whole")));
  REQUIRE(uninterrupted.stopped_early);
  // Stop the first part after the best epoch and before early stopping would: the resumed run
  // must know the best weights and count on from where the first part left off.
  const std::size_t split = uninterrupted.epochs.back().epoch - 1;
  REQUIRE(uninterrupted.kept_epoch < split);

  Network<T> first = p.net;
  Optimizer<T> first_opt(fit_momentum_config(), first);
  nobias::fit<T>(first, first_opt, {p.x, p.y, val_x, val_y}, options_for(split, temp.file("ck")));
  const auto checkpoint = nobias::load_checkpoint<T>(temp.file("ck"));
  CHECK(checkpoint.progress.stopping.best_epoch == uninterrupted.kept_epoch);
  CHECK(checkpoint.progress.stopping.epochs_without_improvement ==
        split - uninterrupted.kept_epoch);
  REQUIRE(checkpoint.best_weights.size() == 3 - 1);

  Network<T> resumed(checkpoint.weights);
  Optimizer<T> resumed_opt(fit_momentum_config(), resumed);
  FitOptions again = options_for(60, temp.file("ck"));
  nobias::resume(checkpoint, resumed_opt, again);
  const nobias::FitResult rest = nobias::fit<T>(
      resumed, resumed_opt, {p.x, p.y, val_x, val_y, &checkpoint.best_weights}, again);
  CHECK(rest.epochs.back().epoch == uninterrupted.epochs.back().epoch);
  CHECK(rest.kept_epoch == uninterrupted.kept_epoch);
  CHECK(rest.stopped_early);
  CHECK(identical(resumed, whole));

  // A checkpoint of the epoch whose verdict ended the run (the run split there, or the
  // uninterrupted run's own) continues with no epoch: the uninterrupted run trained none more.
  // It used to train on, from a count that had already reached the patience.
  const std::size_t stop = uninterrupted.epochs.back().epoch;
  Network<T> at_stop = p.net;
  Optimizer<T> at_stop_opt(fit_momentum_config(), at_stop);
  nobias::fit<T>(at_stop, at_stop_opt, {p.x, p.y, val_x, val_y},
                 options_for(stop, temp.file("at_stop")));
  for (const char* dir : {"at_stop", "whole"}) {
    CAPTURE(dir);
    const auto ended = nobias::load_checkpoint<T>(temp.file(dir));
    REQUIRE(ended.progress.epochs_done == stop);
    REQUIRE(ended.progress.stopping.epochs_without_improvement == 4);
    Network<T> net(ended.weights);
    Optimizer<T> opt(fit_momentum_config(), net);
    FitOptions more = options_for(60, temp.file(dir));
    std::size_t hooked = 0;
    more.on_epoch = [&](const EpochReport&) { return ++hooked > 0; };
    nobias::resume(ended, opt, more);
    const nobias::FitResult none =
        nobias::fit<T>(net, opt, {p.x, p.y, val_x, val_y, &ended.best_weights}, more);
    CHECK(none.epochs.empty());
    CHECK(none.epochs_run == 0);
    CHECK(none.steps == 0);
    CHECK(hooked == 0);
    CHECK(none.stopped_early);
    CHECK(none.kept_epoch == uninterrupted.kept_epoch);
    CHECK(none.final_loss == uninterrupted.final_loss);
    CHECK(identical(net, whole));
    CHECK(opt.steps_taken() == ended.optimizer_steps);
    // The checkpoint stays the stopped run's.
    CHECK(nobias::load_checkpoint<T>(temp.file(dir)).progress.epochs_done == stop);
  }

  // Another patience is another run.
  FitOptions other = options_for(60, temp.file("ck"));
  other.early_stopping.patience = 5;
  Optimizer<T> other_opt(fit_momentum_config(), resumed);
  CHECK_THROWS_AS(nobias::resume(checkpoint, other_opt, other), nobias::ResumeMismatch);
}

// A resumed run's early stopping goes on from a best validation loss measured on the first
// run's validation rows (and keeps that epoch's weights): other validation rows, none where
// there were some, or some where there were none, are another run. They used to be accepted.
TEST_CASE_TEMPLATE("fit.resume.refuses_other_validation_data", T, float, double) {
  Problem<T> p(60, 70);
  const Matrix<T> val_x = random_matrix<T>(23, 6, 92), val_y = random_matrix<T>(23, 2, 93);
  const test_support::TempDir temp("resume_validation");
  const auto options_for = [&](std::size_t epochs, std::size_t patience, const char* dir) {
    FitOptions o = fit_options(epochs, 7, true, 3);
    o.early_stopping = {patience, 0.0};
    o.checkpoint.dir = temp.file(dir);
    return o;
  };
  const auto first_run = [&](std::size_t patience, const char* dir, const nobias::FitData<T>& d) {
    Network<T> net = p.net;
    Optimizer<T> opt(fit_momentum_config(), net);
    nobias::fit<T>(net, opt, d, options_for(2, patience, dir));
  };
  // {setting, now, then} of the refusal, or {} when the run resumed and trained epochs 3-4;
  // a refusal leaves the network as the checkpoint has it.
  const auto resume = [&](std::size_t patience, const char* dir, nobias::FitData<T> d) {
    const auto checkpoint = nobias::load_checkpoint<T>(temp.file(dir));
    Network<T> net(checkpoint.weights);
    Optimizer<T> opt(fit_momentum_config(), net);
    FitOptions again = options_for(4, patience, dir);
    again.checkpoint.dir.clear();  // the checkpoint stays the first run's, for the next case
    nobias::resume(checkpoint, opt, again);
    d.best_weights = &checkpoint.best_weights;
    try {
      const nobias::FitResult rest = nobias::fit<T>(net, opt, d, again);
      CHECK(rest.epochs.front().epoch == 3);
    } catch (const nobias::ResumeMismatch& e) {
      CHECK(identical(net, Network<T>(checkpoint.weights)));
      CHECK(opt.steps_taken() == checkpoint.optimizer_steps);
      return std::vector<std::string>{e.setting(), e.now(), e.then()};
    }
    return std::vector<std::string>{};
  };
  const auto refused = [](const std::string& what) {
    return std::vector<std::string>{"validation", what, "the first run's validation data"};
  };

  first_run(4, "ck", {p.x, p.y, val_x, val_y});
  Matrix<T> other_x = val_x;
  other_x(22, 5) = std::nextafter(other_x(22, 5), T(10));  // one bit of one value
  CHECK(resume(4, "ck", {p.x, p.y, other_x, val_y}) ==
        refused("val_x differs: same shape, other values"));
  Matrix<T> other_y = val_y;
  other_y(0, 0) = T(0.5);
  CHECK(resume(4, "ck", {p.x, p.y, val_x, other_y}) ==
        refused("val_y differs: same shape, other values"));
  CHECK(resume(4, "ck", {p.x, p.y, val_x.row_block(0, 20), val_y.row_block(0, 20)}) ==
        refused("the validation data differ: 20 rows now, 23 in the checkpoint"));
  // The same rows resume, given as arrays or read where they lie (a RowSource of them).
  CHECK(resume(4, "ck", {p.x, p.y, val_x, val_y}).empty());
  const nobias::RowSource<T> rows(val_x, val_y);
  CHECK(resume(4, "ck", {p.x, p.y, {}, {}, nullptr, nullptr, nullptr, &rows}).empty());

  // Without early stopping the validation rows are still the run's: the reports' best epoch
  // and the history go on from them.
  first_run(0, "with", {p.x, p.y, val_x, val_y});
  CHECK(resume(0, "with", {p.x, p.y}) ==
        refused("the validation data differ: none now, 23 rows in the checkpoint"));
  CHECK(resume(0, "with", {p.x, p.y, val_x, val_y}).empty());
  first_run(0, "without", {p.x, p.y});
  CHECK(resume(0, "without", {p.x, p.y, val_x, val_y}) ==
        refused("the validation data differ: 23 rows now, none in the checkpoint"));
  CHECK(resume(0, "without", {p.x, p.y}).empty());
}

// ---------------------------------------------------------------------------------------------
// 9. Bad input.

TEST_CASE_TEMPLATE("fit.input.bad_shapes_and_epochs_throw", T, float, double) {
  Problem<T> p(10);
  Optimizer<T> optimizer(fit_momentum_config(), p.net);
  const Matrix<T> y_short = random_matrix<T>(9, 2, 90);
  const Matrix<T> x_wide = random_matrix<T>(10, 7, 91);
  const Matrix<T> val_x = random_matrix<T>(5, 6, 92);
  const Matrix<T> val_y_short = random_matrix<T>(4, 2, 93);
  const Network<T> before = p.net;

  CHECK_THROWS_WITH_AS(nobias::fit<T>(p.net, optimizer, {p.x, y_short}, fit_options(1, 4, true)),
                       "fit: x has 10 rows but y has 9", nobias::ShapeError);
  CHECK_THROWS_WITH_AS(nobias::fit<T>(p.net, optimizer, {x_wide, p.y}, fit_options(1, 4, true)),
                       "fit: x is 10x7 and y is 10x2, the network maps 6 columns to 2",
                       nobias::ShapeError);
  CHECK_THROWS_WITH_AS(
      nobias::fit<T>(p.net, optimizer, {p.x, p.y, val_x, val_y_short}, fit_options(1, 4, true)),
      "fit: validation x is 5x6 and validation y is 4x2; expected the same row count and 6 and 2 "
      "columns",
      nobias::ShapeError);
  CHECK_THROWS_WITH_AS(nobias::fit<T>(p.net, optimizer, {p.x, p.y}, fit_options(0, 4, true)),
                       "fit: epochs must be >= 1, got 0", nobias::ValueError);
  CHECK(identical(p.net, before));
  CHECK(optimizer.steps_taken() == 0);
}

TEST_CASE_TEMPLATE("fit.input.refuses_inputs_that_read_as_zero", T, float, double) {
  // edges2 item 2: one training row, standardized, is x = 0; a bias-free network maps it to 0
  // whatever its weights, so the run "trained" 200 epochs at loss 0, left the weights as they
  // started and exited 0, with a warning that blamed --lr.
  Problem<T> p(10);
  Optimizer<T> optimizer(fit_momentum_config(), p.net);
  const Network<T> before = p.net;
  const std::vector<std::size_t> one = {3};
  nobias::Standardization s = nobias::fit_standardization<T>(p.x, p.y, &one);
  const std::string why =
      "; a bias-free network maps 0 to 0 whatever its weights, so no step can change its outputs "
      "or the loss: nothing would be learned. Expected ";
  // The refusal of training rows whose every column is constant, over `rows` ("1 training row").
  const auto refused_as_constant = [&](const nobias::FitData<T>& data, const std::string& rows) {
    CHECK_THROWS_WITH_AS(nobias::fit<T>(p.net, optimizer, data, fit_options(2, 4, true)),
                         ("fit: every column of x is constant over the " + rows +
                          ", so x standardized (centred on its mean) is 0 in every one" + why +
                          "training rows whose x differ (or x not standardized)")
                             .c_str(),
                         nobias::ValueError);
  };
  nobias::FitData<T> data{p.x, p.y};
  data.rows = &one;
  data.standardization = &s;
  refused_as_constant(data, "1 training row");
  // Every row alike: the same.
  Matrix<T> same(10, 6);
  for (std::size_t i = 0; i < 10; ++i)
    for (std::size_t j = 0; j < 6; ++j)
      same(i, j) = p.x(3, j);
  s = nobias::fit_standardization<T>(same, p.y);
  data = {same, p.y};
  data.standardization = &s;
  refused_as_constant(data, "10 training rows");
  // Unstandardized, only an x of zeros.
  const Matrix<T> zeros(10, 6);
  CHECK_THROWS_WITH_AS(
      nobias::fit<T>(p.net, optimizer, {zeros, p.y}, fit_options(2, 4, true)),
      ("fit: x is 0 in every one of the 10 training rows" + why + "a training row whose x is not 0")
          .c_str(),
      nobias::ValueError);
  CHECK(identical(p.net, before));
  CHECK(optimizer.steps_taken() == 0);
  // What trains: one row as it is, or rows alike but for one column, standardized.
  nobias::fit<T>(p.net, optimizer, {same.row_block(0, 1), p.y.row_block(0, 1)},
                 fit_options(2, 4, true));
  CHECK(!identical(p.net, before));
  same(7, 2) = T(-1);
  s = nobias::fit_standardization<T>(same, p.y);
  data = {same, p.y};
  data.standardization = &s;
  const std::size_t steps = optimizer.steps_taken();
  nobias::fit<T>(p.net, optimizer, data, fit_options(2, 4, true));
  CHECK(optimizer.steps_taken() == steps + 6);
}

TEST_CASE_TEMPLATE("optimizer.config.bad_values_throw_naming_the_field", T, float, double) {
  const Network<T> net(he_weights<T>({3, 2}, 95));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Bad {
    const char* field;
    OptimizerKind kind;
    std::function<void(OptimizerConfig&, double)> set;
    std::vector<double> values;
  };
  const std::vector<Bad> bad = {
      {"learning_rate",
       OptimizerKind::Sgd,
       [](OptimizerConfig& c, double v) { c.learning_rate = v; },
       {0.0, -1e-3, nan}},
      {"learning_rate",
       OptimizerKind::Adam,
       [](OptimizerConfig& c, double v) { c.learning_rate = v; },
       {0.0, -1.0, nan}},
      {"momentum",
       OptimizerKind::Momentum,
       [](OptimizerConfig& c, double v) { c.momentum = v; },
       {-0.1, 1.0, 1.5, nan}},
      {"beta1",
       OptimizerKind::Adam,
       [](OptimizerConfig& c, double v) { c.beta1 = v; },
       {-0.1, 1.0, nan}},
      {"beta2",
       OptimizerKind::Adam,
       [](OptimizerConfig& c, double v) { c.beta2 = v; },
       {-0.1, 1.0, nan}},
      {"epsilon",
       OptimizerKind::Adam,
       [](OptimizerConfig& c, double v) { c.epsilon = v; },
       {0.0, -1e-8, nan}},
      {"weight_decay",
       OptimizerKind::Sgd,
       [](OptimizerConfig& c, double v) { c.weight_decay = v; },
       {-1e-4, nan}},
      {"weight_decay",
       OptimizerKind::Adam,
       [](OptimizerConfig& c, double v) { c.weight_decay = v; },
       {-1.0}},
  };
  for (const Bad& b : bad) {
    for (const double v : b.values) {
      CAPTURE(b.field);
      CAPTURE(static_cast<int>(b.kind));
      CAPTURE(v);
      OptimizerConfig c;
      c.kind = b.kind;
      b.set(c, v);
      CHECK_THROWS_WITH_AS(Optimizer<T>(c, net), doctest::Contains(b.field), nobias::ValueError);
    }
  }

  // The edges of the domains are accepted.
  OptimizerConfig edge;
  edge.kind = OptimizerKind::Momentum;
  edge.momentum = 0.0;
  CHECK_NOTHROW(Optimizer<T>(edge, net));
  edge.kind = OptimizerKind::Adam;
  edge.beta1 = 0.0;
  edge.beta2 = 0.0;
  edge.weight_decay = 0.0;
  CHECK_NOTHROW(Optimizer<T>(edge, net));
}

TEST_CASE("optimizer.moments_never_become_subnormal") {
  // One step with input column 0 lit, then a thousand without: the moments of w1's row 0
  // decay by beta1 and beta2 per step, through the subnormal range (slow on x86), to 0.
  Network<float> net({3, 4, 2}, 1, nobias::Init::He);
  nobias::OptimizerConfig config;
  config.kind = nobias::OptimizerKind::Adam;
  config.learning_rate = 1e-4;
  nobias::Optimizer<float> adam(config, net);
  Matrix<float> x = test_support::random_matrix<float>(8, 3, 2);
  const Matrix<float> y = test_support::random_matrix<float>(8, 2, 3);
  adam.step(net, x, y);
  REQUIRE(adam.state().first[0](0, 0) != 0.0f);
  for (std::size_t i = 0; i < x.rows(); ++i)
    x(i, 0) = 0.0f;
  for (int step = 0; step < 1000; ++step)
    adam.step(net, x, y);
  const nobias::OptimizerState<float> state = adam.state();
  for (const auto* moments : {&state.first, &state.second}) {
    for (const nobias::MatrixView<const float>& m : *moments) {
      for (std::size_t i = 0; i < m.size(); ++i) {
        CAPTURE(i);
        CHECK(std::fpclassify(m.data()[i]) != FP_SUBNORMAL);
      }
    }
  }
  CHECK(adam.state().first[0](0, 0) == 0.0f);
}

// ---------------------------------------------------------------------------------------------
// 10. Bad input at every entry point, as docs/errors.md lists it.

TEST_CASE_TEMPLATE("fit.input.non_finite_data_is_rejected_before_training", T, float, double) {
  Problem<T> p(10);
  Optimizer<T> optimizer(fit_momentum_config(), p.net);
  const Network<T> before = p.net;
  Matrix<T> bad_x = p.x, bad_y = p.y;
  bad_x(7, 3) = T(NAN);
  bad_y(4, 1) = -T(INFINITY);
  const Matrix<T> val_x = random_matrix<T>(5, 6, 99), val_y = random_matrix<T>(5, 2, 100);
  Matrix<T> bad_val_y = val_y;
  bad_val_y(0, 0) = T(INFINITY);
  CHECK_THROWS_WITH_AS(nobias::fit<T>(p.net, optimizer, {bad_x, p.y}, fit_options(2, 4, true)),
                       "fit: x: element (7, 3) is nan; values must be finite", nobias::ValueError);
  CHECK_THROWS_WITH_AS(nobias::fit<T>(p.net, optimizer, {p.x, bad_y}, fit_options(2, 4, true)),
                       "fit: y: element (4, 1) is -inf; values must be finite", nobias::ValueError);
  CHECK_THROWS_WITH_AS(
      nobias::fit<T>(p.net, optimizer, {p.x, p.y, bad_x, p.y}, fit_options(2, 4, true)),
      doctest::Contains("fit: validation x: element (7, 3) is nan"), nobias::ValueError);
  CHECK_THROWS_WITH_AS(
      nobias::fit<T>(p.net, optimizer, {p.x, p.y, val_x, bad_val_y}, fit_options(2, 4, true)),
      doctest::Contains("fit: validation y: element (0, 0) is inf"), nobias::ValueError);
  CHECK(identical(p.net, before));
  CHECK(optimizer.steps_taken() == 0);
}

TEST_CASE_TEMPLATE("fit.input.errors_name_what_was_expected", T, float, double) {
  Problem<T> p(10);
  Optimizer<T> optimizer(fit_momentum_config(), p.net);
  const Network<T> before = p.net;
  const Matrix<T> no_x(0, 6), no_y(0, 2), y_short = random_matrix<T>(9, 2, 101);
  const Matrix<T> val_x = random_matrix<T>(5, 6, 102), val_y_short = random_matrix<T>(4, 2, 103);
  CHECK_THROWS_WITH_AS(nobias::fit<T>(p.net, optimizer, {no_x, no_y}, fit_options(1, 4, true)),
                       "fit: x has no rows", nobias::ShapeError);
  CHECK_THROWS_WITH_AS(nobias::fit<T>(p.net, optimizer, {p.x, y_short}, fit_options(1, 4, true)),
                       "fit: x has 10 rows but y has 9", nobias::ShapeError);
  CHECK_THROWS_WITH_AS(nobias::fit<T>(p.net, optimizer, {p.x, p.x}, fit_options(1, 4, true)),
                       "fit: x is 10x6 and y is 10x6, the network maps 6 columns to 2",
                       nobias::ShapeError);
  CHECK_THROWS_WITH_AS(
      nobias::fit<T>(p.net, optimizer, {p.x, p.y, val_x, val_y_short}, fit_options(1, 4, true)),
      doctest::Contains("fit: validation x is 5x6 and validation y is 4x2"), nobias::ShapeError);
  const Matrix<T> val_x_wide = random_matrix<T>(5, 7, 104), val_y = random_matrix<T>(5, 2, 105);
  CHECK_THROWS_WITH_AS(
      nobias::fit<T>(p.net, optimizer, {p.x, p.y, val_x_wide, val_y}, fit_options(1, 4, true)),
      "fit: validation x is 5x7 and validation y is 5x2; expected the same row count and 6 and 2 "
      "columns",
      nobias::ShapeError);
  // A validation set given on one side only is a mismatch too.
  CHECK_THROWS_WITH_AS(
      nobias::fit<T>(p.net, optimizer, {p.x, p.y, val_x, no_y}, fit_options(1, 4, true)),
      "fit: validation x is 5x6 and validation y is 0x2; expected the same row count and 6 and 2 "
      "columns",
      nobias::ShapeError);
  CHECK_THROWS_WITH_AS(
      nobias::fit<T>(p.net, optimizer, {p.x, p.y, {}, val_y}, fit_options(1, 4, true)),
      "fit: validation x is 0x0 and validation y is 5x2; expected the same row count and 6 and 2 "
      "columns",
      nobias::ShapeError);
  FitOptions late = fit_options(2, 4, true);
  late.first_epoch = 3;
  CHECK_THROWS_WITH_AS(nobias::fit<T>(p.net, optimizer, {p.x, p.y}, late),
                       "fit: first_epoch must be in [1, epochs = 2], got 3", nobias::ValueError);
  late.first_epoch = 0;
  CHECK_THROWS_WITH_AS(nobias::fit<T>(p.net, optimizer, {p.x, p.y}, late),
                       "fit: first_epoch must be in [1, epochs = 2], got 0", nobias::ValueError);
  CHECK(identical(p.net, before));
  CHECK(optimizer.steps_taken() == 0);
}

TEST_CASE_TEMPLATE("optimizer.config.learning_rate_negative_zero_nan_or_infinite", T, float,
                   double) {
  const Network<T> net(he_weights<T>({3, 2}, 104));
  for (const OptimizerKind kind :
       {OptimizerKind::Sgd, OptimizerKind::Momentum, OptimizerKind::Adam}) {
    const std::pair<double, const char*> bad_rates[] = {
        {-1e-3, "-0.001"},
        {0.0, "0"},
        {-0.0, "-0"},
        {std::numeric_limits<double>::quiet_NaN(), "nan"},
        {std::numeric_limits<double>::infinity(), "inf"},
        {-std::numeric_limits<double>::infinity(), "-inf"}};
    for (const auto& [lr, shown] : bad_rates) {
      const std::string expected =
          std::string("Optimizer: learning_rate must be finite and > 0, got ") + shown;
      CAPTURE(static_cast<int>(kind));
      CAPTURE(expected);
      OptimizerConfig c;
      c.kind = kind;
      c.learning_rate = lr;
      CHECK_THROWS_WITH_AS(Optimizer<T>(c, net), expected.c_str(), nobias::ValueError);
    }
  }
}

TEST_CASE("optimizer.config.values_that_do_not_survive_float") {
  const Network<float> net(he_weights<float>({3, 2}, 105));
  const Network<double> net64(he_weights<double>({3, 2}, 105));
  struct Bad {
    const char* field;
    OptimizerKind kind;
    std::function<void(OptimizerConfig&)> set;
  };
  const std::vector<Bad> bad = {
      {"learning_rate", OptimizerKind::Sgd, [](OptimizerConfig& c) { c.learning_rate = 1e-50; }},
      {"learning_rate", OptimizerKind::Adam, [](OptimizerConfig& c) { c.learning_rate = 1e39; }},
      {"weight_decay", OptimizerKind::Sgd, [](OptimizerConfig& c) { c.weight_decay = 1e39; }},
      {"momentum", OptimizerKind::Momentum, [](OptimizerConfig& c) { c.momentum = 0.999999999; }},
      {"beta2", OptimizerKind::Adam, [](OptimizerConfig& c) { c.beta2 = 0.999999999; }},
      {"epsilon", OptimizerKind::Adam, [](OptimizerConfig& c) { c.epsilon = 1e-50; }},
  };
  for (const Bad& b : bad) {
    CAPTURE(b.field);
    OptimizerConfig c;
    c.kind = b.kind;
    b.set(c);
    CHECK_THROWS_WITH_AS(Optimizer<float>(c, net), doctest::Contains(b.field), nobias::ValueError);
    CHECK_THROWS_WITH_AS(Optimizer<float>(c, net), doctest::Contains("in float"),
                         nobias::ValueError);
    CHECK_NOTHROW(Optimizer<double>(c, net64));  // the same values are fine in double
  }
}

TEST_CASE_TEMPLATE("optimizer.step.network_of_another_shape", T, float, double) {
  Problem<T> p(6);
  OptimizerConfig c;
  c.kind = OptimizerKind::Adam;
  Optimizer<T> optimizer(c, p.net);
  Network<T> deeper(he_weights<T>({6, 5, 4, 2}, 106));
  CHECK_THROWS_WITH_AS(optimizer.step(deeper, p.x, p.y),
                       "Optimizer::step: sized for a network of widths {6, 5, 2}, given one of "
                       "{6, 5, 4, 2}",
                       nobias::ShapeError);
  Network<T> wider(he_weights<T>({6, 7, 2}, 107));
  CHECK_THROWS_WITH_AS(optimizer.step(wider, p.x, p.y),
                       "Optimizer::step: sized for a network of widths {6, 5, 2}, given one of "
                       "{6, 7, 2}",
                       nobias::ShapeError);
  // Bad batches get the network's errors.
  CHECK_THROWS_WITH_AS(optimizer.step(p.net, p.x, p.y.row_block(0, 5)),
                       "gradients: x has 6 rows but y has 5", nobias::ShapeError);
  Matrix<T> bad_x = p.x;
  bad_x(1, 2) = T(NAN);
  CHECK_THROWS_WITH_AS(optimizer.step(p.net, bad_x, p.y),
                       doctest::Contains("gradients: x: element (1, 2) is nan"),
                       nobias::ValueError);
  CHECK(optimizer.steps_taken() == 0);
}

TEST_CASE_TEMPLATE("fit.divergence.in_the_validation_loss_names_the_epoch", T, float, double) {
  // One full-batch step per epoch whose own loss is finite, with a learning rate that throws
  // the weights to infinity: only the validation loss after the epoch can see it.
  const Matrix<T> x = random_matrix<T>(20, 4, 108), y = random_matrix<T>(20, 3, 109);
  const Matrix<T> val_x = random_matrix<T>(7, 4, 110), val_y = random_matrix<T>(7, 3, 111);
  Network<T> net(he_weights<T>({4, 3}, 112));
  OptimizerConfig c;
  c.learning_rate = static_cast<double>(std::numeric_limits<T>::max() / 2);
  Optimizer<T> optimizer(c, net);
  CHECK_THROWS_WITH_AS(nobias::fit<T>(net, optimizer, {x, y, val_x, val_y},
                                      fit_options(3, 0, false, 0, Reduction::Sum)),
                       doctest::Contains("fit: epoch 1: the validation loss is"),
                       nobias::DivergenceError);
}
