#include <doctest/doctest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <limits>
#include <new>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "nobias/error.hpp"
#include "nobias/fit.hpp"
#include "nobias/init.hpp"
#include "nobias/names.hpp"
#include "nobias/network.hpp"
#include "nobias/optimizer.hpp"
#include "nobias/threads.hpp"
#include "reference/reference.hpp"
#include "test_support.hpp"

using nobias::Matrix;
using nobias::Network;
using test_support::max_relative_error;
using test_support::random_matrix;

namespace {

// Odd, pairwise different widths with 2 to 5 entries (1 to 4 weight matrices).
const std::vector<std::vector<std::size_t>> kShapes = {
    {13, 3}, {11, 7, 5}, {37, 23, 19, 5}, {9, 17, 7, 13, 3}};

// Weights scaled by 1/sqrt(fan_in), so activations stay O(1) at any depth.
template <class T>
std::vector<Matrix<T>> scaled_weights(const std::vector<std::size_t>& widths, std::uint64_t seed) {
  return test_support::random_weights<T>(widths, seed, 1.0);
}

}  // namespace

TEST_CASE("network.gradients.match_derivation_equations_44_to_46") {
  const std::size_t n = 29;
  const std::vector<std::size_t> widths{37, 23, 19, 5};
  const Matrix<double> x = random_matrix<double>(n, widths.front(), 1);
  const Matrix<double> y = random_matrix<double>(n, widths.back(), 2);
  Network<double> net(widths, 3);

  const auto& w = net.weights();
  const auto expected = reference::derivation_gradients<double>(x, y, w[0], w[1], w[2]);
  const auto got = net.gradients(x, y);
  REQUIRE(got.dw.size() == 3);
  CHECK(got.loss == doctest::Approx(expected.loss).epsilon(1e-12));
  CHECK(max_relative_error<double>(got.dw[0], expected.w1) <= 1e-12);
  CHECK(max_relative_error<double>(got.dw[1], expected.w2) <= 1e-12);
  CHECK(max_relative_error<double>(got.dw[2], expected.w3) <= 1e-12);
}

TEST_CASE_TEMPLATE("network.gradients.match_reference_backprop_at_every_depth", T, float, double) {
  for (const auto& widths : kShapes) {
    CAPTURE(widths.size());
    const std::size_t n = 7;
    const Matrix<T> x = random_matrix<T>(n, widths.front(), 10);
    const Matrix<T> y = random_matrix<T>(n, widths.back(), 11);
    const std::vector<Matrix<T>> w = scaled_weights<T>(widths, 12);
    Network<T> net(w);

    double expected_loss = 0.0;
    const auto expected = reference::backprop<T>(x, y, w, &expected_loss);
    const auto got = net.gradients(x, y);
    CHECK(got.loss == doctest::Approx(expected_loss).epsilon(test_support::tolerance<T>(64)));
    for (std::size_t k = 0; k < w.size(); ++k) {
      CAPTURE(k);
      CHECK(max_relative_error<T>(got.dw[k], expected[k]) <= test_support::tolerance<T>(256));
    }
  }
}

TEST_CASE("network.gradients.match_central_differences") {
  for (const auto& widths : kShapes) {
    CAPTURE(widths.size());
    const std::size_t n = 5;
    const Matrix<double> x = random_matrix<double>(n, widths.front(), 20);
    const Matrix<double> y = random_matrix<double>(n, widths.back(), 21);
    std::vector<Matrix<double>> w = scaled_weights<double>(widths, 22);
    Network<double> net(w);
    const auto got = net.gradients(x, y);

    const double step = 1e-6;
    for (std::size_t k = 0; k < w.size(); ++k) {
      Matrix<double> numeric(w[k].rows(), w[k].cols());
      for (std::size_t i = 0; i < w[k].size(); ++i) {
        const double saved = w[k].data()[i];
        w[k].data()[i] = saved + step;
        const double up = reference::network_loss<double>(x, y, w);
        w[k].data()[i] = saved - step;
        const double down = reference::network_loss<double>(x, y, w);
        w[k].data()[i] = saved;
        numeric.data()[i] = (up - down) / (2 * step);
      }
      CAPTURE(k);
      CHECK(max_relative_error<double>(got.dw[k], numeric) <= 1e-6);
    }
  }
}

TEST_CASE_TEMPLATE("network.gradients.relu_derivative_at_zero_is_one", T, float, double) {
  // A zero column j of w1 makes h1[:, j] exactly 0 for every row. With relu'(0) = 1 (the
  // derivation's eq. 43) gradient flows into column j of dw1; with relu'(0) = 0 it would not.
  const std::vector<std::size_t> widths{7, 5, 3};
  const std::size_t j = 2, n = 9;
  std::vector<Matrix<T>> w = scaled_weights<T>(widths, 30);
  for (std::size_t i = 0; i < w[0].rows(); ++i)
    w[0](i, j) = T(0);
  const Matrix<T> x = random_matrix<T>(n, 7, 31), y = random_matrix<T>(n, 3, 32);
  Network<T> net(w);
  const auto got = net.gradients(x, y);

  const auto expected = reference::backprop<T>(x, y, w);
  CHECK(max_relative_error<T>(got.dw[0], expected[0]) <= test_support::tolerance<T>(64));
  double column_norm = 0.0;
  for (std::size_t i = 0; i < w[0].rows(); ++i)
    column_norm += std::abs(static_cast<double>(got.dw[0](i, j)));
  CHECK(column_norm > 1e-3);
}

TEST_CASE_TEMPLATE("network.train_step.equals_gradients_then_update", T, float, double) {
  for (const auto& widths : kShapes) {
    CAPTURE(widths.size());
    const std::size_t n = 11;
    const Matrix<T> x = random_matrix<T>(n, widths.front(), 40);
    const Matrix<T> y = random_matrix<T>(n, widths.back(), 41);
    const std::vector<Matrix<T>> w = scaled_weights<T>(widths, 42);
    const T lr = T(1e-2);

    Network<T> fused(w), manual(w);
    const double fused_loss = fused.train_step(x, y, lr);
    const auto g = manual.gradients(x, y);
    CHECK(fused_loss == g.loss);
    for (std::size_t k = 0; k < w.size(); ++k) {
      Matrix<T> updated = w[k];
      for (std::size_t i = 0; i < updated.size(); ++i)
        updated.data()[i] -= lr * g.dw[k].data()[i];
      CAPTURE(k);
      CHECK(max_relative_error<T>(fused.weight(k), updated) <= test_support::tolerance<T>(64));
    }
  }
}

