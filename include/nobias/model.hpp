// A model directory: a trained network with what it needs to be used on new data.
//
//   DIR/w1.npy ... wK.npy    the weights, w_k of shape (d_{k-1}, d_k): numpy and PyTorch read
//                            them as they are (PyTorch's Linear.weight is w_k's transpose)
//   DIR/model.json           metadata (below)
//   DIR/x_mean.npy ...       standardization statistics when trained with them: x_mean,
//                            x_scale, y_mean, y_scale, each float64 of shape (1, d)
//   DIR/nobias-manifest.txt  the set's manifest, written last (staged.hpp)
//
// model.json:
//   { "format": "nobias-model", "format_version": 1, "nobias_version": "0.1.0",
//     "dtype": "f32", "widths": [64, 128, 10], "classes": 10,
//     "class_names": ["zero", "one", ...],
//     "standardization": { "x_mean": "x_mean.npy", "x_scale": "x_scale.npy" },
//     "settings": { "optimizer": "adam", "learning_rate": "0.001", ... } }
// classes is 0 for a regression. class_names (absent when the classes have none, as in files
// written before it) names class k at k: the text labels it was trained on. The directory is saved
// as one atomic set: a loader sees the old model, the new one, or refuses it as incomplete.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "nobias/matrix.hpp"
#include "nobias/names.hpp"
#include "nobias/network.hpp"
#include "nobias/staged.hpp"
#include "nobias/targets.hpp"

namespace nobias {

inline constexpr int kModelFormatVersion = 1;
inline constexpr const char* kModelMetadataName = "model.json";

// The version of nobias this library is ("0.1.0").
const char* nobias_version();

// Why names cannot name `classes` classes (ModelInfo::class_names), or "" when they can: empty
// (unnamed), or exactly `classes` unique names, each non-empty without control characters (a
// terminal shows them). save_model and load_model refuse what it refuses; a tool reading labels
// asks it before training.
std::string class_names_problem(const std::vector<std::string>& names, std::size_t classes);

// What a model directory says besides its weights. On save, widths, dtype and the versions
// are taken from the network and the library (what the caller put there is ignored); on load,
// they are what the directory holds.
struct ModelInfo {
  int format_version = kModelFormatVersion;
  std::string nobias_version;       // of the nobias that saved it; empty for bare weights
  Dtype dtype = Dtype::F32;         // of the weight files
  std::vector<std::size_t> widths;  // d_0, ..., d_K
  std::size_t classes = 0;          // 0: regression; else a classifier with d_K == classes
  // Empty: the classes are their indices. Else class k's name at k: exactly classes names,
  // unique, each non-empty without control characters (what a CSV of text labels held).
  std::vector<std::string> class_names;
  Standardization standardization;              // empty: inputs and outputs used as they are
  std::map<std::string, std::string> settings;  // how it was trained, free-form, for people
  bool has_metadata = false;                    // false: a directory of bare w*.npy (numpy's)
};

// ValueError "WHO: ..." when info cannot describe net: classes other than its outputs, class
// names class_names_problem refuses, a classifier with standardized targets, statistics of
// other widths. save_model and export_onnx refuse what it refuses.
template <class T>
void check_model_info(const Network<T>& net, const ModelInfo& info, const std::string& who);

template <class T>
struct Model {
  Network<T> network;
  ModelInfo info;

