#!/usr/bin/python3
"""Write the scikit-learn handwritten digits as .npy files for nobias-train.

    make_data.py [OUT_DIR] [--seed S] [--test-fraction F]

Loads sklearn.datasets.load_digits() (1,797 8x8 images shipped inside Debian's
python3-sklearn; nothing is downloaded), scales the pixels from 0..16 to [0, 1],
one-hot encodes the labels (10 columns), shuffles with a fixed seed and splits
80/20. Writes float32 arrays into OUT_DIR (default examples/digits/data):

    train_x.npy  (n_train, 64)   train_y.npy  (n_train, 10)
    test_x.npy   (n_test, 64)    test_y.npy   (n_test, 10)
    train_labels.npy (n_train,)  test_labels.npy (n_test,)   the digit 0..9 of every row,
                                 int64 (nobias-train takes them as --y directly)
"""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default=os.path.join(HERE, "data"),
                        help="output directory (created if missing; default examples/digits/data)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the shuffle (default 0)")
    parser.add_argument("--test-fraction", type=float, default=0.2,
                        help="held-out fraction (default 0.2)")
    args = parser.parse_args()
    if not 0.0 < args.test_fraction < 1.0:
        parser.error("--test-fraction must be in (0, 1)")

    try:
        from sklearn.datasets import load_digits
    except ImportError:
        sys.exit("make_data.py: scikit-learn is missing; install it with "
                 "'apt-get install python3-sklearn'")

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)           # (1797, 64), pixels 0..16 -> [0, 1]
    labels = digits.target.astype(np.int64)               # (1797,)
    y = np.eye(10, dtype=np.float32)[labels]              # one-hot, (1797, 10)

    order = np.random.default_rng(args.seed).permutation(len(x))
    n_test = int(round(args.test_fraction * len(x)))
    test, train = order[:n_test], order[n_test:]

    os.makedirs(args.out_dir, exist_ok=True)
    arrays = {
        "train_x": x[train], "train_y": y[train],
        "test_x": x[test], "test_y": y[test],
        "train_labels": labels[train],
        "test_labels": labels[test],
    }
    for name, a in arrays.items():
        np.save(os.path.join(args.out_dir, name + ".npy"), np.ascontiguousarray(a))
    print(f"make_data.py: {len(train)} train and {len(test)} test rows of 64 pixels, "
          f"10 one-hot classes -> {args.out_dir}")


if __name__ == "__main__":
    main()