TEST_CASE_TEMPLATE("network.train_step.lowers_the_seed_loss", T, float, double) {
  // The seed's experiment at a small size: random x and y, full-batch gradient descent.
  const Matrix<T> x = random_matrix<T>(16, 20, 50), y = random_matrix<T>(16, 4, 51);
  Network<T> net({20, 12, 12, 4}, 52, nobias::Init::He);
  const double first = net.train_step(x, y, T(1e-3));
  for (int step = 0; step < 300; ++step)
    net.train_step(x, y, T(1e-3));
  CHECK(net.loss(x, y) < first / 10);
}

TEST_CASE_TEMPLATE("network.workspace.smaller_batch_after_larger_gives_same_result", T, float,
                   double) {
  const std::vector<std::size_t> widths{9, 17, 7, 3};
  const Matrix<T> big_x = random_matrix<T>(23, 9, 60), big_y = random_matrix<T>(23, 3, 61);
  const Matrix<T> x = random_matrix<T>(5, 9, 62), y = random_matrix<T>(5, 3, 63);
  Network<T> warmed(widths, 64), fresh(widths, 64);
  warmed.gradients(big_x, big_y);
  const auto a = warmed.gradients(x, y);
  const auto b = fresh.gradients(x, y);
  CHECK(a.loss == b.loss);
  for (std::size_t k = 0; k < a.dw.size(); ++k)
    CHECK(max_relative_error<T>(a.dw[k], b.dw[k]) == 0.0);
}

TEST_CASE_TEMPLATE("network.predict.matches_reference_forward", T, float, double) {
  const std::vector<std::size_t> widths{11, 7, 13, 5};
  const std::vector<Matrix<T>> w = scaled_weights<T>(widths, 70);
  const Matrix<T> x = random_matrix<T>(9, 11, 71);
  Network<T> net(w);

  Matrix<T> expected = x;
  for (std::size_t k = 0; k < w.size(); ++k) {
    Matrix<T> h = reference::matmul<T>(expected, w[k]);
    expected = k + 1 < w.size() ? reference::relu<T>(h) : std::move(h);
  }
  const Matrix<T> yhat = std::as_const(net).predict(x);
  CHECK(max_relative_error<T>(yhat, expected) <= test_support::tolerance<T>(64));
  Matrix<T> out(9, 5);
  net.predict(x, out);
  CHECK(max_relative_error<T>(out, yhat) == 0.0);
  const Matrix<T> y = random_matrix<T>(9, 5, 72);
  CHECK(net.loss(x, y) == doctest::Approx(reference::loss<T>(expected, y)).epsilon(1e-5));
}

TEST_CASE("init.streams_of_one_seed_differ") {
  nobias::NormalGenerator weights(5), data(5, 1), again(5, 1);
  const double first_data = data.next();
  CHECK(weights.next() != first_data);
  CHECK(again.next() == first_data);
}

TEST_CASE("network.init.seeded_and_scaled") {
  const Network<double> a({50, 40, 3}, 7), b({50, 40, 3}, 7), c({50, 40, 3}, 8);
  CHECK(max_relative_error<double>(a.weight(0), b.weight(0)) == 0.0);
  CHECK(max_relative_error<double>(a.weight(0), c.weight(0)) > 0.1);

  // Sample variance of 2000 standard normals and of He's N(0, 2/50).
  auto variance = [](nobias::MatrixView<const double> m) {
    double sum = 0, sq = 0;
    for (std::size_t i = 0; i < m.size(); ++i)
      sum += m.data()[i], sq += m.data()[i] * m.data()[i];
    const double mean = sum / static_cast<double>(m.size());
    return sq / static_cast<double>(m.size()) - mean * mean;
  };
  CHECK(variance(a.weight(0)) == doctest::Approx(1.0).epsilon(0.1));
  const Network<double> he({50, 40, 3}, 7, nobias::Init::He);
  CHECK(variance(he.weight(0)) == doctest::Approx(2.0 / 50).epsilon(0.1));
}

TEST_CASE_TEMPLATE("network.errors.name_what_was_expected", T, float, double) {
  using nobias::ShapeError;
  using nobias::ValueError;
  CHECK_THROWS_WITH_AS(Network<T>(std::vector<std::size_t>{5}),
                       "Network: expected at least two widths {d_in, ..., d_out}, got 1",
                       ValueError);
  CHECK_THROWS_WITH_AS(Network<T>(std::vector<std::size_t>{}),
                       "Network: expected at least two widths {d_in, ..., d_out}, got 0",
                       ValueError);
  CHECK_THROWS_WITH_AS(Network<T>({5, 0, 2}), "Network: width 1 is 0; every width must be >= 1",
                       ValueError);
  std::vector<Matrix<T>> bad_chain;
  bad_chain.emplace_back(4, 6);
  bad_chain.emplace_back(5, 2);
  CHECK_THROWS_WITH_AS(Network<T>(std::move(bad_chain)), "Network: w2 is 5x2 but w1 has 6 columns",
                       ShapeError);
  CHECK_THROWS_WITH_AS(Network<T>(std::vector<Matrix<T>>{}),
                       "Network: expected at least one weight matrix, got none", ValueError);

  Network<T> net({10, 8, 12}, 0);
  const Matrix<T> x(4, 10), y(4, 12), x_wide(4, 11), y_wide(4, 10), y_short(3, 12), empty(0, 10);
  CHECK_THROWS_WITH_AS(net.train_step(x, y_wide, T(1e-3)),
                       "train_step: y has 10 columns, network output has 12", ShapeError);
  CHECK_THROWS_WITH_AS(net.train_step(x_wide, y, T(1e-3)),
                       "train_step: x has 11 columns, network input has 10", ShapeError);
  CHECK_THROWS_WITH_AS(net.train_step(x, y_short, T(1e-3)), "train_step: x has 4 rows but y has 3",
                       ShapeError);
  CHECK_THROWS_WITH_AS(net.train_step(empty, y, T(1e-3)), "train_step: x has no rows", ShapeError);
  for (T lr : {T(0), T(-1e-3), T(NAN), T(INFINITY)}) {
    CAPTURE(lr);
    CHECK_THROWS_AS(net.train_step(x, y, lr), ValueError);
  }
  CHECK_THROWS_WITH_AS(net.gradients(x, y_wide),
                       "gradients: y has 10 columns, network output has 12", ShapeError);
  CHECK_THROWS_WITH_AS(net.gradients(x_wide, y),
                       "gradients: x has 11 columns, network input has 10", ShapeError);
  CHECK_THROWS_WITH_AS(net.loss(x_wide, y), "loss: x has 11 columns, network input has 10",
                       ShapeError);
  CHECK_THROWS_WITH_AS(net.loss(x, y_wide), "loss: y has 10 columns, network output has 12",
                       ShapeError);
  CHECK_THROWS_WITH_AS(std::as_const(net).predict(x_wide),
                       "predict: x has 11 columns, network input has 10", ShapeError);
  Matrix<T> out_bad(4, 11);
  CHECK_THROWS_WITH_AS(net.predict(x, out_bad), "predict: out is 4x11, expected 4x12", ShapeError);
  std::vector<Matrix<T>> dw;
  dw.emplace_back(10, 8);
  CHECK_THROWS_WITH_AS(net.gradients(x, y, dw), "gradients: expected 2 gradient matrices, got 1",
                       ShapeError);
  dw.emplace_back(8, 11);
  CHECK_THROWS_WITH_AS(net.gradients(x, y, dw), "gradients: dw2 is 8x11, w2 is 8x12", ShapeError);
}

