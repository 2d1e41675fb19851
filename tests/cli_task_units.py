"""Tests of cli_model_test.py (its ModelToolsTest inherits them; run that file): the task comes
from intent, not from the dtype alone (issue 20). Integer labels train a classifier unless they
look like counts; float targets a regression, with a note when they look like a few classes;
--task classify or regress says which. Each task reports its own metrics: a classifier's
accuracy, a regression's mse, mae and r2.
"""

import json
import os

import numpy as np

# Fast settings for tests that are not about the defaults.
FAST = ["--init", "he", "--optimizer", "adam", "--loss", "mean", "--epochs", "2",
        "--threads", "1"]


class TaskTests:
    def labelled(self, rows=120, classes=3, seed=9):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((rows, 4))
        labels = np.argmax(x[:, :classes], axis=1)
        return self.save("tx.npy", x), labels

    def model_json(self, model):
        with open(self.path(model, "model.json")) as f:
            return json.load(f)

    def test_integer_counts_are_refused_asking_for_the_task(self):
        # Issue 20: counts of thousands of values silently became a 2992-class classifier.
        rng = np.random.default_rng(3)
        x = self.save("cx.npy", rng.standard_normal((3000, 4)))
        self.save("counts.npy", (np.arange(3000) % 2992).astype(np.int64))
        r = self.refused("nobias-train", ["--x", x, "--y", "counts.npy", *FAST],
                         "--y counts.npy holds integers that look like counts, not class labels: "
                         "labels up to 2991 would make 2992 classes (more than 256); pass --task "
                         "regress to fit them as numbers, or --task classify to train a "
                         "classifier of 2992 outputs anyway")
        self.assertEqual(r.stdout, "")
        # Fewer classes, but most values seen once: also counts.
        small = self.save("sx.npy", rng.standard_normal((100, 4)))
        self.save("spread.npy", (np.arange(100) * 2).astype(np.int32))
        self.refused("nobias-train", ["--x", small, "--y", "spread.npy", *FAST],
                     "100 distinct values in 100 rows, fewer than two rows per value; pass "
                     "--task regress")
        # Asked for, either task trains on them.
        self.ok("nobias-train", "--x", small, "--y", "spread.npy", *FAST, "--task", "regress",
                "--weights-out", "r", "--quiet")
        info = self.model_json("r")
        self.assertEqual((info["classes"], info["widths"][-1]), (0, 1))
        self.ok("nobias-train", "--x", small, "--y", "spread.npy", *FAST, "--task", "classify",
                "--weights-out", "c", "--quiet")
        info = self.model_json("c")
        self.assertEqual((info["classes"], info["widths"][-1]), (199, 199))

    def test_regress_fits_integer_labels_as_numbers(self):
        x, labels = self.labelled()
        self.save("l.npy", labels.astype(np.int64))
        r = self.ok("nobias-train", "--x", x, "--y", "l.npy", *FAST, "--task", "regress",
                    "--standardize", "--weights-out", "m")
        self.assertNotIn("--task", r.stdout.splitlines()[0])  # given, not a default
        info = self.model_json("m")
        self.assertEqual((info["classes"], info["widths"][-1]), (0, 1))
        # A regression's targets are standardized: the integers were taken as numbers.
        self.assertEqual(sorted(info["standardization"]),
                         ["x_mean", "x_scale", "y_mean", "y_scale"])
        self.assertTrue(0 < np.load(self.path("m", "y_mean.npy")).ravel()[0] < 2)
        # nobias-evaluate reads the same file as the model's numbers, with a regression's metrics.
        got = json.loads(self.ok("nobias-evaluate", "--weights", "m", "--x", x, "--y", "l.npy",
                                 "--json").stdout)
        self.assertEqual(sorted(got), ["loss", "mae", "mse", "r2", "rows"])
        # Validation targets are read as the training targets were: numbers, one column.
        self.save("vl.npy", labels[:20].astype(np.int64))
        self.save("vx.npy", np.load(self.path(x))[:20])
        self.ok("nobias-train", "--x", x, "--y", "l.npy", *FAST, "--task", "regress",
                "--val-x", "vx.npy", "--val-y", "vl.npy", "--quiet")

    def test_float_labels_are_a_regression_with_a_note_or_classes_when_asked(self):
        # Issue 20: numpy.loadtxt gives labels as floats; they trained a one-output regression
        # without a word.
        x, labels = self.labelled()
        self.save("fl.npy", labels.astype(np.float64))
        self.save("il.npy", labels.astype(np.int64))
        r = self.run_tool("nobias-train", "--x", x, "--y", "fl.npy", *FAST, "--quiet",
                          "--weights-out", "reg")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "nobias-train: note: --y fl.npy holds 3 distinct whole "
                                   "numbers (0, 1, 2): training a regression of one output; if "
                                   "they are class labels, pass --task classify\n")
        self.assertEqual(self.model_json("reg")["classes"], 0)
        r = self.ok("nobias-train", "--x", x, "--y", "fl.npy", *FAST, "--task", "classify",
                    "--weights-out", "cls")
        info = self.model_json("cls")
        self.assertEqual((info["classes"], info["widths"][-1]), (3, 3))
        # The same model from the integer labels: the same weights.
        self.ok("nobias-train", "--x", x, "--y", "il.npy", *FAST, "--weights-out", "int",
                "--quiet")
        for k in (1, 2, 3):
            w = "w%d.npy" % k
            self.assertTrue(np.array_equal(np.load(self.path("cls", w)),
                                           np.load(self.path("int", w))), w)
        # nobias-evaluate takes a classifier's labels as floats too, with its accuracy.
        by_float = json.loads(self.ok("nobias-evaluate", "--weights", "cls", "--x", x, "--y",
                                      "fl.npy", "--json").stdout)
        by_int = json.loads(self.ok("nobias-evaluate", "--weights", "cls", "--x", x, "--y",
                                    "il.npy", "--json").stdout)
        self.assertEqual(by_float, by_int)
        # Not whole numbers: refused, naming the row.
        bad = labels.astype(np.float64)
        bad[7] = 1.5
        self.save("bad.npy", bad)
        self.refused("nobias-train", ["--x", x, "--y", "bad.npy", *FAST, "--task", "classify"],
                     "--y bad.npy: labels_from_values: row 7 is 1.5, not a whole number (class "
                     "labels are 0, 1, ...)")
        # Values that are not a few whole numbers: no note.
        self.save("many.npy", np.arange(len(labels), dtype=np.float64))
        self.ok("nobias-train", "--x", x, "--y", "many.npy", *FAST, "--quiet")

    def test_classify_refuses_wide_targets_that_are_not_one_hot(self):
        # A 2-D --y of arbitrary reals trained as a 3-class classifier, its val_accuracy an
        # argmax of numbers; a classifier's wider targets must be one-hot rows.
        x, labels = self.labelled()
        scores = np.random.default_rng(4).standard_normal((len(labels), 3))
        self.save("scores.npy", scores)
        want = ("--y scores.npy: require_one_hot: row 0 is (%s, %s, %s), not one-hot (a one-hot "
                "row is a single 1 with 0 in every other column); a classifier trains on class "
                "labels" % tuple(repr(float(np.float32(v))) for v in scores[0]))
        self.refused("nobias-train", ["--x", x, "--y", "scores.npy", *FAST, "--task", "classify",
                                      "--weights-out", "m"], want)
        # One bad row among one-hot rows is named; one-hot rows train a classifier.
        onehot = np.eye(3)[labels]
        bad = onehot.copy()
        bad[5] = [1, 1, 0]
        self.save("onehot.npy", onehot)
        self.save("twoones.npy", bad)
        self.refused("nobias-train", ["--x", x, "--y", "twoones.npy", *FAST, "--task",
                                      "classify"],
                     "--y twoones.npy: require_one_hot: row 5 is (1, 1, 0), not one-hot")
        self.refused("nobias-train", ["--x", x, "--y", "onehot.npy", *FAST, "--val-x", x,
                                      "--val-y", "scores.npy"],
                     "--val-y scores.npy: require_one_hot: row 0 is")
        self.ok("nobias-train", "--x", x, "--y", "onehot.npy", *FAST, "--task", "classify",
                "--weights-out", "cls", "--quiet")
        self.assertEqual(self.model_json("cls")["classes"], 3)
        # nobias-evaluate reads a classifier's --y as nobias-train does.
        self.refused("nobias-evaluate", ["--weights", "cls", "--x", x, "--y", "scores.npy"],
                     "--y scores.npy: require_one_hot: row 0 is")
        self.ok("nobias-evaluate", "--weights", "cls", "--x", x, "--y", "onehot.npy")

    def test_each_task_reports_its_own_metrics(self):
        # Issue 20: classification runs printed r2, which means nothing of class scores.
        x, labels = self.labelled()
        self.save("il.npy", labels.astype(np.int64))
        # A validation fraction given is held out however few the rows.
        r = self.ok("nobias-train", "--x", x, "--y", "il.npy", "--epochs", 2, "--threads", 1,
                    "--validation-fraction", 0.1, "--history", "c.csv", "--weights-out", "c")
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].startswith("defaults for real data: --task classify "), lines[0])
        epochs = [line for line in lines if line.startswith("epoch ")]
        self.assertEqual(len(epochs), 2, r.stdout)
        for line in epochs:
            self.assertIn(" val_accuracy ", line)
            for other in (" val_r2 ", " val_mse ", " val_mae "):
                self.assertNotIn(other, line)
        with open(self.path("c.csv")) as f:
            self.assertEqual(f.readline().strip(), "epoch,train_loss,val_loss,val_accuracy,seconds")
        text = self.ok("nobias-evaluate", "--weights", "c", "--x", x, "--y", "il.npy").stdout
        self.assertEqual([line.split()[0] for line in text.splitlines()],
                         ["rows", "loss", "accuracy"])
        got = json.loads(self.ok("nobias-evaluate", "--weights", "c", "--x", x, "--y", "il.npy",
                                 "--json").stdout)
        self.assertEqual(sorted(got), ["accuracy", "loss", "rows"])

        y = self.save("ry.npy", np.load(self.path(x))[:, :2] @ np.array([[1.0], [-2.0]]))
        r = self.ok("nobias-train", "--x", x, "--y", y, "--epochs", 2, "--threads", 1,
                    "--validation-fraction", 0.1, "--history", "r.csv")
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].startswith("defaults for real data: --task regress "), lines[0])
        for line in (line for line in lines if line.startswith("epoch ")):
            self.assertIn(" val_r2 ", line)
            self.assertNotIn(" val_accuracy ", line)
        with open(self.path("r.csv")) as f:
            self.assertEqual(f.readline().strip(),
                             "epoch,train_loss,val_loss,val_mse,val_mae,val_r2,seconds")

    def test_bare_weights_take_the_task_from_their_outputs(self):
        # Without model.json: integer labels are classes of a model of several outputs, and
        # the numbers of a one-output model.
        x = self.save("bx.npy", np.random.default_rng(2).standard_normal((30, 5)))
        self.save("bl.npy", np.arange(30, dtype=np.int64) % 2)
        for name, outputs, keys in (("one", 1, ["loss", "mae", "mse", "r2", "rows"]),
                                    ("two", 2, ["accuracy", "loss", "rows"])):
            with self.subTest(outputs=outputs):
                os.mkdir(self.path(name))
                np.save(self.path(name, "w1.npy"), np.ones((5, 3)))
                np.save(self.path(name, "w2.npy"), np.ones((3, outputs)))
                got = json.loads(self.ok("nobias-evaluate", "--weights", name, "--x", x, "--y",
                                         "bl.npy", "--json").stdout)
                self.assertEqual(sorted(got), keys)

    def test_task_needs_data_and_a_known_name(self):
        self.refused("nobias-train", ["--task", "classify"], "--task requires --x")
        x, labels = self.labelled()
        self.save("il.npy", labels.astype(np.int64))
        self.refused("nobias-train", ["--x", x, "--y", "il.npy", "--task", "cluster"],
                     "--task must be auto, classify or regress, got 'cluster'")
