#!/usr/bin/python3
"""nobias-train's defaults against scikit-learn's MLP defaults on scikit-learn's own datasets.

    compare.py [--bin-dir build/release/tools] [--seed 0] [--out DIR]

For each dataset: one seeded 80/20 split (train_test_split, random_state=seed); nobias-train
--x --y with its real-data defaults (plus --standardize where the inputs or the target have
an offset or unequal scales), then nobias-evaluate --json on the test rows; and
MLPRegressor / MLPClassifier with their defaults (random_state=seed) on the same split, after
a StandardScaler on x wherever nobias standardizes (scikit-learn's own advice for MLPs).
Prints a markdown table: R^2 for regressions, accuracy for classifications, and the commands.
Needs python3-sklearn.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np


def datasets(seed):
    from sklearn import datasets as d
    diabetes = d.load_diabetes()
    x, y = d.make_regression(n_samples=1000, n_features=10, n_informative=8, noise=10.0,
                             random_state=seed)
    digits = d.load_digits()
    wine, iris = d.load_wine(), d.load_iris()
    # name, x, y, is classification, standardize
    return [
        ("diabetes (regression, y mean 152)", diabetes.data, diabetes.target, False, True),
        ("make_regression + 100 (regression)", x, y + 100.0, False, True),
        ("digits (10 classes, pixels / 16)", digits.data / 16.0, digits.target, True, False),
        ("wine (3 classes)", wine.data, wine.target, True, True),
        ("iris (3 classes)", iris.data, iris.target, True, True),
    ]


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if r.returncode != 0:
        sys.exit("compare.py: %s failed (%d):\n%s" % (" ".join(cmd), r.returncode, r.stderr))
    return r.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", default="build/release/tools")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="keep the arrays and models here")
    args = parser.parse_args()
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    warnings.simplefilter("ignore", ConvergenceWarning)

    out = args.out or tempfile.mkdtemp(prefix="nobias-real-data-")
    rows = []
    for i, (name, x, y, classify, standardize) in enumerate(datasets(args.seed)):
        xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.2, random_state=args.seed)
        d = os.path.join(out, "set%d" % i)
        os.makedirs(d, exist_ok=True)
        paths = {}
        for key, a in (("train_x", xtr), ("test_x", xte)):
            paths[key] = os.path.join(d, key + ".npy")
            np.save(paths[key], a.astype(np.float32))
        for key, a in (("train_y", ytr), ("test_y", yte)):
            paths[key] = os.path.join(d, key + ".npy")
            np.save(paths[key], a.astype(np.int64) if classify else a.astype(np.float32))
        train = [os.path.join(args.bin_dir, "nobias-train"), "--x", paths["train_x"], "--y",
                 paths["train_y"]] + (["--standardize"] if standardize else [])
        start = time.perf_counter()
        run(train + ["--weights-out", os.path.join(d, "model"), "--threads", "1", "--quiet"])
        nobias_s = time.perf_counter() - start
        got = json.loads(run([os.path.join(args.bin_dir, "nobias-evaluate"), "--weights",
                              os.path.join(d, "model"), "--x", paths["test_x"], "--y",
                              paths["test_y"], "--json"]))
        nobias_score = got["accuracy"] if classify else got["r2"]

        mlp = (MLPClassifier if classify else MLPRegressor)(random_state=args.seed)
        model = make_pipeline(StandardScaler(), mlp) if standardize else mlp
        start = time.perf_counter()
        model.fit(xtr, ytr)
        sk_s = time.perf_counter() - start
        sk_score = model.score(xte, yte)  # accuracy / R^2
        rows.append((name, len(xtr), len(xte), "accuracy" if classify else "R²", nobias_score,
                     sk_score, nobias_s, sk_s,
                     "--standardize" if standardize else ""))

    print("| data set | train / test rows | metric | nobias-train defaults | scikit-learn MLP "
          "defaults | nobias s | sklearn s | nobias flags besides --x --y |")
    print("|---|---|---|---|---|---|---|---|")
    for name, ntr, nte, metric, a, b, ta, tb, flags in rows:
        print("| %s | %d / %d | %s | %.4f | %.4f | %.2f | %.2f | %s |"
              % (name, ntr, nte, metric, a, b, ta, tb, flags or "none"))


if __name__ == "__main__":
    main()
