// The distributed fit on P ranks simulated as threads of this process (the same code that runs
// under mpirun, with sums in rank order): against one process and against nobias::fit.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support/fit_hooks.hpp"
#include "nobias/mpi/distributed_fit.hpp"
#include "nobias/mpi/mpi_communicator.hpp"
#include "nobias/mpi/simulated_ranks.hpp"
#include "nobias/targets.hpp"
#include "nobias/threads.hpp"
#include "test_support.hpp"

using nobias::FitOptions;
using nobias::Matrix;
using nobias::Network;
using nobias::Optimizer;
using nobias::OptimizerConfig;
using nobias::OptimizerKind;
using nobias::Reduction;
using nobias::mpi::Communicator;
using nobias::mpi::DistributedOptions;
using nobias::mpi::Mode;

namespace {

const std::vector<std::size_t> kWidths{13, 7, 5, 3};

template <class T>
struct Problem {
  Matrix<T> x = test_support::random_matrix<T>(103, 13, 11);  // 103: prime, uneven everywhere
  Matrix<T> y = test_support::random_matrix<T>(103, 3, 12);
  Matrix<T> val_x = test_support::random_matrix<T>(29, 13, 13);
  Matrix<T> val_y = test_support::random_matrix<T>(29, 3, 14);
};

struct Setup {
  OptimizerConfig optimizer;
  FitOptions fit;
  DistributedOptions distributed;
};

Setup setup(Mode mode, Reduction reduction, OptimizerKind kind) {
  Setup s;
  s.optimizer.kind = kind;
  s.optimizer.learning_rate = reduction == Reduction::Mean ? 0.02 : 2e-4;
  s.fit.epochs = 3;
  s.fit.batch_size = 40;  // 40, 40 and a partial 23
  s.fit.seed = 5;
  s.fit.reduction = reduction;
  s.distributed.mode = mode;
  s.distributed.max_shards = 8;
  s.distributed.min_shard_rows = 4;  // 40 rows: 8 shards of 5; 23 rows: 5 shards
  return s;
}

// Weights after a distributed fit on `ranks` simulated ranks, from each rank.
template <class T>
std::vector<std::vector<Matrix<T>>> train(int ranks, const Setup& s, const Problem<T>& p,
                                          std::vector<nobias::EpochReport>* reports = nullptr) {
  std::vector<std::vector<Matrix<T>>> weights(static_cast<std::size_t>(ranks));
  nobias::mpi::run_simulated_ranks(ranks, [&](Communicator& comm) {
    Network<T> net(test_support::random_weights<T>(kWidths, 3, 2.0));
    Optimizer<T> optimizer(s.optimizer, net);
    auto r = nobias::mpi::distributed_fit(comm, net, optimizer, {p.x, p.y, p.val_x, p.val_y}, s.fit,
                                          s.distributed)
                 .epochs;
    weights[static_cast<std::size_t>(comm.rank())] = net.weights();
    if (reports && comm.rank() == 0) *reports = r;
  });
  return weights;
}

template <class T>
bool same_bits(const std::vector<Matrix<T>>& a, const std::vector<Matrix<T>>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k) {
    if (a[k].size() != b[k].size() ||
        std::memcmp(a[k].data(), b[k].data(), a[k].size() * sizeof(T)) != 0)
      return false;
  }
  return true;
}

template <class T>
double max_error(const std::vector<Matrix<T>>& a, const std::vector<Matrix<T>>& b) {
  double worst = 0.0;
  for (std::size_t k = 0; k < a.size(); ++k)
    worst = std::max(worst, test_support::max_relative_error<T>(a[k].view(), b[k].view()));
  return worst;
}

}  // namespace

