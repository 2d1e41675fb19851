"""nobias.Regressor and nobias.Classifier: scikit-learn's conventions, real-data results, and
(when Debian's python3-sklearn is installed) scikit-learn's own estimator checks."""
import pickle
import tracemalloc

import numpy
import pytest

import nobias


@pytest.fixture(autouse=True)
def one_thread():
    # Small networks: one thread. On a machine shared with other jobs the step's worker team
    # (which polls) can be 30x slower than one thread; results do not depend on it.
    saved = nobias.threads_setting()
    nobias.set_threads(1)
    yield
    nobias.set_threads(saved)


def regression(rows=300, seed=0, offset=0.0):
    rng = numpy.random.default_rng(seed)
    X = rng.standard_normal((rows, 5))
    y = X[:, 0] - 2 * X[:, 1] + 0.5 * numpy.abs(X[:, 2]) + offset
    return X, y


def test_parameters_are_stored_as_given_and_round_trip():
    model = nobias.Regressor(hidden_layer_sizes=(20,), learning_rate=3e-3, dtype=numpy.float64)
    params = model.get_params()
    assert params["hidden_layer_sizes"] == (20,) and params["learning_rate"] == 3e-3
    # The library's recipe (nobias/defaults.hpp), as nobias-train's.
    assert params["optimizer"] == "adam" and params["init"] == "half_glorot" and params["batch_size"] == 32
    assert params["early_stopping"] is True and params["standardize"] is True
    twin = nobias.Regressor(**params)
    assert twin.get_params() == params
    assert model.set_params(max_epochs=7) is model and model.max_epochs == 7
    with pytest.raises(ValueError, match="Invalid parameter 'epochs'"):
        model.set_params(epochs=3)
    assert not [k for k in vars(nobias.Classifier()) if k.endswith("_")]


def test_regressor_fits_and_scores(dtype):
    X, y = regression()
    model = nobias.Regressor(hidden_layer_sizes=(32,), dtype=dtype)
    assert model.fit(X[:240], y[:240]) is model
    assert model.predict(X[240:]).shape == (60,) and model.predict(X[240:]).dtype == numpy.float64
    assert model.score(X[240:], y[240:]) > 0.9
    assert model.n_iter_ == len(model.loss_curve_) == len(model.validation_loss_curve_)
    assert 1 <= model.n_iter_ <= model.max_epochs
    assert [w.shape for w in model.coefs_] == [(5, 32), (32, 1)]
    assert model.coefs_[0].dtype == dtype and model.n_features_in_ == 5


def test_score_is_r2_and_accuracy():
    X, y = regression(rows=100)
    model = nobias.Regressor(hidden_layer_sizes=(8,), max_epochs=5).fit(X, y)
    p = model.predict(X)
    assert model.score(X, y) == pytest.approx(1 - ((y - p) ** 2).sum() / ((y - y.mean()) ** 2).sum())
    c = nobias.Classifier(hidden_layer_sizes=(8,), max_epochs=5).fit(X, y > 0)
    assert c.score(X, y > 0) == pytest.approx(numpy.mean(c.predict(X) == (y > 0)))


def test_an_offset_needs_standardize():
    # f(0) = 0 for a bias-free network: an offset of 20 cannot be fitted without centring.
    X, y = regression(offset=20.0)
    plain = nobias.Regressor(hidden_layer_sizes=(32,), standardize=False).fit(X[:240], y[:240])
    scaled = nobias.Regressor(hidden_layer_sizes=(32,), standardize=True).fit(X[:240], y[:240])
    assert scaled.score(X[240:], y[240:]) > 0.9
    assert plain.score(X[240:], y[240:]) < scaled.score(X[240:], y[240:])
    # statistics of the training rows only, as nobias-train: the validation rows are the first
    # 24 of shuffled_order(240, seed 0, epoch 0)
    train = numpy.ones(240, dtype=bool)
    train[nobias.shuffled_order(240, 0, 0)[:24]] = False
    assert scaled.y_mean_ == pytest.approx(y[:240][train].astype(numpy.float32).mean())


