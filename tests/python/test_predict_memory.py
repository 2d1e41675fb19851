"""Network.predict through the library's predict_with: many rows in blocks, whose memory does not
grow with rows x widths, and x_mean/x_scale that standardize each row as it is read, the bits of
numpy's standardized copy."""
import subprocess
import sys
import textwrap

import numpy
import pytest

import nobias

WIDTHS = [7, 33, 5]
# A block is at most 64 x 192 = 12,288 rows (core/row_chunks.cpp): 30,011 rows take several.
ROWS = [1, 191, 30011]


def network(dtype, widths=WIDTHS):
    return nobias.Network(widths, seed=3, init="he", dtype=dtype)


def statistics(rng, d_in):
    return rng.standard_normal(d_in), 0.25 + rng.random(d_in) * 3


@pytest.mark.parametrize("rows", ROWS)
def test_statistics_give_the_bits_of_predicting_a_standardized_copy(dtype, rng, rows):
    net = network(dtype)
    x = (rng.standard_normal((rows, WIDTHS[0])) * 4 + 1).astype(dtype)
    x_mean, x_scale = statistics(rng, WIDTHS[0])
    expected = net.predict(((x - x_mean) / x_scale).astype(dtype))
    got = net.predict(x, x_mean=x_mean, x_scale=x_scale)
    assert got.dtype == dtype and got.shape == (rows, WIDTHS[-1])
    assert numpy.array_equal(got, expected)
    out = numpy.full((rows, WIDTHS[-1]), numpy.nan, dtype=dtype)
    assert net.predict(x, out, x_mean=list(x_mean), x_scale=x_scale) is out
    assert numpy.array_equal(out, expected)


@pytest.mark.parametrize("rows", ROWS)
def test_out_gets_the_bits_of_a_new_array_and_x_is_left_alone(dtype, rng, rows):
    net = network(dtype)
    x = rng.standard_normal((rows, WIDTHS[0])).astype(dtype)
    before = x.copy()
    x_mean, x_scale = statistics(rng, WIDTHS[0])
    for kwargs in ({}, dict(x_mean=x_mean, x_scale=x_scale)):
        out = numpy.zeros((rows, WIDTHS[-1]), dtype=dtype)
        net.predict(x, out=out, **kwargs)
        assert numpy.array_equal(out, net.predict(x, **kwargs))
        assert numpy.array_equal(x, before)


def test_statistics_are_refused_naming_the_keyword(dtype):
    net = network(dtype)
    x = numpy.ones((4, WIDTHS[0]), dtype=dtype)
    ones, zeros = numpy.ones(WIDTHS[0]), numpy.zeros(WIDTHS[0])
    with pytest.raises(nobias.ValueError,
                       match="^predict: x_mean given without x_scale; expected both or neither$"):
        net.predict(x, x_mean=zeros)
    with pytest.raises(nobias.ValueError, match="^predict: x_scale given without x_mean"):
        net.predict(x, x_scale=ones)
    with pytest.raises(nobias.ValueError,
                       match=r"^predict: x_mean has 6 values, expected 7 \(one per column of x\)$"):
        net.predict(x, x_mean=zeros[:6], x_scale=ones[:6])
    with pytest.raises(nobias.ValueError, match="^predict: x_mean has 7 values but x_scale has 6$"):
        net.predict(x, x_mean=zeros, x_scale=ones[:6])
    for bad in (0.0, -1.0, numpy.inf, numpy.nan):
        scale = ones.copy()
        scale[3] = bad
        with pytest.raises(nobias.ValueError,
                           match=r"^predict: x_scale .*3.* it must be finite and > 0$"):
            net.predict(x, x_mean=zeros, x_scale=scale)
    mean = zeros.copy()
    mean[2] = numpy.nan
    with pytest.raises(nobias.ValueError, match=r"^predict: x_mean .*2.* it must be finite$"):
        net.predict(x, x_mean=mean, x_scale=ones)
    with pytest.raises(ValueError, match="predict: x_mean: expected a 1-D array of numbers"):
        net.predict(x, x_mean=numpy.zeros((2, 7)), x_scale=ones)
    with pytest.raises(TypeError):
        net.predict(x, None, zeros, ones)  # keyword-only: a positional pair is no standardization


def test_out_is_refused_when_wrong_or_over_x(dtype):
    net = network(dtype)
    rows = 30011
    x = numpy.ones((rows, WIDTHS[0]), dtype=dtype)
    with pytest.raises(nobias.ShapeError, match=rf"^predict: out is {rows}x4, expected {rows}x5$"):
        net.predict(x, out=numpy.zeros((rows, 4), dtype=dtype))
    for n in (rows, 13):  # in blocks, and in the network's workspace: predict's words either way
        over = x[:n].reshape(-1)[:n * WIDTHS[-1]].reshape(n, WIDTHS[-1])
        with pytest.raises(nobias.ValueError, match=r"^predict: out overlaps x"):
            net.predict(x[:n], out=over)
    # x of another width, with statistics: refused as without them, before any copy.
    zeros, ones = numpy.zeros(WIDTHS[0]), numpy.ones(WIDTHS[0])
    with pytest.raises(nobias.ShapeError,
                       match=rf"^predict: x has {WIDTHS[0] - 1} columns, network input has "):
        net.predict(numpy.ones((3, WIDTHS[0] - 1), dtype=dtype), x_mean=zeros, x_scale=ones)


def test_many_rows_take_memory_of_blocks_not_rows_times_widths():
    # In a fresh process, so that the peak RSS before the call is this call's baseline. The old
    # pass sized the network's training workspace for every row at once (each layer's activations
    # and gradients: 100,000 x 4,097 float32, 1.6 GB, at least 800 MB of it written); the blocks
    # take a few MB besides x (13 MB) and out.
    script = textwrap.dedent("""
        import resource, numpy, nobias
        net = nobias.Network([32, 1024, 1024, 1], seed=1, init="he", dtype=numpy.float32)
        x = numpy.random.default_rng(0).standard_normal((100000, 32)).astype(numpy.float32)
        out = numpy.empty((100000, 1), dtype=numpy.float32)
        net.predict(x[:500], out=out[:500])  # threads, BLAS buffers: not the rows' memory
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        net.predict(x, out=out)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) * 1024)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    growth = int(result.stdout.split()[-1])
    assert growth < 100 * 2**20, f"peak RSS grew by {growth / 2**20:.0f} MB (the old pass: 1.5 GB)"


def test_statistics_are_taken_as_float64_whatever_their_dtype(dtype, rng):
    # The documented identity: x standardized in float64 and rounded once to x's dtype, the
    # statistics converted to float64 (exactly) first. float32 statistics do not make it
    # numpy's float32 arithmetic (x - m) / s, which rounds twice.
    net = network(dtype)
    x = (rng.standard_normal((2000, WIDTHS[0])) * 3 + 1).astype(dtype)
    x_mean, x_scale = (s.astype(numpy.float32) for s in statistics(rng, WIDTHS[0]))
    m, s = x_mean.astype(numpy.float64), x_scale.astype(numpy.float64)
    expected = net.predict(((x - m) / s).astype(dtype))
    assert numpy.array_equal(net.predict(x, x_mean=x_mean, x_scale=x_scale), expected)
    assert numpy.array_equal(net.predict(x, x_mean=m, x_scale=s), expected)
