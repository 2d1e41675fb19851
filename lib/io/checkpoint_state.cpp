#include "io/checkpoint_state.hpp"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>

#include "core/printable.hpp"
#include "io/atomic_file.hpp"
#include "io/checksum.hpp"
#include "io/state_reader.hpp"
#include "nobias/error.hpp"
#include "nobias/names.hpp"

namespace nobias::detail {
namespace {

const char* const kFields[] = {
    "format",   "dtype",     "layers",    "epochs_done",     "seed",          "batch_size",
    "shuffle",  "reduction", "optimizer", "optimizer_steps", "learning_rate", "momentum",
    "nesterov", "beta1",     "beta2",     "epsilon",         "weight_decay"};
const char* const kDataFields[] = {"data.rows",   "data.x_cols", "data.y_cols", "data.dtype",
                                   "data.x_hash", "data.y_hash", "data.source"};
// validation.rows alone (0) for a run without validation rows; all of them for one with.
const char* const kValidationFields[] = {"validation.x_cols", "validation.y_cols",
                                         "validation.dtype", "validation.x_hash",
                                         "validation.y_hash"};
const char* const kStoppingFields[] = {"stopping.patience", "stopping.tolerance",
                                       "stopping.best_epoch", "stopping.best_validation_loss",
                                       "stopping.epochs_without_improvement"};
const std::string kChecksum = "checksum.";
const std::string kStateChecksum = "state_checksum=";

// %.17g: every double reads back to the same bits.
std::string number(double value) {
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

bool printable_line(const std::string& s) {
  for (const char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

}  // namespace

std::vector<std::string> state_files(OptimizerKind kind, std::uint64_t layers, bool best) {
  std::vector<std::string> files;
  for (const char* stem : {"w", "first", "second", "best"}) {
    if (stem[0] == 'f' && kind == OptimizerKind::Sgd) continue;
    if (stem[0] == 's' && kind != OptimizerKind::Adam) continue;
    if (stem[0] == 'b' && !best) continue;
    for (std::uint64_t k = 1; k <= layers; ++k)
      files.push_back(stem + std::to_string(k) + ".npy");
  }
  return files;
}

std::string state_name(std::size_t epochs_done) {
  char name[32];
  std::snprintf(name, sizeof name, "state-%06zu", epochs_done);
  return name;
}

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

std::string format_state(const StateFile& s) {
  const OptimizerConfig& c = s.optimizer;
  const TrainingProgress& p = s.progress;
  std::ostringstream out;
  out << "format=" << kCheckpointFormat << "\n"
      << "dtype=" << s.dtype << "\n"
      << "layers=" << s.layers << "\n"
      << "epochs_done=" << p.epochs_done << "\n"
      << "seed=" << p.seed << "\n"
      << "batch_size=" << p.batch_size << "\n"
      << "shuffle=" << (p.shuffle ? 1 : 0) << "\n"
      << "reduction=" << to_name(p.reduction) << "\n"
      << "optimizer=" << to_name(c.kind) << "\n"
      << "optimizer_steps=" << s.optimizer_steps << "\n"
      << "learning_rate=" << number(c.learning_rate) << "\n"
      << "momentum=" << number(c.momentum) << "\n"
      << "nesterov=" << (c.nesterov ? 1 : 0) << "\n"
      << "beta1=" << number(c.beta1) << "\n"
      << "beta2=" << number(c.beta2) << "\n"
      << "epsilon=" << number(c.epsilon) << "\n"
      << "weight_decay=" << number(c.weight_decay) << "\n";
  for (const auto& [file, sum] : s.checksums)
    out << kChecksum << file << "=" << hex64(sum) << "\n";
  if (!p.steps.empty()) out << "steps=" << p.steps << "\n";
  const EarlyStoppingState& e = p.stopping;
  if (e.patience > 0) {
    out << "stopping.patience=" << e.patience << "\n"
        << "stopping.tolerance=" << number(e.tolerance) << "\n"
        << "stopping.best_epoch=" << e.best_epoch << "\n"
        << "stopping.best_validation_loss=" << number(e.best_validation_loss) << "\n"
        << "stopping.epochs_without_improvement=" << e.epochs_without_improvement << "\n";
  }
  if (s.data.recorded()) {
    out << "data.rows=" << s.data.rows << "\n"
        << "data.x_cols=" << s.data.x_cols << "\n"
        << "data.y_cols=" << s.data.y_cols << "\n"
        << "data.dtype=" << s.data.dtype << "\n"
        << "data.x_hash=" << hex64(s.data.x_hash) << "\n"
        << "data.y_hash=" << hex64(s.data.y_hash) << "\n"
        << "data.source=" << s.data.source << "\n";
  }
  if (s.validation.recorded) {
    const DataFingerprint& v = s.validation.data;
    out << "validation.rows=" << v.rows << "\n";
    if (v.recorded()) {
      out << "validation.x_cols=" << v.x_cols << "\n"
          << "validation.y_cols=" << v.y_cols << "\n"
          << "validation.dtype=" << v.dtype << "\n"
          << "validation.x_hash=" << hex64(v.x_hash) << "\n"
          << "validation.y_hash=" << hex64(v.y_hash) << "\n";
    }
  }
  const std::string text = out.str();
  return text + kStateChecksum + hex64(fnv1a64(text.data(), text.size())) + "\n";
}

StateFile parse_state(const std::string& whole, const std::string& prefix) {
  // The checksum line, last, vouches for every byte before it: a hand-edited field is refused
  // as damage rather than trained on.
  std::string text = whole;
  const std::size_t last =
      whole.size() < 2 ? std::string::npos : whole.rfind('\n', whole.size() - 2);
  const std::size_t line = last == std::string::npos ? 0 : last + 1;
  if (whole.compare(line, kStateChecksum.size(), kStateChecksum) == 0) {
    text = whole.substr(0, line);
    const std::string recorded = whole.substr(line + kStateChecksum.size());
    const std::string actual = hex64(fnv1a64(text.data(), text.size())) + "\n";
    if (recorded != actual) {
      throw IoError(prefix + "state.txt: is damaged: its checksum is " +
                    actual.substr(0, actual.size() - 1) + ", its last line says " +
                    printable(recorded));
    }
  }
  const StateReader r(text, prefix);
  if (r.text("format") != kCheckpointFormat) {
    r.fail(std::string("expected format=") + kCheckpointFormat +
           ", got format=" + printable(r.text("format")));
  }
  StateFile s;
  s.dtype = to_name(r.name<Dtype>("dtype"));
  s.layers = r.count("layers", kMaxCheckpointLayers, ", the most a checkpoint holds");
  if (s.layers == 0) r.fail("layers is 0; a network has at least one weight matrix");
  TrainingProgress& p = s.progress;
  p.epochs_done = r.count("epochs_done");
  p.seed = r.count("seed");
  p.batch_size = r.count("batch_size");
  p.shuffle = r.flag("shuffle");
  p.reduction = r.name<Reduction>("reduction");
  OptimizerConfig& c = s.optimizer;
  c.kind = r.name<OptimizerKind>("optimizer");
  s.optimizer_steps = r.count("optimizer_steps", kMaxOptimizerSteps,
                              " (2^53), the most Adam's step count holds exactly");
  c.learning_rate = r.real("learning_rate");
  c.momentum = r.real("momentum");
  c.nesterov = r.flag("nesterov");
  c.beta1 = r.real("beta1");
  c.beta2 = r.real("beta2");
  c.epsilon = r.real("epsilon");
  c.weight_decay = r.real("weight_decay");
  try {
    check_optimizer_config<double>(c, "state", true);
  } catch (const ValueError& e) {
    r.fail(std::string(e.what()).substr(7));  // without "state: ", which prefix says better
  }

  std::set<std::string> known(std::begin(kFields), std::end(kFields));
  const bool data = r.has("data.rows");
  if (data) {
    known.insert(std::begin(kDataFields), std::end(kDataFields));
    DataFingerprint& d = s.data;
    d.rows = r.count("data.rows");
    if (d.rows == 0) r.fail("data.rows is 0");
    d.x_cols = r.count("data.x_cols");
    d.y_cols = r.count("data.y_cols");
    d.dtype = to_name(r.name<Dtype>("data.dtype"));
    d.x_hash = r.hex("data.x_hash");
    d.y_hash = r.hex("data.y_hash");
    d.source = r.text("data.source");
    if (!printable_line(d.source)) r.fail("data.source is not printable: " + printable(d.source));
  }
  if (r.has("validation.rows")) {
    known.insert("validation.rows");
    s.validation.recorded = true;
    DataFingerprint& v = s.validation.data;
    v.rows = r.count("validation.rows");
    if (v.rows > 0) {
      known.insert(std::begin(kValidationFields), std::end(kValidationFields));
      v.x_cols = r.count("validation.x_cols");
      v.y_cols = r.count("validation.y_cols");
      v.dtype = to_name(r.name<Dtype>("validation.dtype"));
      v.x_hash = r.hex("validation.x_hash");
      v.y_hash = r.hex("validation.y_hash");
    }
  }
  if (r.has("steps")) {
    known.insert("steps");
    p.steps = r.text("steps");
    if (p.steps.empty() || !printable_line(p.steps)) {
      r.fail("steps is not a printable name: " + printable(p.steps));
    }
  }
  EarlyStoppingState& e = p.stopping;
  if (r.has("stopping.patience")) {
    known.insert(std::begin(kStoppingFields), std::end(kStoppingFields));
    e.patience = r.count("stopping.patience");
    if (e.patience == 0)
      r.fail("stopping.patience is 0 (a run without early stopping records none)");
    e.tolerance = r.real("stopping.tolerance");
    if (!(e.tolerance >= 0.0)) r.fail("stopping.tolerance is negative");
    e.best_epoch = r.count("stopping.best_epoch");
    if (e.best_epoch > p.epochs_done) {
      r.fail("stopping.best_epoch " + std::to_string(e.best_epoch) + " is after epochs_done " +
             std::to_string(p.epochs_done));
    }
    e.best_validation_loss = r.real("stopping.best_validation_loss");
    e.epochs_without_improvement = r.count("stopping.epochs_without_improvement");
    if (e.best_epoch + e.epochs_without_improvement != p.epochs_done || e.best_epoch == 0) {
      r.fail("stopping.best_epoch " + std::to_string(e.best_epoch) + " and " +
             std::to_string(e.epochs_without_improvement) +
             " epochs without improvement do "
             "not add up to epochs_done " +
             std::to_string(p.epochs_done));
    }
  }
  const bool best = e.best_epoch > 0;
  // Counted before the names are made: a layer count is not a loop bound until it is met.
  const std::uint64_t kinds = c.kind == OptimizerKind::Adam  ? 3
                              : c.kind == OptimizerKind::Sgd ? 1
                                                             : 2;
  std::uint64_t sums = 0;
  for (const auto& field : r.fields())
    if (field.first.rfind(kChecksum, 0) == 0) ++sums;
  const std::uint64_t expected = (kinds + (best ? 1 : 0)) * s.layers;
  if (sums != expected) {
    r.fail("records " + std::to_string(sums) + " checksums; a state of kind " + to_name(c.kind) +
           " with " + std::to_string(s.layers) + " layers" + (best ? " and best weights" : "") +
           " has " + std::to_string(expected) + " files");
  }
  const std::vector<std::string> files = state_files(c.kind, s.layers, best);
  for (const std::string& file : files) {
    s.checksums[file] = r.hex(kChecksum + file);
    known.insert(kChecksum + file);
  }
  for (const auto& field : r.fields()) {
    if (known.count(field.first) == 0) {
      const std::string& key = field.first;
      r.fail("unknown field '" + printable(key) + "'" +
             (key.rfind("data.", 0) == 0         ? " (data.* needs data.rows)"
              : key.rfind("validation.", 0) == 0 ? " (validation.* needs validation.rows above 0)"
                                                 : ""));
    }
  }
  return s;
}

}  // namespace nobias::detail
