// Proves that a training step allocates nothing once the workspace exists. This binary
// links support/allocation_counter.cpp, which counts every operator new, and
// support/malloc_counter.cpp, which counts the C allocation functions (where it can).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/row_chunks.hpp"
#include "gemm/parallel.hpp"
#include "nobias/blas.hpp"
#include "nobias/fit.hpp"
#include "nobias/full_pass.hpp"
#include "nobias/model.hpp"
#include "nobias/network.hpp"
#include "nobias/optimizer.hpp"
#include "nobias/threads.hpp"
#include "one_pass.hpp"
#include "support/allocation_counter.hpp"
#include "support/malloc_counter.hpp"
#include "test_support.hpp"

namespace {

// Two backends malloc inside their own calls, and free before they return: oneDNN's sgemm
// its packing buffers (4-11 per product set here), and OpenBLAS's small-matrix kernels for
// AVX-512 cores (SkylakeX's dgemm at batch 1). Neither is nobias's code, nor can nobias hand
// them memory. Everything else (nobias, OpenBLAS's other cores, the Eigen GEMM) must not
// allocate at all.
template <class T>
bool products_may_malloc() {
  const std::string d = nobias::blas_description();
  const auto has = [&](const char* text) { return d.find(text) != std::string::npos; };
  if (std::is_same_v<T, float> && has("float32 products on oneDNN")) return true;
  if (std::is_same_v<T, double> && has("float64 products on Eigen")) return false;
  return has("core SkylakeX") || has("core Cooperlake") || has("core SapphireRapids");
}

struct Counts {
  long news = allocation_counter::count();
  long mallocs = malloc_counter::count();
};

template <class T>
void check_none_since(const Counts& before) {
  const Counts now;  // before products_may_malloc(), which allocates its strings
  CHECK(now.news - before.news == 0);
  if (!products_may_malloc<T>()) CHECK(now.mallocs - before.mallocs == 0);
}

}  // namespace

TEST_CASE("allocations.counters_see_allocations") {
  const long before = allocation_counter::count();
  std::vector<double> v(100);
  nobias::Matrix<float> m(3, 3);
  CHECK(allocation_counter::count() - before >= 2);
  if (malloc_counter::counting()) {
    const long mallocs = malloc_counter::count();
    void* volatile p = std::malloc(64);
    std::free(p);
    void* q = nullptr;
    CHECK(posix_memalign(&q, 64, 128) == 0);
    std::free(q);
    CHECK(malloc_counter::count() - mallocs == 2);
  }
}

TEST_CASE_TEMPLATE("allocations.train_step_allocates_nothing_in_steady_state", T, float, double) {
  const auto x = test_support::random_matrix<T>(37, 29, 1);
  const auto y = test_support::random_matrix<T>(37, 7, 2);
  const auto small_x = test_support::random_matrix<T>(13, 29, 3);
  const auto small_y = test_support::random_matrix<T>(13, 7, 4);
  const auto row_x = test_support::random_matrix<T>(1, 29, 5);  // batch 1: vector products
  const auto row_y = test_support::random_matrix<T>(1, 7, 6);
  nobias::Network<T> net({29, 23, 19, 11, 7}, 5, nobias::Init::He);
  nobias::Matrix<T> row_out(1, 7);

  const long before_first = allocation_counter::count();
  net.train_step(x, y, T(1e-4));  // sizes the workspace
  CHECK(allocation_counter::count() > before_first);
  // oneDNN (float32 products, where built in) generates its kernels on a shape's first
  // product, and the Eigen GEMM (float64) sizes a thread's buffers on its first large one.
  net.train_step(small_x, small_y, T(1e-4));
  net.train_step(row_x, row_y, T(1e-4));
  net.predict(row_x, row_out);

  const Counts before;
  for (int step = 0; step < 10; ++step)
    net.train_step(x, y, T(1e-4));
  // A smaller batch reuses the leading rows of the same workspace.
  for (int step = 0; step < 10; ++step)
    net.train_step(small_x, small_y, T(1e-4));
  for (int step = 0; step < 10; ++step) {
    net.train_step(row_x, row_y, T(1e-4));
    net.predict(row_x, row_out);
  }
  check_none_since<T>(before);
}

