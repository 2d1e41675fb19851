// Checkpoints: everything needed to resume training exactly where it stopped. One directory
// holds numbered states and a CURRENT file naming the newest complete one:
//
//   DIR/CURRENT            "state-000003"
//   DIR/state-000003/      w1.npy..wK.npy (numpy reads them as they are), the optimizer's
//                          moments first1.npy.., second1.npy.., and state.txt (counters,
//                          configuration, the shuffle's seed, a checksum of every .npy file,
//                          and fingerprints of the training and validation data when the
//                          caller gave them)
//
// A new state is written beside the old ones and becomes current only when CURRENT is
// replaced atomically, so a crash at any point leaves the previous checkpoint loadable.
// A state is built as DIR/state-NNNNNN.building/ and renamed when complete; a second save of
// one epoch is state-NNNNNN.1/ (.2, ...). After the commit a save removes the states it
// superseded and the debris of interrupted saves, and only those: entries a save provably
// made (directories, not links, holding only the files a save writes there; a committed one
// also a state.txt of nobias's format, or nothing at all). Anything else named like a state
// (a user's file, link or directory, or a state to which a file was added) stays, and its
// name is skipped. The removal goes through the directory held open (never following a link
// put in its place since it was checked) and removes only regular files of the names a save
// writes, then the directory if it is empty.
// Loading checks every field of state.txt and every file's checksum: a damaged state is an
// IoError naming the field or the file, never weights that train into NaN.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nobias/matrix.hpp"
#include "nobias/network.hpp"
#include "nobias/optimizer.hpp"
#include "nobias/row_source.hpp"

namespace nobias {

// What a run trained on, so that a resumed run can be refused other data. The hashes are of
// the elements' bytes as T, row by row (64-bit checksums: they tell other data from the same,
// they do not resist forgery).
struct DataFingerprint {
  std::size_t rows = 0;  // 0: no fingerprint recorded
  std::size_t x_cols = 0, y_cols = 0;
  std::string dtype;  // "f32" or "f64"
  std::uint64_t x_hash = 0, y_hash = 0;
  // How the caller made the data when it generated them ("generated rows=1000 seed=3"), or
  // empty; one line of printable ASCII (ValueError otherwise).
  std::string source;

