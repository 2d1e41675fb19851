"""nobias: bias-free multilayer perceptrons on BLAS, from Python.

The low level mirrors the C++ API (Network, Optimizer, fit, the file functions) on numpy
arrays, without copies; Regressor and Classifier are scikit-learn-style estimators on top.
"""
from ._nobias import (
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
    shuffled_order,
    set_threads,
    threads_setting,
    available_threads,
    blas_has_thread_control,
    blas_description,
)
from .estimators import Classifier, NotFittedError, Regressor


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
