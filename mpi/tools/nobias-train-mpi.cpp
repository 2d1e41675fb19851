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

#include <CLI/CLI.hpp>
#include <chrono>
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

// Collective: every rank throws Problem if any rank has a problem (mine: "" for none). A
// failing rank reports its own message; the others report the first failing rank's
// ("rank R: ...").
template <class Problem>
void agree_or_throw(nobias::mpi::Communicator& world, const std::string& mine) {
  std::string first = mine;
  const auto kind = nobias::mpi::agree_on_error(
      world, mine.empty() ? nobias::mpi::ErrorKind::None : nobias::mpi::ErrorKind::Value, first);
  if (kind != nobias::mpi::ErrorKind::None) throw Problem(mine.empty() ? first : mine);
}

// The environment the run reads: NOBIAS_SGEMM and NOBIAS_DGEMM (whichever precision this run
// uses, as nobias-train checks them) and NOBIAS_MPI_TIMEOUT. Read before the communicator is
// made and agreed on in its first collective: a bad value on one rank, thrown there alone, would
// leave the others waiting for it until the timeout. Returns the problem, or "" for none; timeout
// gets NOBIAS_MPI_TIMEOUT's value when it is good (the default otherwise).
std::string environment_problem(std::chrono::duration<double>& timeout) {
  try {
    (void)nobias::blas_description();
    timeout = nobias::mpi::default_timeout();
  } catch (const nobias::Error& e) {
    return e.what();
  }
  return "";
}

// parse() on every rank, then agreed: a rank whose flags fail must not leave the others waiting
// in the first collective. Every rank must also agree on whether to run at all (--help).
std::optional<MpiOptions> parse_everywhere(nobias::mpi::Communicator& world, int argc,
                                           char** argv) {
  const auto agree = [&](const std::string& mine) { agree_or_throw<UsageError>(world, mine); };
  std::optional<MpiOptions> options;
  std::string problem;
  try {
    options = parse(argc, argv);
  } catch (const UsageError& e) {
    problem = e.what();
  } catch (const nobias::Error& e) {
    problem = e.what();
  }
  agree(problem);
  unsigned char run = options ? 1 : 0, root_run = run;
  world.broadcast(&root_run, 1, 0);
  agree(run == root_run ? std::string()
                        : std::string(run ? "this rank would train but rank 0 only prints help or "
                                            "the version"
                                          : "this rank only prints help or the version but rank 0 "
                                            "would train") +
                              ": give every rank the same flags");
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  // On every rank and before MPI_Init, whose descriptors could take a closed stdout's number.
  prepare_process();
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
      std::chrono::duration<double> timeout(300.0);  // for the agreement on a bad variable
      const std::string problem = environment_problem(timeout);
      nobias::mpi::MpiCommunicator world(MPI_COMM_WORLD, timeout);
      // A ValueError: exit 2 on every rank, without --help's hint (no flag is wrong).
      agree_or_throw<nobias::ValueError>(world, problem);
      const std::optional<MpiOptions> options = parse_everywhere(world, argc, argv);
      if (!options) return kExitOk;
      nobias::set_threads(options->train.threads.value_or(1));  // one rank per core
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
