"""Shared fixtures: the package under test comes from PYTHONPATH (build/<dir>/python)."""
import os
import subprocess

import numpy
import pytest

DTYPES = [numpy.float32, numpy.float64]


@pytest.fixture(params=DTYPES, ids=["float32", "float64"])
def dtype(request):
    return request.param


@pytest.fixture
def rng():
    return numpy.random.default_rng(12345)


@pytest.fixture
def nobias_train():
    path = os.environ.get("NOBIAS_TRAIN")
    if not path:
        pytest.skip("NOBIAS_TRAIN (the nobias-train program) not given: built without tools")
    # Bits depend on the BLAS that computes. Debian's numpy loads OpenBLAS into the process
    # first, so a module built on another CBLAS (./dev test-reference-blas) computes on
    # OpenBLAS while nobias-train computes on its own: then bit equality cannot hold.
    import nobias
    version = subprocess.run([path, "--version"], check=True, capture_output=True, text=True)
    cli_blas = version.stdout.split("BLAS: ", 1)[-1].strip()
    if cli_blas != nobias.blas_description():
        pytest.skip("the module computes on %r, nobias-train on %r: bits cannot match"
                    % (nobias.blas_description(), cli_blas))
    return path


def reference_forward(weights, x):
    """The network's forward pass in float64 numpy, the obvious way (ReLU'(0) = 1 aside)."""
    a = numpy.asarray(x, dtype=numpy.float64)
    for k, w in enumerate(weights):
        a = a @ numpy.asarray(w, dtype=numpy.float64)
        if k + 1 < len(weights):
            a = numpy.maximum(a, 0.0)
    return a
