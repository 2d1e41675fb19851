// What a training run writes besides the weights.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace nobias_tools {

// step,loss with steps from first_step (a resumed run continues the numbering); %.17g so
// that every double reads back exactly. Atomic: the old file survives a failure.
void write_loss_csv(const std::string& path, const std::vector<double>& losses,
                    std::size_t first_step);

}  // namespace nobias_tools
