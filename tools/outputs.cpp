#include "outputs.hpp"

#include <cmath>
#include <cstdio>
#include <ostream>

#include "nobias/atomic_file.hpp"

namespace nobias_tools {

void stage_loss_csv(nobias::StagedOutputs& outputs, const std::string& path,
                    const std::vector<double>& losses, std::size_t first_step) {
  outputs.stage_file(
      path,
      [&](std::ostream& out) {
        out << "step,loss\n";
        char line[64];
        for (std::size_t i = 0; i < losses.size(); ++i) {
          std::snprintf(line, sizeof line, "%zu,%.17g\n", first_step + i, losses[i]);
          out << line;
        }
      },
      "--loss-csv");
}

namespace {

// %.17g: every double reads back exactly; NaN as "nan".
std::string exact(double value) {
  if (std::isnan(value)) return "nan";
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

}  // namespace

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
        if (validation) out << ",val_mse,val_mae,val_r2";
        if (classifier) out << ",val_accuracy";
        out << ",seconds\n";
        for (const HistoryRow& r : rows) {
          out << r.epoch << "," << exact(r.train_loss);
          if (validation) out << "," << exact(r.val_loss);
          if (per_row) {
            out << "," << exact(r.train_loss / static_cast<double>(train_rows)) << ","
                << exact(r.val_loss / static_cast<double>(val_rows));
          }
          if (validation)
            out << "," << exact(r.val.mse) << "," << exact(r.val.mae) << "," << exact(r.val.r2);
          if (classifier) out << "," << exact(r.val.accuracy.value_or(std::nan("")));
          out << "," << exact(r.seconds) << "\n";
        }
      },
      "--history");
}

}  // namespace nobias_tools
