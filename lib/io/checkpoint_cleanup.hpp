// Internal: what save_checkpoint removes, for io/checkpoint.cpp: the states a newer one
// superseded and the debris of interrupted saves, and of those only what a save provably made
// (never an entry of the user's that merely has such a name, nor anything a link leads to).
#pragma once

#include <filesystem>
#include <string>

namespace nobias::detail {

// Makes way for a state built under building (DIR/state-NNNNNN.building): removes the debris
// an interrupted save left there. True when no entry of that name is left; false when one is
// that no save made (or that could not be removed), which the caller must not reuse.
bool clear_interrupted_save(const std::filesystem::path& building);

// Removes from dir every state and every interrupted save's debris a save made, except the
// state named current (the one CURRENT names). Best effort: a failure leaves the entry.
void remove_superseded_states(const std::string& dir, const std::string& current);

}  // namespace nobias::detail
