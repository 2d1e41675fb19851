// The distributed fit on listed, standardized rows (FitData::rows, ::standardization, and the
// validation rows, ::validation): each rank gathers its share of a batch, or its shards of the
// validation rows, from the rows where they lie, with the bits of a fit on standardized copies
// of those rows, in both modes, on simulated ranks.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstring>
#include <vector>

#include "nobias/mpi/distributed_fit.hpp"
#include "nobias/mpi/simulated_ranks.hpp"
#include "nobias/targets.hpp"
#include "nobias/threads.hpp"
#include "test_support.hpp"

namespace {

template <class T>
bool same_weights(const std::vector<nobias::Matrix<T>>& a,
                  const std::vector<nobias::Matrix<T>>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k)
    if (!test_support::same_bits(a[k], b[k])) return false;
  return true;
}

}  // namespace

TEST_CASE_TEMPLATE("mpi.rows.listed_standardized_rows_train_as_their_copy", T, float, double) {
  test_support::AutomaticThreadsAfterwards restore;
  nobias::set_threads(1);
  const std::vector<std::size_t> widths{13, 7, 3};
  const auto x = test_support::random_matrix<T>(97, 13, 21, 4.0);
  const auto y = test_support::random_matrix<T>(97, 3, 22, 2.0);
  std::vector<std::size_t> rows, held;  // backwards, every row but each fourth, which validates
  for (std::size_t i = 97; i-- > 0;)
    (i % 4 != 2 ? rows : held).push_back(i);
  nobias::Standardization s;
  for (std::size_t j = 0; j < 13; ++j) {
    s.x_mean.push_back(0.5 * static_cast<double>(j % 3));
    s.x_scale.push_back(1.5 + 0.25 * static_cast<double>(j % 4));
  }
  s.y_mean = {1.0, -2.0, 0.5};
  s.y_scale = {2.0, 3.0, 0.75};
  nobias::Matrix<T> copy_x(rows.size(), 13), copy_y(rows.size(), 3);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::memcpy(&copy_x(i, 0), &x(rows[i], 0), 13 * sizeof(T));
    std::memcpy(&copy_y(i, 0), &y(rows[i], 0), 3 * sizeof(T));
  }
  nobias::standardize_x<T>(s, copy_x.view());
  nobias::standardize_y<T>(s, copy_y.view());
  nobias::Matrix<T> val_x(held.size(), 13), val_y(held.size(), 3);
  for (std::size_t i = 0; i < held.size(); ++i) {
    std::memcpy(&val_x(i, 0), &x(held[i], 0), 13 * sizeof(T));
    std::memcpy(&val_y(i, 0), &y(held[i], 0), 3 * sizeof(T));
  }
  nobias::standardize_x<T>(s, val_x.view());
  nobias::standardize_y<T>(s, val_y.view());
  const nobias::RowSource<T> validation(x.view(), y.view(), &held, &s);
  for (const auto mode : {nobias::mpi::Mode::Deterministic, nobias::mpi::Mode::Fast}) {
    for (const bool shuffle : {true, false}) {
      CAPTURE(static_cast<int>(mode));
      CAPTURE(shuffle);
      nobias::OptimizerConfig config;
      config.kind = nobias::OptimizerKind::Adam;
      config.learning_rate = 0.01;
      nobias::FitOptions options;
      options.epochs = 3;
      options.batch_size = 20;
      options.shuffle = shuffle;
      options.seed = 9;
      options.reduction = nobias::Reduction::Mean;
      options.early_stopping.patience = 2;
      nobias::mpi::DistributedOptions distributed;
      distributed.mode = mode;
      distributed.max_shards = 8;
      distributed.min_shard_rows = 2;
      std::vector<std::vector<nobias::Matrix<T>>> listed(3), copied(3);
      std::vector<std::vector<double>> listed_val(3), copied_val(3);  // each epoch's loss
      for (const bool use_rows : {true, false}) {
        nobias::mpi::run_simulated_ranks(3, [&](nobias::mpi::Communicator& comm) {
          nobias::Network<T> net(test_support::random_weights<T>(widths, 3, 2.0));
          nobias::Optimizer<T> optimizer(config, net);
          nobias::FitData<T> data{copy_x, copy_y, val_x, val_y};
          if (use_rows) data = {x, y, {}, {}, nullptr, &rows, &s, &validation};
          const nobias::FitResult result =
              nobias::mpi::distributed_fit(comm, net, optimizer, data, options, distributed);
          const auto rank = static_cast<std::size_t>(comm.rank());
          (use_rows ? listed : copied)[rank] = net.weights();
          for (const nobias::EpochReport& epoch : result.epochs)
            (use_rows ? listed_val : copied_val)[rank].push_back(epoch.validation_loss);
        });
      }
      for (std::size_t r = 0; r < 3; ++r) {
        CHECK(same_weights(listed[r], copied[r]));
        CHECK(listed_val[r] == copied_val[r]);
        CHECK(listed_val[r].size() == 3);
      }
    }
  }
}
