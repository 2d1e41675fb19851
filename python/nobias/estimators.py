"""scikit-learn-style estimators on nobias: Regressor and Classifier.

They follow scikit-learn's conventions (keyword arguments stored as given, fit(X, y) -> self,
predict, score, get_params/set_params, fitted attributes ending in "_") without importing
scikit-learn. Unlike the low level, they convert their inputs as scikit-learn does: lists,
other dtypes and layouts become contiguous arrays of `dtype`.

Defaults are the command line's for real data (the library's recipe, nobias/defaults.hpp,
measured in docs/real-data.md), and training is nobias-train's bit for bit: the columns of X
(and of a regression's y) centred and scaled by the training rows' statistics (predict puts
them back), initial weights at half Glorot's scale, Adam at learning rate 1e-3, the mean squared error,
shuffled mini-batches of 32, at most 200 epochs, and early stopping when the loss on a seeded
validation fraction of the rows has not fallen by more than tol for n_iter_no_change epochs
(the best epoch's weights are kept) -- when that fraction holds at least 20 rows; on fewer,
every row trains for max_epochs. A bias-free network is positively homogeneous,
f(a x) = a f(x) for a >= 0 and f(0) = 0: it cannot fit an offset by itself, which is why
standardize is on; standardize=False keeps the model homogeneous in X's own units.
"""
import warnings

import numpy

from . import _nobias
# EarlyStoppingWarning and NotFittedError are the shared base's, and this module's by name.
from ._estimator import EarlyStoppingWarning, NotFittedError, _Estimator  # noqa: F401
from ._inputs import (_first_non_finite, _least_values, _validated_X,
                      _validated_y)


class DataConversionWarning(UserWarning):
    """Data given in another shape than expected, and converted (as scikit-learn warns)."""


class TargetWarning(UserWarning):
    """y looks like the other estimator's targets: a few integer classes given to Regressor, or
    counts given to Classifier (the library's rule, nobias-train's --task auto's too)."""


class Regressor(_Estimator):
    """A bias-free MLP regressor: one output per target column, trained on the mean squared
    error. score() is R^2 averaged over outputs, as scikit-learn's r2_score."""

    _estimator_type = "regressor"

    def _more_tags(self):
        return dict(super()._more_tags(), multioutput=True)

    def fit(self, X, y):
        """Trains on X (n, d) and y (n,) or (n, k) of numbers; returns self. Sets network_,
        n_features_in_, n_outputs_, n_iter_, best_epoch_, best_loss_, loss_curve_,
        validation_loss_curve_ and, with standardize, x_mean_, x_scale_, y_mean_, y_scale_:
        all at once, when training has succeeded. A fit that fails (an error, DivergenceError,
        KeyboardInterrupt) leaves the previous fit's attributes as they were, or none."""
        dtype, hidden, seed = self._settings()
        X = _validated_X(X, dtype)
        y = _validated_y(y, type(self).__name__, X.shape[0])
        if y.dtype.kind in "biu" and (y.ndim == 1 or y.shape[1] == 1):
            facts = _nobias.describe_targets(y.ravel())
            if facts["looks_like_few_classes"]:
                warnings.warn(f"y holds {facts['distinct']} distinct integers "
                              f"({_least_values(facts)}), which look like class labels: fitting "
                              "them as numbers (nobias.Classifier fits classes)", TargetWarning,
                              stacklevel=2)
        y = numpy.asarray(y, dtype=numpy.float64)
        if not numpy.isfinite(y).all():
            raise ValueError("Input y contains NaN or infinity")
        targets = y.reshape(-1, 1) if y.ndim == 1 else y
        with numpy.errstate(over="ignore"):
            converted = targets.astype(dtype)
        bad = _first_non_finite(converted)
        if bad is not None:
            row, column = bad
            raise ValueError(f"Input y contains a value too large for {numpy.dtype(dtype).name} "
                             f"(row {row}, output {column} is {float(targets[row, column])!r}), "
                             "the estimator's dtype: scale y down, or give dtype=numpy.float64")
        fitted = self._fit_rows(X, converted, True, dtype, hidden, seed)
        return self._commit(dict(fitted, n_features_in_=X.shape[1], n_outputs_=targets.shape[1],
                                 _y_was_1d=y.ndim == 1))

    def predict(self, X):
        """Predictions as float64, (n,) for a 1-D y in fit, (n, n_outputs) otherwise.
        nobias.ValueError naming the first row whose prediction is a NaN or an infinity."""
        out = self._scores(X).astype(numpy.float64)  # the network refuses its own overflow
        if hasattr(self, "y_mean_"):
            with numpy.errstate(over="ignore", invalid="ignore"):
                out = out * self.y_scale_ + self.y_mean_
            bad = _first_non_finite(out)
            if bad is not None:
                row, column = bad
                scale, mean = float(self.y_scale_[column]), float(self.y_mean_[column])
                raise _nobias.ValueError(
                    f"predict: prediction row {row} of {len(out)}, output {column} is "
                    f"{float(out[row, column])} after undoing the targets' standardization "
                    f"(y_scale {scale!r}, y_mean {mean!r}): it passed float64's range; the "
                    "inputs, or the weights, are too large")
        return out.ravel() if self._y_was_1d else out

    def score(self, X, y):
        """The coefficient of determination R^2, averaged uniformly over the outputs, as
        scikit-learn's r2_score: a constant target column scores 1 if predicted exactly, else 0
        (nobias-evaluate calls R^2 undefined there). nobias.ValueError when R^2 comes out NaN
        or infinite: the errors passed float64's range."""
        predicted = self.predict(X).reshape(len(X), -1)
        y = numpy.asarray(y, dtype=numpy.float64).reshape(len(predicted), -1)
        if not numpy.isfinite(y).all():
            raise ValueError("Input y contains NaN or infinity")
        with numpy.errstate(over="ignore", invalid="ignore"):
            residual = ((y - predicted) ** 2).sum(axis=0)
            total = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
            r2 = numpy.where(total > 0, 1.0 - residual / numpy.where(total > 0, total, 1.0),
                             numpy.where(residual == 0, 1.0, 0.0))
            score = float(r2.mean())
        if not numpy.isfinite(score):
            with numpy.errstate(over="ignore"):
                errors = numpy.abs(y - predicted)
            row, column = numpy.unravel_index(numpy.argmax(errors), errors.shape)
            largest = float(numpy.finfo(numpy.float64).max)
            p, t = float(predicted[row, column]), float(y[row, column])
            raise _nobias.ValueError(
                f"score: r2 is {score}: the errors are too large for float64: the sum of the "
                f"squared errors passes float64's largest, {largest!r}; the largest "
                f"|prediction - target| is at row {row}, output {column} (prediction {p!r}, "
                f"target {t!r})")
        return score


