// What nobias-train reports between epochs: validation metrics, the epoch line, early
// stopping's verdict (the driver's), the history rows, and the warnings for a run that is
// going nowhere.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "inputs.hpp"
#include "nobias/fit.hpp"
#include "nobias/metrics.hpp"
#include "nobias/network.hpp"
#include "nobias/targets.hpp"
#include "train_options.hpp"

namespace nobias_tools {

// One epoch as --history records it.
struct HistoryRow {
  std::size_t epoch = 0;
  double train_loss = 0.0, val_loss = 0.0;
  nobias::Metrics val;
  double seconds = 0.0;
};

template <class T>
class EpochMonitor {
 public:
  // validation in the user's units (not standardized): the metrics are in them, through
  // the statistics the network was trained with.
  EpochMonitor(nobias::Network<T>& net, const Data<T>& data,
               const std::optional<Data<T>>& validation, const nobias::Standardization& stats,
               const TrainOptions& o, std::size_t first_epoch);

  // Before training: the starting weights' loss, which the first epoch should lower.
  void start();
  // After every epoch.
  void epoch_done(const nobias::EpochReport& epoch);
  // After training: the dead-unit check.
  void finish();

  const std::vector<HistoryRow>& history() const { return history_; }
  bool classifier() const { return classifier_; }

 private:
  void warn_dead_layers();

  nobias::Network<T>& net_;
  const Data<T>& data_;
  const std::optional<Data<T>>& validation_;
  const nobias::Standardization& stats_;
  const TrainOptions& o_;
  std::size_t first_epoch_;
  bool classifier_ = false;
  bool per_row_ = false;     // summed losses over different row counts: also print them per row
  double start_loss_ = 0.0;  // over the training rows, per element
  std::vector<HistoryRow> history_;
};

}  // namespace nobias_tools