TEST_CASE_TEMPLATE("allocations.optimizer_step_allocates_nothing_in_steady_state", T, float,
                   double) {
  const auto x = test_support::random_matrix<T>(37, 29, 11);
  const auto y = test_support::random_matrix<T>(37, 7, 12);
  for (auto kind :
       {nobias::OptimizerKind::Sgd, nobias::OptimizerKind::Momentum, nobias::OptimizerKind::Adam}) {
    CAPTURE(static_cast<int>(kind));
    nobias::Network<T> net({29, 23, 7}, 13, nobias::Init::He);
    nobias::OptimizerConfig config;
    config.kind = kind;
    config.learning_rate = 1e-4;
    config.weight_decay = 1e-3;
    nobias::Optimizer<T> optimizer(config, net);
    optimizer.step(net, x, y, nobias::Reduction::Mean);  // sizes the workspace
    const Counts before;
    for (int step = 0; step < 5; ++step)
      optimizer.step(net, x, y, nobias::Reduction::Mean);
    check_none_since<T>(before);
  }
}

// Optimizers other than fused SGD form dL/dw_k a piece of rows at a time, in a scratch block
// per thread that takes a piece, sized by the first step: what they hold is their moments and
// those blocks (no more than the pieces, whatever the threads), never a copy of the weights
// (until issue 22's last change, the constructor allocated one).
TEST_CASE_TEMPLATE("allocations.optimizers_hold_their_moments_and_a_block_of_rows_per_piece", T,
                   float, double) {
  const test_support::AutomaticThreadsAfterwards threads_afterwards;
  const std::vector<std::size_t> widths = {300, 256, 256, 3};
  const std::size_t weights = 300 * 256 + 256 * 256 + 256 * 3;
  const std::size_t pieces = nobias::detail::gradient_pieces<T>(16, widths);
  const std::size_t block = (300 + pieces - 1) / pieces * 256;  // piece 0's rows of w_1
  const auto x = test_support::random_matrix<T>(16, 300, 31);
  const auto y = test_support::random_matrix<T>(16, 3, 32);
  struct Case {
    nobias::OptimizerKind kind;
    double decay;
    std::size_t moments;
  };
  for (const int threads : {1, 2, 16}) {
    CAPTURE(threads);
    nobias::detail::allow_threads_for_testing(threads);
    nobias::set_threads(threads);
    const std::size_t slots = std::min(pieces, static_cast<std::size_t>(threads));
    nobias::Network<T> net(widths, 33, nobias::Init::He);
    net.train_step(x, y, T(1e-4));  // the workspace for 16 rows, the team
    (void)net.gradients(x, y);      // the kernels' first products of the gradients' shapes
    for (const Case c :
         {Case{nobias::OptimizerKind::Sgd, 1e-3, 0}, Case{nobias::OptimizerKind::Momentum, 0.0, 1},
          Case{nobias::OptimizerKind::Adam, 0.0, 2}}) {
      CAPTURE(static_cast<int>(c.kind));
      nobias::OptimizerConfig config;
      config.kind = c.kind;
      config.learning_rate = 1e-4;
      config.weight_decay = c.decay;
      const std::size_t before = allocation_counter::bytes();
      nobias::Optimizer<T> optimizer(config, net);
      const std::size_t made = allocation_counter::bytes() - before;
      CHECK(made >= c.moments * weights * sizeof(T));
      CHECK(made <= c.moments * weights * sizeof(T) + 1024);  // and the vectors of them
      const std::size_t before_step = allocation_counter::bytes();
      optimizer.step(net, x, y, nobias::Reduction::Mean);
      CHECK(allocation_counter::bytes() - before_step <= slots * block * sizeof(T) + 1024);
    }
  }
  CHECK(pieces * block < weights);  // so the blocks are never a copy of the weights
}