def test_multioutput_regression():
    X, y = regression()
    Y = numpy.stack([y, -y], axis=1)
    model = nobias.Regressor(hidden_layer_sizes=(32,)).fit(X, Y)
    assert model.predict(X).shape == (300, 2) and model.n_outputs_ == 2


def test_classifier_with_string_labels():
    rng = numpy.random.default_rng(3)
    X = rng.standard_normal((300, 4))
    names = numpy.array(["left", "right", "up"])
    # Classes that are cones from the origin, as a bias-free network's decisions are.
    y = names[numpy.argmax(X[:, :3], axis=1)]
    model = nobias.Classifier(hidden_layer_sizes=(32,)).fit(X, y)
    assert list(model.classes_) == ["left", "right", "up"]
    assert set(model.predict(X)) <= set(names)
    assert model.score(X, y) > 0.9
    assert model.decision_scores(X).shape == (300, 3)


def test_seeded_and_repeatable():
    X, y = regression()
    a = nobias.Regressor(hidden_layer_sizes=(16,), random_state=4).fit(X, y)
    b = nobias.Regressor(hidden_layer_sizes=(16,), random_state=4).fit(X, y)
    c = nobias.Regressor(hidden_layer_sizes=(16,), random_state=5).fit(X, y)
    numpy.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert (a.predict(X) != c.predict(X)).any()


def test_pickle_round_trips_a_fitted_estimator():
    X, y = regression()
    model = nobias.Classifier(hidden_layer_sizes=(16,), standardize=True).fit(X, y > 0)
    again = pickle.loads(pickle.dumps(model))
    numpy.testing.assert_array_equal(again.predict(X), model.predict(X))
    numpy.testing.assert_array_equal(again.decision_scores(X), model.decision_scores(X))
    assert again.get_params() == model.get_params() and again.n_iter_ == model.n_iter_


