// nobias-train's flags, each declared once in one table (flag_table.cpp), as mlpack's PARAM_*
// declare a program's parameters. From an entry come the CLI11 option (train_flags.cpp), its
// --help line with the defaults of every mode, the refusal of the flag in a mode it does not
// belong to, and its place in the "defaults for real data" line (train_options.cpp).
//
// A new flag: one entry in the table, then the TrainOptions field it sets and the line of
// resolve_train_options (train_options.cpp) that reads it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace nobias_tools {

// The three ways nobias-train runs, chosen by the flags given. The data decide the defaults:
// the seed's for generated data and for --steps, the real-data defaults for --x/--y, which
// --epochs does not change (it only caps the epochs).
enum Mode : unsigned {
  kStepsMode = 1u,   // the seed's full-batch steps: --steps, or no --x/--y and no --epochs
  kEpochsMode = 2u,  // --epochs without --x/--y: the seed's experiment by mini-batches
  kDataMode = 4u,    // --x/--y without --steps: the real-data defaults, with or without --epochs
};
constexpr unsigned kAllModes = kStepsMode | kEpochsMode | kDataMode;
constexpr Mode kModes[] = {kStepsMode, kEpochsMode, kDataMode};
// 0, 1, 2: the index of a mode in FlagSpec::defaults.
std::size_t mode_index(Mode mode);

// Which program offers a flag.
enum Program : unsigned { kTrainProgram = 1u, kTrainMpiProgram = 2u };
constexpr unsigned kAllPrograms = kTrainProgram | kTrainMpiProgram;

// What a flag's value is, and the check of one value on its own (CLI11 runs it while parsing).
struct Check {
  enum Kind { Switch, Text, Whole, Real, Positive, Choice, Layers } kind = Text;
  std::uint64_t min = 0, max = std::numeric_limits<std::uint64_t>::max();  // Whole
  double low = 0.0, high = 0.0;                                            // Real
  bool open_low = false;           // Real: low itself refused
  const char* range = "";          // Real: the range in words, "in [0, 1)"
  std::vector<std::string> names;  // Choice
};
Check switch_flag();
Check text();
Check whole(std::uint64_t min, std::uint64_t max = std::numeric_limits<std::uint64_t>::max());
// [low, high), or (low, high) when open_low; range says so in words for the message.
Check real(double low, double high, const char* range, bool open_low = false);
Check positive();
Check choice(std::vector<std::string> names);
Check layers();

// One flag. Its value when not given depends on the mode: defaults[mode_index(m)], "" when it
// has none there (off, no file, or not read in that mode). A default is a value, optionally
// followed by a remark in parentheses ("200 (at most)"); the value is what a run takes.
struct FlagSpec {
  std::string name;       // "--batch-size"
  std::string type_name;  // "B"; "" for a switch
  std::string help;       // what it does; --help adds the defaults and the modes
  Check check;
  unsigned modes = kAllModes;           // where it may be given; given elsewhere it is refused
  std::array<std::string, 3> defaults;  // by mode: steps, epochs, data
  // A default computed from other values, for --help ("steps/10"); defaults[] is then "".
  std::string computed_default;
  // Position in the "defaults for real data" line and in --help's list of them; 0: not there.
  int defaults_line = 0;
  std::vector<std::string> needs, excludes;  // other flags: CLI11 refuses the pairs
  // Given, it needs another flag to have this value (given or by default): {"--optimizer",
  // "momentum"}.
  std::string needs_flag, needs_value;
  Mode selects = Mode(0);  // a flag that chooses the mode (--steps, --epochs)
  // In the data mode, only with --epochs given: a checkpoint needs a fixed number of epochs.
  bool fixed_epochs = false;
  unsigned programs = kAllPrograms;
};

// The table, in --help's order (which also decides which of two excluded flags CLI11 names
// first).
const std::vector<FlagSpec>& train_flag_table();
// The entry of name; std::logic_error if there is none (a misspelt name in the code).
const FlagSpec& train_flag(std::string_view name);
std::size_t train_flag_index(std::string_view name);

// The value part of a default: "200" of "200 (at most)".
std::string default_value(const std::string& text);
// The --help line of a flag: its help, its defaults in each mode, the modes it belongs to.
std::string help_line(const FlagSpec& flag);
// What --help says of a mode ("--x/--y").
const char* mode_name(Mode mode);
// " --init he --optimizer adam ...": " name value" for each flag of the "defaults for real
// data" line, in its order, value(flag) its text there ("" leaves the flag out).
std::string defaults_list(const std::function<std::string(const FlagSpec&)>& value);
// The message refusing flag (shown as shown) in mode, where it does not belong.
std::string refusal(const std::string& shown, Mode mode);

}  // namespace nobias_tools