TEST_CASE_TEMPLATE("mpi.deterministic.bit_identical_for_1_to_4_ranks", T, float, double) {
  test_support::AutomaticThreadsAfterwards restore;
  nobias::set_threads(1);
  const Problem<T> p;
  for (Reduction reduction : {Reduction::Sum, Reduction::Mean}) {
    for (OptimizerKind kind : {OptimizerKind::Sgd, OptimizerKind::Adam}) {
      CAPTURE(static_cast<int>(reduction));
      CAPTURE(static_cast<int>(kind));
      const Setup s = setup(Mode::Deterministic, reduction, kind);
      std::vector<nobias::EpochReport> one_reports;
      const auto one = train<T>(1, s, p, &one_reports);
      // And one process without simulation: the LocalCommunicator.
      nobias::mpi::LocalCommunicator local;
      Network<T> net(test_support::random_weights<T>(kWidths, 3, 2.0));
      Optimizer<T> optimizer(s.optimizer, net);
      nobias::mpi::distributed_fit(local, net, optimizer, {p.x, p.y, p.val_x, p.val_y}, s.fit,
                                   s.distributed);
      CHECK(same_bits(one[0], net.weights()));
      for (int ranks = 2; ranks <= 4; ++ranks) {
        CAPTURE(ranks);
        std::vector<nobias::EpochReport> reports;
        const auto many = train<T>(ranks, s, p, &reports);
        for (int r = 0; r < ranks; ++r)
          CHECK(same_bits(many[static_cast<std::size_t>(r)], one[0]));
        REQUIRE(reports.size() == one_reports.size());
        for (std::size_t e = 0; e < reports.size(); ++e) {
          CHECK(reports[e].train_loss == one_reports[e].train_loss);
          CHECK(reports[e].validation_loss == one_reports[e].validation_loss);
        }
      }
      // Not vacuous: training moved the weights.
      CHECK(max_error(one[0], test_support::random_weights<T>(kWidths, 3, 2.0)) > 1e-3);
    }
  }
}

TEST_CASE_TEMPLATE("mpi.fast.matches_fit_for_1_to_4_ranks", T, float, double) {
  test_support::AutomaticThreadsAfterwards restore;
  nobias::set_threads(1);
  const Problem<T> p;
  const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  for (Reduction reduction : {Reduction::Sum, Reduction::Mean}) {
    for (OptimizerKind kind : {OptimizerKind::Sgd, OptimizerKind::Momentum}) {
      const Setup s = setup(Mode::Fast, reduction, kind);
      Network<T> net(test_support::random_weights<T>(kWidths, 3, 2.0));
      Optimizer<T> optimizer(s.optimizer, net);
      const auto expected_reports =
          nobias::fit(net, optimizer, {p.x, p.y, p.val_x, p.val_y}, s.fit).epochs;
      for (int ranks = 1; ranks <= 4; ++ranks) {
        CAPTURE(ranks);
        CAPTURE(static_cast<int>(reduction));
        std::vector<nobias::EpochReport> reports;
        const auto got = train<T>(ranks, s, p, &reports);
        for (int r = 0; r < ranks; ++r) {
          CHECK(max_error(got[static_cast<std::size_t>(r)], net.weights()) < tolerance);
          CHECK(same_bits(got[static_cast<std::size_t>(r)], got[0]));  // every rank alike
        }
        for (std::size_t e = 0; e < reports.size(); ++e) {
          CHECK(reports[e].train_loss ==
                doctest::Approx(expected_reports[e].train_loss).epsilon(tolerance));
          CHECK(reports[e].validation_loss ==
                doctest::Approx(expected_reports[e].validation_loss).epsilon(tolerance));
        }
      }
    }
  }
}

