#!/usr/bin/python3
"""Held-out accuracy of bias-free weights on the digits test set.

    evaluate.py WEIGHTS_DIR [--data DIR] [--min-accuracy A]

Loads w1.npy..wK.npy from WEIGHTS_DIR (as written by nobias-train --weights-out) and
test_x.npy / test_labels.npy from --data (default examples/digits/data), runs the
bias-free forward pass in numpy (h_k = a_{k-1} w_k, ReLU on every hidden layer, linear
output), and compares the argmax of the output with the labels.

Prints "accuracy <A> (<correct>/<n>)". Exit status: 0 if the accuracy is at least
--min-accuracy (default 0.97), 1 if it is below, 2 on missing or malformed files.
"""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def fail(message):
    print(f"evaluate.py: {message}", file=sys.stderr)
    sys.exit(2)


def load_weights(directory):
    weights = []
    while os.path.exists(os.path.join(directory, f"w{len(weights) + 1}.npy")):
        weights.append(np.load(os.path.join(directory, f"w{len(weights) + 1}.npy")))
    if not weights:
        fail(f"no w1.npy in '{directory}'")
    for k, w in enumerate(weights, start=1):
        if w.ndim != 2:
            fail(f"w{k}.npy has {w.ndim} dimensions, expected 2")
        if k > 1 and weights[k - 2].shape[1] != w.shape[0]:
            fail(f"w{k - 1}.npy has {weights[k - 2].shape[1]} columns but w{k}.npy has "
                 f"{w.shape[0]} rows")
    return weights


def forward(weights, x):
    a = x.astype(np.float64)
    for k, w in enumerate(weights):
        h = a @ w.astype(np.float64)
        a = np.maximum(h, 0.0) if k < len(weights) - 1 else h
    return a


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights_dir", help="directory holding w1.npy..wK.npy")
    parser.add_argument("--data", default=os.path.join(HERE, "data"),
                        help="directory of test_x.npy and test_labels.npy (default examples/digits/data)")
    parser.add_argument("--min-accuracy", type=float, default=0.97,
                        help="exit 1 below this accuracy (default 0.97)")
    args = parser.parse_args()

    try:
        x = np.load(os.path.join(args.data, "test_x.npy"))
        labels = np.load(os.path.join(args.data, "test_labels.npy")).astype(np.int64)
    except OSError as e:
        fail(f"cannot read the test set: {e} (run make_data.py first)")
    weights = load_weights(args.weights_dir)
    # nobias-train standardizes the columns of x by default: the model directory holds the
    # training rows' statistics (x_mean.npy, x_scale.npy), which predictions apply first.
    mean_path = os.path.join(args.weights_dir, "x_mean.npy")
    if os.path.exists(mean_path):
        mean = np.load(mean_path).astype(np.float64).ravel()
        scale = np.load(os.path.join(args.weights_dir, "x_scale.npy")).astype(np.float64).ravel()
        x = (x.astype(np.float64) - mean) / scale
    if x.ndim != 2 or x.shape[1] != weights[0].shape[0]:
        fail(f"test_x.npy has shape {x.shape}, w1.npy expects {weights[0].shape[0]} columns")
    if labels.shape != (x.shape[0],):
        fail(f"test_labels.npy has shape {labels.shape}, expected ({x.shape[0]},)")

    output = forward(weights, x)
    if not np.all(np.isfinite(output)):
        fail("the network's output is not finite")
    correct = int(np.sum(output.argmax(axis=1) == labels))
    accuracy = correct / len(labels)
    print(f"accuracy {accuracy:.4f} ({correct}/{len(labels)})")
    if accuracy < args.min_accuracy:
        print(f"evaluate.py: accuracy {accuracy:.4f} is below --min-accuracy "
              f"{args.min_accuracy:.4f}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