// The driver's steady state: shuffled mini-batches, validation, early stopping's bookkeeping,
// the per-epoch hook and report; after the first epochs (workspaces, the shuffled copy, the
// kernels' first products) nothing more is allocated, epoch after epoch.
TEST_CASE_TEMPLATE("allocations.fit_epochs_allocate_nothing_in_steady_state", T, float, double) {
  const auto x = test_support::random_matrix<T>(53, 11, 7);
  const auto y = test_support::random_matrix<T>(53, 3, 8);
  const auto val_x = test_support::random_matrix<T>(17, 11, 9);
  const auto val_y = test_support::random_matrix<T>(17, 3, 10);
  // Listed, standardized rows (RowSource) are gathered into the same batch buffer.
  std::vector<std::size_t> rows(40);
  for (std::size_t i = 0; i < rows.size(); ++i)
    rows[i] = 52 - i;
  nobias::Standardization s;
  s.x_mean.assign(11, 0.5);
  s.x_scale.assign(11, 2.0);
  s.y_mean.assign(3, -1.0);
  s.y_scale.assign(3, 3.0);
  for (const int run : {0, 1, 2, 3}) {
    const bool shuffle = run < 2, listed = run % 2 == 1;
    CAPTURE(shuffle);
    CAPTURE(listed);
    nobias::Network<T> net({11, 13, 3}, 2, nobias::Init::He);
    nobias::OptimizerConfig config;
    config.kind = nobias::OptimizerKind::Adam;
    config.learning_rate = 1e-3;
    nobias::Optimizer<T> optimizer(config, net);
    nobias::FitOptions options;
    options.epochs = 8;
    options.batch_size = 8;  // the last batch is partial: 53 = 6 x 8 + 5
    options.shuffle = shuffle;
    options.reduction = nobias::Reduction::Mean;
    options.early_stopping.patience = 100;  // bookkeeping every epoch, never stops
    std::optional<Counts> after_epoch_2;
    Counts at_end;
    options.on_epoch = [&](const nobias::EpochReport& report) {
      if (report.epoch == 2) after_epoch_2.emplace();
      if (report.epoch == 8) at_end = Counts();
      return true;
    };
    nobias::FitData<T> data{x, y, val_x, val_y};
    if (listed) {
      data.rows = &rows;
      data.standardization = &s;
    }
    nobias::fit<T>(net, optimizer, data, options);
    REQUIRE(after_epoch_2.has_value());
    CHECK(at_end.news - after_epoch_2->news == 0);
    if (!products_may_malloc<T>()) CHECK(at_end.mallocs - after_epoch_2->mallocs == 0);
  }
}

// Full-data passes take memory for one block of rows, not for every row: once the backends
// hold their first-use buffers, the largest single allocation of a prediction or of a fit's
// losses over many rows is a block's (rows x the widest layer is what a workspace for every row
// at once took). The data and the outputs may take as much as they are.
TEST_CASE_TEMPLATE("allocations.full_data_passes_take_one_block_of_rows", T, float, double) {
  const std::vector<std::size_t> widths = {37, 301, 13, 7};
  const std::size_t block = nobias::detail::block_rows<T>(widths), rows = 3 * block + 5;
  const std::size_t data_bytes = rows * 37 * sizeof(T);  // x, the widest array of the data
  // A piece's last block, in whole 2 MiB huge pages (row_chunks.cpp asks for them).
  const std::size_t huge = std::size_t(2) << 20;
  const std::size_t block_bytes = ((block + 191) * 301 * sizeof(T) + huge - 1) / huge * huge;
  const auto x = test_support::random_matrix<T>(rows, 37, 21);
  const auto y = test_support::random_matrix<T>(rows, 7, 22);
  nobias::Network<T> net({37, 301, 13, 7}, 3, nobias::Init::He);
  SUBCASE("predictions") {
    nobias::Standardization s;
    s.x_mean.assign(37, 0.5);
    s.x_scale.assign(37, 2.0);
    for (const bool standardized : {false, true}) {
      CAPTURE(standardized);
      const nobias::Standardization& stats = standardized ? s : nobias::Standardization{};
      (void)nobias::predict_with<T>(net, stats, x.view());  // the backends' first-use buffers
      allocation_counter::reset_largest();
      const nobias::Matrix<T> p = nobias::predict_with<T>(net, stats, x.view());
      CHECK(allocation_counter::largest() <= std::max(rows * 7 * sizeof(T), block_bytes));
    }
  }
  SUBCASE("fit's validation and final losses") {
    nobias::OptimizerConfig config;
    config.kind = nobias::OptimizerKind::Sgd;
    config.learning_rate = 1e-6;
    nobias::Optimizer<T> optimizer(config, net);
    nobias::FitOptions options;
    options.batch_size = 64;
    options.shuffle = false;
    nobias::Network<T> fresh(net);  // a workspace of its own, none yet
    nobias::Optimizer<T> fresh_optimizer(config, fresh);
    (void)nobias::fit<T>(net, optimizer, {x, y, x, y}, options);  // first-use buffers
    allocation_counter::reset_largest();
    (void)nobias::fit<T>(fresh, fresh_optimizer, {x, y, x, y}, options);
    CHECK(allocation_counter::largest() <= std::max(data_bytes, block_bytes));
  }
}