TEST_CASE("mpi.identical_weights_on_every_rank_after_every_epoch") {
  test_support::AutomaticThreadsAfterwards restore;
  nobias::set_threads(1);
  const Problem<float> p;
  for (Mode mode : {Mode::Fast, Mode::Deterministic}) {
    Setup s = setup(mode, Reduction::Mean, OptimizerKind::Adam);
    s.fit.epochs = 4;
    nobias::mpi::run_simulated_ranks(3, [&](Communicator& comm) {
      Network<float> net(test_support::random_weights<float>(kWidths, 3, 2.0));
      Optimizer<float> optimizer(s.optimizer, net);
      int epochs_checked = 0;
      nobias::mpi::distributed_fit(
          comm, net, optimizer, {p.x, p.y},
          with_on_epoch(s.fit,
                        [&](const nobias::EpochReport&) {
                          // Every rank's weights, gathered: all equal to rank 0's, bit for bit.
                          const std::size_t bytes = net.weight(0).size() * sizeof(float);
                          std::vector<float> all(net.weight(0).size() * 3);
                          comm.gather_all(net.weight(0).data(), all.data(), {bytes, bytes, bytes});
                          for (std::size_t r = 1; r < 3; ++r)
                            CHECK(std::memcmp(all.data(), all.data() + r * net.weight(0).size(),
                                              bytes) == 0);
                          ++epochs_checked;
                          return true;
                        }),
          s.distributed);
      CHECK(epochs_checked == 4);
    });
  }
}

TEST_CASE("mpi.broadcast_overwrites_other_ranks_weights_and_optimizer_state") {
  test_support::AutomaticThreadsAfterwards restore;
  nobias::set_threads(1);
  const Problem<double> p;
  const Setup s = setup(Mode::Deterministic, Reduction::Mean, OptimizerKind::Adam);
  const auto expected = train<double>(1, s, p);
  std::vector<std::vector<Matrix<double>>> got(2);
  nobias::mpi::run_simulated_ranks(2, [&](Communicator& comm) {
    // Rank 1 starts from other weights, and an optimizer that has taken steps.
    Network<double> net(
        test_support::random_weights<double>(kWidths, comm.rank() == 0 ? 3 : 99, 2.0));
    Optimizer<double> optimizer(s.optimizer, net);
    if (comm.rank() == 1) optimizer.step(net, p.x, p.y, Reduction::Mean);
    nobias::mpi::distributed_fit(comm, net, optimizer, {p.x, p.y, p.val_x, p.val_y}, s.fit,
                                 s.distributed);
    got[static_cast<std::size_t>(comm.rank())] = net.weights();
  });
  CHECK(same_bits(got[0], expected[0]));
  CHECK(same_bits(got[1], expected[0]));
}

TEST_CASE("mpi.divergence_on_one_rank_stops_all_with_the_same_error") {
  test_support::AutomaticThreadsAfterwards restore;
  nobias::set_threads(1);
  Problem<float> p;
  // Row 100 is huge: its squared error overflows float. Without shuffling, the last batch
  // (rows 80..102) holds it, and only the rank whose share holds it diverges.
  for (std::size_t j = 0; j < 13; ++j)
    p.x.view()(100, j) = 1e25f;
  for (Mode mode : {Mode::Fast, Mode::Deterministic}) {
    Setup s = setup(mode, Reduction::Sum, OptimizerKind::Sgd);
    s.fit.shuffle = false;
    std::vector<std::string> messages(3);
    std::vector<std::size_t> steps_seen(3, 0);
    nobias::mpi::run_simulated_ranks(3, [&](Communicator& comm) {
      Network<float> net(test_support::random_weights<float>(kWidths, 3, 2.0));
      Optimizer<float> optimizer(s.optimizer, net);
      const auto r = static_cast<std::size_t>(comm.rank());
      try {
        nobias::mpi::distributed_fit(
            comm, net, optimizer, {p.x, p.y},
            with_on_step(s.fit, [&](const nobias::StepReport&) { ++steps_seen[r]; }),
            s.distributed);
      } catch (const nobias::DivergenceError& e) {
        messages[r] = e.what();
      }
    });
    CAPTURE(messages[0]);
    CHECK(messages[0].find("fit: epoch 1, step 3: rank 2: gradients: ") == 0);
    CHECK(messages[1] == messages[0]);
    CHECK(messages[2] == messages[0]);
    CHECK(steps_seen == std::vector<std::size_t>{2, 2, 2});
  }
}