TEST_CASE_TEMPLATE("network.train_step.divergence_leaves_weights_unchanged", T, float, double) {
  // Values near the top of T's range overflow to inf in the first product.
  const T huge = std::numeric_limits<T>::max() / 4;
  Network<T> net({3, 4, 2}, 1);
  for (std::size_t i = 0; i < net.weight(0).size(); ++i)
    net.weight(0).data()[i] = huge;
  Matrix<T> x(2, 3), y(2, 2);
  for (std::size_t i = 0; i < x.size(); ++i)
    x.data()[i] = huge;
  const Matrix<T> w0 = Matrix<T>::copy_of(net.weight(0));
  CHECK_THROWS_WITH_AS(net.train_step(x, y, T(1e-3)),
                       "train_step: the forward pass overflowed at layer 1 of 2 (h1 reached an "
                       "infinity or a NaN); weights left unchanged; try a smaller learning rate",
                       nobias::DivergenceError);
  CHECK(max_relative_error<T>(net.weight(0), w0) == 0.0);
  CHECK_THROWS_WITH_AS(net.gradients(x, y), doctest::Contains("try a smaller learning rate"),
                       nobias::DivergenceError);
}

TEST_CASE("network.train_step.loss_beyond_float_range_is_divergence") {
  // yhat = 1e20 is a float, its square is not: the backward pass would overflow.
  std::vector<Matrix<float>> w;
  w.emplace_back(1, 1);
  w[0](0, 0) = 1e10f;
  Network<float> net(std::move(w));
  Matrix<float> x(1, 1), y(1, 1);
  x(0, 0) = 1e10f;
  // As given, before any update, no learning rate is to blame.
  CHECK_THROWS_WITH_AS(
      net.train_step(x, y, 1e-3f),
      "train_step: loss is 1.0000000400817551e+40 before any update: the initial outputs are too "
      "far from y for float32; scale the data or the initial weights down; weights left "
      "unchanged",
      nobias::ValueError);
  net.weight(0)(0, 0) = 1e10f;  // changed by the caller: perhaps trained
  CHECK_THROWS_WITH_AS(net.train_step(x, y, 1e-3f),
                       "train_step: loss is 1.0000000400817551e+40; weights left unchanged; try a "
                       "smaller learning rate",
                       nobias::DivergenceError);
  CHECK(net.weight(0)(0, 0) == 1e10f);
}

TEST_CASE_TEMPLATE("network.train_step.hidden_infinity_under_a_finite_loss_is_divergence", T, float,
                   double) {
  // Finite data and weights whose product overflows in column 0 of h_1 to -inf: ReLU zeroes
  // it, the loss stays finite, and dW_1 would hold inf * 0 = NaN. The step is refused as
  // divergent, naming the hidden layer rather than a loss that is not there.
  const T big = std::numeric_limits<T>::max() / 2;
  std::vector<Matrix<T>> w;
  w.emplace_back(2, 2);
  w.emplace_back(2, 1);
  w[0](0, 0) = -big;
  w[0](1, 0) = -big;
  w[0](0, 1) = T(0.5);
  w[0](1, 1) = T(0.25);
  w[1](0, 0) = T(1);
  w[1](1, 0) = T(1);
  Network<T> net(std::move(w));
  Matrix<T> x(3, 2), y(3, 1);
  for (std::size_t i = 0; i < x.size(); ++i)
    x.data()[i] = T(4);
  REQUIRE(std::isfinite(net.loss(x, y)));
  const Network<T> before = net;
  // yhat = 4 * 0.5 + 4 * 0.25 = 3 in each of 3 rows, y = 0: the loss is 27.
  const std::string overflow =
      ": the forward pass overflowed at layer 1 of 2 (h1 reached an infinity or a NaN)";
  CHECK_THROWS_WITH_AS(net.train_step(x, y, T(1e-3)),
                       ("train_step" + overflow +
                        " before any update: the initial weights are too large for 2 layers; draw "
                        "them with Init::He (or scale them down); weights left unchanged")
                           .c_str(),
                       nobias::ValueError);
  net.weight(0);  // a mutable view: the weights may have been trained since
  const std::string what = overflow + "; weights left unchanged; try a smaller learning rate";
  CHECK_THROWS_WITH_AS(net.train_step(x, y, T(1e-3)), ("train_step" + what).c_str(),
                       nobias::DivergenceError);
  CHECK_THROWS_WITH_AS(net.gradients(x, y), ("gradients" + what).c_str(), nobias::DivergenceError);
  for (std::size_t k = 0; k < net.layers(); ++k)
    CHECK(max_relative_error<T>(net.weight(k), before.weight(k)) == 0.0);
}

TEST_CASE_TEMPLATE("network.workspace.survives_a_failed_resize", T, float, double) {
  const Matrix<T> x = random_matrix<T>(3, 5, 80), y = random_matrix<T>(3, 2, 81);
  Network<T> net({5, 4, 2}, 82), fresh({5, 4, 2}, 82);
  net.gradients(x, y);
  // A batch too large to allocate a workspace for; its data is never read.
  const std::size_t huge = std::size_t(1) << 60;
  const nobias::MatrixView<const T> big_x(x.data(), huge, 5), big_y(y.data(), huge, 2);
  Matrix<T> out_buffer(3, 2);
  const nobias::MatrixView<T> big_out(out_buffer.data(), huge, 2);
  // Its first buffer, 2^60 x 4 elements, has 2^62 elements and more bytes than size_t counts.
  const char* expected_message = "matrix of 4611686018427387904 elements overflows size_t bytes";
  CHECK_THROWS_WITH_AS(net.gradients(big_x, big_y), expected_message, nobias::ValueError);
  CHECK_THROWS_WITH_AS(net.train_step(big_x, big_y, T(1e-3)), expected_message, nobias::ValueError);
  // Past a block of rows the loss and predict(x, out) run in blocks and never size the
  // workspace: they refuse this view's span where it overlaps the weights (which depends on
  // where the allocator put them), or else fail to list its 2^60 rows' blocks (one allocation,
  // bad_alloc), before any row is read.
  const auto refused = [](auto call) {
    try {
      call();
    } catch (const nobias::ValueError&) {
      return true;
    } catch (const std::bad_alloc&) {
      return true;
    }
    return false;
  };
  CHECK(refused([&] { net.loss(big_x, big_y); }));
  CHECK(refused([&] { net.predict(big_x, big_out); }));
  CHECK(net.loss(x, y) == fresh.loss(x, y));
  const auto after = net.gradients(x, y);
  const auto expected = fresh.gradients(x, y);
  CHECK(after.loss == expected.loss);
  CHECK(max_relative_error<T>(after.dw[0], expected.dw[0]) == 0.0);
}

