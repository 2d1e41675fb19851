// Samples/s of the distributed fit against the rank count, and the share of each step spent
// waiting for communication. Run under mpirun with 1, 2, ... ranks (run_scaling.sh does):
//
//   mpirun -np P nobias-mpi-bench [--mode fast|det] [--epochs E] [--n N] [--min-shard-rows R]
//
// One nobias thread per rank. Each configuration trains full epochs of batches of n rows
// (steps_per_epoch = max(1, 4096 / n)), one warm-up epoch, then E timed epochs; the median
// epoch gives samples/s. Rank 0 prints one markdown row per configuration.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "nobias/blas.hpp"
#include "nobias/init.hpp"
#include "nobias/mpi/distributed_fit.hpp"
#include "nobias/mpi/mpi_communicator.hpp"
#include "nobias/threads.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// Adds up the time spent inside the communicator's waits (sums, gathers, broadcasts): what
// the overlap did not hide.
class TimedCommunicator final : public nobias::mpi::Communicator {
 public:
  explicit TimedCommunicator(nobias::mpi::Communicator& inner) : inner_(inner) {}
  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }
  void start_sum(float* d, std::size_t n) override {
    timed([&] { inner_.start_sum(d, n); });
  }
  void start_sum(double* d, std::size_t n) override {
    timed([&] { inner_.start_sum(d, n); });
  }
  void progress() override {
    timed([&] { inner_.progress(); });
  }
  void wait_all() override {
    timed([&] { inner_.wait_all(); });
  }
  void broadcast(void* d, std::size_t b, int root) override {
    timed([&] { inner_.broadcast(d, b, root); });
  }
  void gather_all(const void* m, void* a, const std::vector<std::size_t>& b) override {
    timed([&] { inner_.gather_all(m, a, b); });
  }
  double seconds = 0.0;

 private:
  template <class F>
  void timed(F&& f) {
    const auto start = Clock::now();
    f();
    seconds += std::chrono::duration<double>(Clock::now() - start).count();
  }
  nobias::mpi::Communicator& inner_;
};

void run(nobias::mpi::MpiCommunicator& world, const std::vector<std::size_t>& widths, std::size_t n,
         nobias::mpi::Mode mode, std::size_t epochs, std::size_t min_shard_rows) {
  const std::size_t steps = std::max<std::size_t>(1, 4096 / n), rows = n * steps;
  nobias::Matrix<float> x(rows, widths.front()), y(rows, widths.back());
  nobias::NormalGenerator generator(7);
  nobias::fill_normal(x.view(), generator, 1.0);
  nobias::fill_normal(y.view(), generator, 1.0);
  nobias::Network<float> net(widths, 1, nobias::Init::He);
  nobias::OptimizerConfig config;
  config.learning_rate = 1e-4;
  nobias::Optimizer<float> optimizer(config, net);
  nobias::FitOptions options;
  options.epochs = epochs + 1;
  options.batch_size = n;
  options.reduction = nobias::Reduction::Mean;
  nobias::mpi::DistributedOptions distributed;
  distributed.mode = mode;
  if (min_shard_rows > 0) distributed.min_shard_rows = min_shard_rows;
  TimedCommunicator comm(world);
  std::vector<double> seconds, waits;
  double wait_before = 0.0;
  options.on_epoch = [&](const nobias::EpochReport& r) {
    if (r.epoch > 1) {  // the first is the warm-up
      seconds.push_back(r.seconds);
      waits.push_back((comm.seconds - wait_before) / r.seconds);
    }
    wait_before = comm.seconds;
    return true;
  };
  nobias::mpi::distributed_fit(comm, net, optimizer, {x, y}, options, distributed);
  std::sort(seconds.begin(), seconds.end());
  std::sort(waits.begin(), waits.end());
  const double median = seconds[seconds.size() / 2];
  if (world.rank() == 0) {
    std::string name;
    for (std::size_t w : widths)
      name += (name.empty() ? "" : ",") + std::to_string(w);
    std::printf("| %s | %zu | %s | %d | %.0f | %.1f%% |\n", name.c_str(), n,
                mode == nobias::mpi::Mode::Fast ? "fast" : "det", world.size(),
                static_cast<double>(rows) / median, 100.0 * waits[waits.size() / 2]);
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  nobias::set_threads(1);
  std::vector<nobias::mpi::Mode> modes{nobias::mpi::Mode::Fast, nobias::mpi::Mode::Deterministic};
  std::size_t epochs = 5, min_shard_rows = 0;
  std::vector<std::size_t> batches{256, 4096};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--mode" && value == "fast") modes = {nobias::mpi::Mode::Fast};
    if (flag == "--mode" && value == "det") modes = {nobias::mpi::Mode::Deterministic};
    if (flag == "--epochs") epochs = std::stoul(value);
    if (flag == "--min-shard-rows") min_shard_rows = std::stoul(value);
    if (flag == "--n") batches = {std::stoul(value)};
  }
  {
    nobias::mpi::MpiCommunicator world;
    // On stderr, so that stdout stays the table: measure_scaling.py records which GEMM ran.
    if (world.rank() == 0) std::fprintf(stderr, "gemm: %s\n", nobias::blas_description().c_str());
    for (const auto& widths : {std::vector<std::size_t>{1000, 100, 100, 10},
                               std::vector<std::size_t>{784, 512, 512, 10}}) {
      for (std::size_t n : batches) {
        for (nobias::mpi::Mode mode : modes)
          run(world, widths, n, mode, epochs, min_shard_rows);
      }
    }
  }
  MPI_Finalize();
  return 0;
}
