"""fit(rows=, val_rows=, x_mean=, x_scale=, y_mean=, y_scale=): training and validating on rows
of x read where they lie, standardized as they are read; and the refusals of those keywords."""
import numpy
import pytest

import nobias

WIDTHS = [6, 9, 4]


def problem(dtype, rows=90, seed=4):
    rng = numpy.random.default_rng(seed)
    x = (rng.standard_normal((rows, WIDTHS[0])) * 3 + 1).astype(dtype)
    y = (x[:, :4] * 0.5 + 2).astype(dtype)
    return x, y


def test_rows_read_where_they_lie_are_those_of_a_standardized_copy(dtype):
    # fit(rows=, val_rows=, x_mean=, ...) trains and validates on rows of x without copying
    # them, standardized as they are read: the bits of fit on standardized copies of them.
    x, y = problem(dtype)
    order = numpy.random.default_rng(5).permutation(90)
    train, held = order[:63], order[63:]  # out of order: positions, not a prefix
    x_mean, x_scale = nobias.column_statistics(x, rows=train)
    y_mean, y_scale = nobias.column_statistics(y, rows=train)
    numpy.testing.assert_array_equal(nobias.column_statistics(x[train])[0], x_mean)

    def copy(a, mean, scale, rows):
        return ((a[rows] - mean) / scale).astype(dtype)

    kwargs = dict(epochs=4, batch_size=16, seed=3, reduction="mean", patience=2)
    a = nobias.Network(WIDTHS, seed=1, init="he", dtype=dtype)
    b = nobias.Network(WIDTHS, seed=1, init="he", dtype=dtype)
    want = nobias.fit(a, nobias.Optimizer(a, kind="adam", learning_rate=1e-2),
                      copy(x, x_mean, x_scale, train), copy(y, y_mean, y_scale, train),
                      val_x=copy(x, x_mean, x_scale, held), val_y=copy(y, y_mean, y_scale, held),
                      **kwargs)
    got = nobias.fit(b, nobias.Optimizer(b, kind="adam", learning_rate=1e-2), x, y, rows=train,
                     val_rows=held, x_mean=x_mean, x_scale=x_scale, y_mean=y_mean,
                     y_scale=y_scale, **kwargs)
    assert [(r.train_loss, r.validation_loss) for r in got] == \
        [(r.train_loss, r.validation_loss) for r in want]
    for wa, wb in zip(a.weights, b.weights):
        numpy.testing.assert_array_equal(wa, wb)
    # Refusals: indices that are not integers, negative or past x's rows, two validation sets.
    net = nobias.Network(WIDTHS, seed=1, dtype=dtype)
    optimizer = nobias.Optimizer(net, learning_rate=1e-3)
    with pytest.raises(TypeError, match="rows: expected a 1-D array of row indices"):
        nobias.fit(net, optimizer, x, y, rows=numpy.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="val_rows: row index -1 at position 1"):
        nobias.fit(net, optimizer, x, y, val_rows=[0, -1])
    with pytest.raises(nobias.ValueError, match="position 0 names row 90, but x has 90 rows"):
        nobias.fit(net, optimizer, x, y, val_rows=[90])
    with pytest.raises(ValueError, match="val_rows and val_x/val_y: expected one"):
        nobias.fit(net, optimizer, x, y, val_rows=held, val_x=x[:3], val_y=y[:3])


def test_the_keywords_refusals_name_the_keyword(dtype):
    x, y = problem(dtype, rows=40)
    net = nobias.Network(WIDTHS, seed=1, dtype=dtype)
    optimizer = nobias.Optimizer(net, learning_rate=1e-3)
    mean, scale = nobias.column_statistics(x)

    def refused(error, words, **kwargs):
        with pytest.raises(error, match=words):
            nobias.fit(net, optimizer, x, y, **kwargs)

    # Half a pair is not "no statistics": it would train unstandardized without a word.
    refused(nobias.ValueError, "fit: x_scale given without x_mean; expected both or neither",
            x_scale=scale)
    refused(nobias.ValueError, "fit: y_mean given without y_scale; expected both or neither",
            y_mean=numpy.zeros(4))
    refused(nobias.ValueError, r"fit: x_mean has 5 values, expected 6 \(one per column of x\)",
            x_mean=mean[:5], x_scale=scale[:5])
    refused(nobias.ValueError, "fit: x_mean element 2 is nan; it must be finite",
            x_mean=numpy.where(numpy.arange(6) == 2, numpy.nan, mean), x_scale=scale)
    refused(nobias.ValueError, "fit: x_scale element 0 is 0; it must be finite and > 0",
            x_mean=mean, x_scale=numpy.where(numpy.arange(6) == 0, 0.0, scale),
            val_rows=[0, 1])
    refused(ValueError, "fit: x_mean: expected a 1-D array of numbers", x_mean=[[1, 2], [3, 4]],
            x_scale=scale)
    # Indices past x's, by the keyword and the row of x; in any integer dtype, unsigned ones
    # too (through int64, 2^63 and above would turn negative).
    refused(nobias.ValueError, "fit: val_rows position 0 names row 40, but x has 40 rows",
            val_rows=[40], x_mean=mean, x_scale=scale)
    refused(nobias.ValueError, "fit: rows position 1 names row 40, but x has 40 rows",
            rows=[3, 40])
    refused(nobias.ValueError, "fit: rows position 0 names row 18446744073709551615, but x has 40",
            rows=numpy.array([2**64 - 1], dtype=numpy.uint64))
    refused(nobias.ValueError, "fit: val_rows position 1 names row 9223372036854775808, but x",
            val_rows=numpy.array([1, 2**63], dtype=numpy.uint64))
    refused(ValueError, "fit: val_rows: row index -1 at position 1", val_rows=[0, -1])
    # An empty sequence (numpy makes it float64) is no rows, not a type to complain of.
    refused(nobias.ShapeError, "fit: rows lists no row", rows=[])
    refused(nobias.ShapeError, "fit: val_rows lists no row", val_rows=[])
    refused(TypeError, "fit: rows: expected a 1-D array of row indices", rows=[0.0, 1.0])
    # Statistics standardize x as it is read; val_x would not be: refused, not validated in
    # other units.
    refused(nobias.ValueError, "fit: x_mean/x_scale and y_mean/y_scale standardize .* val_rows=",
            x_mean=mean, x_scale=scale, val_x=x[:5], val_y=y[:5])


