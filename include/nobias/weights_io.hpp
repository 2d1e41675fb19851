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
// x_scale.npy, y_mean.npy, y_scale.npy. A save removes those its new set lacks.
bool is_model_file_name(const std::string& name);

// Writes weights[k-1] to dir/wk.npy for k = 1..K as one atomic set; dir and its missing
// parents are created (as mkdir -p). Files of an earlier weight set or model there that this
// one lacks (a deeper network's w3.npy, a model's model.json) are removed, so the directory
// reads back as exactly this network; other files are left alone. ValueError if weights is
// empty, ShapeError if consecutive layers do not chain, both before anything is written.
// IoError "save_weights: ..." with the system's reason on a failed write; the previous set
// then loads as before.
template <class T>
void save_weights(const std::string& dir, const std::vector<Matrix<T>>& weights);

// save_weights' first half (staged.hpp): written, synced, not visible until commit().
template <class T>
StagedFileSet stage_weights(const std::string& dir, const std::vector<Matrix<T>>& weights);

// Reads dir/w1.npy, w2.npy, ... (float32 or float64, converted to T) up to the first
// missing index. IoError if dir or w1.npy is missing, if a later wN.npy exists past
// the gap (a partial copy is worse than none) or if w0.npy or a name with a leading zero
// (w01.npy) is there; ShapeError if w_{k+1} has a row count other than w_k's column count.
// With a manifest (every nobias save): IoError if a file does not match it in size or
// checksum, if it lists a file that is missing or a weight file is there that it does not
// list: the directory is not one complete save.
template <class T>
std::vector<Matrix<T>> load_weights(const std::string& dir);

}  // namespace nobias
