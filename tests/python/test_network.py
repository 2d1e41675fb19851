"""nobias.Network against an obvious numpy reference, its weight views, copies and pickling,
and the refusals of bad arguments."""
import copy
import gc
import pickle
import re
import sys
from pathlib import Path

import numpy
import pytest

import nobias
from conftest import reference_forward

WIDTHS = [7, 13, 11, 5]  # odd, non-square shapes catch transposition and stride bugs
TOLERANCE = {numpy.float32: 2e-5, numpy.float64: 1e-12}


def data(rng, dtype, rows=9):
    return (rng.standard_normal((rows, WIDTHS[0])).astype(dtype),
            rng.standard_normal((rows, WIDTHS[-1])).astype(dtype))


def reference_gradients(weights, x, y):
    """Loss and dL/dw_k of L = sum (yhat - y)^2 by backpropagation in float64, ReLU'(0) = 1."""
    ws = [numpy.asarray(w, dtype=numpy.float64) for w in weights]
    acts, hs = [numpy.asarray(x, dtype=numpy.float64)], [None]
    for k, w in enumerate(ws):
        h = acts[-1] @ w
        hs.append(h)
        acts.append(numpy.maximum(h, 0.0) if k + 1 < len(ws) else h)
    residual = acts[-1] - y
    g = 2.0 * residual
    dws = [None] * len(ws)
    for k in range(len(ws) - 1, -1, -1):
        dws[k] = acts[k].T @ g
        if k > 0:
            g = (g @ ws[k].T) * (hs[k] >= 0)
    return float((residual ** 2).sum()), dws


def max_relative_error(a, b):
    a, b = numpy.asarray(a, dtype=numpy.float64), numpy.asarray(b, dtype=numpy.float64)
    scale = numpy.maximum(numpy.maximum(abs(a), abs(b)), 1e-30)
    return float((abs(a - b) / scale).max())


def test_predict_loss_and_gradients_match_numpy(dtype, rng):
    net = nobias.Network(WIDTHS, seed=1, init="he", dtype=dtype)
    x, y = data(rng, dtype)
    before = [w.copy() for w in net.weights]
    assert max_relative_error(net.predict(x), reference_forward(net.weights, x)) < TOLERANCE[dtype]
    loss, dws = net.gradients(x, y)
    ref_loss, ref_dws = reference_gradients(net.weights, x, y)
    assert loss == pytest.approx(ref_loss, rel=TOLERANCE[dtype])
    assert net.loss(x, y) == pytest.approx(ref_loss, rel=TOLERANCE[dtype])
    assert net.loss(x, y, reduction="mean") == pytest.approx(ref_loss / y.size,
                                                            rel=TOLERANCE[dtype])
    assert len(dws) == 3
    for dw, ref, w in zip(dws, ref_dws, before):
        assert dw.dtype == dtype and dw.shape == w.shape
        assert numpy.abs(dw - ref).max() <= 10 * TOLERANCE[dtype] * numpy.abs(ref).max()
    for w, old in zip(net.weights, before):  # gradients() leaves the weights alone
        numpy.testing.assert_array_equal(w, old)


def test_train_step_is_one_gradient_descent_step(rng):
    net = nobias.Network(WIDTHS, seed=2, init="he", dtype=numpy.float64)
    x, y = data(rng, numpy.float64)
    lr = 1e-3
    ref_loss, ref_dws = reference_gradients(net.weights, x, y)
    expected = [w - lr * dw for w, dw in zip(net.weights, ref_dws)]
    assert net.train_step(x, y, lr) == pytest.approx(ref_loss, rel=1e-12)
    for w, e in zip(net.weights, expected):
        assert max_relative_error(w, e) < 1e-10
    # mean: the gradient of the mean loss, divided by rows x d_out
    net = nobias.Network(WIDTHS, seed=2, init="he", dtype=numpy.float64)
    expected = [w - lr * dw / y.size for w, dw in zip(net.weights, ref_dws)]
    assert net.train_step(x, y, lr, reduction="mean") == pytest.approx(ref_loss / y.size, rel=1e-12)
    for w, e in zip(net.weights, expected):
        assert max_relative_error(w, e) < 1e-10


