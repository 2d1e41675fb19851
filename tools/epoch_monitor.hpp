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
#include "nobias/row_source.hpp"
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
  // train: the rows that train, as training reads them (standardized); classes: > 0 for a
  // classifier. validation: its rows as training reads them (standardized; no rows: none),
  // validation_y its targets in the user's units: the metrics are in them, through the
  // statistics the network was trained with. train and validation must outlive the monitor.
  EpochMonitor(nobias::Network<T>& net, const nobias::RowSource<T>& train, std::size_t classes,
               const nobias::RowSource<T>& validation, nobias::MatrixView<const T> validation_y,
               const nobias::Standardization& stats, const TrainOptions& o, std::size_t first_epoch,
               const char* program = "nobias-train");

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
  const nobias::RowSource<T>& train_;
  const nobias::RowSource<T>& validation_;
  nobias::MatrixView<const T> validation_y_;
  nobias::Standardization y_stats_;  // the statistics without x's: validation's x is standardized
  const TrainOptions& o_;
  std::size_t first_epoch_;
  const char* program_;  // the tool's name, which its warnings begin with
  bool classifier_ = false;
  bool per_row_ = false;     // summed losses over different row counts: also print them per row
  double start_loss_ = 0.0;  // over the training rows, per element
  std::vector<HistoryRow> history_;
};

}  // namespace nobias_tools
