#include "nobias/checkpoint.hpp"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <system_error>
#include <type_traits>

#include "nobias/atomic_file.hpp"
#include "nobias/error.hpp"
#include "nobias/kernels.hpp"
#include "nobias/names.hpp"
#include "nobias/npy.hpp"
#include "nobias/weights_io.hpp"
#include "printable.hpp"

namespace nobias {
namespace {

namespace fs = std::filesystem;
using detail::printable;

constexpr const char* kFormat = "nobias-checkpoint-1";

std::string state_name(std::size_t epochs_done) {
  char name[32];
  std::snprintf(name, sizeof name, "state-%06zu", epochs_done);
  return name;
}

template <class T>
void save_all(const fs::path& dir, const char* stem, const std::vector<Matrix<T>>& matrices) {
  for (std::size_t k = 0; k < matrices.size(); ++k) {
    write_npy<T>((dir / (stem + std::to_string(k + 1) + ".npy")).string(), matrices[k].view());
  }
}

template <class T>
std::vector<Matrix<T>> load_all(const fs::path& dir, const char* stem, std::size_t count) {
  std::vector<Matrix<T>> matrices;
  for (std::size_t k = 0; k < count; ++k)
    matrices.push_back(read_npy<T>((dir / (stem + std::to_string(k + 1) + ".npy")).string()));
  return matrices;
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

[[noreturn]] void bad(const std::string& dir, const std::string& what) {
  throw IoError("load_checkpoint: " + dir + ": " + what);
}

std::map<std::string, std::string> read_fields(const std::string& dir, const fs::path& path) {
  std::ifstream in(path);
  if (!in) bad(dir, "cannot read " + path.filename().string());
  std::map<std::string, std::string> fields;
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) bad(dir, "state.txt: line without '=': " + printable(line));
    fields[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return fields;
}

double parse_double(const std::string& dir, const std::map<std::string, std::string>& fields,
                    const std::string& key) {
  const auto it = fields.find(key);
  if (it == fields.end()) bad(dir, "state.txt has no " + key);
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(it->second.c_str(), &end);
  if (it->second.empty() || *end != '\0' || errno != 0) {
    bad(dir, "state.txt: " + key + " is not a number: " + printable(it->second));
  }
  return value;
}

std::uint64_t parse_count(const std::string& dir, const std::map<std::string, std::string>& fields,
                          const std::string& key) {
  const auto it = fields.find(key);
  if (it == fields.end()) bad(dir, "state.txt has no " + key);
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0' || errno != 0 || it->second[0] == '-') {
    bad(dir, "state.txt: " + key + " is not a count: " + printable(it->second));
  }
  return value;
}

}  // namespace

template <class T>
void save_checkpoint(const std::string& dir, const Network<T>& net, Optimizer<T>& optimizer,
                     const TrainingProgress& progress) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError("save_checkpoint: cannot create '" + dir + "' (" + ec.message() + ")");
  // Never reuse a name: the one CURRENT names must stay whole until the new state commits.
  std::string name = state_name(progress.epochs_done);
  for (int copy = 1; fs::exists(fs::path(dir) / name, ec); ++copy)
    name = state_name(progress.epochs_done) + "." + std::to_string(copy);
  const fs::path state = fs::path(dir) / name;
  // The state is built under a temporary name: a crash leaves only debris, never a state
  // that looks complete.
  const fs::path building = fs::path(dir) / (name + ".building");
  fs::remove_all(building, ec);
  if (!fs::create_directory(building, ec) || ec) {
    throw IoError("save_checkpoint: cannot create '" + building.string() + "' (" + ec.message() +
                  ")");
  }
  save_all(building, "w", net.weights());
  save_all(building, "first", optimizer.first());
  save_all(building, "second", optimizer.second());
  const OptimizerConfig& c = optimizer.config();
  write_file_atomically((building / "state.txt").string(),
                        [&](std::ostream& out) {
                          out << "format=" << kFormat << "\n"
                              << "dtype=" << to_name(dtype_of<T>()) << "\n"
                              << "layers=" << net.layers() << "\n"
                              << "epochs_done=" << progress.epochs_done << "\n"
                              << "seed=" << progress.seed << "\n"
                              << "batch_size=" << progress.batch_size << "\n"
                              << "shuffle=" << (progress.shuffle ? 1 : 0) << "\n"
                              << "reduction=" << to_name(progress.reduction) << "\n"
                              << "optimizer=" << to_name(c.kind) << "\n"
                              << "optimizer_steps=" << optimizer.steps_taken() << "\n"
                              << "learning_rate=" << format_number(c.learning_rate) << "\n"
                              << "momentum=" << format_number(c.momentum) << "\n"
                              << "nesterov=" << (c.nesterov ? 1 : 0) << "\n"
                              << "beta1=" << format_number(c.beta1) << "\n"
                              << "beta2=" << format_number(c.beta2) << "\n"
                              << "epsilon=" << format_number(c.epsilon) << "\n"
                              << "weight_decay=" << format_number(c.weight_decay) << "\n";
                        },
                        "save_checkpoint");
  sync_directory(building.string());  // its files' names, before the directory is published
  fs::rename(building, state, ec);
  if (ec) throw IoError("save_checkpoint: cannot rename into '" + state.string() + "'");
  sync_directory(dir);
  // The commit point: until CURRENT names the new state, the previous one is the checkpoint.
  write_file_atomically((fs::path(dir) / "CURRENT").string(),
                        [&](std::ostream& out) { out << name << "\n"; }, "save_checkpoint");
  // Superseded states and debris of interrupted saves; a failure here is harmless.
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string other = it->path().filename().string();
    if (other != name && is_state_name(other, true)) fs::remove_all(it->path(), ec);
  }
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
  const auto fields = read_fields(dir, state / "state.txt");
  if (fields.count("format") == 0 || fields.at("format") != kFormat) {
    bad(dir, std::string("state.txt: expected format=") + kFormat);
  }
  Checkpoint<T> checkpoint;
  checkpoint.weights = load_weights<T>(state.string());
  const std::uint64_t layers = parse_count(dir, fields, "layers");
  if (layers != checkpoint.weights.size()) {
    bad(dir, "state.txt says " + std::to_string(layers) + " layers, the state holds " +
                 std::to_string(checkpoint.weights.size()) + " weight files");
  }
  OptimizerConfig& c = checkpoint.optimizer;
  const std::string kind = fields.count("optimizer") ? fields.at("optimizer") : "";
  const std::optional<OptimizerKind> parsed_kind = from_name<OptimizerKind>(kind);
  if (!parsed_kind) bad(dir, "state.txt: unknown optimizer '" + printable(kind) + "'");
  c.kind = *parsed_kind;
  c.learning_rate = parse_double(dir, fields, "learning_rate");
  c.momentum = parse_double(dir, fields, "momentum");
  c.nesterov = parse_count(dir, fields, "nesterov") != 0;
  c.beta1 = parse_double(dir, fields, "beta1");
  c.beta2 = parse_double(dir, fields, "beta2");
  c.epsilon = parse_double(dir, fields, "epsilon");
  c.weight_decay = parse_double(dir, fields, "weight_decay");
  checkpoint.optimizer_steps = parse_count(dir, fields, "optimizer_steps");
  checkpoint.progress.epochs_done = parse_count(dir, fields, "epochs_done");
  checkpoint.progress.seed = parse_count(dir, fields, "seed");
  checkpoint.progress.batch_size = parse_count(dir, fields, "batch_size");
  checkpoint.progress.shuffle = parse_count(dir, fields, "shuffle") != 0;
  const std::string reduction = fields.count("reduction") ? fields.at("reduction") : "";
  const std::optional<Reduction> parsed_reduction = from_name<Reduction>(reduction);
  if (!parsed_reduction) bad(dir, "state.txt: reduction must be sum or mean");
  checkpoint.progress.reduction = *parsed_reduction;
  const std::size_t first = c.kind == OptimizerKind::Sgd ? 0 : layers;
  const std::size_t second = c.kind == OptimizerKind::Adam ? layers : 0;
  checkpoint.first = load_all<T>(state, "first", first);
  checkpoint.second = load_all<T>(state, "second", second);
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
  for (std::size_t k = 0; k < checkpoint.second.size(); ++k) {
    const Matrix<T>& m = checkpoint.second[k];
    for (std::size_t i = 0; i < m.size(); ++i)
      if (m.data()[i] < T(0)) bad(dir, "second" + std::to_string(k + 1) + ".npy is negative");
  }
  if (name.compare(0, 12, state_name(checkpoint.progress.epochs_done)) != 0) {
    bad(dir, "state.txt's epochs_done does not match the state's name " + name);
  }
  const std::string dtype = fields.count("dtype") ? fields.at("dtype") : "";
  if (!from_name<Dtype>(dtype)) bad(dir, "state.txt: dtype must be f32 or f64");
  checkpoint.dtype = dtype;
  return checkpoint;
}