TEST_CASE("mpi.rank_zero_decides_early_stopping_for_all") {
  test_support::AutomaticThreadsAfterwards restore;
  nobias::set_threads(1);
  const Problem<double> p;
  Setup s = setup(Mode::Fast, Reduction::Mean, OptimizerKind::Sgd);
  s.fit.epochs = 5;
  std::vector<std::size_t> epochs(3);
  nobias::mpi::run_simulated_ranks(3, [&](Communicator& comm) {
    Network<double> net(kWidths, 1);
    Optimizer<double> optimizer(s.optimizer, net);
    const auto reports =
        nobias::mpi::distributed_fit(comm, net, optimizer, {p.x, p.y},
                                     with_on_epoch(s.fit,
                                                   [&](const nobias::EpochReport& r) {
                                                     return comm.rank() != 0 || r.epoch < 2;
                                                   }),
                                     s.distributed)
            .epochs;
    epochs[static_cast<std::size_t>(comm.rank())] = reports.size();
  });
  CHECK(epochs == std::vector<std::size_t>{2, 2, 2});
}

TEST_CASE("mpi.errors_on_one_rank_reach_all") {
  test_support::AutomaticThreadsAfterwards restore;
  nobias::set_threads(1);
  const Problem<double> p;
  const Setup s = setup(Mode::Fast, Reduction::Mean, OptimizerKind::Sgd);
  SUBCASE("different data") {
    std::vector<std::string> messages(2);
    nobias::mpi::run_simulated_ranks(2, [&](Communicator& comm) {
      Network<double> net(kWidths, 1);
      Optimizer<double> optimizer(s.optimizer, net);
      const std::size_t rows = comm.rank() == 0 ? 103 : 90;
      try {
        nobias::mpi::distributed_fit(comm, net, optimizer,
                                     {p.x.view().row_block(0, rows), p.y.view().row_block(0, rows)},
                                     s.fit, s.distributed);
      } catch (const nobias::ValueError& e) {
        messages[static_cast<std::size_t>(comm.rank())] = e.what();
      }
    });
    CHECK(messages[0] ==
          "rank 1: distributed_fit: rows of x is 90 here but 103 on rank 0; every rank must be "
          "given the same data and options");
    CHECK(messages[1] == messages[0]);
  }
  // Validation rows of the same shape but other values on one rank were let through (only
  // their count was compared), and a standardization on one rank was blamed on x's values.
  SUBCASE("other validation values, or a standardization, on one rank") {
    const Matrix<double> other_val_y = test_support::random_matrix<double>(29, 3, 15);
    const nobias::Standardization stats = nobias::fit_standardization<double>(p.x, p.y);
    std::vector<std::string> messages(2);
    const auto run = [&](const auto& data_of) {
      nobias::mpi::run_simulated_ranks(2, [&](Communicator& comm) {
        Network<double> net(kWidths, 1);
        Optimizer<double> optimizer(s.optimizer, net);
        try {
          nobias::mpi::distributed_fit(comm, net, optimizer, data_of(comm.rank()), s.fit,
                                       s.distributed);
        } catch (const nobias::ValueError& e) {
          messages[static_cast<std::size_t>(comm.rank())] = e.what();
        }
      });
    };
    const std::string tail = "; every rank must be given the same data and options";
    run([&](int rank) {
      return nobias::FitData<double>{p.x, p.y, p.val_x,
                                     rank == 0 ? p.val_y.view() : other_val_y.view()};
    });
    CHECK(messages[0] == "rank 1: distributed_fit: val_y's values differ from rank 0's" + tail);
    CHECK(messages[1] == messages[0]);
    run([&](int rank) {
      nobias::FitData<double> data{p.x, p.y, p.val_x, p.val_y};
      data.standardization = rank == 1 ? &stats : nullptr;
      return data;
    });
    CHECK(messages[0] ==
          "rank 1: distributed_fit: x is standardized here but not standardized on rank 0" + tail);
    CHECK(messages[1] == messages[0]);
  }
  SUBCASE("a callback that throws on one rank") {
    std::vector<std::string> messages(2);
    nobias::mpi::run_simulated_ranks(2, [&](Communicator& comm) {
      Network<double> net(kWidths, 1);
      Optimizer<double> optimizer(s.optimizer, net);
      try {
        nobias::mpi::distributed_fit(
            comm, net, optimizer, {p.x, p.y},
            with_on_epoch(s.fit,
                          [&](const nobias::EpochReport&) -> bool {
                            if (comm.rank() == 0) throw nobias::IoError("checkpoint: disk full");
                            return true;
                          }),
            s.distributed);
      } catch (const nobias::IoError& e) {
        messages[static_cast<std::size_t>(comm.rank())] = e.what();
      }
    });
    CHECK(messages[0] == "rank 0: checkpoint: disk full");
    CHECK(messages[1] == messages[0]);
  }
}

