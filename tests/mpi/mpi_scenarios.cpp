// An MPI program for the tests under mpirun: trains a small network on synthetic data with the
// distributed fit and writes rank 0's weights, with hooks for the failures the tests provoke.
//
//   mpi_scenarios --out DIR [--all-configs 1 | --dtype f32|f64 ...] [--mode fast|det|plain|local]
//   [--epochs E]
//                 [--reduction sum|mean] [--optimizer sgd|adam] [--checkpoint DIR]
//                 [--resume DIR] [--other-weights-on-rank R] [--poison-row I]
//                 [--die-rank R --die-at-step S] [--stall-rank R --stall-at-step S]
//
// --all-configs: f32 and f64, each with sum + SGD and mean + Adam, into DIR/<dtype>-<...>.
// plain: nobias::fit in one process; local: the distributed fit on a LocalCommunicator
// (no MPI at all). After every epoch every rank's weights are compared with rank 0's.
#include <mpi.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "../support/fit_hooks.hpp"
#include "nobias/checkpoint.hpp"
#include "nobias/mpi/distributed_fit.hpp"
#include "nobias/mpi/mpi_communicator.hpp"
#include "nobias/threads.hpp"
#include "nobias/weights_io.hpp"
#include "test_support.hpp"

namespace {

std::map<std::string, std::string> parse(int argc, char** argv) {
  std::map<std::string, std::string> args{{"--dtype", "f32"},
                                          {"--mode", "det"},
                                          {"--epochs", "3"},
                                          {"--reduction", "mean"},
                                          {"--optimizer", "adam"}};
  for (int i = 1; i + 1 < argc; i += 2)
    args[argv[i]] = argv[i + 1];
  return args;
}

long number(const std::map<std::string, std::string>& args, const std::string& key) {
  const auto it = args.find(key);
  return it == args.end() ? -1 : std::stol(it->second);
}

template <class T>
void check_same_on_every_rank(nobias::mpi::Communicator& comm, const nobias::Network<T>& net,
                              std::size_t epoch) {
  for (std::size_t k = 0; k < net.layers(); ++k) {
    const std::size_t bytes = net.weight(k).size() * sizeof(T);
    std::vector<unsigned char> all(bytes * static_cast<std::size_t>(comm.size()));
    comm.gather_all(net.weight(k).data(), all.data(),
                    std::vector<std::size_t>(static_cast<std::size_t>(comm.size()), bytes));
    for (int r = 1; r < comm.size(); ++r) {
      if (std::memcmp(all.data(), all.data() + bytes * static_cast<std::size_t>(r), bytes) != 0) {
        throw nobias::Error("after epoch " + std::to_string(epoch) + ", w" + std::to_string(k + 1) +
                            " of rank " + std::to_string(r) + " differs from rank 0's");
      }
    }
  }
}

template <class T>
int run(const std::map<std::string, std::string>& args) {
  const std::string mode = args.at("--mode");
  const bool use_mpi = mode == "fast" || mode == "det";
  std::unique_ptr<nobias::mpi::Communicator> comm;
  if (use_mpi)
    comm = std::make_unique<nobias::mpi::MpiCommunicator>();
  else
    comm = std::make_unique<nobias::mpi::LocalCommunicator>();
  const int rank = comm->rank();

  // 103 rows in batches of 40, 40 and 23: uneven for every rank count.
  nobias::Matrix<T> x = test_support::random_matrix<T>(103, 13, 11);
  const nobias::Matrix<T> y = test_support::random_matrix<T>(103, 3, 12);
  const nobias::Matrix<T> val_x = test_support::random_matrix<T>(29, 13, 13);
  const nobias::Matrix<T> val_y = test_support::random_matrix<T>(29, 3, 14);
  if (number(args, "--poison-row") >= 0) {
    for (std::size_t j = 0; j < x.cols(); ++j)
      x.view()(static_cast<std::size_t>(number(args, "--poison-row")), j) = T(1e25);
  }
  const std::vector<std::size_t> widths{13, 7, 5, 3};
  const bool other = number(args, "--other-weights-on-rank") == rank;
  nobias::Network<T> net(test_support::random_weights<T>(widths, other ? 99 : 3, 2.0));

  nobias::OptimizerConfig config;
  config.kind =
      args.at("--optimizer") == "adam" ? nobias::OptimizerKind::Adam : nobias::OptimizerKind::Sgd;
  nobias::FitOptions options;
  options.reduction =
      args.at("--reduction") == "sum" ? nobias::Reduction::Sum : nobias::Reduction::Mean;
  config.learning_rate = options.reduction == nobias::Reduction::Sum ? 2e-4 : 0.02;
  options.epochs = static_cast<std::size_t>(number(args, "--epochs"));
  options.batch_size = 40;
  options.seed = 5;
  options.shuffle = number(args, "--poison-row") < 0;
  nobias::Optimizer<T> optimizer(config, net);
  nobias::mpi::DistributedOptions distributed;
  distributed.mode = mode == "fast" ? nobias::mpi::Mode::Fast : nobias::mpi::Mode::Deterministic;
  distributed.max_shards = 8;
  distributed.min_shard_rows = 4;

  if (args.count("--resume")) {  // rank 0 reads the checkpoint; the fit broadcasts it
    std::uint64_t epochs_done = 0;
    if (rank == 0) {
      nobias::Checkpoint<T> checkpoint = nobias::load_checkpoint<T>(args.at("--resume"));
      net = nobias::Network<T>(checkpoint.weights);
      nobias::restore_optimizer(optimizer, checkpoint);
      epochs_done = checkpoint.progress.epochs_done;
    }
    comm->broadcast(&epochs_done, sizeof epochs_done, 0);
    options.first_epoch = static_cast<std::size_t>(epochs_done) + 1;
  }
  const long die_rank = number(args, "--die-rank"), stall_rank = number(args, "--stall-rank");
  auto on_step = [&](const nobias::StepReport& r) {
    if (die_rank == rank && static_cast<long>(r.step) == number(args, "--die-at-step"))
      raise(SIGKILL);
    if (stall_rank == rank && static_cast<long>(r.step) == number(args, "--stall-at-step")) {
      for (;;)
        pause();
    }
  };
  auto on_epoch = [&](const nobias::EpochReport& r) {
    if (rank == 0) std::printf("epoch %zu loss %.17g\n", r.epoch, r.train_loss);
    if (rank == 0 && args.count("--checkpoint")) {
      nobias::TrainingProgress progress;
      progress.epochs_done = r.epoch;
      progress.seed = options.seed;
      progress.batch_size = options.batch_size;
      progress.shuffle = options.shuffle;
      progress.reduction = options.reduction;
      nobias::save_checkpoint(args.at("--checkpoint"), net, optimizer, progress);
    }
    return true;
  };
  if (mode == "plain") {
    nobias::fit(net, optimizer, {x, y, val_x, val_y}, with_on_epoch(options, on_epoch));
  } else {
    nobias::mpi::distributed_fit(*comm, net, optimizer, {x, y, val_x, val_y},
                                 with_on_step(with_on_epoch(options,
                                                            [&](const nobias::EpochReport& r) {
                                                              check_same_on_every_rank(*comm, net,
                                                                                       r.epoch);
                                                              return on_epoch(r);
                                                            }),
                                              on_step),
                                 distributed);
  }
  if (rank == 0) nobias::save_weights(args.at("--out"), net.weights());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = parse(argc, argv);
  const bool use_mpi = args.at("--mode") == "fast" || args.at("--mode") == "det";
  if (use_mpi) MPI_Init(&argc, &argv);
  nobias::set_threads(1);  // one rank per core
  int rank = 0;
  if (use_mpi) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int code = 0;
  try {
    if (args.count("--all-configs")) {  // one launch for four runs: mpirun's start-up is slow
      for (const char* dtype : {"f32", "f64"}) {
        for (const auto& [reduction, optimizer] : {std::pair{"sum", "sgd"}, {"mean", "adam"}}) {
          auto config = args;
          config["--dtype"] = dtype;
          config["--reduction"] = reduction;
          config["--optimizer"] = optimizer;
          config["--out"] = args.at("--out") + "/" + dtype + "-" + reduction + "-" + optimizer;
          if (rank == 0) mkdir(config["--out"].c_str(), 0755);
          code = dtype == std::string("f64") ? run<double>(config) : run<float>(config);
        }
      }
    } else {
      code = args.at("--dtype") == "f64" ? run<double>(args) : run<float>(args);
    }
  } catch (const nobias::mpi::CommunicationError& e) {
    std::fprintf(stderr, "rank %d: error: %s\n", rank, e.what());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 4);  // the others may wait inside a collective
  } catch (const nobias::DivergenceError& e) {
    std::fprintf(stderr, "rank %d: error: %s\n", rank, e.what());
    code = 3;
  } catch (const nobias::Error& e) {
    std::fprintf(stderr, "rank %d: error: %s\n", rank, e.what());
    code = 2;
  }
  if (use_mpi) MPI_Finalize();
  return code;
}
