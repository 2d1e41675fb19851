#include "outputs.hpp"

#include <cstdio>
#include <ostream>

#include "nobias/atomic_file.hpp"

namespace nobias_tools {

void write_loss_csv(const std::string& path, const std::vector<double>& losses,
                    std::size_t first_step) {
  nobias::write_file_atomically(
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

}  // namespace nobias_tools