TEST_CASE("matrix.moved_from_is_empty") {
  Matrix<float> a(3, 4);
  Matrix<float> b(std::move(a));
  CHECK(b.rows() == 3);
  CHECK(a.rows() == 0);  // NOLINT(bugprone-use-after-move): the state after a move is the point
  CHECK(a.empty());
  const Matrix<float> c = a;
  CHECK(c.empty());
  Matrix<float> d(2, 2);
  d = std::move(b);
  CHECK(d.rows() == 3);
  CHECK(b.empty());  // NOLINT(bugprone-use-after-move)
}

TEST_CASE("matrix.large_ones_are_zeros_and_populating_their_pages_keeps_what_they_hold") {
  // A large Matrix has its pages faulted in with one call before it is zeroed; that call is a
  // hint that must leave memory holding data as it is, from any offset into a page.
  const std::size_t n = nobias::detail::kPopulateBytes / sizeof(double) * 3 + 7;
  Matrix<double> m(1, n);
  std::size_t nonzero = 0;
  for (std::size_t i = 0; i < n; ++i)
    nonzero += m.data()[i] != 0.0;
  CHECK(nonzero == 0);
  for (std::size_t i = 0; i < n; ++i)
    m.data()[i] = static_cast<double>(i) + 0.5;
  nobias::detail::populate_for_writing(m.data() + 3, (n - 3) * sizeof(double));
  nobias::detail::populate_for_writing(m.data(), n * sizeof(double));
  std::size_t changed = 0;
  for (std::size_t i = 0; i < n; ++i)
    changed += m.data()[i] != static_cast<double>(i) + 0.5;
  CHECK(changed == 0);
}

TEST_CASE("matrix.populating_fresh_memory_leaves_its_writes_without_page_faults") {
  // What the call is for: after it, writing the memory faults nothing in (a hint that did
  // nothing, or only mapped pages for reading, would leave one fault a page). Skipped where the
  // kernel lacks the call (before Linux 5.14), which must then say so.
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t pages = 256, bytes = pages * page;
  REQUIRE(bytes >= nobias::detail::kPopulateBytes);
  void* mapped = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(mapped != MAP_FAILED);
  errno = 12345;
  const bool populated = nobias::detail::populate_for_writing(mapped, bytes);
  CHECK(errno == 12345);
  if (!populated) {
    MESSAGE("this kernel has no MADV_POPULATE_WRITE: nothing to check");
  } else {
    struct rusage before {
    }, after{};
    ::getrusage(RUSAGE_THREAD, &before);
    auto* bytes_of = static_cast<volatile unsigned char*>(mapped);
    for (std::size_t i = 0; i < bytes; i += page)
      bytes_of[i] = 1;
    ::getrusage(RUSAGE_THREAD, &after);
    // Slack for a sanitizer's own shadow memory, a few pages; not one fault per page.
    CHECK(after.ru_minflt - before.ru_minflt < static_cast<long>(pages / 4));
  }
  CHECK(!nobias::detail::populate_for_writing(mapped, nobias::detail::kPopulateBytes - 1));
  ::munmap(mapped, bytes);
}

TEST_CASE_TEMPLATE("network.parts.any_thread_count_matches_reference", T, float, double) {
  // 9 rows: one part; 101 rows: split by rows with uneven pieces, and the weight updates
  // split by rows of layers narrower than the parts.
  for (const auto& widths : std::vector<std::vector<std::size_t>>{{37, 23, 19, 5}, {11, 2, 7, 1}}) {
    for (std::size_t n : {std::size_t{9}, std::size_t{101}}) {
      const Matrix<T> x = random_matrix<T>(n, widths.front(), 90);
      const Matrix<T> y = random_matrix<T>(n, widths.back(), 91);
      const std::vector<Matrix<T>> w = scaled_weights<T>(widths, 92);
      double expected_loss = 0.0;
      const auto expected = reference::backprop<T>(x, y, w, &expected_loss);
      for (int threads : {1, 2, 3}) {
        CAPTURE(widths.size());
        CAPTURE(n);
        CAPTURE(threads);
        nobias::set_threads(threads);
        Network<T> net(w);
        const auto got = net.gradients(x, y);
        CHECK(got.loss == doctest::Approx(expected_loss).epsilon(test_support::tolerance<T>(64)));
        for (std::size_t k = 0; k < w.size(); ++k) {
          CAPTURE(k);
          CHECK(max_relative_error<T>(got.dw[k], expected[k]) <= test_support::tolerance<T>(256));
        }
        const Matrix<T> yhat = std::as_const(net).predict(x);
        Matrix<T> out(n, widths.back());
        net.predict(x, out);
        CHECK(max_relative_error<T>(out, yhat) <= test_support::tolerance<T>(64));
        const T lr = T(1e-3);
        CHECK(net.train_step(x, y, lr) == got.loss);
        for (std::size_t k = 0; k < w.size(); ++k) {
          Matrix<T> updated = w[k];
          for (std::size_t i = 0; i < updated.size(); ++i)
            updated.data()[i] -= lr * expected[k].data()[i];
          CAPTURE(k);
          CHECK(max_relative_error<T>(net.weight(k), updated) <= test_support::tolerance<T>(256));
        }
      }
    }
  }
  nobias::set_threads(0);
}