def test_weights_are_the_networks_memory(dtype, rng):
    net = nobias.Network(WIDTHS, seed=4, dtype=dtype)
    views = net.weights
    again = net.weights
    for a, b in zip(views, again):
        assert a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
        assert a.base is net and a.flags.writeable and a.dtype == dtype
    x, _ = data(rng, dtype)
    before = net.predict(x)
    views[-1][:] = 0  # the last layer zero: the network now predicts zero
    assert (net.predict(x) == 0).all() and (before != 0).any()
    views[-1][0, 0] = 1  # and only that element's path
    numpy.testing.assert_allclose(net.predict(x)[:, 0],
                                  reference_forward(net.weights, x)[:, 0],
                                  rtol=TOLERANCE[dtype])
    # a step writes into the same memory the views show
    x, y = data(rng, dtype)
    address = views[0].__array_interface__["data"][0]
    old = views[0].copy()
    net.train_step(x, y, 1e-4)
    assert net.weights[0].__array_interface__["data"][0] == address
    assert (views[0] != old).any()


def test_a_weight_view_outlives_its_network():
    net = nobias.Network(WIDTHS, seed=5, dtype=numpy.float64)
    expected = [w.copy() for w in net.weights]
    count = sys.getrefcount(net)
    view = net.weights[1]
    assert sys.getrefcount(net) == count + 1  # the view holds the network
    del net
    gc.collect()
    numpy.testing.assert_array_equal(view, expected[1])  # still the network's memory, alive
    view[:] = 2.0
    assert (view == 2.0).all()
    del view
    gc.collect()


def test_copy_deepcopy_and_pickle_are_independent_and_exact(dtype, rng):
    net = nobias.Network(WIDTHS, seed=6, dtype=dtype)
    x, y = data(rng, dtype)
    for other in (copy.copy(net), copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert other.dtype == dtype and other.widths == WIDTHS
        numpy.testing.assert_array_equal(other.predict(x), net.predict(x))
        assert other.weights[0].__array_interface__["data"][0] != \
            net.weights[0].__array_interface__["data"][0]
    twin = pickle.loads(pickle.dumps(net))
    net.train_step(x, y, 1e-4)
    assert (twin.weights[0] != net.weights[0]).any()


def test_from_weights_copies_and_keeps_dtype(dtype, rng):
    ws = [rng.standard_normal((a, b)).astype(dtype) for a, b in zip(WIDTHS, WIDTHS[1:])]
    net = nobias.Network.from_weights(ws)
    assert net.dtype == dtype and net.widths == WIDTHS and net.layers == 3
    for w, given in zip(net.weights, ws):
        numpy.testing.assert_array_equal(w, given)
        assert w.__array_interface__["data"][0] != given.__array_interface__["data"][0]


def test_from_weights_refuses_what_does_not_chain():
    with pytest.raises(nobias.ShapeError, match="w2"):
        nobias.Network.from_weights([numpy.ones((4, 3)), numpy.ones((2, 2))])
    bad = numpy.ones((4, 3))
    bad[1, 2] = numpy.nan
    with pytest.raises(nobias.ValueError, match="nan"):
        nobias.Network.from_weights([bad])


def test_seeded_initialization(dtype):
    a = nobias.Network([300, 200, 3], seed=9, init="he", dtype=dtype)
    b = nobias.Network([300, 200, 3], seed=9, init="he", dtype=dtype)
    c = nobias.Network([300, 200, 3], seed=10, init="he", dtype=dtype)
    numpy.testing.assert_array_equal(a.weights[0], b.weights[0])
    assert (a.weights[0] != c.weights[0]).any()
    assert numpy.std(a.weights[0]) == pytest.approx(numpy.sqrt(2 / 300), rel=0.03)
    normal = nobias.Network([300, 200, 3], seed=9, dtype=dtype)
    assert numpy.std(normal.weights[0]) == pytest.approx(1.0, rel=0.03)


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(widths=[5]), nobias.ValueError, "at least two widths"),
    (dict(widths=[5, 0, 2]), nobias.ValueError, r"widths\[1\]: expected a whole number >= 1, got 0"),
    (dict(widths=[5, -1]), ValueError, r"widths\[1\]: expected a whole number >= 1, got -1"),
    (dict(widths=[5, 2.5]), TypeError,
     r"widths\[1\]: expected a whole number >= 1, got 2.5 \(a float\)"),
    # Issue 19 item 13: a bool is an int to Python, and [True, 2] made a network of width 1.
    (dict(widths=[True, 2]), TypeError,
     r"widths\[0\]: expected a whole number >= 1, got True \(a bool\)"),
    (dict(widths=[5, numpy.bool_(True)]), TypeError,
     r"widths\[1\]: expected a whole number >= 1, got (numpy\.)?True \(a bool"),
    (dict(widths=[5, 2], seed=True), TypeError,
     r"seed: expected a whole number >= 0, got True \(a bool\)"),
    (dict(widths=[5, 2], seed=-1), ValueError, r"seed: expected a whole number >= 0, got -1"),
    (dict(widths="5,2"), TypeError, "widths: expected a sequence"),
    (dict(widths=[5, 2], init="xavier"), nobias.ValueError,
     r"init: unknown init 'xavier' \(expected one of normal, he, lecun, glorot, half_glorot\)"),
    (dict(widths=[5, 2], dtype=numpy.int32), TypeError,
     "dtype: expected numpy.float32 or numpy.float64, got int32"),
    (dict(widths=[5, 2], dtype="nonsense"), TypeError, "dtype: expected numpy.float32"),
])
def test_construction_refusals(kwargs, error, words):
    with pytest.raises(error, match=words):
        nobias.Network(**kwargs)


