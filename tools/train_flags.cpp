// nobias-train's flags for CLI11, made from the table (flag_table.cpp): an option per entry
// with its help line and per-value check, its needs/excludes, and the refusal of a flag that
// does not belong to --epochs as "--epochs excludes ..." (the other modes are refused in
// train_options.cpp, after parsing).
#include <CLI/CLI.hpp>
#include <limits>
#include <stdexcept>
#include <string>

#include "cli_common.hpp"
#include "flag_table.hpp"
#include "nobias/blas.hpp"
#include "train_options.hpp"

namespace nobias_tools {

namespace {

CLI::Validator layers_validator() {
  return CLI::Validator(
      [](std::string& text) {
        try {
          parse_layers(text);
          return std::string();
        } catch (const UsageError& e) {
          return std::string(e.what());
        }
      },
      "");
}

// Refuses low itself, which real_number's half-open range lets through.
CLI::Validator above(const std::string& flag, double low, const char* range) {
  return CLI::Validator(
      [=](std::string& text) {
        try {
          if (parse_real(flag, text, low, std::numeric_limits<double>::infinity(), range) > low) {
            return std::string();
          }
        } catch (const UsageError&) {
        }
        return flag + " must be a number " + range + ", got '" + text + "'";
      },
      "");
}

void add_check(CLI::Option& option, const FlagSpec& flag) {
  const Check& c = flag.check;
  switch (c.kind) {
    case Check::Whole:
      option.transform(whole_number(flag.name, c.min, c.max));
      break;
    case Check::Real:
      option.transform(real_number(flag.name, c.low, c.high, c.range));
      if (c.open_low) option.check(above(flag.name, c.low, c.range));
      break;
    case Check::Positive:
      option.check(positive_number(flag.name));
      break;
    case Check::Choice:
      option.check(one_of(flag.name, c.names));
      break;
    case Check::Layers:
      option.check(layers_validator());
      break;
    case Check::Switch:
    case Check::Text:
      break;
  }
}

}  // namespace

const TrainFlags::Slot& TrainFlags::slot(std::string_view name) const {
  static const Slot absent;
  const std::size_t i = train_flag_index(name);
  return i < slots_.size() ? slots_[i] : absent;
}

bool TrainFlags::given(std::string_view name) const {
  const Slot& s = slot(name);
  return s.on || s.text.has_value();
}

Mode TrainFlags::mode() const {
  if (given("--steps")) return kStepsMode;
  if (given("--x")) return kDataMode;
  return given("--epochs") ? kEpochsMode : kStepsMode;
}

std::string TrainFlags::value(std::string_view name) const {
  const Slot& s = slot(name);
  if (s.text) return *s.text;
  if (s.on) return "true";
  return default_value(train_flag(name).defaults[mode_index(mode())]);
}

void define_train_flags(CLI::App& app, TrainFlags& f, Program program) {
  app.set_version_flag("--version", [program] {
    return std::string(program == kTrainMpiProgram ? "nobias-train-mpi" : "nobias-train") +
           " " NOBIAS_VERSION "\nBLAS: " + nobias::blas_description();
  });
  const std::vector<FlagSpec>& table = train_flag_table();
  f.slots_.assign(table.size(), TrainFlags::Slot());
  std::vector<CLI::Option*> options(table.size(), nullptr);
  for (std::size_t i = 0; i < table.size(); ++i) {
    const FlagSpec& flag = table[i];
    if (!(flag.programs & program)) continue;
    if (flag.check.kind == Check::Switch) {
      options[i] = app.add_flag(flag.name, f.slots_[i].on, help_line(flag));
    } else {
      options[i] = app.add_option(flag.name, f.slots_[i].text, help_line(flag));
      options[i]->type_name(flag.type_name);
      add_check(*options[i], flag);
    }
  }
  const auto option = [&](const std::string& name) {
    CLI::Option* o = options[train_flag_index(name)];
    if (o == nullptr) throw std::logic_error(name + " is not a flag of this program");
    return o;
  };
  CLI::Option* epochs = option("--epochs");
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (options[i] == nullptr) continue;
    for (const std::string& name : table[i].needs)
      options[i]->needs(option(name));
    for (const std::string& name : table[i].excludes)
      options[i]->excludes(option(name));
    if (!(table[i].modes & kEpochsMode)) options[i]->excludes(epochs);
  }
}

}  // namespace nobias_tools