TEST_CASE("network.parts.thread_count_may_change_between_steps") {
  const std::vector<std::size_t> widths{37, 23, 19, 5};
  const Matrix<double> x = random_matrix<double>(64, 37, 100),
                       y = random_matrix<double>(64, 5, 101);
  Network<double> changing(widths, 102, nobias::Init::He), fixed(widths, 102, nobias::Init::He);
  for (int step = 0; step < 6; ++step) {
    nobias::set_threads(step % 3);  // automatic, 1, 2, automatic, ...
    const double a = changing.train_step(x, y, 1e-4);
    nobias::set_threads(1);
    const double b = fixed.train_step(x, y, 1e-4);
    CAPTURE(step);
    CHECK(a == doctest::Approx(b).epsilon(1e-12));
  }
  nobias::set_threads(0);
  for (std::size_t k = 0; k < widths.size() - 1; ++k)
    CHECK(max_relative_error<double>(changing.weight(k), fixed.weight(k)) <= 1e-12);
}

TEST_CASE("network.concurrency.two_networks_on_two_threads_match_one_after_the_other") {
  const std::vector<std::size_t> widths{29, 17, 7};
  const Matrix<float> x1 = random_matrix<float>(48, 29, 110), y1 = random_matrix<float>(48, 7, 111);
  const Matrix<float> x2 = random_matrix<float>(40, 29, 112), y2 = random_matrix<float>(40, 7, 113);
  const auto train = [&](Network<float>& net, const Matrix<float>& x, const Matrix<float>& y) {
    for (int step = 0; step < 20; ++step)
      net.train_step(x, y, 1e-4f);
  };
  nobias::set_threads(1);  // one core each, as the README advises for concurrent training
  Network<float> a(widths, 1, nobias::Init::He), b(widths, 2, nobias::Init::He);
  Network<float> a_alone = a, b_alone = b;
  std::thread first([&] { train(a, x1, y1); });
  std::thread second([&] { train(b, x2, y2); });
  first.join();
  second.join();
  train(a_alone, x1, y1);
  train(b_alone, x2, y2);
  nobias::set_threads(0);
  for (std::size_t k = 0; k < 2; ++k) {
    CHECK(max_relative_error<float>(a.weight(k), a_alone.weight(k)) == 0.0);
    CHECK(max_relative_error<float>(b.weight(k), b_alone.weight(k)) == 0.0);
  }
}

// ---------------------------------------------------------------------------------------------
// Bad input at every entry point, as docs/errors.md lists it: the exception type and what its
// message names.

TEST_CASE("matrix.errors.shapes_that_overflow_size_t") {
  constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
  CHECK_THROWS_WITH_AS(
      Matrix<float>(kMax / 2, 4),
      doctest::Contains("matrix of 9223372036854775807x4 elements overflows size_t"),
      nobias::ValueError);
  CHECK_THROWS_WITH_AS(Matrix<double>(4, kMax / 2), doctest::Contains("overflows size_t"),
                       nobias::ValueError);
  // The count fits, its bytes do not.
  CHECK_THROWS_WITH_AS(Matrix<double>(1, kMax / 4), doctest::Contains("overflows size_t bytes"),
                       nobias::ValueError);
  // Empty shapes are shapes: no storage, no error.
  const Matrix<float> empty(0, kMax), zero(kMax, 0);
  CHECK(empty.empty());
  CHECK(zero.empty());
}

TEST_CASE("matrix.errors.blocks_outside_the_matrix_and_short_leading_dimension") {
  Matrix<float> m(8, 3);
  CHECK_THROWS_WITH_AS(m.row_block(5, 4), "row_block: rows [5, 9) outside a matrix of 8x3",
                       nobias::ShapeError);
  CHECK_THROWS_WITH_AS(m.col_block(2, 2), "col_block: columns [2, 4) outside a matrix of 8x3",
                       nobias::ShapeError);
  // begin + count wrapping around size_t is still outside; so is an empty block past the end.
  CHECK_THROWS_WITH_AS(m.row_block(2, std::numeric_limits<std::size_t>::max()),
                       doctest::Contains("row_block: rows [2, "), nobias::ShapeError);
  CHECK_THROWS_WITH_AS(m.col_block(1, std::numeric_limits<std::size_t>::max()),
                       doctest::Contains(") outside a matrix of 8x3"), nobias::ShapeError);
  CHECK_THROWS_WITH_AS(m.col_block(9, 0), "col_block: columns [9, 9) outside a matrix of 8x3",
                       nobias::ShapeError);
  CHECK_THROWS_WITH_AS(nobias::MatrixView<float>(m.data(), 2, 3, 2),
                       "MatrixView: leading dimension 2 < 3 columns", nobias::ShapeError);
  CHECK(m.row_block(8, 0).empty());  // an empty block at the end is fine
}

TEST_CASE_TEMPLATE("network.errors.widths_whose_product_overflows_size_t", T, float, double) {
  // Each width within BLAS's int, their product beyond size_t's bytes (double only: in float
  // 2147483647^2 elements fit, and would be a bad_alloc).
  if (sizeof(T) == 8) {
    CHECK_THROWS_WITH_AS(
        Network<T>({2147483647, 2147483647}),
        "Network: w1 of 2147483647x2147483647 elements of 8 bytes overflows size_t",
        nobias::ValueError);
  }
}

// Issue 10, item 9: cblas takes every dimension and leading dimension as int. Before, such a
// network allocated its weights (8 GiB for {2^31, 1} in float) and gemm refused it later.
TEST_CASE_TEMPLATE("network.errors.widths_past_blas_int_range", T, float, double) {
  CHECK_THROWS_WITH_AS(Network<T>({2147483648, 1}),
                       "Network: width 0 is 2147483648; BLAS indexes with int, so every width "
                       "must be <= 2147483647",
                       nobias::ValueError);
  CHECK_THROWS_WITH_AS(Network<T>({3, 5, std::numeric_limits<std::size_t>::max() / 2}),
                       doctest::Contains("Network: width 2 is 9223372036854775807; BLAS indexes "
                                         "with int"),
                       nobias::ValueError);
  CHECK_NOTHROW(Network<T>({1, 2147483647 / 4096, 1}));  // the largest are fine: int's range
}

TEST_CASE_TEMPLATE("network.errors.zero_widths_in_given_weights", T, float, double) {
  std::vector<Matrix<T>> no_rows;
  no_rows.emplace_back(0, 3);
  CHECK_THROWS_WITH_AS(Network<T>(std::move(no_rows)),
                       "Network: width 0 is 0; every width must be >= 1", nobias::ValueError);
  std::vector<Matrix<T>> no_cols;
  no_cols.emplace_back(4, 0);
  no_cols.emplace_back(0, 2);
  CHECK_THROWS_WITH_AS(Network<T>(std::move(no_cols)),
                       "Network: width 1 is 0; every width must be >= 1", nobias::ValueError);
}

