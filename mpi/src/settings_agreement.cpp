#include "settings_agreement.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <utility>

#include "nobias/names.hpp"
#include "nobias/targets.hpp"

namespace nobias::mpi::detail {
namespace {

// Bits of a double, for comparing settings exactly.
std::uint64_t bits(double value) {
  std::uint64_t out = 0;
  std::memcpy(&out, &value, sizeof out);
  return out;
}

double from_bits(std::uint64_t value) {
  double out = 0;
  std::memcpy(&out, &value, sizeof out);
  return out;
}

enum class Kind { Count, Real, Switch, Reduction, Optimizer, Mode, Dtype, Standardized, Hash };

// A setting's value as a user gave it: 0.001, not its bits; adam, not 2.
std::string shown(Kind kind, std::uint64_t value) {
  switch (kind) {
    case Kind::Real:
      return format_number(from_bits(value));
    case Kind::Switch:
      return value != 0 ? "on" : "off";
    case Kind::Reduction:
      return to_name(static_cast<Reduction>(value));
    case Kind::Optimizer:
      return to_name(static_cast<OptimizerKind>(value));
    case Kind::Mode:
      return static_cast<Mode>(value) == Mode::Fast ? "fast" : "deterministic";
    case Kind::Standardized:
      return value != 0 ? "standardized" : "not standardized";
    case Kind::Dtype:
      return value == sizeof(float) ? "f32" : "f64";
    case Kind::Count:
    case Kind::Hash:
      break;
  }
  return std::to_string(value);
}

}  // namespace

// What every rank must have been given alike; checked against rank 0's, in this order. The
// data are compared by their fingerprints, the training rows' and the validation rows' (as
// training reads them, standardized): another file of the same shape on one rank would train a
// silent mix, or stop early on another rank's verdict. The dtype and the standardization come
// before them: either changes every value, and is what the user must hear.
template <class T>
void check_same_everywhere(Communicator& comm, const Network<T>& net, const Optimizer<T>& optimizer,
                           const FitData<T>& data, const FitOptions& options,
                           const DistributedOptions& distributed) {
  const OptimizerConfig& o = optimizer.config();
  const Standardization* stats = data.standardization;
  DataFingerprint fingerprint, validation;
  agreed(comm, [&] {
    if (data.x.rows() != 0 && data.x.rows() == data.y.rows()) {
      fingerprint = fingerprint_data<T>(data.training_rows());
    }
    // Each rank checks a resume's validation rows by itself (fit): alike only if they are.
    if (data.validation != nullptr
            ? data.validation->rows() != 0
            : data.val_x.rows() != 0 && data.val_x.rows() == data.val_y.rows()) {
      validation = fingerprint_data<T>(data.validation_rows());
    }
  });
  const std::pair<const char*, Kind> settings[] = {
      {"dtype", Kind::Dtype},
      {"rows of x", Kind::Count},
      {"columns of x", Kind::Count},
      {"outputs", Kind::Count},
      {"validation rows", Kind::Count},
      {"epochs", Kind::Count},
      {"first_epoch", Kind::Count},
      {"batch_size", Kind::Count},
      {"seed", Kind::Count},
      {"shuffle", Kind::Switch},
      {"reduction", Kind::Reduction},
      {"mode", Kind::Mode},
      {"max_shards", Kind::Count},
      {"min_shard_rows", Kind::Count},
      {"patience", Kind::Count},
      {"tolerance", Kind::Real},
      {"optimizer", Kind::Optimizer},
      {"learning_rate", Kind::Real},
      {"momentum", Kind::Real},
      {"nesterov", Kind::Switch},
      {"weight_decay", Kind::Real},
      {"x", Kind::Standardized},
      {"y", Kind::Standardized},
      {"x's values", Kind::Hash},
      {"y's values", Kind::Hash},
      {"val_x's values", Kind::Hash},
      {"val_y's values", Kind::Hash},
      {"checkpointing", Kind::Switch},
      {"checkpoint.every", Kind::Count},
      {"the resumed best epoch", Kind::Count},
      {"the resumed epochs without improvement", Kind::Count}};
  std::uint64_t mine[] = {sizeof(T),
                          data.x.rows(),
                          data.x.cols(),
                          net.output_width(),
                          data.validation != nullptr ? data.validation->rows() : data.val_x.rows(),
                          options.epochs,
                          options.first_epoch,
                          options.batch_size,
                          options.seed,
                          options.shuffle,
                          static_cast<std::uint64_t>(options.reduction),
                          static_cast<std::uint64_t>(distributed.mode),
                          distributed.max_shards,
                          distributed.min_shard_rows,
                          options.early_stopping.patience,
                          bits(options.early_stopping.tolerance),
                          static_cast<std::uint64_t>(o.kind),
                          bits(o.learning_rate),
                          bits(o.momentum),
                          o.nesterov,
                          bits(o.weight_decay),
                          stats != nullptr && stats->has_x(),
                          stats != nullptr && stats->has_y(),
                          fingerprint.x_hash,
                          fingerprint.y_hash,
                          validation.x_hash,
                          validation.y_hash,
                          !options.checkpoint.dir.empty(),
                          options.checkpoint.every,
                          options.resumed_stopping.best_epoch,
                          options.resumed_stopping.epochs_without_improvement};
  static_assert(std::size(settings) == std::size(mine));
  std::uint64_t root[std::size(mine)];
  std::copy(std::begin(mine), std::end(mine), root);
  comm.broadcast(root, sizeof root, 0);
  agreed(comm, [&] {
    for (std::size_t i = 0; i < std::size(mine); ++i) {
      if (mine[i] == root[i]) continue;
      const auto [name, kind] = settings[i];
      throw ValueError("distributed_fit: " + std::string(name) +
                       (kind == Kind::Hash ? std::string(" differ from rank 0's")
                                           : " is " + shown(kind, mine[i]) + " here but " +
                                                 shown(kind, root[i]) + " on rank 0") +
                       "; every rank must be given the same data and options");
    }
  });
}

#define NOBIAS_INSTANTIATE(T)                                                                   \
  template void check_same_everywhere<T>(Communicator&, const Network<T>&, const Optimizer<T>&, \
                                         const FitData<T>&, const FitOptions&,                  \
                                         const DistributedOptions&);
NOBIAS_INSTANTIATE(float)
NOBIAS_INSTANTIATE(double)
#undef NOBIAS_INSTANTIATE

}  // namespace nobias::mpi::detail