def test_values_standardized_past_the_dtype_are_refused_before_training(dtype):
    # Finite x, statistics that take it past the dtype's range: refused before any step,
    # naming the row of x (not a position among the rows read), the column and the statistics.
    x, y = problem(dtype, rows=40)
    net = nobias.Network(WIDTHS, seed=1, dtype=dtype)
    before = [w.copy() for w in net.weights]
    optimizer = nobias.Optimizer(net, learning_rate=1e-3)
    tiny = 1e-40 if dtype == numpy.float32 else 1e-310
    mean, scale = numpy.zeros(6), numpy.ones(6)
    scale[4] = tiny
    x[:, 4] = 0.0
    x[17, 4] = 2.0
    with pytest.raises(nobias.ValueError,
                       match=r"fit: x row 17, column 4 is 2, which standardizes to .* \(x_mean 0, "
                       r"x_scale 1e-[0-9]+\), past float(32|64)'s range"):
        nobias.fit(net, optimizer, x, y, rows=numpy.arange(10, 40), x_mean=mean, x_scale=scale)
    # Held out of x for validation, the row is still x's, and the error is no DivergenceError.
    with pytest.raises(nobias.ValueError, match=r"fit: x row 17, column 4 is 2, which"):
        nobias.fit(net, optimizer, x, y, rows=numpy.arange(20, 40), val_rows=[3, 17],
                   x_mean=mean, x_scale=scale, patience=1)
    for a, b in zip(net.weights, before):
        numpy.testing.assert_array_equal(a, b)


def test_val_rows_without_rows_are_held_out_of_training(dtype):
    # val_rows holds rows out of x: without rows=, the others train (in order), as rows= listing
    # them would; validating on rows that also train would measure nothing.
    x, y = problem(dtype, rows=40)
    held = numpy.array([31, 2, 17, 5])
    others = numpy.setdiff1d(numpy.arange(40), held)
    kwargs = dict(epochs=3, batch_size=8, seed=2, reduction="mean", patience=2)
    runs = []
    for rows in (None, others):
        net = nobias.Network(WIDTHS, seed=1, init="he", dtype=dtype)
        reports = nobias.fit(net, nobias.Optimizer(net, kind="adam", learning_rate=1e-2), x, y,
                             rows=rows, val_rows=held, **kwargs)
        runs.append(([(r.train_loss, r.validation_loss) for r in reports], net.weights))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        numpy.testing.assert_array_equal(a, b)
    net = nobias.Network(WIDTHS, seed=1, dtype=dtype)
    with pytest.raises(nobias.ValueError, match=r"fit: val_rows holds out all 40 rows of x; none "
                                                r"is left to train on \(rows= names the rows"):
        nobias.fit(net, nobias.Optimizer(net), x, y, val_rows=numpy.arange(40)[::-1])


def test_a_checkpoint_of_val_rows_trained_on_every_row_is_refused_with_the_way_to_resume(tmp_path):
    # Before 2026-12-07, fit(val_rows=...) without rows= trained on every row of x, val_rows'
    # too; rows=numpy.arange(len(x)) writes such a checkpoint today. Resumed without rows=, the
    # training rows differ (the refusal stands) and the message says how to resume it.
    x, y = problem(numpy.float64, rows=40)
    held = numpy.array([31, 2, 17, 5])
    kwargs = dict(batch_size=8, seed=2, reduction="mean", patience=2, val_rows=held)
    net = nobias.Network(WIDTHS, seed=1, init="he", dtype=numpy.float64)
    nobias.fit(net, nobias.Optimizer(net), x, y, epochs=2, rows=numpy.arange(40),
               checkpoint=tmp_path / "ck", **kwargs)
    net, opt, _ = nobias.resume(tmp_path / "ck")
    with pytest.raises(nobias.ValueError, match=(
            r"^resume: the checkpoint was trained on other data \(the data differ: 36 rows now, 40 in "
            r"the checkpoint\); resume with the data of the first run\. The checkpoint trained on "
            r"every row of x \(all 40, val_rows' too\), as fit\(val_rows=\.\.\.\) without rows= "
            r"did before 2026-12-07: to resume it, give rows=numpy\.arange\(len\(x\)\), its "
            r"training rows then$")):
        nobias.fit(net, opt, x, y, epochs=3, resume=tmp_path / "ck", **kwargs)
    assert len(nobias.fit(net, opt, x, y, epochs=3, resume=tmp_path / "ck",
                          rows=numpy.arange(40), **kwargs)) == 1
    # Other data is refused as before, without that advice: it does not apply.
    net, opt, _ = nobias.resume(tmp_path / "ck")
    with pytest.raises(nobias.ValueError, match=r"trained on other data \(the data differ: 36 rows now, "
                                                r"40 in the checkpoint\); resume with the data of "
                                                r"the first run$"):
        nobias.fit(net, opt, x * 2, y, epochs=3, resume=tmp_path / "ck", **kwargs)
