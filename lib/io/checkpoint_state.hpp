// Internal: a checkpoint's state.txt, as text and back, apart from the files around it, so
// that the fuzzer (tests/fuzz) can feed the parser bytes from memory; and the names of a
// checkpoint's states and of their files.
//
// One "key=value" line per field, every line ending in '\n', each key exactly once, no other
// keys; the last line, state_checksum=, is fnv1a64 of every byte before it (absent in states
// written before it existed, which load as they did). Numbers are decimal
// ([-+]digits[.digits][e[-+]digits], %.17g when written), counts are digits, flags are 0 or 1,
// checksums 16 lowercase hex digits. Fields added since format 2 are optional, absent in the
// states written before them, which load as they did: steps=, validation.* (validation.rows=0
// for a run without validation rows; absent: not recorded).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nobias/checkpoint.hpp"

namespace nobias::detail {

inline constexpr const char* kCheckpointFormat = "nobias-checkpoint-2";
// What every version's format= starts with: a state of any nobias's making.
inline constexpr const char* kCheckpointFormatStem = "nobias-checkpoint-";
// More layers than this is no state nobias wrote, and a count to refuse before looping on it.
inline constexpr std::uint64_t kMaxCheckpointLayers = 1000000;

struct StateFile {
  std::string dtype;  // "f32" or "f64"
  std::uint64_t layers = 0;
  OptimizerConfig optimizer;
  std::uint64_t optimizer_steps = 0;
  TrainingProgress progress;
  DataFingerprint data;
  ValidationFingerprint validation;
  // File name ("w1.npy", "first2.npy", ...) -> fnv1a64 of its bytes: one per file the state
  // holds, w1..wK always, first1..K for momentum and adam, second1..K for adam, best1..K when
  // early stopping has a best epoch.
  std::map<std::string, std::uint64_t> checksums;
};

// The files a state of this kind and depth holds, in the order they are written; best: also
// early stopping's best weights.
std::vector<std::string> state_files(OptimizerKind kind, std::uint64_t layers, bool best);

// The names a checkpoint writes, and the only ones it ever deletes (io/checkpoint_cleanup.hpp).
// state-NNNNNN, the state of epoch NNNNNN (at least six digits).
std::string state_name(std::size_t epochs_done);
// state_name's, optionally .K (a second save of one epoch), and with allow_building also
// .building (a state not committed).
bool is_state_name(const std::string& name, bool allow_building);
// w3.npy, first12.npy, second1.npy, best2.npy: the names of a state's arrays.
bool is_array_name(const std::string& name);

std::string format_state(const StateFile& state);
// Throws IoError, its message "<prefix>state.txt: <what>", naming the line or the field.
StateFile parse_state(const std::string& text, const std::string& prefix);

}  // namespace nobias::detail