TEST_CASE_TEMPLATE("network.errors.non_finite_given_weights", T, float, double) {
  const std::pair<T, const char*> bad_values[] = {
      {T(NAN), "nan"}, {T(INFINITY), "inf"}, {-T(INFINITY), "-inf"}};
  for (const auto& [bad, shown] : bad_values) {
    const std::string expected =
        std::string("Network: w2: element (1, 0) is ") + shown + "; values must be finite";
    CAPTURE(expected);
    std::vector<Matrix<T>> w = scaled_weights<T>({4, 3, 2}, 90);
    w[1](1, 0) = bad;
    CHECK_THROWS_WITH_AS(Network<T>(std::move(w)), expected.c_str(), nobias::ValueError);
  }
}

TEST_CASE_TEMPLATE("network.errors.empty_batch_at_every_entry_point", T, float, double) {
  Network<T> net({10, 8, 12}, 0);
  const Matrix<T> x(0, 10), y(0, 12);
  Matrix<T> out(0, 12);
  CHECK_THROWS_WITH_AS(std::as_const(net).predict(x), "predict: x has no rows", nobias::ShapeError);
  CHECK_THROWS_WITH_AS(net.predict(x, out), "predict: x has no rows", nobias::ShapeError);
  CHECK_THROWS_WITH_AS(net.loss(x, y), "loss: x has no rows", nobias::ShapeError);
  CHECK_THROWS_WITH_AS(net.gradients(x, y), "gradients: x has no rows", nobias::ShapeError);
  CHECK_THROWS_WITH_AS(net.train_step(x, y, T(1e-3)), "train_step: x has no rows",
                       nobias::ShapeError);
}

TEST_CASE_TEMPLATE("network.errors.row_counts_differ_at_every_entry_point", T, float, double) {
  Network<T> net({10, 8, 12}, 0);
  const Matrix<T> x = random_matrix<T>(4, 10, 91), y = random_matrix<T>(3, 12, 92);
  const Network<T> before = net;
  CHECK_THROWS_WITH_AS(net.loss(x, y), "loss: x has 4 rows but y has 3", nobias::ShapeError);
  CHECK_THROWS_WITH_AS(net.gradients(x, y), "gradients: x has 4 rows but y has 3",
                       nobias::ShapeError);
  std::vector<Matrix<T>> dw;
  dw.emplace_back(10, 8);
  dw.emplace_back(8, 12);
  CHECK_THROWS_WITH_AS(net.gradients(x, y, dw), "gradients: x has 4 rows but y has 3",
                       nobias::ShapeError);
  CHECK_THROWS_WITH_AS(net.train_step(x, y, T(1e-3)), "train_step: x has 4 rows but y has 3",
                       nobias::ShapeError);
  Matrix<T> out(3, 12);
  CHECK_THROWS_WITH_AS(net.predict(x, out), "predict: out is 3x12, expected 4x12",
                       nobias::ShapeError);
  CHECK(max_relative_error<T>(net.weight(0), before.weight(0)) == 0.0);
}

TEST_CASE_TEMPLATE("network.errors.non_finite_data_is_bad_data_not_divergence", T, float, double) {
  Network<T> net({5, 7, 3}, 93, nobias::Init::He);
  const Matrix<T> x = random_matrix<T>(9, 5, 94), y = random_matrix<T>(9, 3, 95);
  const Network<T> before = net;
  Matrix<T> bad_x = x, bad_y = y;
  bad_x(2, 4) = T(NAN);
  bad_y(6, 1) = T(INFINITY);
  CHECK_THROWS_WITH_AS(net.train_step(bad_x, y, T(1e-3)),
                       "train_step: x: element (2, 4) is nan; values must be finite",
                       nobias::ValueError);
  CHECK_THROWS_WITH_AS(net.train_step(x, bad_y, T(1e-3)),
                       "train_step: y: element (6, 1) is inf; values must be finite",
                       nobias::ValueError);
  CHECK_THROWS_WITH_AS(net.gradients(bad_x, y),
                       "gradients: x: element (2, 4) is nan; values must be finite",
                       nobias::ValueError);
  CHECK_THROWS_WITH_AS(net.gradients(x, bad_y),
                       "gradients: y: element (6, 1) is inf; values must be finite",
                       nobias::ValueError);
  CHECK_THROWS_WITH_AS(net.loss(bad_x, y), "loss: x: element (2, 4) is nan; values must be finite",
                       nobias::ValueError);
  CHECK_THROWS_WITH_AS(net.loss(x, bad_y), "loss: y: element (6, 1) is inf; values must be finite",
                       nobias::ValueError);
  // Nothing was trained on the bad batches.
  for (std::size_t k = 0; k < net.layers(); ++k)
    CHECK(max_relative_error<T>(net.weight(k), before.weight(k)) == 0.0);
  // predict does not train: NaN in, NaN out, for the rows it touches only.
  const Matrix<T> yhat = std::as_const(net).predict(bad_x);
  CHECK(std::isnan(yhat(2, 0)));
  CHECK(std::isfinite(yhat(3, 0)));
}

TEST_CASE_TEMPLATE("network.errors.infinity_that_relu_masks_is_still_refused", T, float, double) {
  // x(r, 2) = +inf against a row of w_1 that is all negative: every h_1 of row r is -inf,
  // ReLU zeroes them all, the loss stays finite, and only dW_1 = x^T g_1 would hold
  // inf * 0 = NaN. 9 rows run the step as one part, 40 as several.
  for (const std::size_t rows : {std::size_t{9}, std::size_t{40}}) {
    CAPTURE(rows);
    Network<T> net({5, 7, 3}, 99, nobias::Init::He);
    for (std::size_t j = 0; j < 7; ++j)
      net.weight(0)(2, j) = -std::abs(net.weight(0)(2, j)) - T(0.1);
    const Network<T> before = net;
    Matrix<T> x = random_matrix<T>(rows, 5, 100);
    const Matrix<T> y = random_matrix<T>(rows, 3, 101);
    const std::size_t r = rows - 3;
    x(r, 2) = T(INFINITY);
    CHECK(std::isfinite(std::as_const(net).predict(x)(r, 0)));  // masked: no trace in the output
    const std::string element = "x: element (" + std::to_string(r) + ", 2) is inf";
    CHECK_THROWS_WITH_AS(net.train_step(x, y, T(1e-3)), doctest::Contains(element.c_str()),
                         nobias::ValueError);
    CHECK_THROWS_WITH_AS(net.gradients(x, y), doctest::Contains(element.c_str()),
                         nobias::ValueError);
    for (std::size_t k = 0; k < net.layers(); ++k)
      CHECK(max_relative_error<T>(net.weight(k), before.weight(k)) == 0.0);
  }
}

