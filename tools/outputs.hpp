// What a training run writes besides the weights.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "epoch_monitor.hpp"
#include "output_plan.hpp"

namespace nobias_tools {

// Both are CSV, with a tab between fields when path ends in .tsv (nobias::csv_delimiter_for),
// as nobias-predict's --out.

// The names --loss-csv and --history take (PathPlan::add_output_file): .csv, .tsv, or none
// (a device, a FIFO: CSV). Any other (loss.npy, history.json) is refused before training.
const std::vector<std::string>& csv_output_extensions();

// step,loss with steps from first_step (a resumed run continues the numbering); %.17g so
// that every double reads back exactly. Staged into outputs: nothing visible until commit.
void stage_loss_csv(nobias::StagedOutputs& outputs, const std::string& path,
                    const std::vector<double>& losses, std::size_t first_step);

// --history: epoch,train_loss,val_loss[,train_loss_per_row,val_loss_per_row], then a
// classifier's val_accuracy or a regression's val_mse,val_mae,val_r2, then seconds. The
// per-row columns when the losses are sums over different row counts (train_rows, val_rows;
// val_rows 0 without validation, and then no val_ columns).
void stage_history_csv(nobias::StagedOutputs& outputs, const std::string& path,
                       const std::vector<HistoryRow>& rows, std::size_t train_rows,
                       std::size_t val_rows, bool summed, bool classifier);

}  // namespace nobias_tools
