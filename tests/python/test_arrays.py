"""Arrays pass without copies, and everything else is refused with a message saying what was
expected: wrong type, dtype, rank, layout, alignment, read-only output."""
import numpy
import pytest

import nobias


def network(dtype, widths=(7, 13, 5)):
    return nobias.Network(list(widths), seed=3, dtype=dtype)


def test_predict_writes_into_the_given_out_without_copy(dtype, rng):
    net = network(dtype)
    x = rng.standard_normal((11, 7)).astype(dtype)
    out = numpy.full((11, 5), numpy.nan, dtype=dtype)
    returned = net.predict(x, out=out)
    assert returned is out
    assert returned.__array_interface__["data"][0] == out.__array_interface__["data"][0]
    numpy.testing.assert_array_equal(out, net.predict(x))


def test_strided_rows_are_read_in_place(dtype, rng):
    # x[::2] and x[:, :7] have a row stride larger than their width: read through the
    # leading dimension, they give exactly what their contiguous copies give.
    net = network(dtype)
    big = rng.standard_normal((22, 10)).astype(dtype)
    for view in (big[::2, :7], big[:, 2:9], big[1::3, 3:10]):
        assert not view.flags.c_contiguous
        numpy.testing.assert_array_equal(net.predict(view),
                                         net.predict(numpy.ascontiguousarray(view)))
    out_big = numpy.zeros((22, 8), dtype=dtype)
    out = out_big[::2, 1:6]
    net.predict(big[::2, :7], out=out)
    numpy.testing.assert_array_equal(out, net.predict(numpy.ascontiguousarray(big[::2, :7])))
    assert (out_big[1::2] == 0).all() and (out_big[:, 0] == 0).all() and (out_big[:, 6:] == 0).all()


def test_inputs_are_views_of_the_callers_memory(dtype):
    # The one conversion every call makes of an input: same address, the row stride as the
    # leading dimension.
    from nobias import _nobias
    big = numpy.zeros((10, 12), dtype=dtype)
    item = numpy.dtype(dtype).itemsize
    for view in (big, big[::2], big[:, 3:8], big[1::3, 2:9], big[4:5, 1:3]):
        address = view.__array_interface__["data"][0]
        rows, cols = view.shape
        ld = view.strides[0] // item if rows > 1 else cols
        assert _nobias._input_view(view) == (address, rows, cols, ld)


def test_strided_input_reads_only_its_columns(rng):
    # Columns outside the view hold NaN: read through the leading dimension, they are never
    # touched, and the step equals that on a contiguous copy.
    x = rng.standard_normal((9, 12)).astype(numpy.float64)
    x[:, 7:] = numpy.nan
    y = rng.standard_normal((9, 5))
    a, b = network(numpy.float64), network(numpy.float64)
    la = a.train_step(x[:, :7], y, 1e-3)
    lb = b.train_step(numpy.ascontiguousarray(x[:, :7]), y, 1e-3)
    assert la == lb
    for wa, wb in zip(a.weights, b.weights):
        numpy.testing.assert_array_equal(wa, wb)


@pytest.mark.parametrize("bad, error, words", [
    ([[1.0] * 7] * 3, TypeError, "expected a numpy.ndarray"),
    ("text", TypeError, "expected a numpy.ndarray"),
])
def test_non_arrays_are_refused(bad, error, words):
    with pytest.raises(error, match=words):
        network(numpy.float64).predict(bad)


@pytest.mark.parametrize("other", [numpy.int64, numpy.int32, numpy.float16, numpy.complex128,
                                   numpy.uint8, bool])
def test_other_dtypes_are_refused(dtype, other):
    x = numpy.ones((3, 7), dtype=other)
    with pytest.raises(TypeError, match="expected a float(32|64) array.*got " +
                       numpy.dtype(other).name):
        network(dtype).predict(x)


def test_the_other_float_dtype_is_refused_not_converted(dtype):
    other = numpy.float64 if dtype == numpy.float32 else numpy.float32
    net = network(dtype)
    with pytest.raises(TypeError, match=r"x: expected a %s array \(the network's dtype\), got %s"
                       % (numpy.dtype(dtype).name, numpy.dtype(other).name)):
        net.predict(numpy.ones((3, 7), dtype=other))
    with pytest.raises(TypeError, match="y: expected a %s array" % numpy.dtype(dtype).name):
        net.train_step(numpy.ones((3, 7), dtype=dtype), numpy.ones((3, 5), dtype=other), 1e-3)


def test_big_endian_is_refused(dtype):
    x = numpy.ones((3, 7), dtype=numpy.dtype(dtype).newbyteorder(">"))
    with pytest.raises(TypeError, match="expected a float"):
        network(dtype).predict(x)


@pytest.mark.parametrize("shape", [(7,), (2, 3, 7), ()])
def test_other_ranks_are_refused(dtype, shape):
    x = numpy.ones(shape, dtype=dtype)
    with pytest.raises(ValueError, match=r"x: expected a 2-D array \(rows, columns\), got a %d-D"
                       % len(shape)) as info:
        network(dtype).predict(x)
    if len(shape) == 1:
        assert "reshape(-1, 1)" in str(info.value)
    # The same words from every call that takes data, for x and y alike.
    net = network(dtype)
    good_x, good_y = numpy.ones((2, 7), dtype), numpy.ones((2, 5), dtype)
    for call, name in ((lambda: net.train_step(x, good_y, 1e-3), "x"),
                       (lambda: net.train_step(good_x, x, 1e-3), "y"),
                       (lambda: nobias.fit(net, nobias.Optimizer(net), good_x, x), "y")):
        with pytest.raises(ValueError, match=r"%s: expected a 2-D array \(rows, columns\), got a "
                           r"%d-D array of shape" % (name, len(shape))):
            call()


