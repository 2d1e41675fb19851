// What a training run writes besides the weights.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "epoch_monitor.hpp"

namespace nobias_tools {

// step,loss with steps from first_step (a resumed run continues the numbering); %.17g so
// that every double reads back exactly. Atomic: the old file survives a failure.
void write_loss_csv(const std::string& path, const std::vector<double>& losses,
                    std::size_t first_step);

// --history: epoch,train_loss,val_loss[,train_loss_per_row,val_loss_per_row],val_mse,val_mae,
// val_r2[,val_accuracy],seconds. The per-row columns when the losses are sums over different
// row counts (train_rows, val_rows; val_rows 0 without validation, and then no val_ columns).
void write_history_csv(const std::string& path, const std::vector<HistoryRow>& rows,
                       std::size_t train_rows, std::size_t val_rows, bool summed, bool classifier);

}  // namespace nobias_tools