def test_refusals():
    X, y = regression(rows=20)
    with pytest.raises(nobias.NotFittedError, match="not fitted yet"):
        nobias.Regressor().predict(X)
    model = nobias.Regressor(hidden_layer_sizes=(4,), max_epochs=2).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but Regressor is expecting 5"):
        model.predict(X[:, :3])
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        model.predict(X[:, 0])
    bad = X.copy()
    bad[3, 1] = numpy.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        nobias.Regressor().fit(bad, y)
    with pytest.raises(ValueError, match="Complex data not supported"):
        nobias.Regressor().fit(X + 1j, y)
    with pytest.raises(ValueError, match="requires y to be passed"):
        nobias.Regressor().fit(X, None)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        nobias.Classifier().fit(X, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        nobias.Regressor().fit(X, y[:5])
    with pytest.raises(nobias.ValueError,
                       match=r"kind: unknown optimizer 'lbfgs' \(expected one of sgd, momentum, adam\)"):
        nobias.Regressor(optimizer="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="validation_fraction"):
        nobias.Regressor(validation_fraction=1.5).fit(X, y)
    with pytest.raises(ValueError, match="dtype"):
        nobias.Regressor(dtype=numpy.int32).fit(X, y)


def test_one_sample_and_constant_columns():
    # edges2 item 2: one standardized row is X = 0, a bias-free network's output 0 whatever its
    # weights: fit "trained" at loss 0 and kept its starting weights. Refused, as nobias-train.
    X, y = regression(rows=40)
    with pytest.raises(nobias.ValueError, match=r"^X has 1 sample to train on: standardized "
                       r"\(centred on its own mean\) it is X = 0, which a bias-free network maps "
                       r"to 0 whatever its weights"):
        nobias.Regressor(hidden_layer_sizes=(4,), max_epochs=2).fit(X[:1], y[:1])
    same = numpy.repeat(X[:1], 40, axis=0)
    with pytest.raises(nobias.ValueError, match=r"fit: every column of x is constant over the 40 "
                       r"training rows, so x standardized \(centred on its mean\) is 0 in every "
                       r"one"):
        nobias.Regressor(hidden_layer_sizes=(4,), max_epochs=2, early_stopping=False).fit(same, y)
    # Without standardize one row trains.
    model = nobias.Regressor(hidden_layer_sizes=(4,), max_epochs=3, standardize=False)
    assert model.fit(X[:1], y[:1]).n_iter_ == 3
    # A constant column (0.7 forty times: its mean in double is not 0.7) standardizes to 0, by
    # mean 0.7 and scale 1, so a new value there moves the prediction as little as it is worth.
    X[:, 2] = 0.7
    model = nobias.Regressor(hidden_layer_sizes=(4,), max_epochs=3, early_stopping=False,
                             dtype=numpy.float64).fit(X, y)
    assert numpy.ravel(model.x_mean_)[2] == 0.7 and numpy.ravel(model.x_scale_)[2] == 1.0
    moved = X.copy()
    moved[:, 2] = 0.8
    assert numpy.abs(model.predict(moved) - model.predict(X)).max() < 10


def test_digits_held_out_accuracy():
    datasets = pytest.importorskip("sklearn.datasets", reason="python3-sklearn not installed")
    digits = datasets.load_digits()
    X, y = digits.data / 16.0, digits.target
    order = numpy.random.default_rng(0).permutation(len(y))
    train, test = order[:1400], order[1400:]
    model = nobias.Classifier().fit(X[train], y[train])
    assert model.score(X[test], y[test]) >= 0.97


def test_in_a_scikit_learn_pipeline():
    pytest.importorskip("sklearn", reason="python3-sklearn not installed")
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    X, y = regression(offset=5.0)
    pipeline = make_pipeline(StandardScaler(), nobias.Regressor(hidden_layer_sizes=(32,),
                                                                standardize=True))
    scores = cross_val_score(pipeline, X, y, cv=3)
    assert len(scores) == 3 and min(scores) > 0.8
    classifier = make_pipeline(StandardScaler(), nobias.Classifier(hidden_layer_sizes=(32,)))
    assert classifier.fit(X, y > 5).score(X, y > 5) > 0.9



def test_classifier_equals_the_command_line(nobias_train, tmp_path):
    # Real-data defaults on both sides, labels as a 1-D int64 array: the same split, shuffles,
    # early stopping and kept epoch give the same weights bit for bit.
    datasets = pytest.importorskip("sklearn.datasets", reason="python3-sklearn not installed")
    import subprocess
    digits = datasets.load_digits()
    X = (digits.data[:400] / 16.0).astype(numpy.float32)
    y = digits.target[:400].astype(numpy.int64)
    numpy.save(tmp_path / "x.npy", X)
    numpy.save(tmp_path / "y.npy", y)
    subprocess.run([nobias_train, "--x", str(tmp_path / "x.npy"), "--y", str(tmp_path / "y.npy"),
                    "--weights-out", str(tmp_path / "model"), "--seed", "3", "--quiet"],
                   check=True, capture_output=True)
    model = nobias.Classifier(random_state=3).fit(X, y)
    for k, w in enumerate(model.coefs_, start=1):
        cli = numpy.load(tmp_path / "model" / f"w{k}.npy")
        assert numpy.array_equal(cli, w), f"w{k} differs"
    _, info = nobias.load_model(tmp_path / "model")
    assert info["classes"] == 10 and info["widths"] == [64, 100, 100, 10]


def test_standardized_regressor_equals_the_command_line(nobias_train, tmp_path):
    # Issue 18: one driver, one split, one standardization. A regression with an offset in x
    # and y, --standardize on both sides, float64: the same weights and statistics bit for bit.
    import subprocess
    rng = numpy.random.default_rng(5)
    X = rng.normal(3.0, 2.0, (300, 7))
    y = X @ rng.normal(size=(7, 2)) + 10.0 + 0.1 * rng.normal(size=(300, 2))
    numpy.save(tmp_path / "x.npy", X)
    numpy.save(tmp_path / "y.npy", y)
    subprocess.run([nobias_train, "--x", str(tmp_path / "x.npy"), "--y", str(tmp_path / "y.npy"),
                    "--standardize", "--dtype", "f64", "--layers", "7,16,2", "--epochs", "12",
                    "--batch-size", "16", "--patience", "3", "--validation-fraction", "0.2",
                    "--optimizer", "adam", "--lr", "0.001", "--loss", "mean", "--init", "he",
                    "--weights-out", str(tmp_path / "model"), "--seed", "4", "--quiet"],
                   check=True, capture_output=True)
    model = nobias.Regressor(hidden_layer_sizes=(16,), standardize=True, dtype=numpy.float64,
                             init="he", max_epochs=12, batch_size=16, n_iter_no_change=3,
                             validation_fraction=0.2, random_state=4).fit(X, y)
    for k, w in enumerate(model.coefs_, start=1):
        cli = numpy.load(tmp_path / "model" / f"w{k}.npy")
        assert numpy.array_equal(cli, w), f"w{k} differs"
    _, info = nobias.load_model(tmp_path / "model")
    for name in ("x_mean", "x_scale", "y_mean", "y_scale"):
        assert numpy.array_equal(info[name].ravel(), getattr(model, name + "_").ravel()), name


def test_non_finite_predictions_and_scores_are_errors(dtype):
    # issue 19, items 10 and 13: a NaN or an infinity is never returned as a prediction or score.
    X, y = regression(rows=40)
    model = nobias.Regressor(hidden_layer_sizes=(3,), max_epochs=2, dtype=dtype).fit(X, y)
    classifier = nobias.Classifier(hidden_layer_sizes=(3,), max_epochs=2, dtype=dtype)
    classifier.fit(X, y > 0)
    for estimator in (model, classifier):
        for w in estimator.network_.weights:
            w[...] = 1  # a row of magnitude v now gives outputs 15 v
    big = X.copy()
    big[6] = numpy.finfo(dtype).max / 2
    for call in (lambda: model.predict(big), lambda: model.score(big, y),
                 lambda: classifier.predict(big), lambda: classifier.score(big, y > 0)):
        with pytest.raises(nobias.ValueError, match="prediction row 6 of 40, output 0 is inf"):
            call()
    # Finite predictions, targets so large that R^2's sums of squares pass float64's range.
    huge = numpy.where(numpy.arange(40) % 2 == 0, 1e200, -1e200)
    with pytest.raises(nobias.ValueError, match="score: r2 is nan: the errors are too large for "
                                                "float64"):
        model.score(X, huge)
    with pytest.raises(ValueError, match="Input y contains NaN or infinity"):
        model.score(X, numpy.where(numpy.arange(40) == 3, numpy.nan, y))
    # Undoing the targets' standardization can overflow float64 on its own.
    scaled = nobias.Regressor(hidden_layer_sizes=(3,), max_epochs=2, standardize=True,
                              dtype=dtype).fit(X, y)
    for w in scaled.network_.weights:
        w[...] = 1
    scaled.x_mean_, scaled.x_scale_ = numpy.zeros(5), numpy.ones(5)
    scaled.y_scale_ = numpy.array([1e308])
    with pytest.raises(nobias.ValueError, match=r"predict: prediction row 0 of 40, output 0 is "
                                                r"(-)?inf after undoing the targets' standardization"):
        scaled.predict(numpy.abs(X) + 1)


def test_early_stopping_on_too_few_rows_is_warned_about():
    # early_stopping=True asks for it; on rows too few to hold out 20 it is not done: said
    # (nobias-train says so on its defaults line, and refuses a --patience given), not dropped.
    from nobias.estimators import EarlyStoppingWarning
    X, y = regression(rows=120)
    quick = dict(hidden_layer_sizes=(8,), max_epochs=2)
    with pytest.warns(EarlyStoppingWarning, match=r"early_stopping: a validation_fraction of 0.1 "
                                                  r"holds 12 of 120 rows, fewer than 20"):
        model = nobias.Regressor(**quick).fit(X, y)
    assert model.validation_loss_curve_ == [] and model.n_iter_ == 2
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", EarlyStoppingWarning)
        nobias.Regressor(early_stopping=False, **quick).fit(X, y)
        held = nobias.Regressor(validation_fraction=0.25, **quick).fit(X, y)
    assert len(held.validation_loss_curve_) == 2


def test_targets_of_the_other_task_are_warned_about():
    # Issue 20: the command line's --task auto rule (nobias.describe_targets, the library's),
    # where an estimator's y looks like the other estimator's targets.
    from nobias.estimators import TargetWarning
    X, y = regression(rows=120)
    labels = (y > 0).astype(numpy.int64) + (y > 1)
    quick = dict(hidden_layer_sizes=(8,), max_epochs=2)
    with pytest.warns(TargetWarning, match=r"y holds 3 distinct integers \(0, 1, 2\), which look "
                                           r"like class labels: fitting them as numbers"):
        nobias.Regressor(**quick).fit(X, labels)
    counts = numpy.arange(120) * 3  # every row its own value: counts, not classes
    with pytest.warns(TargetWarning, match="y's 120 numbers take 120 distinct values, which look "
                                           "like counts or measurements"):
        nobias.Classifier(**quick).fit(X, counts)
    with pytest.warns(TargetWarning, match="take 120 distinct values"):
        nobias.Classifier(**quick).fit(X, counts.astype(numpy.float64))
    # Each estimator's own kind of targets: no warning.
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", TargetWarning)
        nobias.Regressor(**quick).fit(X, y)
        nobias.Regressor(**quick).fit(X, counts)  # many integer values are numbers
        nobias.Classifier(**quick).fit(X, labels)
        nobias.Classifier(**quick).fit(X, labels * 2 - 1)  # negative labels are classes too
        nobias.Classifier(**quick).fit(X, numpy.array(["a", "b"])[labels % 2])


def test_describe_targets_is_the_library_rule():
    facts = nobias._nobias.describe_targets(numpy.array([2, 0, 1, 2, 7, 0]))
    assert (facts["rows"], facts["distinct"], facts["classes"]) == (6, 4, 8)
    assert facts["whole"] and not facts["negative"] and facts["least_values"] == [0, 1, 2, 7]
    assert facts["looks_like_classes"] and facts["looks_like_few_classes"]
    counts = nobias._nobias.describe_targets(numpy.arange(3000) % 2992)
    assert counts["classes"] == 2992 and not counts["looks_like_classes"]
    assert not nobias._nobias.describe_targets(numpy.array([0.5, 1.0]))["looks_like_classes"]
    with pytest.raises(ValueError, match="expected a 1-D array of numbers"):
        nobias._nobias.describe_targets(numpy.zeros((3, 2)))


@pytest.mark.parametrize("estimator", [nobias.Regressor, nobias.Classifier])
def test_fit_trains_and_validates_on_X_where_it_lies(dtype, estimator):
    # A standardized validation split without copying X: the library reads the training and the
    # held-out rows by index, standardized as they are read. Python's own allocations while
    # fitting (numpy's, which tracemalloc counts) stay far below X's size; they were over twice
    # it (X's training rows, the held-out rows, and their standardized float64 temporaries).
    rng = numpy.random.default_rng(6)
    X = rng.standard_normal((20000, 200)).astype(dtype)
    y = X[:, 0] * 2 + 1 if estimator is nobias.Regressor else (X[:, 0] > 0).astype(int)
    model = estimator(hidden_layer_sizes=(4,), max_epochs=1, batch_size=5000, dtype=dtype,
                      standardize=True, early_stopping=True)
    tracemalloc.start()
    try:
        model.fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(model.validation_loss_curve_) == 1
    assert peak < 0.25 * X.nbytes, f"{peak / 2**20:.1f} MB for X of {X.nbytes / 2**20:.1f} MB"


@pytest.mark.parametrize("rows", [37, 30011])  # within a block of rows, and past several
def test_predictions_have_the_bits_of_numpys_standardized_copy(dtype, rows):
    # The estimators hand x_mean_/x_scale_ to Network.predict, which standardizes each block of
    # rows as it reads them; the bits are those of the numpy formula they replaced.
    X, y = regression(rows=300, seed=7, offset=3.0)
    X_new = regression(rows=rows, seed=8)[0].astype(dtype) * 3 + 1
    model = nobias.Regressor(hidden_layer_sizes=(9,), max_epochs=3, dtype=dtype).fit(X, y * 4)
    scores = model.network_.predict(((X_new - model.x_mean_) / model.x_scale_).astype(dtype))
    expected = scores.astype(numpy.float64) * model.y_scale_ + model.y_mean_
    assert numpy.array_equal(model.predict(X_new), expected.ravel())
    classifier = nobias.Classifier(hidden_layer_sizes=(9,), max_epochs=3, dtype=dtype)
    classifier.fit(X, y > 0)
    assert numpy.array_equal(classifier.decision_scores(X_new), classifier.network_.predict(
        ((X_new - classifier.x_mean_) / classifier.x_scale_).astype(dtype)))


def test_predict_makes_no_standardized_copy_of_X(dtype):
    # Python's own allocations (numpy's, which tracemalloc counts) while predicting stay below
    # X's size; the numpy standardization took a float64 temporary (2x X for float32) and a copy.
    # 32 columns: X is large beside the predictions' float64 arrays (24 bytes a row at most).
    rng = numpy.random.default_rng(9)
    X = rng.standard_normal((300, 32))
    model = nobias.Regressor(hidden_layer_sizes=(4,), max_epochs=1, dtype=dtype).fit(X, X[:, 0])
    X_new = rng.standard_normal((100000, 32)).astype(dtype)
    tracemalloc.start()
    try:
        predicted = model.predict(X_new)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert predicted.shape == (100000,)
    assert peak < X_new.nbytes, f"{peak / 2**20:.1f} MB for X of {X_new.nbytes / 2**20:.1f} MB"


def fitted_state(model):
    """Copies of everything a fit set (arrays and lists copied, the network's weights too)."""
    state = {name: (value.copy() if isinstance(value, (numpy.ndarray, list)) else value)
             for name, value in vars(model).items() if name.endswith("_") or name == "_y_was_1d"}
    weights = [w.copy() for w in model.network_.weights] if "network_" in state else None
    return state, weights


def assert_same_fit(model, before, X, predicted):
    state, weights = before
    now = {name: value for name, value in vars(model).items()
           if name.endswith("_") or name == "_y_was_1d"}
    assert now.keys() == state.keys()
    for name, value in state.items():
        if isinstance(value, numpy.ndarray):
            numpy.testing.assert_array_equal(now[name], value, err_msg=name)
        else:
            assert now[name] is value or now[name] == value, name
    for a, b in zip(model.network_.weights, weights):
        numpy.testing.assert_array_equal(a, b)
    numpy.testing.assert_array_equal(model.predict(X), predicted)


def interrupting_fit(monkeypatch, after_epochs):
    """nobias._nobias.fit, as the estimators call it, raising KeyboardInterrupt from inside the
    driver (its epoch callback) after some epochs: Ctrl-C in the middle of a fit."""
    real = nobias._nobias.fit

    def fit(*args, on_epoch=None, **kwargs):
        def interrupt(report):
            on_epoch(report)
            if report.epoch >= after_epochs:
                raise KeyboardInterrupt
            return True
        return real(*args, on_epoch=interrupt, **kwargs)
    monkeypatch.setattr(nobias._nobias, "fit", fit)


@pytest.mark.parametrize("estimator", ["Regressor", "Classifier"])
def test_a_failed_refit_leaves_the_previous_fit(estimator, monkeypatch):
    # A refit on other data that diverges, or is interrupted, must not leave the new data's
    # statistics, classes or width beside the old network: predict would answer garbage.
    X, y = regression(rows=200)
    if estimator == "Classifier":
        y, y_other = numpy.where(y > 0, "cat", "dog"), numpy.where(X[:, 3] > 0, "red", "blue")
    else:
        y_other = y * 100 + 1000
    X_other = X[:, :4] * 10 + 5  # other statistics and another width
    model = getattr(nobias, estimator)(hidden_layer_sizes=(16,), max_epochs=3).fit(X, y)
    predicted, before = model.predict(X), fitted_state(model)

    model.set_params(optimizer="sgd", learning_rate=1e30)
    with pytest.raises(nobias.DivergenceError):
        model.fit(X_other, y_other)
    assert_same_fit(model, before, X, predicted)

    # predict follows the fit, not a standardize set since.
    model.set_params(optimizer="adam", learning_rate=1e-3, max_epochs=5, standardize=False)
    interrupting_fit(monkeypatch, after_epochs=2)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X_other, y_other)
    assert_same_fit(model, before, X, predicted)

    # Never fitted: still not fitted, without a fitted attribute.
    fresh = getattr(nobias, estimator)(hidden_layer_sizes=(16,), max_epochs=5)
    with pytest.raises(KeyboardInterrupt):
        fresh.fit(X, y)
    assert not [name for name in vars(fresh) if name.endswith("_")]
    with pytest.raises(nobias.NotFittedError):
        fresh.predict(X)

    # A refit that succeeds replaces every attribute: none of the old fit's is left.
    monkeypatch.undo()
    model.set_params(max_epochs=2)
    model.fit(X_other, y_other)
    assert not hasattr(model, "x_mean_") and model.n_features_in_ == 4
    numpy.testing.assert_array_equal(model.network_.predict(X_other.astype(numpy.float32)),
                                     model.decision_scores(X_other) if estimator == "Classifier"
                                     else model.predict(X_other).reshape(-1, 1).astype(numpy.float32))


def test_refusals_of_y_name_y():
    # y's values, not X's: named y (they reached the library as column_statistics' x).
    X, y = regression(rows=100)
    big = y.copy()
    big[17] = 1e39
    with pytest.raises(ValueError, match=r"Input y contains a value too large for float32 "
                                         r"\(row 17, output 0 is 1e\+39\)"):
        nobias.Regressor(max_epochs=1).fit(X, big)
    with pytest.raises(nobias.ValueError, match=r"^y column 0: its mean or spread passes "
                                                r"float64's range \(its largest magnitude is"):
        nobias.Regressor(max_epochs=1, dtype=numpy.float64).fit(X, y * 1e300)
    with pytest.raises(nobias.ValueError, match=r"^X column 2: its mean or spread passes"):
        nobias.Regressor(max_epochs=1, dtype=numpy.float64).fit(X * [1, 1, 1e300, 1, 1], y)


@pytest.mark.parametrize("params, name, expected", [
    (dict(max_epochs=True), "max_epochs", "a whole number >= 1"),
    (dict(batch_size=True), "batch_size", "a whole number >= 1"),
    (dict(n_iter_no_change=True), "n_iter_no_change", "a whole number >= 1"),
    (dict(hidden_layer_sizes=(4, True)), r"hidden_layer_sizes\[1\]", "a whole number >= 1"),
    (dict(hidden_layer_sizes=numpy.bool_(True)), r"hidden_layer_sizes\[0\]", "a whole number >= 1"),
    (dict(random_state=True), "random_state", "None or a whole number >= 0"),
    (dict(tol=False), "tol", "a number"),
])
def test_a_bool_is_no_number_for_the_estimators(params, name, expected):
    # As for the low level (docs/python.md): True was read as 1.
    X, y = regression(rows=40)
    with pytest.raises(TypeError, match=r"^%s: expected %s, got (numpy\.)?(True|False) \(a bool"
                       % (name, expected)):
        nobias.Regressor(**dict(dict(max_epochs=1), **params)).fit(X, y)


@pytest.mark.filterwarnings("ignore::nobias.estimators.EarlyStoppingWarning")
@pytest.mark.parametrize("name", ["nesterov", "early_stopping", "standardize"])
@pytest.mark.parametrize("value, shown", [(1, r"1 \(a int\)"), (0, r"0 \(a int\)"),
                                          ("no", r"'no' \(a str\)"), (None, r"None \(a NoneType\)")])
def test_the_estimators_bool_parameters_take_a_bool_alone(name, value, shown):
    # early_stopping=1, standardize="no" or nesterov=0 were read for their truth.
    X, y = regression(rows=40)
    model = nobias.Regressor(max_epochs=1, **{name: value})
    with pytest.raises(TypeError, match=r"^%s: expected a bool \(True or False\), got %s$"
                       % (name, shown)):
        model.fit(X, y)
    assert not hasattr(model, "network_")
    for value in (True, numpy.bool_(False)):
        nobias.Regressor(max_epochs=1, optimizer="momentum", **{name: value}).fit(X, y)