@pytest.mark.parametrize("shape, words", [
    ((0, 7), r"expected at least one row, got 0 rows \(an array of shape \(0, 7\)\)"),
    ((3, 0), r"expected at least one column, got 0 columns \(an array of shape \(3, 0\)\)"),
    ((0, 0), r"expected at least one row, got 0 rows \(an array of shape \(0, 0\)\)"),
])
def test_empty_arrays_are_refused_as_empty(dtype, shape, words):
    # Issue 19 item 13: numpy gives an empty array zero strides, and such an x was refused as
    # "not contiguous", which sent the user looking for a layout problem.
    net = network(dtype)
    empty = numpy.zeros(shape, dtype)
    x, y = numpy.ones((3, 7), dtype), numpy.ones((3, 5), dtype)  # whole, beside the empty one
    calls = [("x", lambda: net.predict(empty)),
             ("x", lambda: net.train_step(empty, y, 1e-3)),
             ("y", lambda: net.train_step(x, empty, 1e-3)),
             ("x", lambda: nobias.fit(net, nobias.Optimizer(net), empty, y)),
             ("val_y", lambda: nobias.fit(net, nobias.Optimizer(net), x, y, val_x=x,
                                          val_y=empty)),
             ("x", lambda: nobias.Optimizer(net).step(net, empty, y)),
             ("out", lambda: net.predict(x, out=empty))]
    for name, call in calls:
        with pytest.raises(ValueError, match=name + ": " + words):
            call()


def test_non_contiguous_rows_are_refused(dtype):
    net = network(dtype)
    base = numpy.ones((7, 6), dtype=dtype)
    for bad in (base.T[:, :7][:6], numpy.asfortranarray(numpy.ones((6, 7), dtype=dtype)),
                numpy.ones((6, 14), dtype=dtype)[:, ::2], numpy.ones((6, 7), dtype=dtype)[::-1]):
        with pytest.raises(ValueError, match="expected rows that are each contiguous and in order"):
            net.predict(bad)


def test_broadcast_rows_are_refused(dtype):
    x = numpy.broadcast_to(numpy.ones((1, 7), dtype=dtype), (4, 7))
    with pytest.raises(ValueError, match="contiguous and in order"):
        network(dtype).predict(x)


def test_unaligned_data_is_refused():
    raw = numpy.zeros(3 * 7 * 8 + 1, dtype=numpy.uint8)
    x = raw[1:].view(numpy.float64).reshape(3, 7)
    assert not x.flags.aligned
    with pytest.raises(ValueError, match="aligned"):
        network(numpy.float64).predict(x)


def test_read_only_out_is_refused_and_read_only_input_accepted(dtype):
    net = network(dtype)
    x = numpy.ones((3, 7), dtype=dtype)
    x.flags.writeable = False
    out = numpy.zeros((3, 5), dtype=dtype)
    net.predict(x, out=out)  # a read-only input is fine
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out: expected a writable array, got a read-only one"):
        net.predict(x, out=out)


def test_out_of_the_wrong_shape_is_a_shape_error(dtype):
    net = network(dtype)
    with pytest.raises(nobias.ShapeError, match=r"predict: out is 3x4, expected 3x5"):
        net.predict(numpy.ones((3, 7), dtype=dtype), out=numpy.zeros((3, 4), dtype=dtype))


def test_from_weights_refuses_mixed_dtypes_and_non_arrays():
    w1 = numpy.ones((4, 3), dtype=numpy.float32)
    with pytest.raises(TypeError, match="w2: expected a float32 array"):
        nobias.Network.from_weights([w1, numpy.ones((3, 2), dtype=numpy.float64)])
    with pytest.raises(TypeError, match="w1: expected a numpy.ndarray"):
        nobias.Network.from_weights([[1.0, 2.0]])
    with pytest.raises(nobias.ValueError, match="expected at least one weight matrix"):
        nobias.Network.from_weights([])


def test_dtype_refusals_advise_on_the_argument_given(dtype):
    # The advice names the argument refused, not always x; an array written into is not
    # advised to be converted (the copy would not be what the caller reads).
    other = numpy.float64 if dtype == numpy.float32 else numpy.float32
    name = numpy.dtype(dtype).name
    net = network(dtype)
    x = numpy.ones((3, 7), dtype=dtype)
    with pytest.raises(TypeError, match=r"^y: expected a %s array .*got %s; nothing is converted "
                       r"here: pass y\.astype\(numpy\.%s\)$" % (name, numpy.dtype(other).name,
                                                                 name)):
        net.train_step(x, numpy.ones((3, 5), dtype=other), 1e-3)
    with pytest.raises(TypeError, match=r"^out: expected a %s array .*nothing is converted here: "
                       r"give an array made with dtype=numpy\.%s$" % (name, name)):
        net.predict(x, numpy.ones((3, 5), dtype=other))


def test_outputs_too_far_from_y_name_the_dtype(dtype):
    # The C++ template parameter T is no word for the user: the dtype is.
    net = nobias.Network([4, 8, 2], seed=0, init="he", dtype=dtype)
    x = numpy.ones((10, 4), dtype=dtype)
    y = numpy.full((10, 2), 1e30 if dtype == numpy.float32 else 1e300, dtype=dtype)
    with pytest.raises(nobias.ValueError, match=r"^train_step: loss is .* before any update: the "
                       r"initial outputs are too far from y for %s; scale" % numpy.dtype(dtype).name):
        net.train_step(x, y, 1e-3)
