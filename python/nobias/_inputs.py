"""What the estimators accept as X and y, checked and converted as scikit-learn does, with
errors that say what is wrong; and the wording of what describe_targets found."""
import numpy


def _least_values(facts):
    """'0, 1, 2' or '0, 1, 2, 3, 4, ...': the smallest of describe_targets' values."""
    text = ", ".join(f"{v:g}" for v in facts["least_values"])
    return text + (", ..." if facts["distinct"] > len(facts["least_values"]) else "")


def _is_sparse(X):
    return hasattr(X, "toarray") and hasattr(X, "nnz")


def _all_finite(array):
    """Whether a 2-D array holds no NaN or infinity, looked at a block of rows at a time: a
    mask of the whole array would be a temporary of a byte per element."""
    block = max(1, 2**20 // array.shape[1])
    return all(numpy.isfinite(array[i:i + block]).all() for i in range(0, array.shape[0], block))


def _validated_X(X, dtype):
    """X as a C-contiguous 2-D array of dtype; ValueError or TypeError saying what is wrong."""
    if X is None:
        raise ValueError("Expected a 2D array-like X, got None")
    if _is_sparse(X):
        raise TypeError("sparse data is not supported: pass a dense array (X.toarray())")
    array = numpy.asarray(X)
    if numpy.iscomplexobj(array):
        raise ValueError("Complex data not supported")
    if array.dtype.kind not in "biuf":
        array = array.astype(numpy.float64)  # object arrays of numbers; TypeError otherwise
    if array.ndim != 2:
        raise ValueError(f"Expected 2D array, got {array.ndim}D array instead. Reshape your "
                         "data either using X.reshape(-1, 1) if it has a single feature or "
                         "X.reshape(1, -1) if it contains a single sample.")
    if array.shape[0] == 0 or array.shape[1] == 0:
        which = "sample" if array.shape[0] == 0 else "feature"
        raise ValueError(f"Found array with 0 {which}(s) (shape={array.shape}) while a minimum "
                         "of 1 is required.")
    with numpy.errstate(over="ignore"):
        array = numpy.ascontiguousarray(array, dtype=dtype)
    if not _all_finite(array):
        raise ValueError(f"Input X contains NaN or infinity (or a value too large for "
                         f"{numpy.dtype(dtype).name})")
    return array


def _validated_y(y, name, rows):
    if y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None")
    if _is_sparse(y):
        raise TypeError("sparse targets are not supported: pass a dense array")
    y = numpy.asarray(y)
    if y.ndim == 0 or y.ndim > 2:
        raise ValueError(f"y should be a 1d or 2d array, got an array of shape {y.shape}")
    if y.shape[0] != rows:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: "
                         f"[{rows}, {y.shape[0]}]")
    return y


def _first_non_finite(array):
    """(row, column) of the first NaN or infinity of a 2-D array, row by row; None if none."""
    bad = numpy.argwhere(~numpy.isfinite(array))
    return None if len(bad) == 0 else tuple(int(i) for i in bad[0])
