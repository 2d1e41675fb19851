# The compiled module's API for editors and type checkers (python/src/ defines it).
# tests/python/test_stubs.py holds this file to the module: the same names, parameters and
# docstrings.
from os import PathLike
from typing import Any, Callable, Literal, Sequence, TypeAlias

import builtins

import numpy
from numpy.typing import ArrayLike, NDArray

# A 2-D array of the network's dtype whose rows are contiguous: used where it is, never copied.
_Array: TypeAlias = NDArray[numpy.float32] | NDArray[numpy.float64]
_Path: TypeAlias = str | bytes | PathLike[str] | PathLike[bytes]
_DType: TypeAlias = type[numpy.float32] | type[numpy.float64] | numpy.dtype[Any] | str
_Reduction: TypeAlias = Literal["sum", "mean"]
# Row indices into x and y (an integer array): rows read where they lie.
_Indices: TypeAlias = NDArray[numpy.integer[Any]] | Sequence[int]

__version__: str

class Error(Exception):
    """Base of every error nobias raises."""

class ShapeError(Error, builtins.ValueError):
    """Matrix shapes that do not fit together."""

class ValueError(Error, builtins.ValueError):
    """An argument or a value outside its domain."""

class IoError(Error, OSError):
    """A file that cannot be read or written, or is not what it claims."""

class DivergenceError(Error):
    """Training produced a non-finite loss. Attributes: epoch and step (of fit, from 1; 0 when not
    known), loss (NaN when none was computed), layer (the first layer whose forward pass
    overflowed; 0: none)."""
    epoch: int
    step: int
    loss: float
    layer: int

class Network:
    """A bias-free multilayer perceptron: h_k = a_{k-1} w_k, ReLU on every hidden layer, a linear
    last layer, loss sum (or mean) of squared errors.

    Network(widths, seed=0, init="normal", dtype=numpy.float32): widths = [d_in, d_1, ..., d_out];
    weights drawn from seed, N(0, 1) ("normal", the derivation's), N(0, 2 / fan_in) ("he"), N(0, 1
    / fan_in) ("lecun"), N(0, 2 / (fan_in + fan_out)) ("glorot") or N(0, 1 / (2 (fan_in +
    fan_out))) ("half_glorot").

    Arrays passed in are used where they are, never copied or converted: 2-D, of the network's
    dtype, each row contiguous (a row stride larger than the width is fine). `weights` are the
    network's own memory. A network used from several threads at once serializes the calls."""
    def __init__(self, widths: Sequence[int], seed: int = 0,
                 init: Literal["normal", "he", "lecun", "glorot", "half_glorot"] = "normal",
                 dtype: _DType = ...) -> None: ...
    @staticmethod
    def from_weights(weights: Sequence[_Array]) -> Network:
        """A network with copies of the given weights [w1, ..., wK] (float32 or float64, all the
        same dtype; w_k of shape (d_{k-1}, d_k))."""
    @property
    def dtype(self) -> numpy.dtype[Any]: ...
    @property
    def widths(self) -> list[int]: ...
    @property
    def layers(self) -> int: ...
    @property
    def weights(self) -> list[_Array]:
        """[w1, ..., wK] as arrays that are the network's memory: writing into one changes the
        network, and each keeps the network alive. Do not write into them while another thread
        trains the network."""
    def predict(self, x: _Array, out: _Array | None = None, *, x_mean: ArrayLike | None = None,
                x_scale: ArrayLike | None = None) -> _Array:
        """yhat for x (n, d_in): a new (n, d_out) array, or written into out and returned. Many rows
        go through in blocks: besides x and out, the memory does not grow with the rows. x_mean,
        x_scale (d_in values each, or neither; taken as float64) standardize each row as it is
        read, in float64 rounded once to x's dtype: the bits of predict(((x - m) /
        s).astype(x.dtype)) with m, s = x_mean, x_scale as float64 arrays, without that copy
        (float32 m and s would make numpy compute in float32). nobias.ValueError naming the first
        row whose prediction is a NaN or an infinity (inputs or weights too large for the dtype);
        out then holds what was computed. Ctrl-C stops it between blocks (KeyboardInterrupt)."""
    def jacobian(self, x_row: _Array) -> _Array:
        """J(x) of one input x_row (d_in,) or (1, d_in): the (d_in, d_out) array with x_row @ J ==
        predict(x_row) up to rounding, the weights multiplied with that input's ReLU masks (exact: a
        bias-free network is linear around each input)."""
    def jacobians(self, x: _Array) -> _Array:
        """J(x_i) of every row of x (n, d_in): an (n, d_in, d_out) array."""
    def loss(self, x: _Array, y: _Array, reduction: _Reduction = "sum") -> float: ...
    def gradients(self, x: _Array, y: _Array,
                  reduction: _Reduction = "sum") -> tuple[float, list[_Array]]:
        """(loss, [dL/dw1, ..., dL/dwK]) with the weights unchanged."""
    def train_step(self, x: _Array, y: _Array, lr: float,
                   reduction: _Reduction = "sum") -> float:
        """One step of gradient descent, w_k -= lr dL/dw_k; returns the loss before it."""
    def __copy__(self) -> Network: ...
    def __deepcopy__(self, memo: Any, /) -> Network: ...

