// A network's weights on disk: w1.npy ... wK.npy in one directory, w_k of shape
// (d_{k-1}, d_k), readable by numpy and PyTorch as they are.
#pragma once

#include <string>
#include <vector>

#include "nobias/matrix.hpp"

namespace nobias {

// Writes weights[k-1] to dir/wk.npy for k = 1..K, each file atomically. dir must exist
// (IoError otherwise). Stale w{K+1}.npy, w{K+2}.npy, ... of a deeper network saved there
// before are removed afterwards, so the directory reads back as exactly this network;
// other files are left alone. Each file is atomic, the set is not: a crash midway can
// leave new and old layers side by side.
// ValueError if weights is empty, ShapeError if consecutive layers do not chain.
template <class T>
void save_weights(const std::string& dir, const std::vector<Matrix<T>>& weights);

// Reads dir/w1.npy, w2.npy, ... (float32 or float64, converted to T) up to the first
// missing index. IoError if dir or w1.npy is missing, if a later wN.npy exists past
// the gap (a partial copy is worse than none) or if w0.npy or a name with a leading zero
// (w01.npy) is there; ShapeError if w_{k+1} has a row count other than w_k's column count.
template <class T>
std::vector<Matrix<T>> load_weights(const std::string& dir);

}  // namespace nobias