TEST_CASE_TEMPLATE("network.errors.learning_rate_negative_zero_nan_or_infinite", T, float, double) {
  Network<T> net({5, 4, 2}, 96);
  const Matrix<T> x = random_matrix<T>(6, 5, 97), y = random_matrix<T>(6, 2, 98);
  const Network<T> before = net;
  const std::pair<T, const char*> bad_rates[] = {{T(-1e-3), "-0.001"}, {T(0), "0"},
                                                 {-T(0), "-0"},        {T(NAN), "nan"},
                                                 {T(INFINITY), "inf"}, {-T(INFINITY), "-inf"}};
  for (const auto& [lr, shown] : bad_rates) {
    const std::string expected =
        std::string("train_step: learning rate must be finite and > 0, got ") + shown;
    CAPTURE(expected);
    CHECK_THROWS_WITH_AS(net.train_step(x, y, lr), expected.c_str(), nobias::ValueError);
  }
  CHECK(max_relative_error<T>(net.weight(0), before.weight(0)) == 0.0);
}

TEST_CASE_TEMPLATE("network.errors.weight_index_out_of_range", T, float, double) {
  Network<T> net({5, 4, 2}, 96);
  const Network<T>& const_net = net;
  CHECK(net.weight(1).rows() == 4);  // the last one is in range
  for (const std::size_t k :
       {std::size_t{2}, std::size_t{3}, std::numeric_limits<std::size_t>::max()}) {
    CAPTURE(k);
    const std::string expected =
        "weight: index " + std::to_string(k) + " out of range, the network has 2 weight matrices";
    CHECK_THROWS_WITH_AS(net.weight(k), expected.c_str(), nobias::ValueError);
    CHECK_THROWS_WITH_AS(const_net.weight(k), expected.c_str(), nobias::ValueError);
  }
}

// ---------------------------------------------------------------------------------------------
// Issue 10, item 12: a deep N(0, 1) network overflows in its very first forward pass; before,
// it was told to try a smaller learning rate, which cannot help.
TEST_CASE_TEMPLATE("network.first_forward_overflow_blames_the_initialization", T, float, double) {
  // 100 layers overflow float; double's range takes 500.
  const std::size_t depth = sizeof(T) == 4 ? 100 : 500;
  const std::vector<std::size_t> widths(depth + 1, 64);
  Network<T> net(widths, 1);  // N(0, 1): each layer scales activations by about sqrt(32)
  const Matrix<T> x = random_matrix<T>(16, 64, 2), y = random_matrix<T>(16, 64, 3);
  std::string message;
  try {
    net.train_step(x, y, T(1e-6));
  } catch (const nobias::ValueError& e) {
    message = e.what();
  }
  CAPTURE(message);
  REQUIRE(message.rfind("train_step: the forward pass overflowed at layer ", 0) == 0);
  const std::string layers = std::to_string(depth);
  CHECK(message.find(" of " + layers + " (h") != std::string::npos);
  CHECK(message.find("before any update: the initial weights are too large for " + layers +
                     " layers; draw them with Init::He") != std::string::npos);
  CHECK(message.find("learning rate") == std::string::npos);
  // Its layer is the first whose h overflows, found here with the test's own products.
  Matrix<double> a(16, 64);
  for (std::size_t i = 0; i < a.size(); ++i)
    a.data()[i] = static_cast<double>(x.data()[i]);
  std::size_t layer = 0;
  for (std::size_t k = 0; k < depth && layer == 0; ++k) {
    Matrix<double> h(16, 64);
    for (std::size_t i = 0; i < 16; ++i)
      for (std::size_t j = 0; j < 64; ++j) {
        double sum = 0;
        for (std::size_t l = 0; l < 64; ++l)
          sum += a(i, l) * static_cast<double>(net.weight(k)(l, j));
        h(i, j) = sum;
        if (std::abs(sum) > static_cast<double>(std::numeric_limits<T>::max())) layer = k + 1;
      }
    for (std::size_t i = 0; i < h.size(); ++i)
      a.data()[i] = std::max(h.data()[i], 0.0);
  }
  REQUIRE(layer != 0);
  CHECK(message.find("overflowed at layer " + std::to_string(layer) + " of") != std::string::npos);
}

// Issue 10, item 4: a moved-from Network segfaulted in predict, loss and train_step.
TEST_CASE_TEMPLATE("network.moved_from_throws_from_every_method", T, float, double) {
  Network<T> net({5, 4, 2}, 4);
  Network<T> taken(std::move(net));
  const Matrix<T> x = random_matrix<T>(3, 5, 5), y = random_matrix<T>(3, 2, 6);
  Matrix<T> out(3, 2);
  std::vector<Matrix<T>> dw;
  const auto moved = [](const char* method) {
    return doctest::Contains(
        (std::string("Network::") + method + ": called on a moved-from Network").c_str());
  };
  const Network<T>& constant = net;
  CHECK_THROWS_WITH_AS(net.widths(), moved("widths"), nobias::ValueError);
  CHECK_THROWS_WITH_AS(net.input_width(), moved("input_width"), nobias::ValueError);
  CHECK_THROWS_WITH_AS(net.output_width(), moved("output_width"), nobias::ValueError);
  CHECK_THROWS_WITH_AS(net.layers(), moved("layers"), nobias::ValueError);
  CHECK_THROWS_WITH_AS(net.weight(0), moved("weight"), nobias::ValueError);
  CHECK_THROWS_WITH_AS(constant.weight(0), moved("weight"), nobias::ValueError);
  CHECK_THROWS_WITH_AS(net.weights(), moved("weights"), nobias::ValueError);
  CHECK_THROWS_WITH_AS(constant.predict(x), moved("predict"), nobias::ValueError);
  CHECK_THROWS_WITH_AS(net.predict(x, out), moved("predict"), nobias::ValueError);
  CHECK_THROWS_WITH_AS(net.loss(x, y), moved("loss"), nobias::ValueError);
  CHECK_THROWS_WITH_AS(net.gradients(x, y), moved("gradients"), nobias::ValueError);
  CHECK_THROWS_WITH_AS(net.gradients(x, y, dw), moved("gradients"), nobias::ValueError);
  CHECK_THROWS_WITH_AS(net.train_step(x, y, T(0.1)), moved("train_step"), nobias::ValueError);
  CHECK_THROWS_WITH_AS(net.require_apart("fit", "x", x), moved("fit"), nobias::ValueError);
  CHECK_THROWS_WITH_AS([&] { const Network<T> copy(net); }(), moved("copy"), nobias::ValueError);
  Network<T> assigned({5, 3, 2}, 7);
  assigned = std::move(taken);
  CHECK_THROWS_WITH_AS(taken.layers(), moved("layers"), nobias::ValueError);
  CHECK(assigned.layers() == 2);
  net = Network<T>({5, 4, 2}, 4);  // assigned to, it lives again
  CHECK(net.loss(x, y) == assigned.loss(x, y));
}

