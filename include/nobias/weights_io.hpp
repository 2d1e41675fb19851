// A network's weights on disk: w1.npy ... wK.npy in one directory, w_k of shape
// (d_{k-1}, d_k), readable by numpy and PyTorch as they are, saved as one atomic set with a
// manifest (staged.hpp): a loader sees the old set, the new set, or refuses the directory
// as incomplete, never a mix.
#pragma once

#include <string>
#include <vector>

#include "nobias/matrix.hpp"
#include "nobias/staged.hpp"

namespace nobias {

// The names a weight set or a model directory owns: w<digits>.npy, model.json, x_mean.npy,
// x_scale.npy, y_mean.npy, y_scale.npy. A save removes those that the directory's previous
// manifest lists (nobias wrote them) and its new set lacks; a file of these names that nobias
// did not write stays.
bool is_model_file_name(const std::string& name);

// Writes weights[k-1] to dir/wk.npy for k = 1..K as one atomic set; dir and its missing
// parents are created (as mkdir -p). Files the previous save there wrote (its manifest lists
// them) that this one lacks (a deeper network's w3.npy) are removed; nothing else is, and
// with no manifest nothing is: the directory reads back as exactly this network because the
// loaders go by the new manifest. A directory holding a model (model.json) is refused, IoError
// "save_weights: D: holds a model (model.json): ...; save the whole model with save_model":
// weights alone would leave its metadata and statistics describing another network. Saves
// into one directory wait for each other (a lock on the directory, staged.hpp), so concurrent
// saves leave one complete save. ValueError if weights is empty, ShapeError if consecutive
// layers do not chain, both before anything is written. IoError "save_weights: ..." with the
// system's reason on a failed write; the previous set then loads as before.
template <class T>
void save_weights(const std::string& dir, const std::vector<Matrix<T>>& weights);

// save_weights' first half (staged.hpp): written, synced, not visible until commit().
template <class T>
StagedFileSet stage_weights(const std::string& dir, const std::vector<Matrix<T>>& weights);

// Reads dir/w1.npy, w2.npy, ... (float32 or float64, converted to T) up to the first
// missing index. IoError if dir or w1.npy is missing, if a later wN.npy exists past
// the gap (a partial copy is worse than none) or if w0.npy or a name with a leading zero
// (w01.npy) is there; ShapeError if w_{k+1} has a row count other than w_k's column count.
// With a manifest (every nobias save) the set is what it lists: a weight file beside it that
// it does not list (a user's w7.npy) is ignored; IoError if a listed file does not match it in
// size or checksum or is missing: the directory is not one complete save. A save into dir
// under way (another process or thread) is waited for, up to 5 seconds: the load holds a shared
// lock on dir while it reads (staged.hpp), and gives the complete old set or the complete new
// one. A lock held longer (a stopped save) is not waited out: the load then reads unlocked.
template <class T>
std::vector<Matrix<T>> load_weights(const std::string& dir);

}  // namespace nobias