  // network's predictions for x in the units of the training targets: x standardized with
  // info's statistics, the network, then y's standardization undone. For a classifier, the
  // scores (argmax_rows gives the labels). ShapeError if x's columns are not d_0.
  Matrix<T> predict(MatrixView<const T> x) const;
};

// The same for any network and statistics (what Model::predict does): bit for bit what a
// reloaded model predicts.
template <class T>
Matrix<T> predict_with(const Network<T>& net, const Standardization& s, MatrixView<const T> x);
// The same bits written into out (x.rows() x d_K), for a caller that owns the memory (the
// Python binding's out=): besides x and out, the weights and, past one block of rows, O(block x
// widest layer), whatever the rows. The same refusals, and ShapeError "predict_with: out is
// R x C, expected N x D" for another shape, ValueError for an out that overlaps x or the
// network's weights. s is used as given: check_standardization first for statistics that
// come from a user.
template <class T>
void predict_with(const Network<T>& net, const Standardization& s, MatrixView<const T> x,
                  MatrixView<T> out);
// The same bits through a network the caller may use (Python's Network.predict): up to a block
// of rows in net's own workspace and team (Network::predict(x, out): allocating only when the
// rows grow, so repeated calls allocate nothing), more in blocks as above. Refusals in
// Network::predict's words ("predict: x has 4 columns, network input has 5", "predict: out
// overlaps x; ...").
template <class T>
void predict_into(Network<T>& net, const Standardization& s, MatrixView<const T> x,
                  MatrixView<T> out);

// predict_with's outputs, the same bits, handed to sink(first_row, p, hidden_finite) in row
// order, a window of rows at a time (p: the outputs of rows first_row ... first_row + p.rows() -
// 1, valid during the call), never all held at once: besides x, the memory is the weights and
// O(window rows), for predictions written to a file as they come (nobias-predict) from rows
// larger than memory. hidden_finite: every value of the window's rows in the network's hidden
// layers was finite (found for nothing as the pass went; false also where not tracked: a pass of
// at most one block of rows). An infinity or NaN in a row of x makes every value of that row in
// the first hidden layer one too, so with hidden_finite and a finite p the window's rows of x
// are finite: a caller that refuses bad inputs need not read them again.
// The sink may drop the rows it was given from memory (NpyRows::drop_rows). It runs on the
// calling thread, with signals let in, while the other threads compute the next window; an
// exception it throws stops the pass. window 0: the library's choice (a few blocks of rows per
// thread, about 32 MB of x or less); a window is whole blocks, so may be longer.
// Errors as predict_with's (no rows, x's columns not d_0), before sink's first call.
template <class T>
void predict_rows(const Network<T>& net, const Standardization& s, MatrixView<const T> x,
                  const std::function<void(std::size_t, MatrixView<const T>, bool)>& sink,
                  std::size_t window = 0);

// predict_rows for rows read in order rather than held (a CSV file read as it is predicted,
// CsvRowReader): read(first, to) fills to with the next to.rows() rows of the rows x d_0
// inputs, first being their first row; sink(first, inputs, p, hidden_finite) gets them, their
// outputs and predict_rows' hidden_finite, in row order. The same bits as predict_rows on all the
// rows at once: the pass is predict_rows' own, its windows read as it reaches them (two at once,
// each until its sink returns; window as predict_rows'), so the memory is two windows of inputs
// besides predict_rows'. Errors as predict_rows' (0 rows: "predict: x has no rows", after one read
// of none); an exception from read or sink stops the pass.
template <class T>
void predict_read(
    const Network<T>& net, const Standardization& s, std::size_t rows,
    const std::function<void(std::size_t, MatrixView<T>)>& read,
    const std::function<void(std::size_t, MatrixView<const T>, MatrixView<const T>, bool)>& sink,
    std::size_t window = 0);

// Writes net and info to dir as one atomic set (staged.hpp); dir and its missing parents
// are created (as mkdir -p). Files of an earlier model or weight set there that this one lacks
// are removed; other files are left alone. ValueError before anything is written if info does
// not fit net: classes not 0 and not d_K, class_names neither empty nor classes unique
// printable names, statistics of the wrong length or not finite and > 0
// (scale), a settings key or value that is not printable text. IoError on a failed write, with
// the previous directory intact.
template <class T>
void save_model(const std::string& dir, const Network<T>& net, const ModelInfo& info);

// save_model's first half: everything written and synced under temporary names, nothing
// visible changed; commit() publishes (staged.hpp). For tools that commit all outputs last.
template <class T>
StagedFileSet stage_model(const std::string& dir, const Network<T>& net, const ModelInfo& info);

// Reads a model directory (weights of either dtype, converted to T; info.dtype says which
// they were). Every file is checked against the manifest when there is one (IoError naming the
// file that does not match: not one complete save), and the metadata against the files:
// IoError "load_model: DIR: model.json says widths 64,128,10 but the weights are
// 64,128,9", "... says dtype f32 but w3.npy is float64" (every weight file, not only w1),
// statistics of the wrong length or a missing statistics file, class_names not a list of
// classes unique printable strings, an unknown format or a newer
// format_version, malformed JSON (with its position). A statistics file in the set that
// model.json does not name is refused, not ignored: "x_mean.npy is here but model.json's
// "standardization" names none (...)". Without model.json, bare w*.npy load as a plain
// regression model (has_metadata false, no statistics, dtype f64 if any file is float64),
// as load_weights reads them; a statistics file beside them is refused likewise. The set is
// what the manifest lists, when there is one: a file beside it that it does not list is no
// part of the model, statistics included. A save into dir under way is waited for, as in
// load_weights: the old model or the new one, never a mix refused as incomplete.
template <class T>
Model<T> load_model(const std::string& dir);

// Only the metadata, checked against the weight files' headers and the statistics as
// load_model checks them: for a tool choosing T before loading. Without model.json: widths
// and dtype from the weight files' headers.
ModelInfo read_model_info(const std::string& dir);

}  // namespace nobias
