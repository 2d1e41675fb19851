#!/usr/bin/env python3
"""Black-box tests of nobias-train's real-data mode, nobias-predict and nobias-evaluate.

    /usr/bin/python3 tests/cli_model_test.py --bin-dir DIR [unittest args]

DIR holds the three programs. Predictions are checked against numpy's own forward pass over
the saved w*.npy (with the saved standardization), metrics against scikit-learn's.
"""

import io
import json
import os
import select
import stat
import subprocess
import sys
import tempfile
import unittest

import numpy as np

from cli_main import bin_dir_and_argv, run_tests
from cli_model_units import StandardizedModelTests
from cli_process_units import ProcessTests
from cli_stream_units import StreamingTests
from cli_task_units import TaskTests

BIN = None
TIMEOUT_S = 120
# Fast settings for tests that are not about the defaults.
QUICK = ["--init", "he", "--optimizer", "adam", "--loss", "mean", "--epochs", "3",
         "--threads", "1"]


def forward(weights, x):
    """The bias-free forward pass in float64: ReLU on hidden layers, linear output."""
    a = x.astype(np.float64)
    for k, w in enumerate(weights):
        a = a @ w.astype(np.float64)
        if k < len(weights) - 1:
            a = np.maximum(a, 0.0)
    return a


def load_model(d):
    weights = []
    while os.path.exists(os.path.join(d, "w%d.npy" % (len(weights) + 1))):
        weights.append(np.load(os.path.join(d, "w%d.npy" % (len(weights) + 1))))
    stats = {name: np.load(os.path.join(d, name + ".npy")).reshape(-1)
             for name in ("x_mean", "x_scale", "y_mean", "y_scale")
             if os.path.exists(os.path.join(d, name + ".npy"))}
    return weights, stats


def numpy_predict(d, x):
    weights, s = load_model(d)
    if "x_mean" in s:
        x = (x.astype(np.float64) - s["x_mean"]) / s["x_scale"]
        x = x.astype(weights[0].dtype)  # nobias rounds the standardized x to T once
    p = forward(weights, x)
    if "y_mean" in s:
        # Relative errors are measured against the terms that were added, so that an output
        # near 0 after adding the mean back does not turn f32 rounding into a large ratio.
        return p * s["y_scale"] + s["y_mean"], np.abs(p * s["y_scale"]) + np.abs(s["y_mean"])
    return p, np.abs(p)


def linked_library_names(path):
    """The names of the shared libraries the program or module at path loads (ldd's left
    column), asked from / so that no decoy of a test is in the way."""
    listing = subprocess.run(["ldd", path], cwd="/", capture_output=True, text=True, check=True)
    return [line.split()[0] for line in listing.stdout.splitlines() if "=>" in line]