// Network's own full-data calls over many rows (a C++ user's net.predict(x), net.loss(x, y)) run
// in blocks: no hidden layer of every row (the const predict's two), no workspace of every row
// (predict into out's and the loss's, kept by the network afterwards), the bits of one pass.
TEST_CASE_TEMPLATE("allocations.network_passes_over_many_rows_take_one_block_of_rows", T, float,
                   double) {
  const std::vector<std::size_t> widths = {37, 301, 13, 7};
  const std::size_t block = nobias::detail::block_rows<T>(widths), rows = 3 * block + 5;
  const std::size_t huge = std::size_t(2) << 20;  // as full_data_passes_take_one_block_of_rows
  const std::size_t block_bytes = ((block + 191) * 301 * sizeof(T) + huge - 1) / huge * huge;
  const std::size_t every_row = rows * 301 * sizeof(T);  // a hidden layer of every row
  REQUIRE(block_bytes < every_row);
  const auto x = test_support::random_matrix<T>(rows, 37, 27);
  const auto y = test_support::random_matrix<T>(rows, 7, 28);
  nobias::Network<T> net(widths, 7, nobias::Init::He);
  const nobias::Matrix<T> expected = test_support::one_pass_predict<T>(net, x.view());
  (void)net.predict(x.view());  // the backends' first-use buffers
  allocation_counter::reset_largest();
  CHECK(test_support::same_bits(net.predict(x.view()), expected));
  CHECK(allocation_counter::largest() <= std::max(rows * 7 * sizeof(T), block_bytes));
  nobias::Matrix<T> out(rows, 7);
  allocation_counter::reset_largest();
  net.predict(x.view(), out.view());
  CHECK(test_support::same_bits(out, expected));
  CHECK(allocation_counter::largest() <= block_bytes);
  nobias::Network<T> fresh(net);  // a workspace of its own, none yet
  const double expected_loss = test_support::one_pass_loss<T>(net, x.view(), y.view());
  allocation_counter::reset_largest();
  CHECK(fresh.loss(x.view(), y.view()) == expected_loss);
  CHECK(allocation_counter::largest() <= block_bytes);
}

// A streamed prediction (predict_rows, nobias-predict's) holds one window of outputs, never
// all of them: with outputs wider than every other layer, its largest allocation is a
// window's outputs, less than the outputs of every row.
TEST_CASE_TEMPLATE("allocations.streamed_predictions_hold_one_window_of_outputs", T, float,
                   double) {
  const std::vector<std::size_t> widths = {37, 13, 301};
  const std::size_t block = nobias::detail::block_rows<T>(widths), rows = 4 * block + 5;
  const auto x = test_support::random_matrix<T>(rows, 37, 23);
  const nobias::Network<T> net(widths, 4, nobias::Init::He);
  std::size_t seen = 0;
  const auto sink = [&](std::size_t, nobias::MatrixView<const T> p, bool) { seen += p.rows(); };
  nobias::predict_rows<T>(net, {}, x.view(), sink, block);  // the backends' first-use buffers
  allocation_counter::reset_largest();
  nobias::predict_rows<T>(net, {}, x.view(), sink, block);
  CHECK(seen == 2 * rows);
  const std::size_t window_bytes = (2 * block + 192) * 301 * sizeof(T);
  CHECK(allocation_counter::largest() <= window_bytes);
  CHECK(window_bytes < rows * 301 * sizeof(T));
}

