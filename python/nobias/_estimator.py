"""What the estimators Regressor and Classifier (estimators.py) share: their parameters and
scikit-learn's parameter protocol, the checks of those parameters, the validation split, and
training through the library's driver (nobias.fit) with the standardization it reads rows with;
and the two exceptions those raise, NotFittedError and EarlyStoppingWarning. Private: the public
names are nobias.estimators' (and nobias'), which the classes here say they belong to.
"""
import inspect
import sys
import warnings

import numpy

from . import _nobias
from ._inputs import _validated_X

# The library's recipe for real data (nobias/defaults.hpp), nobias-train's too.
_D = _nobias.data_defaults()


class NotFittedError(ValueError, AttributeError):
    """predict or score before fit (scikit-learn's NotFittedError has the same two bases)."""

    __module__ = "nobias.estimators"


_NOT_FITTED_TYPES = {}


def _not_fitted_error_type():
    """NotFittedError, or when scikit-learn is in use (its exceptions module loaded), a
    subclass that is also scikit-learn's NotFittedError, so that code catching either works.
    nobias never imports scikit-learn itself: that takes seconds."""
    theirs = getattr(sys.modules.get("sklearn.exceptions"), "NotFittedError", None)
    if theirs is None:
        return NotFittedError
    if theirs not in _NOT_FITTED_TYPES:
        _NOT_FITTED_TYPES[theirs] = type("NotFittedError", (NotFittedError, theirs),
                                         {"__module__": "nobias.estimators"})
    return _NOT_FITTED_TYPES[theirs]



# Every attribute fit sets. A fit replaces them all at once, when it has succeeded: one that
# fails (an error, a DivergenceError, Ctrl-C) leaves the previous fit's, or none.
_FITTED = ("network_", "n_features_in_", "n_outputs_", "classes_", "x_mean_", "x_scale_",
           "y_mean_", "y_scale_", "n_iter_", "best_loss_", "best_epoch_", "loss_curve_",
           "validation_loss_curve_", "_y_was_1d")


def _refuse_bool(name, value, expected):
    """A bool is not a number here, though Python makes it an int (max_epochs=True is a mistake,
    never a way of writing 1): TypeError in the low level's words."""
    if isinstance(value, (bool, numpy.bool_)):
        raise TypeError(f"{name}: expected {expected}, got {value!r} (a {type(value).__name__})")


def _require_bool(name, value):
    """A yes-or-no parameter takes a bool alone (early_stopping=1 or standardize="no" is a
    mistake, and "no" would read as true): TypeError in the low level's words."""
    if not isinstance(value, (bool, numpy.bool_)):
        raise TypeError(f"{name}: expected a bool (True or False), got {value!r} "
                        f"(a {type(value).__name__})")


def _column_statistics(values, rows, name):
    """_nobias.column_statistics(values, rows=rows), whose errors call its argument x, with a
    column whose mean or spread passes float64's range refused in the estimator's words: name is
    the argument the user passed, "X" or "y"."""
    try:
        return _nobias.column_statistics(values, rows=rows)
    except _nobias.ValueError:
        # Only then: the column found again from the values, not from the message's words.
        picked = (values if rows is None else values[rows]).astype(numpy.float64)
        with numpy.errstate(over="ignore", invalid="ignore"):
            bad = ~numpy.isfinite(picked.mean(axis=0)) | ~numpy.isfinite(picked.std(axis=0))
        if not bad.any():
            raise
    column = int(numpy.flatnonzero(bad)[0])
    largest = float(numpy.abs(picked[:, column]).max())
    raise _nobias.ValueError(
        f"{name} column {column}: its mean or spread passes float64's range (its largest "
        f"magnitude is {largest!r}), so standardize cannot centre and scale it: scale {name} down")