TEST_CASE("mpi.a_rank_that_dies_makes_the_others_fail_not_hang") {
  test_support::AutomaticThreadsAfterwards restore;
  nobias::set_threads(1);
  const Problem<double> p;
  const Setup s = setup(Mode::Fast, Reduction::Mean, OptimizerKind::Sgd);
  std::vector<std::string> others(3);
  // Something outside nobias's errors escapes rank 1 mid-training, as a crash would.
  CHECK_THROWS_WITH_AS(nobias::mpi::run_simulated_ranks(
                           3,
                           [&](Communicator& comm) {
                             Network<double> net(kWidths, 1);
                             Optimizer<double> optimizer(s.optimizer, net);
                             try {
                               nobias::mpi::distributed_fit(
                                   comm, net, optimizer, {p.x, p.y},
                                   with_on_step(s.fit,
                                                [&](const nobias::StepReport& r) {
                                                  if (comm.rank() == 1 && r.step == 2)
                                                    throw std::runtime_error("rank 1 crashed");
                                                }),
                                   s.distributed);
                             } catch (const nobias::mpi::CommunicationError& e) {
                               others[static_cast<std::size_t>(comm.rank())] = e.what();
                               throw;
                             }
                           }),
                       "rank 1 crashed", std::runtime_error);
  CHECK(others[0] == "simulated rank 1 failed; the other ranks cannot complete a collective");
  CHECK(others[2] == others[0]);
}

TEST_CASE("mpi.errors.network_of_another_shape_on_one_rank") {
  test_support::AutomaticThreadsAfterwards restore;
  nobias::set_threads(1);
  const Problem<double> p;
  const Setup s = setup(Mode::Fast, Reduction::Mean, OptimizerKind::Sgd);
  std::vector<std::string> messages(2);
  nobias::mpi::run_simulated_ranks(2, [&](Communicator& comm) {
    // The same input and output widths, another hidden width on rank 1.
    Network<double> net(comm.rank() == 0 ? kWidths : std::vector<std::size_t>{13, 8, 5, 3}, 1);
    Optimizer<double> optimizer(s.optimizer, net);
    try {
      nobias::mpi::distributed_fit(comm, net, optimizer, {p.x, p.y}, s.fit, s.distributed);
    } catch (const nobias::ShapeError& e) {
      messages[static_cast<std::size_t>(comm.rank())] = e.what();
    }
  });
  CHECK(messages[0] ==
        "rank 1: distributed_fit: the network or optimizer differs in shape from rank 0's");
  CHECK(messages[1] == messages[0]);
}

TEST_CASE("mpi.errors.bad_timeout_in_the_environment") {
  ::setenv("NOBIAS_MPI_TIMEOUT", "soon", 1);
  CHECK_THROWS_WITH_AS(nobias::mpi::default_timeout(),
                       "NOBIAS_MPI_TIMEOUT must be a number of seconds > 0, got 'soon'",
                       nobias::ValueError);
  ::setenv("NOBIAS_MPI_TIMEOUT", "-3", 1);
  CHECK_THROWS_AS(nobias::mpi::default_timeout(), nobias::ValueError);
  ::setenv("NOBIAS_MPI_TIMEOUT", "2.5", 1);
  CHECK(nobias::mpi::default_timeout().count() == 2.5);
  ::unsetenv("NOBIAS_MPI_TIMEOUT");
  CHECK(nobias::mpi::default_timeout().count() == 300.0);
}
