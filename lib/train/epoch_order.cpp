// The order of an epoch's rows: a seeded Fisher-Yates shuffle that every front door and every
// rank computes alike, so a run's batches depend on the seed and the epoch alone.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

#include "core/splitmix64.hpp"
#include "nobias/fit.hpp"

namespace nobias {
namespace {

// Uniform in [0, bound) without modulo bias (rejection on the top remainder).
std::uint64_t below(std::uint64_t bound, std::uint64_t& state) {
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % bound;
  std::uint64_t r;
  do
    r = detail::splitmix64(state);
  while (r >= limit);
  return r % bound;
}

}  // namespace

std::vector<std::size_t> shuffled_order(std::size_t rows, std::uint64_t seed, std::size_t epoch) {
  std::vector<std::size_t> order(rows);
  shuffle_rows(order, seed, epoch);
  return order;
}

void shuffle_rows(std::vector<std::size_t>& order, std::uint64_t seed, std::size_t epoch) {
  const std::size_t rows = order.size();
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::uint64_t state = seed ^ (0xd1b54a32d192ed03ULL * (static_cast<std::uint64_t>(epoch) + 1));
  for (std::size_t i = rows; i > 1; --i) {  // Fisher-Yates
    const auto j = static_cast<std::size_t>(below(i, state));
    std::swap(order[i - 1], order[j]);
  }
}

std::size_t steps_per_epoch(std::size_t rows, std::size_t batch_size) {
  if (rows == 0) return 0;
  const std::size_t batch = batch_size == 0 ? rows : std::min(batch_size, rows);
  return rows / batch + (rows % batch != 0 ? 1 : 0);
}

}  // namespace nobias