// A full-data loss (fit's final and validation losses, nobias-train's) and predict_windows
// (its validation metrics) hold a block of outputs per thread and of gathered targets, never
// the outputs or the targets of every row: with outputs wider than every other layer, their
// largest allocation is a window's outputs (a block per thread, and one more block).
TEST_CASE_TEMPLATE("allocations.full_data_losses_hold_a_block_of_outputs_per_thread", T, float,
                   double) {
  const test_support::AutomaticThreadsAfterwards threads_afterwards;
  nobias::set_threads(2);  // at most: the rows below grow with the threads
  const std::size_t threads = static_cast<std::size_t>(nobias::detail::step_threads());
  const std::vector<std::size_t> widths = {37, 13, 301};
  const std::size_t block = nobias::detail::block_rows<T>(widths);
  const std::size_t window_rows = (threads + 1) * block + 256;  // and a piece's tail
  const std::size_t rows = 2 * window_rows + 5;
  const auto x = test_support::random_matrix<T>(rows, 37, 24);
  const auto y = test_support::random_matrix<T>(rows, 301, 25);
  nobias::Network<T> net(widths, 5, nobias::Init::He);
  nobias::Standardization s;
  s.x_mean.assign(37, 0.5);
  s.x_scale.assign(37, 2.0);
  s.y_mean.assign(301, -1.0);
  s.y_scale.assign(301, 3.0);
  const std::vector<std::size_t> listed = {rows - 1, 0, 2, 1};  // and then every row
  std::vector<std::size_t> order(listed);
  for (std::size_t i = 3; i + 1 < rows; ++i)
    order.push_back(i);
  const nobias::RowSource<T> in_place(x.view(), y.view()), gathered(x.view(), y.view(), &order, &s);
  const std::size_t window_bytes = window_rows * 301 * sizeof(T);
  for (const nobias::RowSource<T>* source : {&in_place, &gathered}) {
    CAPTURE(source == &gathered);
    (void)nobias::full_loss<T>(net, *source);  // the backends' first-use buffers
    allocation_counter::reset_largest();
    (void)nobias::full_loss<T>(net, *source);
    CHECK(allocation_counter::largest() <= window_bytes);
    allocation_counter::reset_largest();
    std::size_t seen = 0;
    nobias::predict_windows<T>(net, *source,
                               [&](std::size_t, nobias::MatrixView<T> p) { seen += p.rows(); });
    CHECK(seen == rows);
    CHECK(allocation_counter::largest() <= window_bytes);
  }
  CHECK(2 * window_bytes < rows * 301 * sizeof(T));
}

// predict_into (Python's Network.predict) of up to a block of rows runs in the network's own
// workspace and team, as Network::predict(x, out): once warm, a call of as many rows or fewer
// allocates nothing (the const one-pass path allocated its outputs and two hidden layers every
// call; with statistics, the rows' standardized copy still is).
TEST_CASE_TEMPLATE("allocations.repeated_predictions_into_out_allocate_nothing", T, float, double) {
  const std::vector<std::size_t> widths = {37, 301, 13, 7};
  const std::size_t rows = 700;
  REQUIRE(rows <= nobias::detail::block_rows<T>(widths));
  nobias::Network<T> net(widths, 6, nobias::Init::He);
  const auto x = test_support::random_matrix<T>(rows, 37, 26);
  nobias::Matrix<T> out(rows, 7);
  nobias::Standardization none;
  nobias::predict_into<T>(net, none, x.view(), out.view());  // sizes the workspace
  const long before = allocation_counter::count();
  nobias::predict_into<T>(net, none, x.view(), out.view());
  nobias::predict_into<T>(net, none, x.view().row_block(0, 300), out.view().row_block(0, 300));
  CHECK(allocation_counter::count() - before == 0);
}
