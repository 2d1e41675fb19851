// An installed nobias::mpi at work: the distributed fit on MPI_COMM_WORLD (a singleton here)
// and on a LocalCommunicator give the same bits in deterministic mode, and the loss falls.
#include <mpi.h>

#include <cstdio>
#include <cstring>

#include "nobias/mpi/distributed_fit.hpp"
#include "nobias/mpi/mpi_communicator.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  nobias::Matrix<float> x(50, 6), y(50, 2);
  for (std::size_t i = 0; i < 50; ++i) {
    for (std::size_t j = 0; j < 6; ++j)
      x.view()(i, j) = static_cast<float>((i * 7 + j * 3) % 11) / 11.0f;
    y.view()(i, 0) = x.view()(i, 0) + x.view()(i, 1);
    y.view()(i, 1) = x.view()(i, 2);
  }
  nobias::FitOptions options;
  options.epochs = 20;
  options.batch_size = 20;
  options.reduction = nobias::Reduction::Mean;
  nobias::OptimizerConfig config;
  config.learning_rate = 0.05;
  nobias::Network<float> a({6, 8, 2}, 1, nobias::Init::He), b(a);
  nobias::Optimizer<float> oa(config, a), ob(config, b);
  nobias::mpi::MpiCommunicator world;
  nobias::mpi::LocalCommunicator local;
  const auto reports = nobias::mpi::distributed_fit(world, a, oa, {x, y}, options).epochs;
  nobias::mpi::distributed_fit(local, b, ob, {x, y}, options);
  const bool same =
      std::memcmp(a.weight(0).data(), b.weight(0).data(), a.weight(0).size() * sizeof(float)) == 0;
  const bool fell = reports.back().train_loss < 0.5 * reports.front().train_loss;
  std::printf("loss %g -> %g, same bits: %s\n", reports.front().train_loss,
              reports.back().train_loss, same ? "yes" : "no");
  MPI_Finalize();
  return same && fell ? 0 : 1;
}
