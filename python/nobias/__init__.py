"""nobias: bias-free multilayer perceptrons on BLAS, from Python.

The low level mirrors the C++ API (Network, Optimizer, fit, the file functions) on numpy
arrays, without copies; Regressor and Classifier are scikit-learn-style estimators on top.
"""


def _import_compiled():
    """Imports _nobias, or raises an ImportError whose message names the cause: pybind11 says
    only "initialization failed" when numpy is missing, the interpreter's own message does not
    say that a module built for another Python is there."""
    import importlib
    import importlib.machinery
    import os
    import sys

    here = f"this interpreter ({sys.executable} {sys.version.split()[0]})"
    try:
        from . import _built_for
        built_for = f"{_built_for.python} {_built_for.version}"
        same = os.path.realpath(_built_for.python) == os.path.realpath(sys.executable)
    except ImportError:
        built_for, same = "an interpreter CMake did not record", False
    advice = "" if same else f", or run nobias with the interpreter it was built for: {built_for}"
    try:
        import numpy  # noqa: F401
    except ImportError as error:
        raise ImportError(f"nobias needs numpy, which {here} cannot import: {error}; install "
                          f"numpy for it (Debian: python3-numpy){advice}") from error
    try:
        return importlib.import_module("._nobias", __name__)
    except ImportError as error:
        if isinstance(error, ModuleNotFoundError) and error.name == f"{__name__}._nobias":
            package = os.path.dirname(__file__)
            found = sorted(f for f in os.listdir(package)
                           if f.startswith("_nobias.") and f.endswith((".so", ".pyd")))
            suffixes = ", ".join(importlib.machinery.EXTENSION_SUFFIXES)
            if not found:
                raise ImportError(f"nobias's compiled module _nobias is not in {package}: the "
                                  "package was not built (pip install, or the CMake target "
                                  "nobias-python)") from error
            raise ImportError(f"nobias's compiled module in {package} ({', '.join(found)}) is "
                              f"built for another Python than {here}, which loads only "
                              f"_nobias{{{suffixes}}}: rebuild nobias for it{advice}") from error
        cause = error.__cause__ or error.__context__
        detail = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
        raise ImportError(f"nobias's compiled module cannot be loaded by {here}: "
                          f"{error}{detail}{advice}") from error


_import_compiled()
from ._nobias import (  # noqa: E402
    __version__,
    Error,
    ShapeError,
    ValueError,
    IoError,
    DivergenceError,
    Network,
    Optimizer,
    EpochReport,
    StepReport,
    TrainingProgress,
    Checkpoint,
    fit,
    read_npy,
    write_npy,
    save_weights,
    load_weights,
    save_checkpoint,
    load_checkpoint,
    restore_optimizer,
    save_model,
    load_model,
    read_model_info,
    export_onnx,
    shuffled_order,
    column_statistics,
    set_threads,
    threads_setting,
    available_threads,
    blas_has_thread_control,
    blas_description,
)
from .estimators import Classifier, NotFittedError, Regressor  # noqa: E402


def resume(dir):
    """(network, optimizer, progress) from a checkpoint directory, in the dtype it trained in.

    Continue with fit(network, optimizer, x, y, epochs=..., resume=dir, ...) and the first run's
    seed, batch size, shuffling, reduction and patience: fit compares every setting and the data
    with the checkpoint's (ResumeMismatch names what differs) and goes on bit for bit, early
    stopping included.
    """
    import numpy

    checkpoint = load_checkpoint(dir, dtype=numpy.float64)
    if checkpoint.trained_dtype == "f32":
        checkpoint = load_checkpoint(dir, dtype=numpy.float32)
    network = Network.from_weights(checkpoint.weights)
    optimizer = Optimizer(network, **checkpoint.optimizer)
    restore_optimizer(optimizer, checkpoint)
    return network, optimizer, checkpoint.progress


__all__ = [name for name in dir() if not name.startswith("_")]
