#include "outputs.hpp"

#include <cmath>
#include <ostream>
#include <string>

#include "nobias/names.hpp"

namespace nobias_tools {

// Numbers as nobias::format_number writes them: the shortest text that reads back exactly.
using nobias::format_number;

void stage_loss_csv(nobias::StagedOutputs& outputs, const std::string& path,
                    const std::vector<double>& losses, std::size_t first_step) {
  outputs.stage_file(
      path,
      [&](std::ostream& out) {
        out << "step,loss\n";
        for (std::size_t i = 0; i < losses.size(); ++i)
          out << first_step + i << "," << format_number(losses[i]) << "\n";
      },
      "--loss-csv");
}

void stage_history_csv(nobias::StagedOutputs& outputs, const std::string& path,
                       const std::vector<HistoryRow>& rows, std::size_t train_rows,
                       std::size_t val_rows, bool summed, bool classifier) {
  const bool validation = val_rows > 0;
  const bool per_row = validation && summed && train_rows != val_rows;
  outputs.stage_file(
      path,
      [&](std::ostream& out) {
        out << "epoch,train_loss";
        if (validation) out << ",val_loss";
        if (per_row) out << ",train_loss_per_row,val_loss_per_row";
        // Each task's own metrics, as the epoch lines.
        if (validation) out << (classifier ? ",val_accuracy" : ",val_mse,val_mae,val_r2");
        out << ",seconds\n";
        for (const HistoryRow& r : rows) {
          out << r.epoch << "," << format_number(r.train_loss);
          if (validation) out << "," << format_number(r.val_loss);
          if (per_row) {
            out << "," << format_number(r.train_loss / static_cast<double>(train_rows)) << ","
                << format_number(r.val_loss / static_cast<double>(val_rows));
          }
          if (validation && classifier) {
            out << "," << format_number(r.val.accuracy.value_or(std::nan("")));
          } else if (validation) {
            out << "," << format_number(r.val.mse) << "," << format_number(r.val.mae) << ","
                << format_number(r.val.r2);
          }
          out << "," << format_number(r.seconds) << "\n";
        }
      },
      "--history");
}

}  // namespace nobias_tools
