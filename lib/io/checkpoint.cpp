#include "nobias/checkpoint.hpp"
#include "nobias/names.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <system_error>
#include <type_traits>
#include <vector>

#include "core/printable.hpp"
#include "io/atomic_file.hpp"
#include "io/checkpoint_cleanup.hpp"
#include "io/checkpoint_state.hpp"
#include "io/checksum.hpp"
#include "io/npy_reader.hpp"
#include "io/regular_file.hpp"
#include "nobias/error.hpp"
#include "nobias/kernels.hpp"
#include "nobias/npy.hpp"
#include "nobias/weights_io.hpp"

namespace nobias {
namespace {

namespace fs = std::filesystem;
using detail::is_array_name;
using detail::is_state_name;
using detail::printable;
using detail::state_name;

[[noreturn]] void bad(const std::string& dir, const std::string& what) {
  throw IoError("load_checkpoint: " + dir + ": " + what);
}

}  // namespace

std::size_t longest_name_in_checkpoint() {
  // state_name's epochs (any std::size_t), a second save's ".K" (an int), then a temporary
  // inside the state being built; CURRENT's temporary beside it is shorter.
  const std::size_t state = std::strlen("state-") + std::numeric_limits<std::size_t>::digits10 + 1 +
                            1 + std::numeric_limits<int>::digits10 + 1 + std::strlen(".building");
  return state + 1 + kMaxTemporaryNameLength;
}

template <class T>
void save_checkpoint(const std::string& dir, const Network<T>& net, const Optimizer<T>& optimizer,
                     const TrainingProgress& progress, const DataFingerprint& data,
                     const std::vector<Matrix<T>>& best_weights,
                     const ValidationFingerprint& validation) {
  const bool best = progress.stopping.patience > 0 && progress.stopping.best_epoch > 0;
  if (best) {
    bool fits = best_weights.size() == net.layers();
    for (std::size_t k = 0; fits && k < net.layers(); ++k) {
      fits = best_weights[k].rows() == net.weight(k).rows() &&
             best_weights[k].cols() == net.weight(k).cols();
    }
    if (!fits) {
      throw ValueError("save_checkpoint: progress records a best epoch (" +
                       std::to_string(progress.stopping.best_epoch) +
                       ") but best_weights are not the network's shapes");
    }
  }
  for (const char c : data.source) {
    if (c < 0x20 || c > 0x7e) {
      throw ValueError("save_checkpoint: the data's source must be one line of printable ASCII");
    }
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError("save_checkpoint: cannot create '" + dir + "' (" + ec.message() + ")");
  // Never reuse a name: the one CURRENT names must stay whole until the new state commits, and
  // an entry of that name may be the user's. Nor a building name held by anything but the
  // debris of an interrupted save, which goes.
  const auto usable = [&](const std::string& candidate) {
    std::error_code status_ec;
    if (fs::exists(fs::symlink_status(fs::path(dir) / candidate, status_ec))) return false;
    return detail::clear_interrupted_save(fs::path(dir) / (candidate + ".building"));
  };
  std::string name = state_name(progress.epochs_done);
  for (int copy = 1; !usable(name); ++copy)
    name = state_name(progress.epochs_done) + "." + std::to_string(copy);
  const fs::path state = fs::path(dir) / name;
  // The state is built under a temporary name: a crash leaves only debris, never a state
  // that looks complete.
  const fs::path building = fs::path(dir) / (name + ".building");
  if (!fs::create_directory(building, ec) || ec) {
    throw IoError("save_checkpoint: cannot create '" + building.string() + "' (" + ec.message() +
                  ")");
  }
  detail::StateFile file;
  file.dtype = std::is_same_v<T, float> ? "f32" : "f64";
  file.layers = net.layers();
  // Fields the kind does not use are stored as their defaults: whatever a caller left in
  // them, the state must load.
  const OptimizerConfig& c = optimizer.config();
  OptimizerConfig& stored = file.optimizer;
  stored.kind = c.kind;
  stored.learning_rate = c.learning_rate;
  stored.weight_decay = c.weight_decay;
  if (c.kind == OptimizerKind::Momentum) {
    stored.momentum = c.momentum;
    stored.nesterov = c.nesterov;
  }
  if (c.kind == OptimizerKind::Adam) {
    stored.beta1 = c.beta1;
    stored.beta2 = c.beta2;
    stored.epsilon = c.epsilon;
  }
  const OptimizerState<T> moments = optimizer.state();
  file.optimizer_steps = moments.steps;
  file.progress = progress;
  file.data = data;
  file.validation = validation;
  file.validation.data.source.clear();  // not kept: the training data's source says it
  std::vector<MatrixView<const T>> arrays;
  for (const Matrix<T>& w : net.weights())
    arrays.push_back(w.view());
  arrays.insert(arrays.end(), moments.first.begin(), moments.first.end());
  arrays.insert(arrays.end(), moments.second.begin(), moments.second.end());
  if (best) {
    for (const Matrix<T>& w : best_weights)
      arrays.push_back(w.view());
  }
  const std::vector<std::string> names = detail::state_files(c.kind, file.layers, best);
  for (std::size_t i = 0; i < names.size(); ++i) {
    const fs::path path = building / names[i];
    write_npy<T>(path.string(), arrays[i]);
    // The checksum of what is on disk, read back: it vouches for the file, not for the intent.
    const std::optional<std::string> bytes =
        detail::read_regular_file(path.string(), "save_checkpoint: " + path.string() + ": ");
    if (!bytes) throw IoError("save_checkpoint: cannot read back '" + path.string() + "'");
    file.checksums[names[i]] = fnv1a64(bytes->data(), bytes->size());
  }
  write_file_atomically((building / "state.txt").string(),
                        [&](std::ostream& out) { out << detail::format_state(file); },
                        "save_checkpoint");
  sync_directory(building.string());  // its files' names, before the directory is published
  fs::rename(building, state, ec);
  if (ec) {
    throw IoError("save_checkpoint: cannot rename into '" + state.string() + "' (" + ec.message() +
                  ")");
  }
  sync_directory(dir);
  // The commit point: until CURRENT names the new state, the previous one is the checkpoint.
  write_file_atomically((fs::path(dir) / "CURRENT").string(),
                        [&](std::ostream& out) { out << name << "\n"; }, "save_checkpoint");
  // Superseded states and debris of interrupted saves, those a save provably made; a failure
  // here is harmless.
  detail::remove_superseded_states(dir, name);
}

template <class T>
Checkpoint<T> load_checkpoint(const std::string& dir) {
  const std::string prefix = "load_checkpoint: " + dir + ": ";
  // Each file read whole, and only if it is a regular file: a FIFO named like one is refused at
  // once, never waited on for a writer.
  const auto read = [&](const std::string& in_dir) {
    return detail::read_regular_file((fs::path(dir) / in_dir).string(), prefix + in_dir + ": ");
  };
  const std::optional<std::string> current = read("CURRENT");
  std::istringstream current_lines(current ? *current : std::string());
  std::string name;
  if (!current || !std::getline(current_lines, name)) {
    bad(dir, "no CURRENT file naming a state (is it a checkpoint directory?)");
  }
  if (!is_state_name(name, false)) bad(dir, "CURRENT names '" + printable(name) + "', not a state");
  const fs::path state = fs::path(dir) / name;
  const std::optional<std::string> text = read(name + "/state.txt");
  if (!text) bad(dir, "cannot read state.txt");
  const detail::StateFile file = detail::parse_state(*text, prefix);
  if (name.compare(0, 12, state_name(file.progress.epochs_done)) != 0) {
    bad(dir, "state.txt's epochs_done does not match the state's name " + name);
  }
  const bool best = file.progress.stopping.best_epoch > 0;
  const std::vector<std::string> names =
      detail::state_files(file.optimizer.kind, file.layers, best);
  std::error_code ec;
  for (fs::directory_iterator it(state, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string other = it->path().filename().string();
    if (is_array_name(other) && file.checksums.count(other) == 0) {
      bad(dir, "the state holds " + printable(other) + ", which state.txt does not record (" +
                   std::to_string(file.layers) + " layers, " + to_name(file.optimizer.kind) + ")");
    }
  }
  // Every file's bytes against the checksum state.txt recorded, before any is parsed.
  std::vector<Matrix<T>> arrays;
  for (const std::string& array : names) {
    const std::optional<std::string> read_bytes = read(name + "/" + array);
    if (!read_bytes) bad(dir, array + " is missing (state.txt records its checksum)");
    const std::string& bytes = *read_bytes;
    const std::uint64_t sum = fnv1a64(bytes.data(), bytes.size());
    if (sum != file.checksums.at(array)) {
      bad(dir, array + " is damaged: its checksum is " + detail::hex64(sum) + ", state.txt says " +
                   detail::hex64(file.checksums.at(array)));
    }
    std::istringstream in(bytes);
    arrays.push_back(detail::read_npy_stream<T>(in, bytes.size(), prefix + array + ": "));
  }
  Checkpoint<T> checkpoint;
  checkpoint.dtype = file.dtype;
  checkpoint.optimizer = file.optimizer;
  checkpoint.optimizer_steps = file.optimizer_steps;
  checkpoint.progress = file.progress;
  checkpoint.data = file.data;
  checkpoint.validation = file.validation;
  const std::size_t layers = file.layers;
  // In state_files' order: w, then the moments the kind has, then the best weights.
  std::vector<std::vector<Matrix<T>>*> groups = {&checkpoint.weights};
  if (file.optimizer.kind != OptimizerKind::Sgd) groups.push_back(&checkpoint.first);
  if (file.optimizer.kind == OptimizerKind::Adam) groups.push_back(&checkpoint.second);
  if (best) groups.push_back(&checkpoint.best_weights);
  for (std::size_t i = 0; i < arrays.size(); ++i)
    groups[i / layers]->push_back(std::move(arrays[i]));
  // Shapes that chain, moments shaped as their weights, values a run could have produced.
  for (std::size_t k = 0; k < layers; ++k) {
    const Matrix<T>& w = checkpoint.weights[k];
    if (k > 0 && w.rows() != checkpoint.weights[k - 1].cols()) {
      bad(dir, "w" + std::to_string(k + 1) + ".npy is " + shape_string(w.rows(), w.cols()) +
                   " but w" + std::to_string(k) + ".npy has " +
                   std::to_string(checkpoint.weights[k - 1].cols()) + " columns");
    }
    if (w.size() == 0) bad(dir, "w" + std::to_string(k + 1) + ".npy is empty");
    for (const auto* moments : {&checkpoint.first, &checkpoint.second, &checkpoint.best_weights}) {
      if (moments->empty()) continue;
      const Matrix<T>& m = (*moments)[k];
      if (m.rows() != w.rows() || m.cols() != w.cols()) {
        bad(dir, std::string(moments == &checkpoint.first    ? "first"
                             : moments == &checkpoint.second ? "second"
                                                             : "best") +
                     std::to_string(k + 1) + ".npy is " + shape_string(m.rows(), m.cols()) +
                     ", its weight " + shape_string(w.rows(), w.cols()));
      }
    }
  }
  // A corrupt state must read as bad input, not later as a diverged loss.
  const auto finite = [&](const std::vector<Matrix<T>>& matrices, const char* stem) {
    for (std::size_t k = 0; k < matrices.size(); ++k) {
      try {
        require_finite(matrices[k], std::string(stem) + std::to_string(k + 1) + ".npy");
      } catch (const ValueError& e) {
        bad(dir, e.what());
      }
    }
  };
  finite(checkpoint.weights, "w");
  finite(checkpoint.first, "first");
  finite(checkpoint.second, "second");
  finite(checkpoint.best_weights, "best");
  for (std::size_t k = 0; k < checkpoint.second.size(); ++k) {
    const Matrix<T>& m = checkpoint.second[k];
    for (std::size_t i = 0; i < m.size(); ++i)
      if (m.data()[i] < T(0)) bad(dir, "second" + std::to_string(k + 1) + ".npy is negative");
  }
  if (checkpoint.optimizer_steps == 0) {
    for (const auto* moments : {&checkpoint.first, &checkpoint.second}) {
      for (std::size_t k = 0; k < moments->size(); ++k) {
        const Matrix<T>& m = (*moments)[k];
        for (std::size_t i = 0; i < m.size(); ++i) {
          if (m.data()[i] != T(0)) {
            bad(dir, "state.txt: optimizer_steps is 0 but " +
                         std::string(moments == &checkpoint.first ? "first" : "second") +
                         std::to_string(k + 1) + ".npy is not all zeros");
          }
        }
      }
    }
  }
  return checkpoint;
}

template <class T>
void restore_optimizer(Optimizer<T>& optimizer, const Checkpoint<T>& checkpoint) {
  optimizer.restore(checkpoint.optimizer.kind, checkpoint.optimizer_steps, checkpoint.first,
                    checkpoint.second);
}

#define NOBIAS_CHECKPOINT(T)                                                                     \
  template void save_checkpoint<T>(const std::string&, const Network<T>&, const Optimizer<T>&,   \
                                   const TrainingProgress&, const DataFingerprint&,              \
                                   const std::vector<Matrix<T>>&, const ValidationFingerprint&); \
  template Checkpoint<T> load_checkpoint<T>(const std::string&);                                 \
  template void restore_optimizer<T>(Optimizer<T>&, const Checkpoint<T>&);
NOBIAS_CHECKPOINT(float)
NOBIAS_CHECKPOINT(double)
#undef NOBIAS_CHECKPOINT

}  // namespace nobias