template <class T>
void restore_optimizer(Optimizer<T>& optimizer, Checkpoint<T>& checkpoint) {
  if (optimizer.config().kind != checkpoint.optimizer.kind) {
    throw ValueError(std::string("restore_optimizer: the checkpoint's optimizer is ") +
                     to_name(checkpoint.optimizer.kind) + ", this one is " +
                     to_name(optimizer.config().kind));
  }
  const auto check_shapes = [](std::vector<Matrix<T>>& to, std::vector<Matrix<T>>& from,
                               const char* what) {
    if (to.size() != from.size()) {
      throw ShapeError(std::string("restore_optimizer: ") + what + ": expected " +
                       std::to_string(to.size()) + " matrices, the checkpoint has " +
                       std::to_string(from.size()));
    }
    for (std::size_t k = 0; k < to.size(); ++k) {
      if (to[k].rows() != from[k].rows() || to[k].cols() != from[k].cols()) {
        throw ShapeError(std::string("restore_optimizer: ") + what + std::to_string(k + 1) +
                         " is " + shape_string(from[k].rows(), from[k].cols()) + ", expected " +
                         shape_string(to[k].rows(), to[k].cols()));
      }
    }
  };
  // Both checked before either moves: a bad checkpoint leaves the optimizer as it was.
  check_shapes(optimizer.first(), checkpoint.first, "first");
  check_shapes(optimizer.second(), checkpoint.second, "second");
  for (std::size_t k = 0; k < checkpoint.first.size(); ++k)
    optimizer.first()[k] = std::move(checkpoint.first[k]);
  for (std::size_t k = 0; k < checkpoint.second.size(); ++k)
    optimizer.second()[k] = std::move(checkpoint.second[k]);
  optimizer.set_steps_taken(checkpoint.optimizer_steps);
}

#define NOBIAS_CHECKPOINT(T)                                                             \
  template void save_checkpoint<T>(const std::string&, const Network<T>&, Optimizer<T>&, \
                                   const TrainingProgress&);                             \
  template Checkpoint<T> load_checkpoint<T>(const std::string&);                         \
  template void restore_optimizer<T>(Optimizer<T>&, Checkpoint<T>&);
NOBIAS_CHECKPOINT(float)
NOBIAS_CHECKPOINT(double)
#undef NOBIAS_CHECKPOINT

}  // namespace nobias