def test_train_step_refuses_a_bool_learning_rate(rng):
    # True was read as lr = 1.0 (bool is an int to Python).
    net = nobias.Network(WIDTHS, seed=7)
    x, y = data(rng, numpy.float32)
    before = [w.copy() for w in net.weights]
    with pytest.raises(TypeError, match=r"lr: expected a number, got True \(a bool\)"):
        net.train_step(x, y, True)
    for a, b in zip(before, net.weights):
        numpy.testing.assert_array_equal(a, b)


def test_numpy_integer_widths_and_dtype_spellings():
    net = nobias.Network(numpy.array([4, 3, 2]), dtype="float64")
    assert net.widths == [4, 3, 2] and net.dtype == numpy.float64
    assert nobias.Network((4, 2), dtype=numpy.dtype("f4")).dtype == numpy.float32


def test_step_refusals_leave_the_weights_alone(dtype, rng):
    net = nobias.Network(WIDTHS, seed=7, dtype=dtype)
    x, y = data(rng, dtype)
    before = [w.copy() for w in net.weights]
    with pytest.raises(nobias.ValueError, match="learning rate must be finite and > 0"):
        net.train_step(x, y, 0.0)
    with pytest.raises(nobias.ValueError,
                       match=r"reduction: unknown reduction 'avg' \(expected one of sum, mean\)"):
        net.train_step(x, y, 1e-3, reduction="avg")
    with pytest.raises(nobias.ShapeError):
        net.train_step(x, y[:4], 1e-3)
    bad = x.copy()
    bad[2, 3] = numpy.nan
    with pytest.raises(nobias.ValueError, match=r"train_step: x: element \(2, 3\) is nan"):
        net.train_step(bad, y, 1e-3)
    with pytest.raises(nobias.DivergenceError):
        huge = numpy.full_like(x, 1e300 if dtype == numpy.float64 else 1e37)
        net.train_step(huge, y, 1e-3)
    for w, old in zip(net.weights, before):
        numpy.testing.assert_array_equal(w, old)


