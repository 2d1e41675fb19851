// nobias-train-mpi: nobias-train, data-parallel under mpirun. Every nobias-train flag means
// what it means there; the run is split over the ranks by nobias::mpi::distributed_fit and
// gives the same weights as one process (bit for bit in the default deterministic mode).
//
//   mpirun -np 4 nobias-train-mpi --x x.npy --y y.npy --epochs 10 --weights-out model
//
// Every rank reads the inputs (each host needs them at the same path); rank 0 alone prints and
// writes (weights, checkpoints, the loss log). One nobias thread per rank unless --threads.
// --steps N (the seed's full-batch mode) runs N epochs of one unshuffled full batch each.
// --mpi-mode fast|deterministic chooses the summation (docs/distributed.md).
// Exit status as nobias-train's; 4 when the ranks lost each other (one died or stalled).
#include <mpi.h>

#include <cstdio>
#include <optional>
#include <string>

#include "cli_common.hpp"
#include "distributed_training.hpp"
#include "nobias/blas.hpp"
#include "nobias/mpi/mpi_communicator.hpp"
#include "nobias/threads.hpp"

namespace {

using namespace nobias_tools;

constexpr int kExitLost = 4;

struct MpiOptions {
  TrainOptions train;
  nobias::mpi::Mode mode = nobias::mpi::Mode::Deterministic;
};

std::optional<MpiOptions> parse(int argc, char** argv) {
  CLI::App app{"nobias-train, data-parallel over MPI ranks (run it under mpirun)",
               "nobias-train-mpi"};
  TrainFlags flags;
  define_train_flags(app, flags, kTrainMpiProgram);  // nobias-train's flags and --mpi-mode
  if (!parse_or_help(app, argc, argv)) return std::nullopt;
  MpiOptions options{resolve_train_options(flags), nobias::mpi::Mode::Deterministic};
  if (flags.value("--mpi-mode") == "fast") options.mode = nobias::mpi::Mode::Fast;
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  // Before MPI_Init: a restart on OpenBLAS's best kernel keeps the process id mpirun knows.
  nobias::use_best_blas_kernel(argv);
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  // Only rank 0 speaks: errors are agreed before they are thrown, so its message is everyone's.
  if (rank != 0) std::freopen("/dev/null", "w", stdout);
  if (rank == 0) nobias::warn_if_slow_blas_kernel();
  std::string lost;  // a rank was lost: each survivor says so, then the job is aborted
  const auto body = [&]() -> int {
    try {
      const std::optional<MpiOptions> options = parse(argc, argv);
      if (!options) return kExitOk;
      nobias::set_threads(options->train.threads.value_or(1));  // one rank per core
      nobias::mpi::MpiCommunicator world;
      return run_distributed(world, options->train, options->mode);
    } catch (const nobias::mpi::CommunicationError& e) {
      lost = e.what();
      return kExitLost;
    }
  };
  int code = kExitOk;
  if (rank == 0) {
    code = run_tool("nobias-train-mpi", body);
  } else {
    try {
      code = body();
    } catch (const nobias::DivergenceError&) {
      code = kExitDiverged;
    } catch (const std::exception&) {
      code = kExitBadInput;
    }
  }
  if (!lost.empty()) {
    std::fprintf(stderr, "nobias-train-mpi: %s\n", lost.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, kExitLost);  // the others may wait inside a collective
  }
  MPI_Finalize();
  return code;
}