  bool recorded() const { return rows != 0; }
};

// The fingerprint of (x, y); ShapeError when they have no rows or different row counts.
template <class T>
DataFingerprint fingerprint_data(MatrixView<const T> x, MatrixView<const T> y,
                                 const std::string& source = "");
// The fingerprint of a source's rows as training reads them (its rows, standardized): the
// same as fingerprint_data of a copy of them, read in blocks without one.
template <class T>
DataFingerprint fingerprint_data(const RowSource<T>& rows, const std::string& source = "");

// Empty when given is the data saved was made from; otherwise which input differs and how:
// "the data's source differs: ...", "x differs: 100 rows now, 200 in the checkpoint",
// "y differs: same shape, other values". Empty too when saved was not recorded.
std::string data_difference(const DataFingerprint& saved, const DataFingerprint& given);

// What a run validated on, so that a resumed run can be refused other validation rows: its
// early stopping goes on from a best validation loss measured on the first run's rows, and the
// reports' best epoch with it. Three cases: not recorded (a checkpoint written before nobias
// recorded it, or a save not given it: nothing is compared, the resume goes on as it did), a run
// without validation rows, or the fingerprint of its rows (as fingerprint_data: the rows as the
// run read them, standardized; no source).
struct ValidationFingerprint {
  bool recorded = false;
  DataFingerprint data;  // of the validation rows; !data.recorded(): the run had none
};

// The fingerprint of a run's validation rows (recorded, and none when rows has no rows).
template <class T>
ValidationFingerprint fingerprint_validation(const RowSource<T>& rows);

// Empty when given is what saved was made from, or saved is not recorded; otherwise what
// differs, named as FitData's inputs: "the validation data differ: none now, 23 rows in the
// checkpoint" (and "23 rows now, none in the checkpoint"), "the validation data differ: 20 rows
// now, 23 in the checkpoint", "val_x differs: 5 columns now, 6 in the checkpoint", "val_y
// differs: same shape, other values".
std::string validation_difference(const ValidationFingerprint& saved,
                                  const ValidationFingerprint& given);

// Early stopping's account, for a run that validates with patience > 0: the best epoch so far,
// its validation loss and the epochs since it. The checkpoint then also holds the best epoch's
// weights (best1.npy..bestK.npy), so that a resumed run stops and keeps what the uninterrupted
// run would have.
struct EarlyStoppingState {
  std::size_t patience = 0;  // 0: no early stopping (nothing else recorded)
  double tolerance = 0.0;
  std::size_t best_epoch = 0;  // 0: none yet
  double best_validation_loss = 0.0;
  std::size_t epochs_without_improvement = 0;
};

// Where fit() stands, and how it runs: it resumes with epoch epochs_done + 1, and only the
// same seed, batch size, shuffling, reduction and early stopping continue it bit for bit.
struct TrainingProgress {
  std::size_t epochs_done = 0;
  std::uint64_t seed = 0;
  std::size_t batch_size = 0;
  bool shuffle = true;
  Reduction reduction = Reduction::Sum;
  EarlyStoppingState stopping;
  // How the steps were taken ("local", "mpi deterministic", "mpi fast on 3 ranks": a
  // StepSeam's name): a run resumed with other steps would not continue bit for bit. Empty:
  // not recorded (a checkpoint from before it was).
  std::string steps;
};

template <class T>
struct Checkpoint {
  std::vector<Matrix<T>> weights;
  OptimizerConfig optimizer;
  std::uint64_t optimizer_steps = 0;
  std::vector<Matrix<T>> first, second;  // the optimizer's moments, as Optimizer keeps them
  std::vector<Matrix<T>> best_weights;   // early stopping's best epoch (stopping.best_epoch > 0)
  TrainingProgress progress;
  DataFingerprint data;  // what the run trained on; not recorded() if its save was not given it
  // What it validated on; not recorded if its save was not given it, nor in a checkpoint
  // written before validation fingerprints were (which resumes as it did, unchecked).
  ValidationFingerprint validation;
  std::string dtype;  // "f32" or "f64": what the run it comes from trained in
};

// Writes a new state into dir (created if missing) and makes it current; IoError on failure,
// with the previous checkpoint intact. data, when recorded(), is kept for load_checkpoint, and
// so is validation when recorded (its data's source is not kept); ValueError (nothing written)
// if data's source is not one printable line, or if best_weights are not the network's shapes
// when progress.stopping records a best epoch (they are saved then, and only then).
template <class T>
void save_checkpoint(const std::string& dir, const Network<T>& net, const Optimizer<T>& optimizer,
                     const TrainingProgress& progress, const DataFingerprint& data = {},
                     const std::vector<Matrix<T>>& best_weights = {},
                     const ValidationFingerprint& validation = {});

// The longest path save_checkpoint creates inside its directory, counted after the directory's
// separator (a state being built, "state-N.K.building/", and a temporary in it), so that a
// program can check a checkpoint directory's name before training (check_output_directory_name
// in nobias/staged.hpp) rather than fail at the first save.
std::size_t longest_name_in_checkpoint();

// Reads the current state of dir (weights of either dtype, converted to T). IoError names
// what is missing or malformed: a field of state.txt that is missing, repeated, unknown or
// out of range (optimizer_steps <= 2^53 and 0 only with zero moments, 0 <= momentum, beta1,
// beta2 < 1, epsilon > 0, learning_rate > 0 and weight_decay >= 0 all finite, shuffle and
// nesterov 0 or 1), or a file whose checksum is not the one state.txt records.
template <class T>
Checkpoint<T> load_checkpoint(const std::string& dir);

// Puts a checkpoint's optimizer state into optimizer: Optimizer::restore, which checks the
// kind and the shapes (ValueError / ShapeError otherwise, the optimizer unchanged).
template <class T>
void restore_optimizer(Optimizer<T>& optimizer, const Checkpoint<T>& checkpoint);

}  // namespace nobias
