// What a loader makes of a directory, for tests/kill_test.py: one line on stdout,
//   "ok <fnv1a64 of every weight's bytes, in order>"  or  "refused <the error message>".
//   nobias-load-probe weights DIR      load_weights<double>
//   nobias-load-probe checkpoint DIR   load_checkpoint<double>
// Exit 0 for ok, 3 for refused (an nobias::Error), 2 for bad usage.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "io/atomic_file.hpp"
#include "nobias/checkpoint.hpp"
#include "nobias/error.hpp"
#include "nobias/weights_io.hpp"

namespace {

std::uint64_t hash_of(const std::vector<nobias::Matrix<double>>& weights) {
  std::uint64_t hash = nobias::kFnv1a64Offset;
  for (const auto& w : weights) {
    const std::uint64_t shape[2] = {w.rows(), w.cols()};
    hash = nobias::fnv1a64(shape, sizeof shape, hash);
    hash = nobias::fnv1a64(w.data(), w.size() * sizeof(double), hash);
  }
  return hash;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 ||
      (std::strcmp(argv[1], "weights") != 0 && std::strcmp(argv[1], "checkpoint") != 0)) {
    std::fprintf(stderr, "usage: nobias-load-probe weights|checkpoint DIR\n");
    return 2;
  }
  try {
    const bool weights = std::strcmp(argv[1], "weights") == 0;
    const std::uint64_t hash = weights ? hash_of(nobias::load_weights<double>(argv[2]))
                                       : hash_of(nobias::load_checkpoint<double>(argv[2]).weights);
    std::printf("ok %016llx\n", static_cast<unsigned long long>(hash));
    return 0;
  } catch (const nobias::Error& e) {
    std::printf("refused %s\n", e.what());
    return 3;
  }
}