class Optimizer:
    """How a gradient becomes a change of the weights, for networks of one dtype and shape:

      sgd        w <- w - lr (g + decay w)
      momentum   v <- mu v + (g + decay w);  w <- w - lr v      (nesterov: w <- w - lr (g' + mu v))
      adam       bias-corrected moments of g' = g + decay w

    Optimizer(network, kind="sgd", learning_rate=1e-3, momentum=0.9, nesterov=False, beta1=0.9,
    beta2=0.999, epsilon=1e-8, weight_decay=0.0) sizes its state for network."""
    def __init__(self, network: Network, *, kind: Literal["sgd", "momentum", "adam"] = "sgd",
                 learning_rate: float = 0.001, momentum: float = 0.9, nesterov: bool = False,
                 beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-08,
                 weight_decay: float = 0.0) -> None: ...
    def step(self, network: Network, x: _Array, y: _Array,
             reduction: _Reduction = "sum") -> float:
        """One update of network's weights from (x, y); returns the loss before it."""
    @property
    def dtype(self) -> numpy.dtype[Any]: ...
    @property
    def config(self) -> dict[str, Any]:
        """The settings as a dict: Optimizer(network, **optimizer.config) makes a fresh one."""
    @property
    def steps_taken(self) -> int: ...
    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps: dict(kind, steps, first, second), the moments as read-only
        views. restore(**optimizer.state()) on another optimizer copies it."""
    def restore(self, kind: str, steps: int, first: Sequence[_Array],
                second: Sequence[_Array]) -> None:
        """Puts a saved state back (copied), checked in full first: the same kind, moments shaped
        for the same network, finite; on error the optimizer is as it was."""
    @property
    def first(self) -> list[_Array]:
        """Momentum's velocity or Adam's first moments, one read-only view per layer."""
    @property
    def second(self) -> list[_Array]:
        """Adam's second moments, one read-only view per layer."""

class EpochReport:
    """What one epoch of fit() did."""
    @property
    def epoch(self) -> int: ...
    @property
    def steps(self) -> int: ...
    @property
    def train_loss(self) -> float: ...
    @property
    def validation_loss(self) -> float: ...
    @property
    def seconds(self) -> float: ...
    @property
    def samples_per_second(self) -> float: ...
    @property
    def best_epoch(self) -> int: ...
    @property
    def best_validation_loss(self) -> float: ...
    @property
    def epochs_without_improvement(self) -> int: ...
    @property
    def stops(self) -> bool: ...

class StepReport:
    """What one step of fit() did."""
    @property
    def epoch(self) -> int: ...
    @property
    def step(self) -> int: ...
    @property
    def steps_per_epoch(self) -> int: ...
    @property
    def rows_done(self) -> int: ...
    @property
    def loss(self) -> float: ...