class EarlyStoppingWarning(UserWarning):
    """early_stopping=True, but the data are too few to hold out a validation set by the
    library's rule (fewer than data_defaults()["min_validation_rows"] rows at
    validation_fraction): every row trains for all max_epochs, as nobias-train's note says."""

    __module__ = "nobias.estimators"


class _Estimator:
    """What Regressor and Classifier share: parameters, training, prediction of scores."""

    def __init__(self, hidden_layer_sizes=_D["hidden_layer_sizes"], *, optimizer=_D["optimizer"],
                 learning_rate=_D["learning_rate"], momentum=0.9, nesterov=False, weight_decay=0.0,
                 batch_size=_D["batch_size"], max_epochs=_D["max_epochs"], early_stopping=True,
                 validation_fraction=_D["validation_fraction"],
                 n_iter_no_change=_D["n_iter_no_change"], tol=_D["tol"],
                 standardize=_D["standardize"], init=_D["init"], dtype=numpy.float32,
                 random_state=0):
        """Parameters, stored as given and checked at fit (scikit-learn's convention):
        hidden_layer_sizes (widths of the hidden layers), optimizer ("sgd", "momentum", "adam"),
        learning_rate, momentum and nesterov (momentum's), weight_decay, batch_size (rows per
        step), max_epochs, early_stopping with validation_fraction, n_iter_no_change and tol,
        standardize (centre and scale X's columns, and a regression's y, by the training rows'
        statistics), init ("normal", "he", "lecun", "glorot", "half_glorot"), dtype (numpy.float32 or
        numpy.float64: the network's), random_state (the seed of weights, shuffling and the
        validation split; None is 0). The defaults are data_defaults()'s."""
        self.hidden_layer_sizes = hidden_layer_sizes
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.standardize = standardize
        self.init = init
        self.dtype = dtype
        self.random_state = random_state

    # ---- scikit-learn's parameter protocol ----

    @classmethod
    def _parameter_names(cls):
        signature = inspect.signature(_Estimator.__init__)
        return [name for name in signature.parameters if name != "self"]

    def get_params(self, deep=True):
        """The parameters given to __init__ (or set_params), by name."""
        return {name: getattr(self, name) for name in self._parameter_names()}

    def set_params(self, **params):
        """Sets parameters by name; returns self. ValueError naming an unknown one."""
        valid = self._parameter_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {self!r}. "
                                 f"Valid parameters are: {valid!r}.")
            setattr(self, name, value)
        return self

    def __repr__(self):
        defaults = inspect.signature(_Estimator.__init__).parameters
        changed = [f"{name}={getattr(self, name)!r}" for name in self._parameter_names()
                   if getattr(self, name) is not defaults[name].default
                   and getattr(self, name) != defaults[name].default]
        return f"{type(self).__name__}({', '.join(changed)})"

    def _more_tags(self):
        tags = {"requires_y": True}
        if (numpy.dtype(self.dtype) == numpy.float32
                and "float32 products on oneDNN" in _nobias.blas_description()):
            # Every backend cuts a product by its shape, so one row alone can round
            # differently from the same row in a batch; only float32 on oneDNN goes beyond
            # the check's tolerance.
            tags["_xfail_checks"] = {
                "check_methods_subset_invariance":
                    "float32 on oneDNN: a row's last bits may depend on its batch beyond the "
                    "check's tolerance (dtype=numpy.float64 or NOBIAS_SGEMM=blas stay within)"}
        return tags

    def _commit(self, fitted):
        """Replaces the previous fit's attributes with fitted's; returns self. One assignment of
        __dict__: a signal handler (KeyboardInterrupt) runs between bytecodes, so it cannot
        leave half of one fit and half of the other."""
        state = {name: value for name, value in vars(self).items() if name not in _FITTED}
        state.update(fitted)
        self.__dict__ = state
        return self

    def __sklearn_is_fitted__(self):
        return hasattr(self, "network_")

    def _check_fitted(self):
        if not hasattr(self, "network_"):
            raise _not_fitted_error_type()(f"This {type(self).__name__} instance is not fitted yet. Call "
                                 "'fit' with appropriate arguments before using this estimator.")

    @property
    def coefs_(self):
        """[w1, ..., wK]: the fitted network's weights (views of its memory)."""
        if not hasattr(self, "network_"):
            raise AttributeError("coefs_: the estimator is not fitted")
        return self.network_.weights

    # ---- training ----

    def _settings(self):
        dtype = numpy.dtype(self.dtype).type
        if dtype not in (numpy.float32, numpy.float64):
            raise ValueError(f"dtype: expected numpy.float32 or numpy.float64, got {self.dtype!r}")
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if numpy.isscalar(sizes) else list(sizes)
        for i, size in enumerate(sizes):
            _refuse_bool(f"hidden_layer_sizes[{i}]", size, "a whole number >= 1")
        for name in ("max_epochs", "batch_size", "n_iter_no_change"):
            _refuse_bool(name, getattr(self, name), "a whole number >= 1")
        for name in ("validation_fraction", "tol"):
            _refuse_bool(name, getattr(self, name), "a number")
        _refuse_bool("random_state", self.random_state, "None or a whole number >= 0")
        for name in ("nesterov", "early_stopping", "standardize"):
            _require_bool(name, getattr(self, name))
        if any(int(s) != s or s < 1 for s in sizes):
            raise ValueError(f"hidden_layer_sizes: expected whole numbers >= 1, got {sizes!r}")
        if not (isinstance(self.max_epochs, (int, numpy.integer)) and self.max_epochs >= 1):
            raise ValueError(f"max_epochs: expected a whole number >= 1, got {self.max_epochs!r}")
        if not (isinstance(self.batch_size, (int, numpy.integer)) and self.batch_size >= 1):
            raise ValueError(f"batch_size: expected a whole number >= 1, got {self.batch_size!r}")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError("validation_fraction: expected a number in (0, 1), got "
                             f"{self.validation_fraction!r}")
        if not (isinstance(self.n_iter_no_change, (int, numpy.integer))
                and self.n_iter_no_change >= 1):
            raise ValueError("n_iter_no_change: expected a whole number >= 1, got "
                             f"{self.n_iter_no_change!r}")
        if not (isinstance(self.tol, (int, float, numpy.floating)) and 0 <= self.tol < numpy.inf):
            raise ValueError(f"tol: expected a finite number >= 0, got {self.tol!r}")
        seed = 0 if self.random_state is None else self.random_state
        if not isinstance(seed, (int, numpy.integer)) or seed < 0:
            raise ValueError(f"random_state: expected None or a whole number >= 0, got {seed!r}")
        return dtype, [int(s) for s in sizes], int(seed)

    def _split(self, rows, seed):
        """(train rows, validation rows): the library's split, as nobias-train's
        --validation-fraction. No validation rows when early stopping is off or the fraction holds
        fewer than 20 rows (data_defaults()["min_validation_rows"]): every row trains."""
        if not self.early_stopping:
            return numpy.arange(rows), None
        train, held = _nobias.split_rows(rows, float(self.validation_fraction), seed)
        if len(held) == 0 or len(train) == 0:
            # Asked for, and not done: said, never dropped unsaid (early_stopping=False is the
            # way to ask for every row without this warning).
            minimum = _D["min_validation_rows"]
            share = int(numpy.floor(float(self.validation_fraction) * rows + 0.5))
            warnings.warn(f"early_stopping: a validation_fraction of {self.validation_fraction} "
                          f"holds {share} of {rows} rows, fewer than {minimum} (or leaves none to "
                          f"train on): no early stopping, every row trains for max_epochs "
                          f"({self.max_epochs}); give more rows or a larger validation_fraction, "
                          "or early_stopping=False", EarlyStoppingWarning, stacklevel=4)
            return numpy.arange(rows), None
        return train, held

    def _train(self, X, targets, rows, held, statistics, dtype, hidden, seed):
        """Trains a network on rows of X and targets (None: all), validating on the held rows,
        both standardized by statistics as the library reads them; early stopping as
        nobias-train's (the library's driver): after n_iter_no_change epochs without the
        validation loss falling by more than tol, keeping the weights of the best epoch.
        Returns the fitted attributes it makes; sets none."""
        network = _nobias.Network([X.shape[1], *hidden, targets.shape[1]], seed=seed,
                                  init=self.init, dtype=dtype)
        optimizer = _nobias.Optimizer(network, kind=self.optimizer,
                                      learning_rate=self.learning_rate, momentum=self.momentum,
                                      nesterov=self.nesterov, weight_decay=self.weight_decay)
        loss_curve, validation_loss_curve = [], []

        def on_epoch(report):
            loss_curve.append(report.train_loss)
            if held is not None:
                validation_loss_curve.append(report.validation_loss)
            return True

        # Early stopping, and keeping the best epoch's weights, are the driver's (as for
        # nobias-train).
        val = {} if held is None else dict(val_rows=held, patience=int(self.n_iter_no_change),
                                           tolerance=float(self.tol))
        try:
            reports = _nobias.fit(network, optimizer, X, targets, epochs=int(self.max_epochs),
                                  batch_size=int(self.batch_size), seed=seed, reduction="mean",
                                  on_epoch=on_epoch, rows=rows, **statistics, **val)
        except _nobias.ValueError:
            # The library refuses training rows whose X reads as 0, as one standardized row
            # does; said in scikit-learn's words for that case, from the facts, not the message.
            if "x_mean" not in statistics or (X.shape[0] if rows is None else len(rows)) != 1:
                raise
            raise _nobias.ValueError(
                "X has 1 sample to train on: standardized (centred on its own mean) it is X = 0, "
                "which a bias-free network maps to 0 whatever its weights, so fit would learn "
                "nothing; give more samples, or standardize=False") from None
        last = reports[-1]
        return dict(network_=network, n_iter_=len(reports),
                    best_loss_=last.best_validation_loss if held is not None else last.train_loss,
                    best_epoch_=last.best_epoch if held is not None else len(reports),
                    loss_curve_=loss_curve, validation_loss_curve_=validation_loss_curve)

    def _fit_rows(self, X, targets, standardize_targets, dtype, hidden, seed):
        """Splits, standardizes with the training rows' statistics (as nobias-train), trains.
        X's rows stay where they are: the library reads the training and validation rows by
        index, standardized as they are read (the bits of a standardized copy), so X (already
        of dtype, C-contiguous) is not copied. Returns the fitted attributes; sets none."""
        train, held = self._split(X.shape[0], seed)
        rows = None if held is None else train  # None: every row, in order
        targets = numpy.ascontiguousarray(targets, dtype=dtype)
        statistics = {}
        if self.standardize:
            # The library's statistics (as --standardize's), so the runs agree bit for bit.
            statistics["x_mean"], statistics["x_scale"] = _column_statistics(X, rows, "X")
            if standardize_targets:
                statistics["y_mean"], statistics["y_scale"] = _column_statistics(targets, rows, "y")
        fitted = self._train(X, targets, rows, held, statistics, dtype, hidden, seed)
        fitted.update({name + "_": value for name, value in statistics.items()})
        return fitted

    def _scores(self, X):
        """The network's outputs for X (validated and standardized as in fit)."""
        self._check_fitted()
        X = _validated_X(X, self.network_.dtype)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input.")
        if not hasattr(self, "x_mean_"):  # the fit's standardize, not a set_params since
            return self.network_.predict(X)
        # Each block of rows standardized as the network reads it (in float64, rounded to X's
        # dtype once): no standardized copy of X.
        return self.network_.predict(X, x_mean=self.x_mean_, x_scale=self.x_scale_)


