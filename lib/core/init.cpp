#include "nobias/init.hpp"

#include <cmath>

#include "core/splitmix64.hpp"

namespace nobias {
namespace {

std::uint64_t rotl(std::uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

}  // namespace

NormalGenerator::NormalGenerator(std::uint64_t seed, std::uint64_t stream) {
  // An odd multiplier keeps (seed, stream) pairs apart; stream 0 is the seed alone.
  std::uint64_t x = seed + stream * 0xd1b54a32d192ed03ULL;
  for (auto& word : state_)
    word = detail::splitmix64(x);
}

std::uint64_t NormalGenerator::next_bits() {  // xoshiro256**
  const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const std::uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

double NormalGenerator::next() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  // Box-Muller on u1 in (0, 1], so log(u1) is finite.
  const double scale = 1.0 / 9007199254740992.0;  // 2^-53
  const double u1 = static_cast<double>((next_bits() >> 11) + 1) * scale;
  const double u2 = static_cast<double>(next_bits() >> 11) * scale;
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 6.283185307179586 * u2;
  spare_ = radius * std::sin(angle);
  has_spare_ = true;
  return radius * std::cos(angle);
}

double init_scale(Init init, std::size_t fan_in, std::size_t fan_out) {
  const double in = static_cast<double>(fan_in), out = static_cast<double>(fan_out);
  switch (init) {
    case Init::He:
      return std::sqrt(2.0 / in);
    case Init::LeCun:
      return std::sqrt(1.0 / in);
    case Init::Glorot:
      return std::sqrt(2.0 / (in + out));
    case Init::HalfGlorot:
      return 0.5 * std::sqrt(2.0 / (in + out));
    case Init::StandardNormal:
      break;
  }
  return 1.0;
}

template <class T>
void fill_normal(MatrixView<T> m, NormalGenerator& generator, double scale) {
  if (!std::isfinite(scale)) {
    throw ValueError("fill_normal: scale must be finite, got " + std::to_string(scale));
  }
  for (std::size_t i = 0; i < m.rows(); ++i) {
    T* row = m.row(i);
    for (std::size_t j = 0; j < m.cols(); ++j)
      row[j] = static_cast<T>(scale * generator.next());
  }
}

template void fill_normal<float>(MatrixView<float>, NormalGenerator&, double);
template void fill_normal<double>(MatrixView<double>, NormalGenerator&, double);

}  // namespace nobias
