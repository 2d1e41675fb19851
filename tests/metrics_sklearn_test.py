#!/usr/bin/env python3
"""nobias's metrics (metrics.hpp, through tests/support/metrics_probe.cpp) against
scikit-learn's own r2_score, mean_squared_error, mean_absolute_error and accuracy_score, on
random data with the corners sklearn has conventions for: constant target columns (hit exactly
or not), one output, many outputs, ties in the scores, integer and one-hot labels.
Skips (exit 0 with a message) where scikit-learn is not installed."""
import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

try:
    from sklearn.metrics import accuracy_score, mean_absolute_error, mean_squared_error, r2_score
except ImportError:
    print("metrics_sklearn_test: scikit-learn is not installed (python3-sklearn): skipped")
    sys.exit(0)


def probe(exe, p, y, *flags):
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "p.npy", p)
        np.save(Path(tmp) / "y.npy", y)
        out = subprocess.run([exe, str(Path(tmp) / "p.npy"), str(Path(tmp) / "y.npy"), *flags],
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout)


def close(a, b, what):
    if math.isnan(a) and math.isnan(b):
        return
    assert abs(a - b) <= 1e-12 * max(1.0, abs(b)), f"{what}: nobias {a!r}, sklearn {b!r}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--probe", required=True)
    exe = parser.parse_args().probe
    rng = np.random.default_rng(5)
    cases = 0
    for rows, cols in [(2, 1), (7, 3), (37, 13), (100, 1)]:
        for dtype in ("<f4", "<f8"):
            y = rng.normal(size=(rows, cols)).astype(dtype)
            p = (y + rng.normal(scale=0.5, size=(rows, cols))).astype(dtype)
            got = probe(exe, p, y)
            # nobias computes in double whatever the dtype; sklearn in the arrays' own: give it
            # the same values as float64.
            y64, p64 = y.astype("<f8"), p.astype("<f8")
            close(got["r2"], r2_score(y64, p64, multioutput="uniform_average"), "r2")
            close(got["mse"], mean_squared_error(y64, p64), "mse")
            close(got["mae"], mean_absolute_error(y64, p64), "mae")
            cases += 1
    # Constant target columns: predicted exactly (scores 1) and not (scores 0).
    y = np.column_stack([np.full(9, 4.0), rng.normal(size=9), np.full(9, -1.0)])
    p = y + np.column_stack([np.zeros(9), rng.normal(scale=0.1, size=9), rng.normal(size=9)])
    close(probe(exe, p, y)["r2"], r2_score(y, p), "r2 with constant columns")
    # A 1-D target (numpy's usual shape for one output).
    y1 = rng.normal(size=11)
    p1 = y1 + 0.3
    got = probe(exe, p1, y1)
    close(got["r2"], r2_score(y1, p1), "r2 of a 1-D target")
    close(got["mae"], mean_absolute_error(y1, p1), "mae of a 1-D target")
    # Labels: integer arrays of each dtype, and one-hot, with ties in the scores.
    scores = rng.integers(0, 3, size=(50, 4)).astype("<f8")  # many ties: the first wins
    labels = rng.integers(0, 4, size=50)
    want = accuracy_score(labels, scores.argmax(axis=1))
    for dtype in ("<i4", "<i8", "|u1"):
        close(probe(exe, scores, labels.astype(dtype))["accuracy"], want, f"accuracy of {dtype}")
    one_hot = np.eye(4)[labels]
    close(probe(exe, scores, one_hot, "--one-hot")["accuracy"], want, "accuracy of one-hot")
    cases += 6
    print(f"metrics_sklearn_test: {cases} cases agree with scikit-learn")


if __name__ == "__main__":
    main()