TEST_CASE_TEMPLATE("optimizer.moved_from_throws_from_every_method", T, float, double) {
  Network<T> net({5, 4, 2}, 8);
  nobias::OptimizerConfig config;
  config.kind = nobias::OptimizerKind::Adam;
  nobias::Optimizer<T> adam(config, net);
  nobias::Optimizer<T> taken(std::move(adam));
  const Matrix<T> x = random_matrix<T>(3, 5, 9), y = random_matrix<T>(3, 2, 10);
  const auto moved = [](const char* method) {
    return doctest::Contains(
        (std::string("Optimizer::") + method + ": called on a moved-from Optimizer").c_str());
  };
  const Network<T> before = net;
  CHECK_THROWS_WITH_AS(adam.step(net, x, y), moved("step"), nobias::ValueError);
  CHECK(max_relative_error<T>(net.weight(0), before.weight(0)) == 0.0);
  CHECK_THROWS_WITH_AS(adam.config(), moved("config"), nobias::ValueError);
  CHECK_THROWS_WITH_AS(adam.steps_taken(), moved("steps_taken"), nobias::ValueError);
  CHECK_THROWS_WITH_AS(adam.state(), moved("state"), nobias::ValueError);
  CHECK_THROWS_WITH_AS(adam.restore(config.kind, 0, {}, {}), moved("restore"), nobias::ValueError);
  CHECK_THROWS_WITH_AS([&] { const nobias::Optimizer<T> copy(adam); }(), moved("copy"),
                       nobias::ValueError);
  taken.step(net, x, y);  // what moved works
  CHECK(taken.steps_taken() == 1);
}

// Issue 10, item 8: x, y or out that overlap the network's own weights raced with the update.
TEST_CASE_TEMPLATE("network.views_of_its_own_weights_are_refused", T, float, double) {
  // w2 is 4x4, so it can pose as a batch of 4 rows of x, of y, or of out.
  Network<T> net({4, 4, 4}, 11);
  const Network<T> before = net;
  const Matrix<T> x = random_matrix<T>(4, 4, 12), y = random_matrix<T>(4, 4, 13);
  const auto w2 = nobias::MatrixView<const T>(net.weight(1));
  const char* expected = ": x overlaps w2, which a step writes while it reads x; pass a copy";
  CHECK_THROWS_WITH_AS(net.train_step(w2, y, T(0.01)),
                       (std::string("train_step") + expected).c_str(), nobias::ValueError);
  CHECK_THROWS_WITH_AS(net.gradients(w2, y), (std::string("gradients") + expected).c_str(),
                       nobias::ValueError);
  CHECK_THROWS_WITH_AS(net.loss(w2, y), (std::string("loss") + expected).c_str(),
                       nobias::ValueError);
  CHECK_THROWS_WITH_AS(
      net.train_step(x, w2, T(0.01)),
      "train_step: y overlaps w2, which a step writes while it reads y; pass a copy",
      nobias::ValueError);
  CHECK_THROWS_WITH_AS(net.predict(x, net.weight(0)),
                       "predict: out overlaps w1, which a step writes while it reads out; pass a "
                       "copy",
                       nobias::ValueError);
  Matrix<T> in_place = x;
  CHECK_THROWS_WITH_AS(net.predict(in_place, in_place),
                       "predict: out overlaps x; the last layer would overwrite rows still read",
                       nobias::ValueError);
  std::vector<Matrix<T>> dw{Matrix<T>(4, 4), Matrix<T>(4, 4)};
  CHECK_THROWS_WITH_AS(net.gradients(dw[1], y, dw),
                       "gradients: x overlaps dw2, which the step writes; pass a copy",
                       nobias::ValueError);
  nobias::OptimizerConfig config;
  config.kind = nobias::OptimizerKind::Adam;
  nobias::Optimizer<T> adam(config, net);
  CHECK_THROWS_WITH_AS(adam.step(net, w2, y),
                       "Optimizer::step: x overlaps w2, which a step writes while it reads x; pass "
                       "a copy",
                       nobias::ValueError);
  CHECK_THROWS_WITH_AS(adam.step(net, adam.state().first[1], y),
                       "Optimizer::step: x overlaps the optimizer's own moments; pass a copy",
                       nobias::ValueError);
  nobias::FitOptions options;
  CHECK_THROWS_WITH_AS(nobias::fit<T>(net, adam, {x, y, w2, y}, options),
                       "fit: validation x overlaps w2, which a step writes while it reads "
                       "validation x; pass a copy",
                       nobias::ValueError);
  for (std::size_t k = 0; k < net.layers(); ++k)  // nothing changed
    CHECK(max_relative_error<T>(net.weight(k), before.weight(k)) == 0.0);
  CHECK_NOTHROW(net.predict(w2));  // const predict only reads
}

TEST_CASE_TEMPLATE("network.init.each_kind_draws_at_its_scale", T, float, double) {
  // 400 x 200 = 80,000 draws per layer: the sample deviation is within 1% of the scale with
  // overwhelming probability; the scales differ from one another by far more.
  const std::size_t in = 400, out = 200;
  const std::pair<nobias::Init, double> kinds[] = {
      {nobias::Init::StandardNormal, 1.0},
      {nobias::Init::He, std::sqrt(2.0 / in)},
      {nobias::Init::LeCun, std::sqrt(1.0 / in)},
      {nobias::Init::Glorot, std::sqrt(2.0 / (in + out))},
      {nobias::Init::HalfGlorot, std::sqrt(1.0 / (2.0 * (in + out)))}};
  for (const auto& [init, scale] : kinds) {
    CAPTURE(nobias::to_name(init));
    CHECK(nobias::init_scale(init, in, out) == doctest::Approx(scale).epsilon(1e-15));
    const nobias::Network<T> net({in, out}, 11, init);
    double sum = 0.0, squares = 0.0;
    const auto& w = net.weights()[0];
    for (std::size_t i = 0; i < in; ++i)
      for (std::size_t j = 0; j < out; ++j) {
        sum += static_cast<double>(w(i, j));
        squares += static_cast<double>(w(i, j)) * static_cast<double>(w(i, j));
      }
    const double n = static_cast<double>(in * out), mean = sum / n;
    CHECK(std::sqrt(squares / n - mean * mean) == doctest::Approx(scale).epsilon(0.01));
  }
}
