"""Tests of cli_model_test.py (its ModelToolsTest inherits them; run that file): a model's
units travel with it. nobias-train --weights-in keeps a standardized model's statistics (issue
19 item 11), and a model directory whose files and model.json disagree is refused by every
tool, not read one way or the other.
"""

import json
import os
import shutil

import numpy as np

# Full batch, unshuffled: the first step's loss is the loss of the starting weights on all rows.
ONE_STEP = ["--steps", 1, "--optimizer", "adam", "--loss", "mean", "--dtype", "f64",
            "--threads", "1"]
STATISTICS = ["x_mean.npy", "x_scale.npy", "y_mean.npy", "y_scale.npy"]


def mean_loss(weights, x, y):
    """The --loss mean of a bias-free ReLU network in float64."""
    a = x
    for k, w in enumerate(weights):
        a = a @ w
        if k < len(weights) - 1:
            a = np.maximum(a, 0.0)
    return np.mean((a - y) ** 2)


class StandardizedModelTests:
    def standardized_model(self, name="m"):
        """A model trained with --standardize on offset data, and new data of another spread."""
        x, y = self.regression(offset=5.0)
        self.ok("nobias-train", "--x", x, "--y", y, *ONE_STEP, "--standardize",
                "--weights-out", name, "--quiet")
        rng = np.random.default_rng(8)
        x2 = 3.0 + 4.0 * rng.standard_normal((60, 5))
        y2 = 20.0 + x2[:, :2] @ np.array([[1.0, -0.5], [0.5, 2.0]])
        return self.save("x2.npy", x2), self.save("y2.npy", y2)

    def test_weights_in_trains_a_standardized_model_in_its_own_units(self):
        x2, y2 = self.standardized_model()
        # Without --standardize the weights would train on raw inputs, in the wrong units.
        self.refused("nobias-train", ["--x", x2, "--y", y2, "--weights-in", "m", *ONE_STEP,
                                      "--weights-out", "m2"],
                     "--weights-in m was trained on standardized data (its model.json names "
                     "x_mean.npy, x_scale.npy, y_mean.npy, y_scale.npy): its weights expect data "
                     "in those units; add --standardize")
        self.ok("nobias-train", "--x", x2, "--y", y2, "--weights-in", "m", *ONE_STEP,
                "--standardize", "--weights-out", "m2", "--loss-csv", "l.csv", "--quiet")
        # The model's statistics, not x2's: the data were put in the weights' units...
        s = {name: np.load(self.path("m", name)) for name in STATISTICS}
        weights = [np.load(self.path("m", "w%d.npy" % k)) for k in (1, 2, 3)]
        xs = (np.load(self.path(x2)) - s["x_mean.npy"]) / s["x_scale.npy"]
        ys = (np.load(self.path(y2)) - s["y_mean.npy"]) / s["y_scale.npy"]
        with open(self.path("l.csv")) as f:
            first = float(f.read().splitlines()[1].split(",")[1])
        self.assertAlmostEqual(first / mean_loss(weights, xs, ys), 1.0, delta=1e-9)
        # ...and are saved again with the trained weights.
        for name in STATISTICS:
            np.testing.assert_array_equal(np.load(self.path("m2", name)), s[name], err_msg=name)

    def test_weights_in_standardization_refusals(self):
        x2, y2 = self.standardized_model()
        labels = self.save("labels.npy", np.arange(60) % 2)
        self.refused("nobias-train", ["--weights-in", "m", "--steps", 2],
                     "--weights-in m was trained on standardized data (its model.json names "
                     "x_mean.npy, x_scale.npy, y_mean.npy, y_scale.npy): the generated data of a "
                     "run without --x are not in its units")
        self.refused("nobias-train", ["--x", x2, "--y", labels, "--weights-in", "m", *ONE_STEP,
                                      "--standardize"],
                     "--weights-in m standardized its regression targets (y_mean.npy, "
                     "y_scale.npy) but --y labels.npy holds 2 classes")
        cx, cl = self.classes()
        self.ok("nobias-train", "--x", cx, "--y", cl, *ONE_STEP, "--standardize",
                "--weights-out", "c", "--quiet")
        scores = self.save("scores.npy", np.random.default_rng(2).standard_normal((150, 3)))
        self.refused("nobias-train", ["--x", cx, "--y", scores, "--weights-in", "c", *ONE_STEP,
                                      "--standardize"],
                     "--weights-in c is a classifier of 3 classes, its targets never "
                     "standardized, but --y scores.npy holds a regression's")
        # A model trained on raw data: --standardize would move the data under its weights.
        self.ok("nobias-train", "--x", x2, "--y", y2, *ONE_STEP, "--weights-out", "raw",
                "--quiet")
        self.refused("nobias-train", ["--x", x2, "--y", y2, "--weights-in", "raw", *ONE_STEP,
                                      "--standardize"],
                     "--standardize: --weights-in raw was trained without standardization (its "
                     "model.json names no statistics)")
        # Bare weights say nothing of their units: the user's --standardize decides.
        os.mkdir(self.path("bare"))
        for k in (1, 2, 3):
            shutil.copy(self.path("raw", "w%d.npy" % k), self.path("bare"))
        self.ok("nobias-train", "--x", x2, "--y", y2, "--weights-in", "bare", *ONE_STEP,
                "--standardize", "--quiet")

    def test_model_files_that_contradict_model_json_are_refused(self):
        x2, _ = self.standardized_model()
        os.remove(self.path("m", "nobias-manifest.txt"))  # an older or hand-made directory
        w2 = np.load(self.path("m", "w2.npy"))
        np.save(self.path("m", "w2.npy"), w2.astype(np.float32))
        self.refused("nobias-predict", ["--weights", "m", "--x", x2, "--out", "p.npy"],
                     "model.json says dtype f64 but w2.npy is float32")
        np.save(self.path("m", "w2.npy"), w2)
        for name in ("y_mean.npy", "y_scale.npy"):
            os.remove(self.path("m", name))
        with open(self.path("m", "model.json")) as f:
            meta = json.load(f)
        del meta["standardization"]["y_mean"], meta["standardization"]["y_scale"]
        with open(self.path("m", "model.json"), "w") as f:
            json.dump(meta, f)
        self.ok("nobias-predict", "--weights", "m", "--x", x2, "--out", "p.npy")
        os.remove(self.path("p.npy"))
        # A statistics file model.json does not name: neither reading of the directory is safe.
        np.save(self.path("m", "y_mean.npy"), np.zeros((1, 2)))
        for tool, args in (("nobias-predict", ["--out", "p.npy"]),
                           ("nobias-evaluate", ["--y", x2]),
                           ("nobias-train", ["--y", x2, *ONE_STEP])):
            flag = "--weights-in" if tool == "nobias-train" else "--weights"
            self.refused(tool, [flag, "m", "--x", x2, *args],
                         "y_mean.npy is here but model.json's \"standardization\" names "
                         "x_mean.npy, x_scale.npy; delete it, or name it in model.json")

    def test_values_standardized_past_the_dtype_name_their_row(self):
        # A column of float32 subnormals standardizes by a scale near 5e-41: a value of 1 in a
        # validation row, finite, would be 2e40, past float32. Refused before training, naming
        # the row of the file it lies in, not an infinity in "x" at a position of a copy.
        rng = np.random.default_rng(6)
        x = rng.standard_normal((100, 3)).astype(np.float32)
        x[:, 2] = np.where(np.arange(100) % 2 == 0, 0.0, 1e-40).astype(np.float32)
        val_x = np.zeros((20, 3), np.float32)
        val_x[7, 2] = 1.0
        y = self.save("y.npy", (2 * x[:, :1]).astype(np.float32))
        self.save("x.npy", x)
        args = ["--y", y, "--epochs", 1, "--task", "regress", "--dtype", "f32", "--standardize"]
        self.refused("nobias-train", ["--x", "x.npy", *args, "--val-x",
                                      self.save("val_x.npy", val_x), "--val-y",
                                      self.save("val_y.npy", np.zeros((20, 1), np.float32))],
                     "nobias-train: fit: validation x row 7, column 2 is 1, which standardizes "
                     "to 2.0")
        # Held out of --x (the split of seed 0 holds row 7 out): the row of --x.
        x[7, 2] = 1.0
        self.refused("nobias-train", ["--x", self.save("x.npy", x), *args,
                                      "--validation-fraction", 0.2],
                     "nobias-train: fit: x row 7, column 2 is 1, which standardizes to 2.0")