class TrainingProgress:
    """Where fit() stands and how it runs; saved with a checkpoint."""
    def __init__(self, *, epochs_done: int = 0, seed: int = 0, batch_size: int = 0,
                 shuffle: bool = True, reduction: _Reduction = "sum") -> None: ...
    @property
    def epochs_done(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def shuffle(self) -> bool: ...
    @property
    def reduction(self) -> str: ...

class Checkpoint:
    """A checkpoint's state, as load_checkpoint read it."""
    @property
    def weights(self) -> list[_Array]: ...
    @property
    def first(self) -> list[_Array]: ...
    @property
    def second(self) -> list[_Array]: ...
    @property
    def optimizer(self) -> dict[str, Any]: ...
    @property
    def optimizer_steps(self) -> int: ...
    @property
    def progress(self) -> TrainingProgress: ...
    @property
    def trained_dtype(self) -> Literal["f32", "f64"]:
        """ "f32" or "f64": what the run the checkpoint comes from trained in."""
    @property
    def dtype(self) -> numpy.dtype[Any]: ...

def fit(network: Network, optimizer: Optimizer, x: _Array, y: _Array, *, epochs: int = 1,
        batch_size: int = 0, shuffle: bool = True, seed: int = 0, reduction: _Reduction = "sum",
        first_epoch: int = 1, on_epoch: Callable[[EpochReport], bool | None] | None = None,
        val_x: _Array | None = None, val_y: _Array | None = None,
        on_step: Callable[[StepReport], object] | None = None, checkpoint: _Path | None = None,
        checkpoint_every: int = 1, patience: int = 0, tolerance: float = 0.0001,
        resume: Checkpoint | _Path | None = None, rows: _Indices | None = None,
        val_rows: _Indices | None = None, x_mean: ArrayLike | None = None,
        x_scale: ArrayLike | None = None, y_mean: ArrayLike | None = None,
        y_scale: ArrayLike | None = None) -> list[EpochReport]:
    """Trains network on (x, y) with optimizer: epochs first_epoch..epochs of mini-batches of
    batch_size rows (0: the whole set), shuffled from (seed, epoch) alone. Returns a list of
    EpochReport. on_epoch(report) is called after every epoch; returning False stops.
    on_step(report) after every step (costs a GIL round trip per step). checkpoint=DIR saves a
    resumable state every checkpoint_every epochs and at the end. patience > 0 (with val_x/val_y or
    val_rows) stops after that many epochs without the validation loss falling below the best by
    more than tolerance, and keeps the best epoch's weights (each report's best_epoch, stops). A
    loss past the dtype's range after the last step raises DivergenceError. Ctrl-C stops between
    steps with KeyboardInterrupt. A callback may use the network it trains; a network or optimizer
    that another thread's fit() is training raises nobias.ValueError in a callback instead of
    waiting (docs/python.md). resume=CHECKPOINT (a Checkpoint of the network's dtype, or its
    directory) continues the run it comes from, bit for bit: the network must hold its weights
    (nobias.resume(dir) builds both), every setting is compared with the first run's
    (ResumeMismatch, a nobias.ValueError, names one that differs), and so is the data. Without
    copying x: rows=INDICES trains on those rows of x and y only (in that order), val_rows=INDICES
    validates on those (instead of val_x/val_y) and, without rows=, holds them out: the other rows
    of x train, in order. x_mean, x_scale (and y_mean, y_scale) standardize the rows of x (and y) that train and validate as they are read, (v - mean) / scale
    in float64 rounded once to the dtype: the bits of training on a standardized copy (statistics
    with val_x/val_y are refused: val_x would validate unstandardized)."""
def read_npy(path: _Path, dtype: _DType = ...) -> _Array:
    """A 2-D '<f4' or '<f8' .npy file as an array of dtype (converted as the C++ read_npy does)."""
def write_npy(path: _Path, array: _Array) -> None:
    """Writes a 2-D float32/float64 array atomically to a .npy path (a name without an extension,
    as a device or FIFO, too; another extension is a ValueError). Ctrl-C stops it
    (KeyboardInterrupt), the file left as it was."""
def save_weights(dir: _Path, weights: Network | Sequence[_Array]) -> None:
    """Writes w1.npy..wK.npy of a Network (or of a list of arrays) into dir."""
def load_weights(dir: _Path, dtype: _DType = ...) -> list[_Array]:
    """[w1, ..., wK] from dir (float32 or float64 files, converted to dtype)."""
def save_checkpoint(dir: _Path, network: Network, optimizer: Optimizer,
                    progress: TrainingProgress) -> None:
    """Writes a new state into dir (created if missing) and makes it current."""
def load_checkpoint(dir: _Path, dtype: _DType = ...) -> Checkpoint:
    """The current state of a checkpoint directory, its arrays converted to dtype."""
def restore_optimizer(optimizer: Optimizer, checkpoint: Checkpoint) -> None:
    """Puts a checkpoint's optimizer state (steps, moments) into optimizer."""
def save_model(dir: _Path, network: Network, *, classes: int = 0, x_mean: ArrayLike | None = None,
               x_scale: ArrayLike | None = None, y_mean: ArrayLike | None = None,
               y_scale: ArrayLike | None = None, settings: dict[str, str] = {},
               class_names: list[str] | None = None) -> None:
    """Writes network as a model directory (w*.npy, model.json, statistics), one atomic set;
    classes 0 for a regression; class_names (None, or one unique name per class) names class k at
    k. nobias-predict and nobias-evaluate read it."""
def load_model(dir: _Path, dtype: _DType = ...) -> tuple[Network, dict[str, Any]]:
    """(network, info) from a model directory (or a directory of bare w*.npy); info holds widths,
    dtype, classes, class_names (None or a list), the statistics x_mean/x_scale/y_mean/y_scale (or
    None), settings."""
def read_model_info(dir: _Path) -> dict[str, Any]:
    """A model directory's metadata only (its dtype: what to load it as)."""
def export_onnx(path: _Path, model: Network | _Path, *, classes: int = 0,
                x_mean: ArrayLike | None = None, x_scale: ArrayLike | None = None,
                y_mean: ArrayLike | None = None, y_scale: ArrayLike | None = None,
                class_names: list[str] | None = None) -> None:
    """Writes model (a Network, with save_model's classes, class_names and statistics; or a model
    directory's path) to path (a .onnx in any case, or a name without an extension; another
    extension is a ValueError) as an ONNX model, atomically: MatMul and Relu nodes, the
    statistics as Sub/Div and Mul/Add nodes, opset 13 (docs/onnx.md)."""
def shuffled_order(rows: int, seed: int, epoch: int) -> list[int]:
    """The order of rows fit() uses for an epoch: a permutation of range(rows) from (seed, epoch)
    alone; epoch 0 is the command line's validation split."""
def split_rows(rows: int, fraction: float,
               seed: int) -> tuple[NDArray[numpy.int64], NDArray[numpy.int64]]:
    """(train, validation) row indices, ascending: the validation set every front door holds out
    for early stopping, round(fraction * rows) rows chosen by seed (nobias-train's
    --validation-fraction), or none when that is fewer than data_defaults()['min_validation_rows']
    or leaves no row to train on."""
def data_defaults() -> dict[str, Any]:
    """The library's recipe for real data (nobias/defaults.hpp), which nobias-train and the
    estimators share, under the estimators' parameter names."""
def describe_targets(values: ArrayLike) -> dict[str, Any]:
    """The facts of a 1-D array of targets (rows, distinct values, whole, negative, smallest,
    largest, least_values, classes: largest + 1) and the library's verdicts: looks_like_classes
    (class labels rather than counts; nobias-train's --task auto) and looks_like_few_classes (2 to
    20 of them)."""
def column_statistics(x: _Array, rows: _Indices | None = None
                      ) -> tuple[NDArray[numpy.float64], NDArray[numpy.float64]]:
    """(mean, scale) of x's columns as float64 arrays, as --standardize computes them (two passes
    in double; scale is the population standard deviation, 1 for a constant column); rows: of
    these rows only (an index array, as over x[rows] without copying them)."""
def set_threads(threads: int) -> None:
    """0: every CPU (the default); n >= 1: at most n threads per training step. Results do not
    depend on it."""
def threads_setting() -> int:
    """0 while automatic"""
def available_threads() -> int: ...
def blas_has_thread_control() -> bool: ...
def blas_description() -> str:
    """What computes the products."""
