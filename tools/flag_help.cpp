// The --help text made from the table's entries (flag_table.hpp): a flag's defaults in each
// mode, the modes it belongs to, the refusal of a flag given where it does not belong, and the
// list of the real-data defaults.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "flag_table.hpp"

namespace nobias_tools {

namespace {

// "a", "a or b", "a, b or c".
std::string either(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == items.size() ? " or " : ", ") + items[i];
  }
  return out;
}

std::string mode_names(unsigned modes) {
  std::vector<std::string> names;
  for (Mode m : kModes) {
    if (modes & m) names.push_back(mode_name(m));
  }
  return either(names);
}

// "Default 32", "Default sgd; adam with --x/--y", "Default 200 (at most) with --x/--y": the
// defaults of the modes the flag belongs to, equal ones once.
std::string defaults_sentence(const FlagSpec& flag) {
  if (!flag.computed_default.empty()) return "Default " + flag.computed_default;
  std::vector<std::pair<std::string, unsigned>> groups;  // a value, the modes it is the default of
  unsigned covered = 0;
  for (Mode m : kModes) {
    const std::string& value = flag.defaults[mode_index(m)];
    if (!(flag.modes & m) || value.empty()) continue;
    covered |= m;
    bool found = false;
    for (auto& [v, modes] : groups) {
      if (v == value) {
        modes |= m;
        found = true;
      }
    }
    if (!found) groups.emplace_back(value, m);
  }
  if (groups.empty()) return "";
  // The first value stands alone when every mode the flag belongs to has a default.
  const bool plain_first = covered == flag.modes;
  std::string out = "Default";
  for (std::size_t i = 0; i < groups.size(); ++i) {
    out += (i == 0 ? " " : "; ") + groups[i].first;
    if (i > 0 || !plain_first) out += " with " + mode_names(groups[i].second);
  }
  return out;
}

// "Only with --epochs", "Only with --epochs or --x/--y", "Not with --epochs" (what CLI11 says
// too), "Only with --optimizer momentum".
std::vector<std::string> modes_sentences(const FlagSpec& flag) {
  std::vector<std::string> out;
  if (flag.fixed_epochs) {
    out.push_back("Only with --epochs");
  } else if (flag.selects == Mode(0) && flag.modes != kAllModes) {
    out.push_back(flag.modes == (kAllModes & ~unsigned{kEpochsMode})
                      ? "Not with --epochs"
                      : "Only with " + mode_names(flag.modes));
  }
  if (!flag.needs_flag.empty()) {
    out.push_back("Only with " + flag.needs_flag + " " + flag.needs_value);
  }
  return out;
}

}  // namespace

std::size_t mode_index(Mode mode) {
  return mode == kStepsMode ? 0 : mode == kEpochsMode ? 1 : 2;
}

const char* mode_name(Mode mode) {
  switch (mode) {
    case kStepsMode:
      return "full-batch --steps";
    case kEpochsMode:
      return "--epochs";
    case kDataMode:
      return "--x/--y";
  }
  return "";
}

std::string refusal(const std::string& shown, Mode mode) {
  switch (mode) {
    case kStepsMode:
      return shown + " needs --epochs (epoch-based training)";
    case kDataMode:
      return shown + " needs --epochs (a fixed number of epochs)";
    case kEpochsMode:
      return "--epochs excludes " + shown;
  }
  return shown;
}

std::string defaults_list(const std::function<std::string(const FlagSpec&)>& value) {
  std::vector<const FlagSpec*> listed;
  for (const FlagSpec& flag : train_flag_table()) {
    if (flag.defaults_line > 0) listed.push_back(&flag);
  }
  std::sort(listed.begin(), listed.end(), [](const FlagSpec* a, const FlagSpec* b) {
    return a->defaults_line < b->defaults_line;
  });
  std::string out;
  for (const FlagSpec* flag : listed) {
    const std::string text = value(*flag);
    if (!text.empty()) out += " " + flag->name + " " + text;
  }
  return out;
}

std::string default_value(const std::string& text) {
  return text.substr(0, text.find(' '));
}

std::string help_line(const FlagSpec& flag) {
  std::string line = flag.help;
  std::vector<std::string> sentences = modes_sentences(flag);
  const std::string defaults = defaults_sentence(flag);
  if (!defaults.empty()) sentences.insert(sentences.begin(), defaults);
  for (const std::string& sentence : sentences)
    line += ". " + sentence;
  return line;  // without a full stop, as CLI11's own lines
}

}  // namespace nobias_tools