class ModelToolsTest(StandardizedModelTests, StreamingTests, TaskTests, ProcessTests,
                     unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="nobias-model-")
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def tool_path(self, tool):
        return os.path.join(BIN, tool)

    def run_tool(self, tool, *args):
        return subprocess.run([self.tool_path(tool)] + [str(a) for a in args], cwd=self.dir,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=TIMEOUT_S)

    def ok(self, tool, *args):
        r = self.run_tool(tool, *args)
        self.assertEqual(r.returncode, 0, "%s %s\n%s%s" % (tool, args, r.stdout, r.stderr))
        self.assertEqual(r.stderr, "")
        return r

    def refused(self, tool, args, needle):
        before = sorted(os.listdir(self.dir))
        r = self.run_tool(tool, *args)
        msg = "%s %s\n%s%s" % (tool, args, r.stdout, r.stderr)
        self.assertEqual(r.returncode, 2, msg)
        self.assertTrue(r.stderr.startswith(tool + ":"), msg)
        self.assertIn(needle, r.stderr, msg)
        self.assertEqual(sorted(os.listdir(self.dir)), before, msg)
        return r

    def save(self, name, a):
        np.save(self.path(name), a)
        return name

    def regression(self, rows=120, dtype=np.float64, offset=5.0, seed=3):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((rows, 5)).astype(dtype)
        y = (offset + x[:, :2] @ np.array([[1.0, -0.5], [0.5, 2.0]])).astype(dtype)
        return self.save("x.npy", x), self.save("y.npy", y)

    def classes(self, rows=150, seed=4):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((rows, 6))
        labels = np.argmax(x[:, :3], axis=1).astype(np.int64)
        return self.save("cx.npy", x), self.save("cl.npy", labels)

    # ---- predict equals numpy's forward pass over the saved files ----

    def test_predict_matches_numpy(self):
        for dtype, flag, tol in ((np.float32, "f32", 1e-6), (np.float64, "f64", 1e-12)):
            for standardize in (False, True):
                with self.subTest(dtype=flag, standardize=standardize):
                    x, y = self.regression(dtype=dtype)
                    model = "m-%s-%d" % (flag, standardize)
                    extra = ["--standardize"] if standardize else []
                    self.ok("nobias-train", "--x", x, "--y", y, "--dtype", flag, *QUICK, *extra,
                            "--weights-out", model, "--quiet")
                    self.ok("nobias-predict", "--weights", model, "--x", x, "--out", "p.npy")
                    p = np.load(self.path("p.npy"))
                    self.assertEqual(p.dtype, dtype)
                    q, size = numpy_predict(self.path(model), np.load(self.path(x)))
                    self.assertEqual(p.shape, q.shape)
                    err = np.max(np.abs(p - q) / np.maximum(size, 1e-3))
                    self.assertLessEqual(err, tol)

    def test_output_extensions_name_their_format(self):
        # edges2 item 1: --out p.txt was written as .npy bytes, --loss-csv loss.npy as CSV.
        x, y = self.regression(rows=20)
        self.ok("nobias-train", "--x", x, "--y", y, *QUICK, "--weights-out", "m", "--quiet")
        # Refused before anything is read: --x does not even exist here.
        for out, ext in (("p.txt", ".txt"), ("p.JSON", ".JSON"), ("p.npy.bak", ".bak")):
            self.refused("nobias-predict", ["--weights", "m", "--x", "missing.npy", "--out", out],
                         "nobias-predict: --out %s: %s is not a format --out writes; expected a "
                         "name ending in .npy, .csv or .tsv (without an extension: .npy)"
                         % (out, ext))
        for flag, name in (("--loss-csv", "loss.npy"), ("--history", "h.json"),
                           ("--history", "h.txt")):
            r = self.refused("nobias-train", ["--x", x, "--y", y, *QUICK, "--weights-out", "m2",
                                              flag, name],
                             "%s %s: .%s is not a format %s writes; expected a name ending in "
                             ".csv or .tsv (without an extension: .csv)"
                             % (flag, name, name.split(".")[-1], flag))
            self.assertNotIn("epoch 1/", r.stdout + r.stderr, "refused before training")
        self.refused("nobias-export", ["--weights", "m", "--onnx", "m.bin"],
                     "--onnx m.bin: .bin is not a format --onnx writes; expected a name ending "
                     "in .onnx")
        # The names each takes are written in the format they name, in any case.
        self.ok("nobias-predict", "--weights", "m", "--x", x, "--out", "p.NPY")
        p = np.load(self.path("p.NPY"))
        self.ok("nobias-predict", "--weights", "m", "--x", x, "--out", "p.Csv")
        with open(self.path("p.Csv")) as f:
            self.assertEqual(f.readline(), "output 1,output 2\n")
        self.ok("nobias-predict", "--weights", "m", "--x", x, "--out", "p")  # none: .npy
        np.testing.assert_array_equal(np.load(self.path("p")), p)
        self.ok("nobias-train", "--x", x, "--y", y, *QUICK, "--quiet", "--loss-csv", "l.TSV",
                "--history", "h")
        with open(self.path("l.TSV")) as f:
            self.assertEqual(f.readline(), "step\tloss\n")
        with open(self.path("h")) as f:
            self.assertTrue(f.readline().startswith("epoch,train_loss,"))

    def test_training_rows_that_read_as_zero_are_refused(self):
        # edges2 item 2: one row (standardized: x = 0) exited 0 after 200 epochs at loss 0, its
        # weights as they started, with warnings that blamed --lr.
        x, y = self.regression(rows=30)
        xs, ys = np.load(self.path(x)), np.load(self.path(y))
        one_x, one_y = self.save("x1.npy", xs[:1]), self.save("y1.npy", ys[:1])
        same = self.save("same.npy", np.repeat(xs[:1], 30, axis=0))
        for args, needle in (
                ([one_x, "--y", one_y], "every column of x is constant over the 1 training row, "
                 "so x standardized (centred on its mean) is 0 in every one; a bias-free network "
                 "maps 0 to 0 whatever its weights"),
                ([same, "--y", y], "every column of x is constant over the 30 training rows")):
            r = self.refused("nobias-train", ["--x", *args, "--weights-out", "m"], needle)
            self.assertNotIn("--lr", r.stderr)
            self.assertNotIn("epoch 1/", r.stdout)
        # Unstandardized, one row trains.
        self.ok("nobias-train", "--x", one_x, "--y", one_y, *QUICK, "--no-standardize", "--quiet")
        # A constant column of 0.7 (its mean in double is not 0.7) standardizes to 0 by mean
        # 0.7 and scale 1: it had a scale of 1e-16, and 0.8 there predicted 1e12.
        xs[:, 2] = 0.7
        self.save("x07.npy", xs)
        self.ok("nobias-train", "--x", "x07.npy", "--y", y, *QUICK, "--dtype", "f64",
                "--validation-fraction", "0", "--weights-out", "m07", "--quiet")
        self.assertEqual(np.load(self.path("m07", "x_mean.npy")).ravel()[2], 0.7)
        self.assertEqual(np.load(self.path("m07", "x_scale.npy")).ravel()[2], 1.0)
        xs[:, 2] = 0.8
        self.save("x08.npy", xs)
        self.ok("nobias-predict", "--weights", "m07", "--x", "x07.npy", "--out", "p07.npy")
        self.ok("nobias-predict", "--weights", "m07", "--x", "x08.npy", "--out", "p08.npy")
        moved = np.abs(np.load(self.path("p08.npy")) - np.load(self.path("p07.npy"))).max()
        self.assertLess(moved, 10, "0.7 -> 0.8 in a constant column moved a prediction that far")

    def test_a_stray_weight_file_is_named(self):
        # edges2 item 3: a w4.npy beside a 3-layer model without its manifest was reported as
        # "model.json says widths 5,8,6,2 but the weights are 5,8,6,2,2".
        x, y = self.regression(rows=20)
        self.ok("nobias-train", "--x", x, "--y", y, *QUICK, "--layers", "5,8,6,2",
                "--weights-out", "m", "--quiet")
        os.remove(self.path("m", "nobias-manifest.txt"))
        np.save(self.path("m", "w4.npy"), np.ones((2, 2), np.float32))
        needle = ("m: model.json says 3 layers (widths 5,8,6,2), in w1.npy..w3.npy, but w4.npy is "
                  "here too, and there is no nobias-manifest.txt to say which files are the "
                  "save's: a file left over from another model? Delete it")
        self.refused("nobias-predict", ["--weights", "m", "--x", x, "--out", "p.npy"], needle)
        self.refused("nobias-evaluate", ["--weights", "m", "--x", x, "--y", y], needle)
        self.refused("nobias-export", ["--weights", "m", "--onnx", "m.onnx"], needle)
        self.refused("nobias-train", ["--x", x, "--y", y, *QUICK, "--weights-in", "m"], needle)
        os.remove(self.path("m", "w4.npy"))
        self.ok("nobias-predict", "--weights", "m", "--x", x, "--out", "p.npy")

    def test_predict_labels(self):
        x, labels = self.classes()
        self.ok("nobias-train", "--x", x, "--y", labels, *QUICK, "--weights-out", "m", "--quiet")
        with open(self.path("m", "model.json")) as f:
            self.assertEqual(json.load(f)["classes"], 3)
        self.ok("nobias-predict", "--weights", "m", "--x", x, "--out", "s.npy")
        self.ok("nobias-predict", "--weights", "m", "--x", x, "--out", "l.npy", "--labels")
        scores, got = np.load(self.path("s.npy")), np.load(self.path("l.npy"))
        self.assertEqual((got.dtype, got.shape), (np.int64, (150,)))
        np.testing.assert_array_equal(got, np.argmax(scores, axis=1))

    # ---- evaluate equals scikit-learn ----

    def test_evaluate_matches_sklearn(self):
        from sklearn.metrics import (accuracy_score, mean_absolute_error, mean_squared_error,
                                     r2_score)
        # float32 files for the float32 model: both sides score the same numbers.
        x, y = self.regression(dtype=np.float32)
        self.ok("nobias-train", "--x", x, "--y", y, *QUICK, "--standardize", "--weights-out", "r",
                "--quiet")
        self.ok("nobias-predict", "--weights", "r", "--x", x, "--out", "p.npy")
        r = self.ok("nobias-evaluate", "--weights", "r", "--x", x, "--y", y, "--json")
        got = json.loads(r.stdout)
        # In float64, as nobias accumulates (scikit-learn would stay in float32).
        yt = np.load(self.path(y)).astype(np.float64)
        p = np.load(self.path("p.npy")).astype(np.float64)
        self.assertEqual(sorted(got), ["loss", "mae", "mse", "r2", "rows"])
        self.assertEqual(got["rows"], 120)
        for key, want in (("mse", mean_squared_error(yt, p)), ("loss", mean_squared_error(yt, p)),
                          ("mae", mean_absolute_error(yt, p)), ("r2", r2_score(yt, p))):
            self.assertAlmostEqual(got[key], want, delta=1e-9 * max(1.0, abs(want)), msg=key)
        text = self.ok("nobias-evaluate", "--weights", "r", "--x", x, "--y", y).stdout
        self.assertEqual([line.split()[0] for line in text.splitlines()],
                         ["rows", "loss", "mse", "mae", "r2"])

        # float64 targets a float32 model's predictions nearly meet: scored as given, not
        # rounded to float32 first (which moves mse by ~1%, and a finite 1e39 to infinity).
        near = self.save("near.npy", p + np.random.default_rng(5).normal(0, 1e-7, p.shape))
        got = json.loads(self.ok("nobias-evaluate", "--weights", "r", "--x", x, "--y", near,
                                 "--json").stdout)
        yn = np.load(self.path(near))
        self.assertNotAlmostEqual(mean_squared_error(yn.astype(np.float32).astype(np.float64), p),
                                  mean_squared_error(yn, p), delta=1e-3 * mean_squared_error(yn, p))
        for key, want in (("mse", mean_squared_error(yn, p)), ("mae", mean_absolute_error(yn, p)),
                          ("r2", r2_score(yn, p))):
            self.assertAlmostEqual(got[key], want, delta=1e-9 * max(1.0, abs(want)), msg=key)
        far = self.save("far.npy", np.full((120, 2), 1e39))
        got = json.loads(self.ok("nobias-evaluate", "--weights", "r", "--x", x, "--y", far,
                                 "--json").stdout)
        self.assertAlmostEqual(got["mae"], mean_absolute_error(np.load(self.path(far)), p),
                               delta=1e-9 * 1e39)

        cx, labels = self.classes()
        self.ok("nobias-train", "--x", cx, "--y", labels, *QUICK, "--weights-out", "c", "--quiet")
        self.ok("nobias-predict", "--weights", "c", "--x", cx, "--out", "l.npy", "--labels")
        got = json.loads(self.ok("nobias-evaluate", "--weights", "c", "--x", cx, "--y", labels,
                                 "--json").stdout)
        want = accuracy_score(np.load(self.path(labels)), np.load(self.path("l.npy")))
        self.assertAlmostEqual(got["accuracy"], want, delta=1e-12)
        # One-hot float targets are class targets too.
        onehot = self.save("oh.npy", np.eye(3)[np.load(self.path(labels))])
        again = json.loads(self.ok("nobias-evaluate", "--weights", "c", "--x", cx, "--y", onehot,
                                   "--json").stdout)
        self.assertEqual(again["accuracy"], got["accuracy"])

    # ---- the real-data mode ----

    def test_final_line_says_how_the_epochs_ended(self):
        x, y = self.regression(rows=200)
        common = ["--x", x, "--y", y, "--threads", 1, "--quiet"]
        # Early stopping with a patience of one epoch: a singular, the epochs run of the most
        # asked for, and the best epoch's weights kept.
        r = self.ok("nobias-train", *common, "--patience", 1, "--lr", 0.05, "--epochs", 50)
        self.assertRegex(r.stdout.splitlines()[-1],
                         r"^final loss \S+ after \d+ steps in (\d+) of at most 50 epochs "
                         r"\(stopped early: val_loss did not improve for 1 epoch; kept epoch "
                         r"\d+, the lowest val_loss\), \S+ steps/s$")
        # Every epoch asked for, no validation: the last epoch's weights; one epoch, singular.
        r = self.ok("nobias-train", *common, "--validation-fraction", 0, "--epochs", 1)
        self.assertRegex(r.stdout.splitlines()[-1],
                         r"^final loss \S+ after 7 steps in 1 epoch \(all asked for; kept the "
                         r"last\), \S+ steps/s$")
        # One full-batch step: "1 step".
        r = self.ok("nobias-train", *common, "--steps", 1)
        self.assertRegex(r.stdout.splitlines()[-1], r"^final loss \S+ after 1 step, \S+ steps/s$")

    def test_real_data_defaults(self):
        x, y = self.regression(rows=200)
        r = self.ok("nobias-train", "--x", x, "--y", y, "--standardize", "--patience", 2,
                    "--history", "h.csv", "--weights-out", "m", "--threads", 1)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "defaults for real data: --task regress --layers 5,100,100,2 "
                         "--init half_glorot "
                         "--optimizer adam --lr 0.001 --loss mean --batch-size 32 --epochs 200 "
                         "(at most) --validation-fraction 0.1 --seed 0 --dtype f32 "
                         "(flags given win)")
        self.assertTrue(any(l.startswith("stopped early") for l in lines), r.stdout)
        with open(self.path("h.csv")) as f:
            rows = f.read().splitlines()
        self.assertEqual(rows[0], "epoch,train_loss,val_loss,val_mse,val_mae,val_r2,seconds")
        self.assertLess(len(rows) - 1, 200)  # stopped early
        self.assertEqual([int(row.split(",")[0]) for row in rows[1:]],
                         list(range(1, len(rows))))
        self.assertGreater(json.loads(self.ok("nobias-evaluate", "--weights", "m", "--x", x, "--y",
                                              y, "--json").stdout)["r2"], 0.99)

    def test_history_reports_per_row_losses(self):
        x, y = self.regression(rows=100)
        self.ok("nobias-train", "--x", x, "--y", y, "--epochs", 2, "--optimizer", "adam",
                "--loss", "sum", "--validation-fraction", 0.3, "--history", "h.csv", "--quiet")
        with open(self.path("h.csv")) as f:
            head, first = f.read().splitlines()[:2]
        self.assertEqual(head, "epoch,train_loss,val_loss,train_loss_per_row,val_loss_per_row,"
                               "val_mse,val_mae,val_r2,seconds")
        v = [float(s) for s in first.split(",")]
        self.assertAlmostEqual(v[3], v[1] / 70, delta=1e-9 * v[3])
        self.assertAlmostEqual(v[4], v[2] / 30, delta=1e-9 * v[4])

    def test_dead_layer_and_no_progress_warnings(self):
        rng = np.random.default_rng(5)
        x = self.save("px.npy", np.abs(rng.standard_normal((40, 4))) + 0.1)
        y = self.save("py.npy", rng.standard_normal((40, 2)))
        os.mkdir(self.path("neg"))
        np.save(self.path("neg", "w1.npy"), -np.ones((4, 8)))
        np.save(self.path("neg", "w2.npy"), np.ones((8, 2)))
        r = self.run_tool("nobias-train", "--x", x, "--y", y, "--weights-in", "neg", "--no-standardize", *QUICK,
                          "--quiet")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("warning: hidden layer 1 (8 units) is 0 on every training row (dead "
                      "ReLUs)", r.stderr)
        self.assertIn("try a smaller --lr", r.stderr)
        self.assertIn("warning: the loss after the first epoch", r.stderr)

    # ---- bad inputs ----

    def test_bad_new_flags(self):
        x, y = self.regression(rows=20)
        np.save(self.path("neg.npy"), np.array([0, 1, -1] + [0] * 17, dtype=np.int64))
        np.save(self.path("vl.npy"), np.array([0, 5], dtype=np.int64))
        np.save(self.path("l.npy"), np.array([0, 1] * 10, dtype=np.int64))
        np.save(self.path("vx.npy"), np.zeros((2, 5)))
        cases = [
            (["--validation-fraction", "-0.5"], "--validation-fraction must be a number in [0, 1)"),
            (["--validation-fraction", "1"], "--validation-fraction must be a number in [0, 1), "
                                             "got '1'"),
            (["--validation-fraction", "0.01"], "--validation-fraction 0.01 of 20 rows leaves no "
                                                "row to validate on"),
            (["--val-x", "vx.npy", "--val-y", "vl.npy", "--validation-fraction", "0.5"],
             "--val-x excludes --validation-fraction"),
            (["--validation-fraction", "0", "--patience", "3"], "--patience needs a validation set: "
             "--val-x/--val-y or a --validation-fraction above 0"),
            (["--steps", "2", "--patience", "3"], "--patience needs --epochs"),
            (["--steps", "2", "--history", "h.csv"], "--history needs --epochs"),
            (["--history", "x.npy"], "--history x.npy is the input file x.npy"),
            (["--history", "a.csv", "--loss-csv", "a.csv"], "--loss-csv and --history are both"),
            (["--patience", "-1"], "--patience must be a whole number, got '-1'"),
            # 20 rows: the default 0.1 split (2 rows) is too few to hold out, so a --patience
            # given cannot be honoured; refused, never dropped unsaid.
            (["--patience", "3"], "--patience 3 needs a validation set, and by default none is "
                                  "held out of 20 rows (a 0.1 validation split holds 2, fewer "
                                  "than 20): give --val-x/--val-y, or --validation-fraction F"),
        ]
        for extra, needle in cases:
            with self.subTest(args=extra):
                self.refused("nobias-train", ["--x", x, "--y", y] + extra, needle)
        # The fraction given is the user's call: held out, and early stopping runs on it.
        self.ok("nobias-train", "--x", x, "--y", y, "--patience", 3, "--validation-fraction", 0.5,
                "--epochs", 2, "--threads", 1, "--quiet")
        self.refused("nobias-train", ["--standardize"], "--standardize requires --x")
        self.refused("nobias-train", ["--x", x, "--y", "neg.npy"],
                     "--y: class_count: label -1 at element 2")
        self.refused("nobias-train", ["--x", x, "--y", "l.npy", "--val-x", "vx.npy", "--val-y",
                                      "vl.npy"], "--val-y: one_hot: label 5 at element 1")

    def test_colliding_paths_refused_before_anything(self):
        # Issue 10, item 1: an output that is an input or lies inside another output.
        x, y = self.regression(rows=20)
        os.mkdir(self.path("wo"))
        self.ok("nobias-train", "--layers", "5,3,2", "--steps", 2, "--weights-out", "wi",
                "--quiet")
        # A --loss-csv can no longer be named w2.npy (edges2: its extension is refused first),
        # but a name without an extension can still lie in a directory's own names.
        os.mkdir(self.path("ck"))
        cases = [
            (["--x", x, "--y", y, "--weights-out", "wo", "--loss-csv", "wo/w2.npy"],
             "--loss-csv wo/w2.npy: .npy is not a format --loss-csv writes"),
            (["--x", x, "--y", y, "--epochs", 1, "--checkpoint", "ck", "--loss-csv", "ck/CURRENT"],
             "--loss-csv ck/CURRENT is inside --checkpoint ck"),
            (["--weights-in", "wi", "--steps", 2, "--loss-csv", "wi/w1.npy"],
             "--loss-csv wi/w1.npy: .npy is not a format --loss-csv writes"),
            (["--resume", "wi", "--x", x, "--y", y, "--epochs", 1, "--loss-csv", "wi/loss"],
             "--loss-csv wi/loss would write inside --resume wi, which is an input"),
            (["--x", "wi/w1.npy", "--y", y, "--weights-out", "wi"],
             "--x wi/w1.npy is inside --weights-out wi"),
        ]
        for args, needle in cases:
            with self.subTest(args=args):
                before = {f: open(self.path("wi", f), "rb").read()
                          for f in os.listdir(self.path("wi"))}
                self.refused("nobias-train", args, needle)
                self.assertEqual({f: open(self.path("wi", f), "rb").read()
                                  for f in os.listdir(self.path("wi"))}, before)
                self.assertEqual(os.listdir(self.path("wo")), [])

    # ---- outputs that are links, devices or FIFOs; files a save did not write (issue 19) ----

    def through_fifo(self, fifo, tool, *args):
        """Runs tool while reading the FIFO fifo (never blocking for good): what it received."""
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        got = b""
        try:
            proc = subprocess.Popen([os.path.join(BIN, tool)] + [str(a) for a in args],
                                    cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            while True:
                done = proc.poll() is not None
                select.select([fd], [], [], 0.1)
                try:
                    while True:
                        chunk = os.read(fd, 65536)
                        if not chunk:
                            break
                        got += chunk
                except BlockingIOError:
                    pass
                if done:
                    break
            out, err = proc.communicate(timeout=TIMEOUT_S)
            self.assertEqual(proc.returncode, 0, "%s %s\n%s" % (tool, args, err.decode()))
        finally:
            os.close(fd)
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode), "%s replaced the FIFO" % tool)
        return got

    def test_outputs_follow_symlinks_and_write_through_fifos_and_devices(self):
        x, y = self.regression(rows=20)
        os.mkdir(self.path("real"))
        with open(self.path("real", "loss.csv"), "w") as f:
            f.write("old\n")
        os.symlink("real/loss.csv", self.path("loss-link.csv"))
        self.ok("nobias-train", "--x", x, "--y", y, *QUICK, "--weights-out", "m", "--quiet",
                "--loss-csv", "loss-link.csv")
        self.assertTrue(os.path.islink(self.path("loss-link.csv")))
        with open(self.path("real", "loss.csv")) as f:
            self.assertTrue(f.read().startswith("step,loss\n1,"))
        self.ok("nobias-predict", "--weights", "m", "--x", x, "--out", "p.npy")
        expected = np.load(self.path("p.npy"))
        os.symlink("real/p-new.npy", self.path("p-link.npy"))  # to a file not there yet
        self.ok("nobias-predict", "--weights", "m", "--x", x, "--out", "p-link.npy")
        self.assertTrue(os.path.islink(self.path("p-link.npy")))
        np.testing.assert_array_equal(np.load(self.path("real", "p-new.npy")), expected)
        self.assertEqual(sorted(os.listdir(self.path("real"))), ["loss.csv", "p-new.npy"])

        # A FIFO another program reads, directly and behind a symlink: written through.
        os.mkfifo(self.path("fifo"))
        os.symlink("fifo", self.path("fifo-link"))
        got = self.through_fifo(self.path("fifo"), "nobias-train", "--x", x, "--y", y, *QUICK,
                                "--quiet", "--loss-csv", "fifo")
        self.assertTrue(got.startswith(b"step,loss\n1,"), got)
        got = self.through_fifo(self.path("fifo"), "nobias-predict", "--weights", "m", "--x", x,
                                "--out", "fifo-link")
        np.testing.assert_array_equal(np.load(io.BytesIO(got)), expected)
        self.assertTrue(os.path.islink(self.path("fifo-link")))

        # A directory where a file is expected: refused before anything runs.
        os.mkdir(self.path("adir"))
        self.refused("nobias-predict", ["--weights", "m", "--x", x, "--out", "adir"],
                     "--out: adir: is a directory, expected a file")
        os.symlink("adir", self.path("adir-link"))
        self.refused("nobias-predict", ["--weights", "m", "--x", x, "--out", "adir-link"],
                     "is a directory, expected a file")

        # Character devices. First a null device of our own here (root may make one), so that
        # a tool that replaced devices would replace only that, never the system's /dev/null.
        try:
            os.mknod(self.path("null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
            os.open(self.path("null"), os.O_WRONLY)  # a nodev mount refuses it
        except OSError:
            self.skipTest("cannot make a device node here: /dev/null and /dev/stdout untested")
        os.symlink("null", self.path("null-link"))
        for name in ("null", "null-link"):
            self.ok("nobias-train", "--x", x, "--y", y, *QUICK, "--quiet", "--loss-csv", name)
            self.assertTrue(stat.S_ISCHR(os.stat(self.path("null")).st_mode), name)
        self.assertTrue(os.path.islink(self.path("null-link")))
        # Proven safe above: now the system's own.
        try:
            self.ok("nobias-train", "--x", x, "--y", y, *QUICK, "--quiet",
                    "--loss-csv", "/dev/null")
            r = subprocess.run([os.path.join(BIN, "nobias-predict"), "--weights", "m", "--x", x,
                                "--out", "/dev/stdout"], cwd=self.dir, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=TIMEOUT_S)
        finally:
            self.assertTrue(stat.S_ISCHR(os.stat("/dev/null").st_mode), "/dev/null replaced")
            self.assertTrue(os.path.islink("/dev/stdout"), "/dev/stdout replaced")
        self.assertEqual(r.returncode, 0, r.stderr)
        np.testing.assert_array_equal(np.load(io.BytesIO(r.stdout)), expected)

    def test_loss_csv_to_stdout_redirected_to_a_file_keeps_everything(self):
        # `--loss-csv /dev/stdout > run.csv`: the CSV is written through fd 1 itself (a dup),
        # at its offset; the final line printed after it follows; nothing is overwritten.
        x, y = self.regression(rows=20)
        with open(self.path("run.csv"), "w") as out:
            r = subprocess.run([os.path.join(BIN, "nobias-train"), "--x", x, "--y", y, *QUICK,
                                "--quiet", "--loss-csv", "/dev/stdout"], cwd=self.dir,
                               stdout=out, stderr=subprocess.PIPE, timeout=TIMEOUT_S)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self.path("run.csv")) as f:
            lines = f.read().splitlines()
        # The outputs are committed first, then the final line is printed.
        self.assertEqual(lines[0], "step,loss")
        self.assertTrue(lines[-1].startswith("final loss "), lines[-1])
        rows = lines[1:-1]
        self.assertGreater(len(rows), 0)
        for k, row in enumerate(rows):
            step, loss = row.split(",")
            self.assertEqual(int(step), k + 1)
            float(loss)
        self.assertTrue(os.path.islink("/dev/stdout"), "/dev/stdout replaced")

    def test_libraries_named_in_the_working_directory_are_not_loaded(self):
        # A file named as a library the programs load, in the directory a user runs them from,
        # is the user's: an empty entry in their run path would make the loader take it (and
        # stop at "file too short"), or run it.
        names = set()
        for tool in ("nobias-train", "nobias-predict", "nobias-evaluate", "nobias-export"):
            names.update(linked_library_names(self.tool_path(tool)))
        self.assertIn("libc.so.6", names)
        for name in names:
            with open(self.path(name), "w") as f:
                f.write("not a library\n")
        x, y = self.regression()
        self.ok("nobias-train", "--x", x, "--y", y, *QUICK, "--weights-out", "m")
        self.ok("nobias-predict", "--weights", "m", "--x", x, "--out", "p.npy")
        self.ok("nobias-evaluate", "--weights", "m", "--x", x, "--y", y)
        self.ok("nobias-export", "--weights", "m", "--onnx", "m.onnx")

    def test_weights_out_keeps_files_it_did_not_write(self):
        x, y = self.regression(rows=20)
        os.mkdir(self.path("m"))
        mine = {"w7.npy": np.ones((3, 3)), "y_mean.npy": np.full((1, 2), 100.0)}
        for name, a in mine.items():
            np.save(self.path("m", name), a)
        self.ok("nobias-train", "--x", x, "--y", y, *QUICK, "--no-standardize", "--weights-out", "m",
                "--quiet")
        for name, a in mine.items():
            np.testing.assert_array_equal(np.load(self.path("m", name)), a)
        # The model is what its manifest lists: three layers, no statistics.
        self.ok("nobias-predict", "--weights", "m", "--x", x, "--out", "p.npy")
        weights = [np.load(self.path("m", "w%d.npy" % k)) for k in (1, 2, 3)]
        np.testing.assert_allclose(np.load(self.path("p.npy")),
                                   forward(weights, np.load(self.path(x))), rtol=1e-5, atol=1e-5)

    def test_bad_predict_and_evaluate(self):
        x, y = self.regression(rows=20)
        self.ok("nobias-train", "--x", x, "--y", y, *QUICK, "--weights-out", "m", "--quiet")
        np.save(self.path("x4.npy"), np.zeros((20, 4)))
        np.save(self.path("y3.npy"), np.zeros((20, 3)))
        np.save(self.path("y19.npy"), np.zeros((19, 2)))
        self.refused("nobias-predict", ["--weights", "m", "--x", x, "--out", "p.npy", "--labels"],
                     "--labels: the model in m is a regression")
        self.refused("nobias-predict", ["--weights", "m", "--x", "x4.npy", "--out", "p.npy"],
                     "--x x4.npy is 20x4, but the model in m takes 5 columns (widths 5,100,100,2)")
        self.refused("nobias-predict", ["--weights", "m", "--x", x, "--out", "m/w1.npy"],
                     "--out m/w1.npy would write inside --weights m")
        self.refused("nobias-predict", ["--weights", "none", "--x", x, "--out", "p.npy"],
                     "--weights none:")
        self.refused("nobias-predict", ["--x", x, "--out", "p.npy"], "--weights is required")
        # Names the filesystem cannot hold, refused before the model is read (issue 19 item 13).
        self.refused("nobias-predict", ["--weights", "m", "--x", x, "--out", "p" * 256 + ".npy"],
                     "--out: the file name 'pppp")
        self.refused("nobias-predict", ["--weights", "m", "--x", x, "--out",
                                        "d/" * 2040 + "p.npy"],
                     "(with its temporary, 4170 characters) is longer than the system's limit")
        self.refused("nobias-evaluate", ["--weights", "m", "--x", x, "--y", "y3.npy"],
                     "--y y3.npy is 20x3, but the model in m has 2 outputs")
        self.refused("nobias-evaluate", ["--weights", "m", "--x", x, "--y", "y19.npy"],
                     "--x x.npy is 20x5, --y y19.npy is 19x2: row counts differ")

    # ---- non-finite results are errors (issue 19, items 10 and 13) ----

    def bare_model(self, name, dtype):
        """Bare all-ones weights 5 -> 3 -> 2: an input row of magnitude v gives 15 v."""
        os.mkdir(self.path(name))
        np.save(self.path(name, "w1.npy"), np.ones((5, 3), dtype=dtype))
        np.save(self.path(name, "w2.npy"), np.ones((3, 2), dtype=dtype))
        return name

    def test_non_finite_predictions_are_refused_and_nothing_written(self):
        for dtype, big, limit in ((np.float32, "3e+38", "float32's range (3.4028235e+38)"),
                                  (np.float64, "1e+308",
                                   "float64's range (1.7976931348623157e+308)")):
            with self.subTest(dtype=dtype.__name__):
                model = self.bare_model("m-" + dtype.__name__, dtype)
                x = np.random.default_rng(5).standard_normal((20, 5)).astype(dtype)
                x[3] = float(big)  # finite in the file, too large once summed in the network
                self.save("big.npy", x)
                # One-hot: the model is a classifier when evaluated (its model.json below).
                self.save("y.npy", np.eye(2, dtype=dtype)[np.arange(20) % 2])
                with open(self.path("p.npy"), "wb") as f:
                    f.write(b"earlier predictions")
                for extra in ([], ["--labels"]):
                    if extra:
                        # The same weights as a classifier of 2 classes, for --labels.
                        with open(self.path(model, "model.json"), "w") as f:
                            json.dump({"format": "nobias-model", "format_version": 1,
                                       "nobias_version": "0.1.0", "settings": {},
                                       "standardization": {},
                                       "dtype": "f32" if dtype == np.float32 else "f64",
                                       "widths": [5, 3, 2], "classes": 2}, f)
                    r = self.refused("nobias-predict", ["--weights", model, "--x", "big.npy",
                                                        "--out", "p.npy", *extra],
                                     "--x big.npy: prediction row 3 of 20, output 0 is inf, "
                                     "from finite inputs: the network's values passed " + limit)
                    self.assertIn("the largest |x| in row 3 is %s (column 0)" % big, r.stderr)
                    self.assertIn("nothing written to --out p.npy", r.stderr)
                    with open(self.path("p.npy"), "rb") as f:
                        self.assertEqual(f.read(), b"earlier predictions")
                self.refused("nobias-evaluate", ["--weights", model, "--x", "big.npy",
                                                 "--y", "y.npy"],
                             "--x big.npy: prediction row 3 of 20, output 0 is inf")

    def test_an_infinite_input_is_refused_even_where_the_network_hides_it(self):
        # The tools read --x's values again only where the pass saw a hidden value or an output
        # that was not finite. A -inf into all-ones weights makes its row's hidden values -inf,
        # which relu turns into 0: its prediction is a finite 0, so only the hidden layer shows
        # it. Rows past one block (12,288 for 5 -> 3 -> 2), so that the pass is the streamed one,
        # and the bad row in a later block; then a network without a hidden layer, where only the
        # outputs show it and the message must still name the input. Each --x both mapped (the
        # model's dtype) and read and converted as predicted (the other float dtype).
        rows = 40000
        for dtype in (np.float32, np.float64):
            with self.subTest(dtype=dtype.__name__):
                deep = self.bare_model("deep-" + dtype.__name__, dtype)
                linear = "linear-" + dtype.__name__
                os.mkdir(self.path(linear))
                np.save(self.path(linear, "w1.npy"), np.ones((5, 2), dtype=dtype))
                x = np.random.default_rng(8).standard_normal((rows, 5))
                x[rows - 3000, 0] = -np.inf
                y = self.save("y-%s.npy" % dtype.__name__, np.zeros((rows, 2), dtype=dtype))
                for stored in (dtype, np.float64 if dtype == np.float32 else np.float32):
                    name = self.save("x-%s.npy" % np.dtype(stored).name, x.astype(stored))
                    needle = "--x: %s: element (%d, 0) is -inf; values must be finite" % (
                        name, rows - 3000)
                    for model in (deep, linear):
                        self.refused("nobias-predict",
                                     ["--weights", model, "--x", name, "--out", "p.npy"], needle)
                        self.refused("nobias-evaluate",
                                     ["--weights", model, "--x", name, "--y", y], needle)

    def test_non_finite_metrics_are_refused_naming_the_metric(self):
        # Finite float64 predictions and targets whose squared errors pass double's range.
        model = self.bare_model("m", np.float64)
        x = self.save("x.npy", np.full((4, 5), 0.1))
        self.save("huge.npy", np.array([[1e200, 0.0], [-1e200, 0.0], [0.0, 0.0], [0.0, 0.0]]))
        r = self.refused("nobias-evaluate", ["--weights", model, "--x", x, "--y", "huge.npy"],
                         "--y huge.npy: mse is inf: the errors are too large for double: the "
                         "squared errors pass double's largest, 1.7976931348623157e+308; the "
                         "largest |prediction - target| is at row 0, output 0 (prediction 1.5, "
                         "target 1e+200)")
        self.assertEqual(r.stdout, "")

    def test_undefined_r2_is_said_not_printed_as_a_number(self):
        model = self.bare_model("m", np.float64)
        x = self.save("x.npy", np.random.default_rng(6).standard_normal((20, 5)))
        const = self.save("const.npy", np.column_stack([np.arange(20.0), np.full(20, 1.5)]))
        r = self.run_tool("nobias-evaluate", "--weights", model, "--x", x, "--y", const)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("r2 undefined\n", r.stdout)
        self.assertEqual(r.stderr, "nobias-evaluate: note: r2 is undefined: target column 1 is "
                                   "constant (every row is 1.5)\n")
        got = json.loads(self.ok("nobias-evaluate", "--weights", model, "--x", x, "--y", const,
                                 "--json").stdout)
        self.assertIsNone(got["r2"])
        self.assertEqual(got["r2_undefined"], "target column 1 is constant (every row is 1.5)")
        self.assertTrue(np.isfinite(got["mse"]))
        one = self.save("one.npy", np.ones((1, 5)))
        got = json.loads(self.ok("nobias-evaluate", "--weights", model, "--x", one, "--y",
                                 self.save("y1.npy", np.ones((1, 2))), "--json").stdout)
        self.assertEqual((got["r2"], got["r2_undefined"]), (None, "fewer than two rows"))
        # A target that varies has a defined r2 and no reason.
        varied = self.save("varied.npy", np.random.default_rng(7).standard_normal((20, 2)))
        got = json.loads(self.ok("nobias-evaluate", "--weights", model, "--x", x, "--y", varied,
                                 "--json").stdout)
        self.assertNotIn("r2_undefined", got)
        self.assertIsInstance(got["r2"], float)

    def test_evaluate_names_the_shape_of_the_y_file_itself(self):
        x, y = self.regression(rows=20)
        self.ok("nobias-train", "--x", x, "--y", y, *QUICK, "--weights-out", "m", "--quiet")
        # A regression's integer targets are read as numbers; the message is about the file.
        self.save("l19.npy", np.arange(19, dtype=np.int64) % 3)
        self.refused("nobias-evaluate", ["--weights", "m", "--x", x, "--y", "l19.npy"],
                     "--x x.npy is 20x5, --y l19.npy is (19,): row counts differ")
        self.save("y1.npy", np.zeros(20))
        self.refused("nobias-evaluate", ["--weights", "m", "--x", x, "--y", "y1.npy"],
                     "--y y1.npy is (20,), but the model in m has 2 outputs")


if __name__ == "__main__":
    BIN, ARGV = bin_dir_and_argv(sys.argv)
    sys.exit(run_tests(ARGV))