def test_exception_family():
    assert issubclass(nobias.ShapeError, ValueError) and issubclass(nobias.ShapeError, nobias.Error)
    assert issubclass(nobias.ValueError, ValueError) and issubclass(nobias.ValueError, nobias.Error)
    assert issubclass(nobias.IoError, OSError) and issubclass(nobias.IoError, nobias.Error)
    assert issubclass(nobias.DivergenceError, nobias.Error)
    assert not issubclass(nobias.DivergenceError, (ValueError, OSError))


def test_module_level_functions():
    source = Path(__file__).resolve().parents[2] / "CMakeLists.txt"
    version = re.search(r"project\(nobias VERSION (\S+)", source.read_text()).group(1)
    assert nobias.__version__ == version
    assert re.match(r"OpenBLAS|generic CBLAS", nobias.blas_description())
    assert nobias.available_threads() >= 1
    saved = nobias.threads_setting()
    try:
        nobias.set_threads(1)
        assert nobias.threads_setting() == 1
        nobias.set_threads(0)
        assert nobias.threads_setting() == 0
        with pytest.raises(nobias.ValueError):
            nobias.set_threads(-2)
    finally:
        nobias.set_threads(saved)


def test_predict_refuses_non_finite_results_naming_the_row(dtype, rng):
    # All-ones weights 5 -> 3 -> 2: a row of magnitude v gives outputs 15 v, so a finite row
    # within a factor 5 of the dtype's largest overflows (issue 19, item 10).
    net = nobias.Network.from_weights([numpy.ones((5, 3), dtype), numpy.ones((3, 2), dtype)])
    x = rng.standard_normal((7, 5)).astype(dtype)
    assert numpy.isfinite(net.predict(x)).all()
    x[4] = numpy.finfo(dtype).max / 2
    name = numpy.dtype(dtype).name
    with pytest.raises(nobias.ValueError,
                       match=r"predict: prediction row 4 of 7, output 0 is inf, from finite "
                             r"inputs: the network's values passed %s's range .* the largest "
                             r"\|x\| in row 4 is .* too large for %s" % (name, name)):
        net.predict(x)
    with pytest.raises(ValueError, match="prediction row 4 of 7"):  # also Python's ValueError
        net.predict(x, out=numpy.empty((7, 2), dtype))
    x[4] = 1
    x[5, 3] = numpy.nan
    with pytest.raises(nobias.ValueError, match="prediction row 5 of 7, output 0 is nan: x row 5, "
                                                "column 3 is nan; predictions need finite inputs"):
        net.predict(x)


@pytest.mark.parametrize("call, words", [
    (lambda: nobias.set_threads(True), r"threads: expected a whole number >= 0, got True"),
    (lambda: nobias.shuffled_order(True, 0, 1), r"rows: expected a whole number >= 0, got True"),
    (lambda: nobias.shuffled_order(5, 0, numpy.bool_(True)),
     r"epoch: expected a whole number >= 0, got (numpy\.)?True"),
    (lambda: nobias._nobias.split_rows(True, 0.5, 0), r"rows: expected a whole number >= 0, got True"),
    (lambda: nobias._nobias.split_rows(50, True, 0), r"fraction: expected a number, got True"),
    (lambda: nobias.TrainingProgress(epochs_done=True), r"epochs_done: expected a whole number >= 0, got True"),
    (lambda: nobias.save_model("never-written", nobias.Network([3, 1]), classes=True),
     r"classes: expected a whole number >= 0, got True"),
    (lambda: nobias.export_onnx("never-written.onnx", nobias.Network([3, 1]), classes=False),
     r"classes: expected a whole number >= 0, got False"),
])
def test_every_count_refuses_a_bool(call, words, tmp_path, monkeypatch):
    # A bool is not a number (docs/python.md), though Python makes it an int: refused, in the
    # same words, by every call that takes a count, not only Network and fit.
    monkeypatch.chdir(tmp_path)  # what a call accepting the bool would write
    saved = nobias.threads_setting()
    try:
        with pytest.raises(TypeError, match=words + r" \(a bool"):
            call()
    finally:
        nobias.set_threads(saved)