class Classifier(_Estimator):
    """A bias-free MLP classifier: one output per class, trained on one-hot targets with the
    mean squared error; predict gives the class of the largest output. score() is accuracy."""

    _estimator_type = "classifier"

    def fit(self, X, y):
        """Trains on X (n, d) and y (n,) of class labels (integers or strings); returns self.
        Sets classes_, network_, n_features_in_, n_iter_, best_epoch_, best_loss_, loss_curve_,
        validation_loss_curve_ and, with standardize, x_mean_, x_scale_: all at once, when
        training has succeeded. A fit that fails (an error, DivergenceError, KeyboardInterrupt)
        leaves the previous fit's attributes as they were, or none."""
        dtype, hidden, seed = self._settings()
        X = _validated_X(X, dtype)
        y = _validated_y(y, type(self).__name__, X.shape[0])
        if y.ndim == 2:
            if y.shape[1] != 1:
                raise ValueError(f"y should be a 1d array of labels, got shape {y.shape}")
            warnings.warn("A column-vector y was passed when a 1d array was expected. Please "
                          "change the shape of y to (n_samples,), for example using ravel().",
                          DataConversionWarning, stacklevel=2)
            y = y.ravel()
        if y.dtype.kind == "f":
            if not numpy.isfinite(y).all():
                raise ValueError("Input y contains NaN or infinity")
            if (y != numpy.round(y)).any():
                raise ValueError("Unknown label type: continuous. A classifier needs class "
                                 "labels (integers or strings), not continuous values")
        classes, labels = numpy.unique(y, return_inverse=True)
        if y.dtype.kind in "biuf":
            # The rule on the classes as the network gets them, one output each.
            facts = _nobias.describe_targets(labels.ravel())
            if not facts["looks_like_classes"]:
                warnings.warn(f"y's {len(y)} numbers take {len(classes)} distinct values, "
                              "which look like counts or measurements rather than class labels: "
                              f"fitting a classifier of {len(classes)} classes "
                              "(nobias.Regressor fits numbers)", TargetWarning, stacklevel=2)
        targets = numpy.zeros((X.shape[0], len(classes)), dtype=dtype)
        targets[numpy.arange(X.shape[0]), labels] = 1
        fitted = self._fit_rows(X, targets, False, dtype, hidden, seed)
        return self._commit(dict(fitted, classes_=classes, n_features_in_=X.shape[1]))

    def decision_scores(self, X):
        """The network's outputs, one column per class of classes_."""
        return self._scores(X)

    def predict(self, X):
        """For each row of X, the class of classes_ whose output is the largest."""
        scores = self._scores(X)  # first: NotFittedError before fit
        return self.classes_[numpy.argmax(scores, axis=1)]

    def score(self, X, y):
        """The fraction of rows whose predicted class is y's."""
        return float(numpy.mean(self.predict(X) == numpy.asarray(y).ravel()))
