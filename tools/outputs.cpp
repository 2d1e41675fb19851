#include "outputs.hpp"

#include <cmath>
#include <ostream>
#include <string>

#include "nobias/csv.hpp"
#include "nobias/names.hpp"

namespace nobias_tools {

// Numbers as nobias::format_number writes them: the shortest text that reads back exactly.
using nobias::format_number;

const std::vector<std::string>& csv_output_extensions() {
  static const std::vector<std::string> extensions = {".csv", ".tsv"};
  return extensions;
}

void stage_loss_csv(nobias::StagedOutputs& outputs, const std::string& path,
                    const std::vector<double>& losses, std::size_t first_step) {
  outputs.stage_file(
      path,
      [&](std::ostream& out) {
        const char sep = nobias::csv_delimiter_for(path);  // a tab in a .tsv
        out << "step" << sep << "loss\n";
        for (std::size_t i = 0; i < losses.size(); ++i)
          out << first_step + i << sep << format_number(losses[i]) << "\n";
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
        const char s = nobias::csv_delimiter_for(path);  // a tab in a .tsv
        out << "epoch" << s << "train_loss";
        if (validation) out << s << "val_loss";
        if (per_row) out << s << "train_loss_per_row" << s << "val_loss_per_row";
        // Each task's own metrics, as the epoch lines.
        if (validation && classifier) out << s << "val_accuracy";
        if (validation && !classifier) out << s << "val_mse" << s << "val_mae" << s << "val_r2";
        out << s << "seconds\n";
        for (const HistoryRow& r : rows) {
          out << r.epoch << s << format_number(r.train_loss);
          if (validation) out << s << format_number(r.val_loss);
          if (per_row) {
            out << s << format_number(r.train_loss / static_cast<double>(train_rows)) << s
                << format_number(r.val_loss / static_cast<double>(val_rows));
          }
          if (validation && classifier) {
            out << s << format_number(r.val.accuracy.value_or(std::nan("")));
          } else if (validation) {
            out << s << format_number(r.val.mse) << s << format_number(r.val.mae) << s
                << format_number(r.val.r2);
          }
          out << s << format_number(r.seconds) << "\n";
        }
      },
      "--history");
}

}  // namespace nobias_tools
