#include "nobias/checkpoint.hpp"
#include "nobias/names.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>
#include <system_error>
#include <type_traits>
#include <vector>

#include "core/printable.hpp"
#include "io/atomic_file.hpp"
#include "io/checkpoint_state.hpp"
#include "io/checksum.hpp"
#include "io/npy_reader.hpp"
#include "nobias/error.hpp"
#include "nobias/kernels.hpp"
#include "nobias/npy.hpp"
#include "nobias/weights_io.hpp"

namespace nobias {
namespace {

namespace fs = std::filesystem;
using detail::printable;

std::string state_name(std::size_t epochs_done) {
  char name[32];
  std::snprintf(name, sizeof name, "state-%06zu", epochs_done);
  return name;
}

std::string read_bytes(const fs::path& path, bool& found) {
  std::ifstream in(path, std::ios::binary);
  found = static_cast<bool>(in);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// w3.npy, first12.npy, second1.npy: the names of a state's arrays.
bool is_array_name(const std::string& name) {
  for (const char* stem : {"w", "first", "second", "best"}) {
    const std::size_t n = std::strlen(stem);
    if (name.compare(0, n, stem) != 0 || name.size() < n + 5) continue;
    if (name.compare(name.size() - 4, 4, ".npy") != 0) continue;
    bool digits = true;
    for (std::size_t i = n; i + 4 < name.size(); ++i)
      digits = digits && std::isdigit(static_cast<unsigned char>(name[i]));
    if (digits) return true;
  }
  return false;
}

// state-NNNNNN, optionally .K (a second save of one epoch) and .building (not committed):
// the only names a checkpoint writes, and the only ones it ever deletes.
bool is_state_name(const std::string& name, bool allow_building) {
  std::size_t i = 6;
  if (name.compare(0, 6, "state-") != 0 || name.size() < 12) return false;
  for (; i < 12; ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  if (i < name.size() && name[i] == '.' && i + 1 < name.size() &&
      std::isdigit(static_cast<unsigned char>(name[i + 1]))) {
    for (++i; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) {
    }
  }
  if (allow_building && name.compare(i, std::string::npos, ".building") == 0) return true;
  return i == name.size();
}

// Whether path is a state (or the debris of an interrupted save) that save_checkpoint made: a
// directory, not a link, holding nothing but the files a save writes there (the arrays,
// state.txt, and their temporaries); a committed state (committed) also holds a state.txt in
// the checkpoint format, unless it is empty (what a removal killed before its rmdir leaves:
// remove_state takes state.txt last). Anything else named like a state is not nobias's to
// remove: a user's file, a directory of theirs, or one of nobias's to which they added a file.
bool made_by_a_save(const fs::path& path, bool committed) {
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(path, ec))) return false;
  bool state_txt = false, empty = true;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const bool written = name == "state.txt" || is_array_name(name) || is_temporary_name(name);
    std::error_code type_ec;
    if (!written || !fs::is_regular_file(it->symlink_status(type_ec))) return false;
    state_txt = state_txt || name == "state.txt";
    empty = false;
  }
  if (ec) return false;
  if (!committed || empty) return true;
  if (!state_txt) return false;
  std::ifstream in(path / "state.txt", std::ios::binary);
  std::string first;
  return static_cast<bool>(std::getline(in, first)) &&
         first.rfind(std::string("format=") + detail::kCheckpointFormatStem, 0) == 0;
}

// Removes a state made_by_a_save vouched for: the regular files a save writes there, state.txt
// last (a removal killed midway leaves a directory the next save still knows for its own), then
// the directory if nothing else is left. Through a descriptor of the directory opened without
// following a link: an entry swapped for a link since it was vouched for (by anyone who can
// write the checkpoint's directory) is not entered, and nothing outside it is removed. Best
// effort.
void remove_state(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  DIR* listing = ::fdopendir(fd);
  if (listing == nullptr) {
    ::close(fd);
    return;
  }
  std::vector<std::string> files;
  bool state_txt = false;
  while (const dirent* entry = ::readdir(listing)) {
    const std::string name = entry->d_name;
    if (name == "state.txt") {
      state_txt = true;
    } else if (is_array_name(name) || is_temporary_name(name)) {
      files.push_back(name);
    }
  }
  if (state_txt) files.push_back("state.txt");
  for (const std::string& name : files) {
    struct stat st {};
    if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
      ::unlinkat(fd, name.c_str(), 0);  // inside the directory held open, whatever path names now
  }
  ::closedir(listing);    // and fd
  ::rmdir(path.c_str());  // not a link, nor a directory holding anything
}

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
    const fs::path debris = fs::path(dir) / (candidate + ".building");
    if (!fs::exists(fs::symlink_status(debris, status_ec))) return true;
    if (!made_by_a_save(debris, false)) return false;
    remove_state(debris);
    return !fs::exists(fs::symlink_status(debris, status_ec));
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
    bool found = false;
    const std::string bytes = read_bytes(path, found);
    if (!found) throw IoError("save_checkpoint: cannot read back '" + path.string() + "'");
    file.checksums[names[i]] = fnv1a64(bytes.data(), bytes.size());
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
  // Superseded states and debris of interrupted saves, those a save provably made (never an
  // entry of the user's that only has such a name); a failure here is harmless. Listed first:
  // removing while iterating may skip entries.
  std::vector<fs::path> stale;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string other = it->path().filename().string();
    if (other == name || !is_state_name(other, true)) continue;
    if (made_by_a_save(it->path(), is_state_name(other, false))) stale.push_back(it->path());
  }
  for (const fs::path& p : stale)
    remove_state(p);
}

template <class T>
Checkpoint<T> load_checkpoint(const std::string& dir) {
  std::ifstream current(fs::path(dir) / "CURRENT");
  std::string name;
  if (!current || !std::getline(current, name)) {
    bad(dir, "no CURRENT file naming a state (is it a checkpoint directory?)");
  }
  if (!is_state_name(name, false)) bad(dir, "CURRENT names '" + printable(name) + "', not a state");
  const fs::path state = fs::path(dir) / name;
  bool found = false;
  const std::string text = read_bytes(state / "state.txt", found);
  if (!found) bad(dir, "cannot read state.txt");
  const std::string prefix = "load_checkpoint: " + dir + ": ";
  const detail::StateFile file = detail::parse_state(text, prefix);
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
    const std::string bytes = read_bytes(state / array, found);
    if (!found) bad(dir, array + " is missing (state.txt records its checksum)");
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
