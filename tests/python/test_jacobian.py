"""Network.jacobian and Network.jacobians: x @ J(x) is predict(x), J is numpy's product of the
weights and the ReLU masks, J(alpha x) = J(x), the batch is each row, and bad input is refused."""
import numpy
import pytest

import nobias

# 1, 2 and 4 weight matrices; d_in > d_out and d_in < d_out (the two orders of the chain).
SHAPES = [[7, 3], [3, 7], [7, 13, 5], [5, 13, 7], [13, 7, 5, 3, 11], [3, 13, 7, 5, 11]]
TOLERANCE = {numpy.float32: 2e-5, numpy.float64: 1e-12}


def network(widths, dtype, seed=1):
    return nobias.Network(widths, seed=seed, init="he", dtype=dtype)


def reference_jacobian(weights, x_row):
    """w_1 D_1 w_2 ... D_{K-1} w_K in float64, D_k = diag(h_k >= 0) (ReLU'(0) = 1)."""
    ws = [numpy.asarray(w, dtype=numpy.float64) for w in weights]
    a, j = numpy.asarray(x_row, dtype=numpy.float64), ws[0]
    for k in range(1, len(ws)):
        h = a @ ws[k - 1]
        j = (j * (h >= 0)) @ ws[k]
        a = numpy.maximum(h, 0.0)
    return j


def relative_error(a, b):
    scale = max(numpy.abs(a).max(), numpy.abs(b).max())
    return numpy.abs(a - b).max() / scale if scale else numpy.abs(a - b).max()


@pytest.mark.parametrize("widths", SHAPES, ids=str)
def test_x_times_j_is_predict(widths, dtype, rng):
    net = network(widths, dtype)
    x = rng.standard_normal((6, widths[0])).astype(dtype)
    yhat = net.predict(x)
    for i in range(len(x)):
        j = net.jacobian(x[i])
        assert j.shape == (widths[0], widths[-1]) and j.dtype == dtype
        assert relative_error(x[i].astype(numpy.float64) @ j, yhat[i]) <= TOLERANCE[dtype]
        assert relative_error(j, reference_jacobian(net.weights, x[i])) <= TOLERANCE[dtype]


@pytest.mark.parametrize("widths", SHAPES, ids=str)
def test_batch_is_each_row(widths, dtype, rng):
    net = network(widths, dtype)
    x = rng.standard_normal((11, widths[0])).astype(dtype)
    all_rows = net.jacobians(x)
    assert all_rows.shape == (11, widths[0], widths[-1]) and all_rows.dtype == dtype
    for i in range(len(x)):
        assert relative_error(all_rows[i], net.jacobian(x[i:i + 1])) <= TOLERANCE[dtype]


def test_positive_scale_leaves_it_unchanged(dtype, rng):
    net = network([7, 13, 5, 3], dtype)
    x = rng.standard_normal((5, 7)).astype(dtype)
    j = net.jacobians(x)
    for alpha in (1 / 64, 2.0, 1024.0):  # powers of two: every h_k scales exactly
        assert numpy.array_equal(net.jacobians(x * dtype(alpha)), j)


def test_refusals(dtype):
    net = network([7, 13, 5], dtype)
    with pytest.raises(nobias.ShapeError, match="jacobian: x_row has 2 rows, expected 1"):
        net.jacobian(numpy.zeros((2, 7), dtype))
    with pytest.raises(nobias.ShapeError, match="x_row has 6 columns, network input has 7"):
        net.jacobian(numpy.zeros(6, dtype))
    with pytest.raises(nobias.ShapeError, match="jacobians: x has 8 columns, network input has 7"):
        net.jacobians(numpy.zeros((3, 8), dtype))
    bad = numpy.zeros((3, 7), dtype)
    bad[1, 2] = numpy.inf
    with pytest.raises(nobias.ValueError, match=r"jacobians: x: element \(1, 2\) is inf"):
        net.jacobians(bad)
    with pytest.raises(nobias.ValueError, match=r"jacobian: x_row: element \(0, 2\) is inf"):
        net.jacobian(bad[1])
    other = numpy.float64 if dtype == numpy.float32 else numpy.float32
    with pytest.raises(TypeError):
        net.jacobian(numpy.zeros(7, other))
