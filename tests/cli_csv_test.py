#!/usr/bin/env python3
"""Black-box tests of CSV data in nobias-train, nobias-evaluate and nobias-predict.

    /usr/bin/python3 tests/cli_csv_test.py --bin-dir DIR [unittest args]

One CSV file with a header trains (--target COL), evaluates and predicts; a CSV --out is read
back and compared with the .npy predictions of the same model.
"""

import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import unittest

import numpy as np

from cli_main import bin_dir_and_argv, run_tests

BIN = None
TIMEOUT_S = 120
QUICK = ["--init", "he", "--optimizer", "adam", "--loss", "mean", "--epochs", "3",
         "--threads", "1"]


def run(tool, *args):
    return subprocess.run([os.path.join(BIN, tool)] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=TIMEOUT_S)


# Runs argv[1:] as a child of a fresh interpreter and prints the bytes the child read (rchar of
# /proc's io: read, pread and the like, whatever the page cache holds) as the last line of
# stderr: a child's counts are added to its parent's when it is reaped.
READ_BYTES = """import os, sys
def rchar():
    with open("/proc/self/io") as f:
        return int(next(l for l in f if l.startswith("rchar:")).split()[1])
before = rchar()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, _ = os.wait4(pid, 0)
sys.stderr.write("\\n%d\\n" % (rchar() - before))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def write_table(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        if header:
            w.writerow(header)
        w.writerows(rows)


class CsvTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name
        rng = np.random.default_rng(3)
        self.x = rng.standard_normal((40, 3))
        self.names = np.array(["setosa", "versicolor", "virginica"])
        self.labels = rng.integers(0, 3, 40)
        # The target in the middle: every other column is an input, in order.
        self.data = self.path("wine.csv")
        write_table(self.data, ["a", "species", "b", "c"],
                    [[repr(r[0]), self.names[k], repr(r[1]), repr(r[2])]
                     for r, k in zip(self.x, self.labels)])

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.d, name)

    def ok(self, tool, *args):
        r = run(tool, *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def refused(self, tool, *args):
        r = run(tool, *args)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        return r.stderr

    def test_one_file_trains_evaluates_and_predicts(self):
        model = self.path("model")
        self.ok("nobias-train", "--x", self.data, "--target", "species", "--weights-out", model,
                *QUICK)
        # Text labels: the sorted names are classes 0, 1, 2.
        with open(os.path.join(model, "model.json")) as f:
            self.assertIn('"classes": 3', f.read())
        np.save(self.path("x.npy"), self.x.astype(np.float32))
        self.ok("nobias-predict", "--weights", model, "--x", self.path("x.npy"), "--out",
                self.path("p.npy"))
        self.ok("nobias-predict", "--weights", model, "--x", self.data, "--target", "species",
                "--out", self.path("p.csv"))
        with open(self.path("p.csv")) as f:
            rows = list(csv.reader(f))
        self.assertEqual(rows[0], ["output 1", "output 2", "output 3"])
        # The shortest text that reads back to the same float: bit for bit.
        got = np.array(rows[1:], dtype=np.float32)
        np.testing.assert_array_equal(got, np.load(self.path("p.npy")))
        self.ok("nobias-predict", "--weights", model, "--x", self.data, "--target", "2",
                "--labels", "--out", self.path("l.csv"))
        with open(self.path("l.csv")) as f:
            rows = list(csv.reader(f))
        self.assertEqual(rows[0], ["label"])
        # model.json keeps the text labels' names: a CSV --out holds them, a .npy the indices.
        np.testing.assert_array_equal(np.array(rows[1:]).ravel(),
                                      self.names[np.argmax(np.load(self.path("p.npy")), axis=1)])
        self.ok("nobias-predict", "--weights", model, "--x", self.path("x.npy"), "--labels",
                "--out", self.path("l.npy"))
        np.testing.assert_array_equal(np.load(self.path("l.npy")),
                                      np.argmax(np.load(self.path("p.npy")), axis=1))
        r = self.ok("nobias-evaluate", "--weights", model, "--x", self.data, "--target",
                    "species", "--json")
        one_file = json.loads(r.stdout)
        self.assertEqual(one_file["rows"], 40)
        p = np.load(self.path("p.npy"))
        self.assertAlmostEqual(one_file["accuracy"],
                               np.mean(np.argmax(p, axis=1) == self.labels), places=12)
        # Evaluate with inputs and labels in two CSV files: the same metrics.
        write_table(self.path("y.csv"), ["species"], [[self.names[k]] for k in self.labels])
        write_table(self.path("x.csv"), ["a", "b", "c"], [[repr(v) for v in r] for r in self.x])
        r = self.ok("nobias-evaluate", "--weights", model, "--x", self.path("x.csv"), "--y",
                    self.path("y.csv"), "--json")
        self.assertEqual(json.loads(r.stdout), one_file)

    def test_model_keeps_class_names(self):
        model = self.path("model")
        self.ok("nobias-train", "--x", self.data, "--target", "species", "--weights-out", model,
                *QUICK)
        with open(os.path.join(model, "model.json")) as f:
            self.assertEqual(json.load(f)["class_names"], list(self.names))
        # New data without a "setosa" row: its own sorted names would make "versicolor" class 0.
        keep = self.labels != 0
        write_table(self.path("new.csv"), ["a", "species", "b", "c"],
                    [[repr(r[0]), self.names[k], repr(r[1]), repr(r[2])]
                     for r, k in zip(self.x[keep], self.labels[keep])])
        np.save(self.path("x.npy"), self.x[keep].astype(np.float32))
        self.ok("nobias-predict", "--weights", model, "--x", self.path("x.npy"), "--out",
                self.path("p.npy"))
        want = np.mean(np.argmax(np.load(self.path("p.npy")), axis=1) == self.labels[keep])
        for y_args in (["--x", self.path("new.csv"), "--target", "species"],
                       ["--x", self.path("x.npy"), "--y", self.path("y.csv")]):
            write_table(self.path("y.csv"), ["species"],
                        [[self.names[k]] for k in self.labels[keep]])
            r = self.ok("nobias-evaluate", "--weights", model, *y_args, "--json")
            self.assertAlmostEqual(json.loads(r.stdout)["accuracy"], want, places=12)
        # A name the model does not know: refused, naming the line and the known names.
        with open(self.path("new.csv")) as f:
            lines = f.read().splitlines()
        lines[3] = lines[3].replace("versicolor", "iris").replace("virginica", "iris")
        with open(self.path("new.csv"), "w") as f:
            f.write("\n".join(lines) + "\n")
        err = self.refused("nobias-evaluate", "--weights", model, "--x", self.path("new.csv"),
                           "--target", "species")
        self.assertIn("line 4: 'iris' is not a class the model knows", err)
        self.assertIn("'setosa', 'versicolor', 'virginica'", err)

    def test_y_csv_matches_y_npy(self):
        write_table(self.path("x.csv"), ["a", "b", "c"], [[repr(v) for v in r] for r in self.x])
        write_table(self.path("y.csv"), ["class"], [[k] for k in self.labels])
        np.save(self.path("x.npy"), self.x)
        np.save(self.path("y.npy"), self.labels.astype(np.int64))
        # Validation data as CSV files too: the same rows, another file.
        self.ok("nobias-train", "--x", self.path("x.csv"), "--y", self.path("y.csv"),
                "--val-x", self.path("x.csv"), "--val-y", self.path("y.csv"),
                "--weights-out", self.path("m1"), "--dtype", "f64", *QUICK)
        self.ok("nobias-train", "--x", self.path("x.npy"), "--y", self.path("y.npy"),
                "--val-x", self.path("x.npy"), "--val-y", self.path("y.npy"),
                "--weights-out", self.path("m2"), "--dtype", "f64", *QUICK)
        for k in (1, 2, 3):
            np.testing.assert_array_equal(np.load(self.path("m1/w%d.npy" % k)),
                                          np.load(self.path("m2/w%d.npy" % k)))

    def validation_without_setosa(self):
        keep = self.labels != 0
        write_table(self.path("vx.csv"), ["a", "b", "c"],
                    [[repr(v) for v in r] for r in self.x[keep]])
        write_table(self.path("vy.csv"), ["species"], [[self.names[k]] for k in self.labels[keep]])
        return keep

    def history(self, name):
        with open(self.path(name)) as f:
            return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]

    def test_validation_labels_read_by_the_training_names(self):
        # Its own sorted names would make "versicolor" class 0 and validate on shifted labels.
        keep = self.validation_without_setosa()
        np.save(self.path("vy.npy"), self.labels[keep].astype(np.int64))
        for y, run_name in (("vy.csv", "csv"), ("vy.npy", "npy")):
            self.ok("nobias-train", "--x", self.data, "--target", "species", "--val-x",
                    self.path("vx.csv"), "--val-y", self.path(y), "--history",
                    self.path(run_name + ".csv"), "--weights-out", self.path(run_name),
                    "--dtype", "f64", *QUICK)
        got = self.history("csv.csv")
        self.assertEqual(got, self.history("npy.csv"))
        # The kept epoch's accuracy is the saved model's on the correctly numbered labels.
        self.ok("nobias-predict", "--weights", self.path("csv"), "--x", self.path("vx.csv"),
                "--out", self.path("p.npy"))
        want = np.mean(np.argmax(np.load(self.path("p.npy")), axis=1) == self.labels[keep])
        kept = min(got, key=lambda row: float(row["val_loss"]))
        self.assertAlmostEqual(float(kept["val_accuracy"]), want, places=12)

    def test_unknown_validation_label_refused(self):
        self.validation_without_setosa()
        with open(self.path("vy.csv")) as f:
            lines = f.read().splitlines()
        lines[2] = "iris"
        with open(self.path("vy.csv"), "w") as f:
            f.write("\n".join(lines) + "\n")
        err = self.refused("nobias-train", "--x", self.data, "--target", "species", "--val-x",
                           self.path("vx.csv"), "--val-y", self.path("vy.csv"), *QUICK)
        self.assertIn("--val-y " + self.path("vy.csv"), err)
        self.assertIn("line 3: 'iris' is not a class the model knows", err)
        self.assertIn("'setosa', 'versicolor', 'virginica'", err)

    def test_label_with_control_character_refused_before_training(self):
        write_table(self.data, ["a", "species", "b", "c"],
                    [[repr(r[0]), "set\tosa" if k == 0 else self.names[k], repr(r[1]),
                      repr(r[2])] for r, k in zip(self.x, self.labels)])
        model = self.path("model")
        r = run("nobias-train", "--x", self.data, "--target", "species", "--weights-out", model,
                *QUICK)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("column 2 ('species')", r.stderr)
        self.assertIn("'set\\x09osa'", r.stderr)
        self.assertNotIn("epoch", r.stdout)  # refused before training, not when saving
        self.assertFalse(os.path.exists(model))

    def test_bare_weights_evaluate_csv_labels_as_npy_labels(self):
        # No model.json: the labels' values say they are classes, as an integer dtype does.
        rng = np.random.default_rng(5)
        np.save(self.path("w1.npy"), rng.standard_normal((3, 4)).astype(np.float32))
        np.save(self.path("w2.npy"), rng.standard_normal((4, 3)).astype(np.float32))
        write_table(self.path("x.csv"), ["a", "b", "c"], [[repr(v) for v in r] for r in self.x])
        write_table(self.path("y.csv"), ["k"], [[k] for k in self.labels])
        np.save(self.path("x.npy"), self.x.astype(np.float32))
        np.save(self.path("y.npy"), self.labels.astype(np.int64))
        got = self.ok("nobias-evaluate", "--weights", self.d, "--x", self.path("x.csv"), "--y",
                      self.path("y.csv"), "--json").stdout
        want = self.ok("nobias-evaluate", "--weights", self.d, "--x", self.path("x.npy"), "--y",
                       self.path("y.npy"), "--json").stdout
        self.assertIn("accuracy", got)
        self.assertEqual(json.loads(got), json.loads(want))

    def test_numeric_target_last_column(self):
        y = self.x @ np.array([1.5, -2.0, 0.25])
        write_table(self.path("r.csv"), ["a", "b", "c", "y"],
                    [[repr(v) for v in r] + [repr(t)] for r, t in zip(self.x, y)])
        model = self.path("reg")
        self.ok("nobias-train", "--x", self.path("r.csv"), "--target", "-1", "--weights-out",
                model, *QUICK)
        with open(os.path.join(model, "model.json")) as f:
            self.assertIn('"classes": 0', f.read())
        self.assertEqual(np.load(os.path.join(model, "w1.npy")).shape[0], 3)

    def test_integer_target_is_classes(self):
        write_table(self.path("i.csv"), ["a", "b", "c", "k"],
                    [[repr(v) for v in r] + [k] for r, k in zip(self.x, self.labels)])
        model = self.path("cls")
        self.ok("nobias-train", "--x", self.path("i.csv"), "--target", "k", "--weights-out",
                model, *QUICK)
        with open(os.path.join(model, "model.json")) as f:
            self.assertIn('"classes": 3', f.read())
        self.ok("nobias-train", "--x", self.path("i.csv"), "--target", "k", "--task", "regress",
                "--weights-out", model, *QUICK)
        with open(os.path.join(model, "model.json")) as f:
            self.assertIn('"classes": 0', f.read())

    def test_missing_value_names_line_and_column(self):
        with open(self.data) as f:
            lines = f.read().splitlines()
        lines[4] = lines[4].split(",", 1)[0] + ",setosa,NA," + lines[4].rsplit(",", 1)[1]
        with open(self.data, "w") as f:
            f.write("\n".join(lines) + "\n")
        err = self.refused("nobias-train", "--x", self.data, "--target", "species", *QUICK)
        self.assertIn("--x", err)
        self.assertIn("line 5", err)
        self.assertIn("column 3 ('b')", err)

    def test_predict_never_reads_the_target_column(self):
        # The labels of new rows are unknown: blank, NA, ? or 1e999 in the --target column
        # stopped nobias-predict ("missing value"), though it drops the column unread.
        model = self.path("model")
        self.ok("nobias-train", "--x", self.data, "--target", "species", "--weights-out", model,
                *QUICK)
        unknown = ["", "NA", "?", "1e999", "nan", "setosa", "  ", "-inf"]
        rows = [[repr(r[0]), unknown[i % len(unknown)], repr(r[1]), repr(r[2])]
                for i, r in enumerate(self.x)]
        write_table(self.path("new.csv"), ["a", "species", "b", "c"], rows)
        # The column last, as the tester's file had it: lines that end with the delimiter.
        write_table(self.path("last.csv"), ["a", "b", "c", "species"],
                    [[r[0], r[2], r[3], r[1]] for r in rows])
        np.save(self.path("x.npy"), self.x.astype(np.float32))
        self.ok("nobias-predict", "--weights", model, "--x", self.path("x.npy"), "--out",
                self.path("want.npy"))
        want = np.load(self.path("want.npy"))
        for name in ("new.csv", "last.csv"):
            for target in ("species", "-1" if name == "last.csv" else "2"):
                with self.subTest(file=name, target=target):
                    self.ok("nobias-predict", "--weights", model, "--x", self.path(name),
                            "--target", target, "--out", self.path("p.npy"))
                    np.testing.assert_array_equal(np.load(self.path("p.npy")), want)
        self.ok("nobias-predict", "--weights", model, "--x", self.path("last.csv"), "--target",
                "species", "--labels", "--out", self.path("l.csv"))
        # The inputs are checked as ever.
        bad = [list(r) for r in rows]
        bad[5][2] = "NA"
        write_table(self.path("bad.csv"), ["a", "species", "b", "c"], bad)
        err = self.refused("nobias-predict", "--weights", model, "--x", self.path("bad.csv"),
                           "--target", "species", "--out", self.path("p.npy"))
        self.assertIn("line 7, column 3 ('b'): missing value 'NA'", err)
        # nobias-evaluate reads the column: its targets are checked.
        err = self.refused("nobias-evaluate", "--weights", model, "--x", self.path("new.csv"),
                           "--target", "species")
        self.assertIn("line 2, column 2 ('species'): missing value", err)
        self.assertFalse(os.path.exists(self.path("p.csv")))

    def test_predict_target_that_can_name_no_column_is_refused(self):
        model = self.path("model")
        self.ok("nobias-train", "--x", self.data, "--target", "species", "--weights-out", model,
                *QUICK)
        out = self.path("p.npy")
        for target, said in (("0", "no column 0: there are 4 columns"),
                             ("-7", "no column -7: there are 4 columns"),
                             ("5", "no column 5: there are 4 columns")):
            with self.subTest(target=target):
                for tool, args in (("nobias-predict", ["--out", out]), ("nobias-evaluate", [])):
                    err = self.refused(tool, "--weights", model, "--x", self.data, "--target",
                                       target, *args)
                    self.assertIn("--target %s: " % target, err)
                    self.assertIn(said, err)
        with open(self.data) as f:
            lines = f.read().splitlines()
        lines[0] = "a,species,b,species"
        with open(self.path("twice.csv"), "w") as f:
            f.write("\n".join(lines) + "\n")
        for tool, args in (("nobias-predict", ["--out", out]), ("nobias-evaluate", [])):
            err = self.refused(tool, "--weights", model, "--x", self.path("twice.csv"),
                               "--target", "species", *args)
            self.assertIn("the name 'species' is in columns 2, 4", err)
        self.assertFalse(os.path.exists(out))
        # A name no column has is no column: a file of inputs alone predicts.
        write_table(self.path("inputs.csv"), ["a", "b", "c"], [[repr(v) for v in r] for r in self.x])
        self.ok("nobias-predict", "--weights", model, "--x", self.path("inputs.csv"), "--target",
                "species", "--out", out)
        # But when every column is then an input, too many for the model or text, it says why.
        write_table(self.path("case.csv"), ["a", "Species", "b", "c"],
                    [[repr(r[0]), k, repr(r[1]), repr(r[2])] for r, k in zip(self.x, self.labels)])
        write_table(self.path("text.csv"), ["a", "Species", "b", "c"],
                    [[repr(r[0]), self.names[k], repr(r[1]), repr(r[2])]
                     for r, k in zip(self.x, self.labels)])
        hint = ("--target species matched no column of it, so every column is an input (did you "
                "mean 'Species'?)")
        err = self.refused("nobias-predict", "--weights", model, "--x", self.path("case.csv"),
                           "--target", "species", "--out", self.path("q.npy"))
        self.assertIn("is 40x4, but the model in %s takes 3 columns" % model, err)
        self.assertIn(hint, err)
        err = self.refused("nobias-predict", "--weights", model, "--x", self.path("text.csv"),
                           "--target", "species", "--out", self.path("q.npy"))
        self.assertIn("column 2 ('Species') holds text, not numbers", err)
        self.assertIn(hint, err)

    def test_tsv_outputs_are_tab_separated(self):
        # A name ending in .tsv says tab-separated, as nobias reads a .tsv: predictions,
        # labels, --history and --loss-csv get tabs (any case), .csv keeps commas.
        model = self.path("model")
        self.ok("nobias-train", "--x", self.data, "--target", "species", "--weights-out", model,
                "--history", self.path("h.tsv"), "--loss-csv", self.path("l.TSV"), *QUICK)
        self.ok("nobias-predict", "--weights", model, "--x", self.data, "--target", "species",
                "--out", self.path("p.npy"))
        for out, labels in (("p.tsv", []), ("n.tsv", ["--labels"])):
            self.ok("nobias-predict", "--weights", model, "--x", self.data, "--target",
                    "species", "--out", self.path(out), *labels)
        with open(self.path("p.tsv")) as f:
            text = f.read()
        self.assertNotIn(",", text)
        rows = [line.split("\t") for line in text.splitlines()]
        self.assertEqual(rows[0], ["output 1", "output 2", "output 3"])
        np.testing.assert_array_equal(np.array(rows[1:], dtype=np.float32),
                                      np.load(self.path("p.npy")))
        with open(self.path("n.tsv")) as f:
            names = f.read().splitlines()
        self.assertEqual(names[0], "label")
        np.testing.assert_array_equal(
            names[1:], self.names[np.argmax(np.load(self.path("p.npy")), axis=1)])
        for name, first in (("h.tsv", "epoch\ttrain_loss\tseconds\n1\t"),
                            ("l.TSV", "step\tloss\n1\t")):
            with open(self.path(name)) as f:
                text = f.read()
            self.assertTrue(text.startswith(first), text[:80])
            self.assertNotIn(",", text)
        # What nobias writes as .tsv, it reads back: the predictions as --x.
        self.ok("nobias-predict", "--weights", model, "--x", self.data, "--target", "species",
                "--out", self.path("p.csv"))
        with open(self.path("p.csv")) as f:
            self.assertEqual(f.readline(), "output 1,output 2,output 3\n")

    def test_first_row_with_a_typo_is_data_not_a_header(self):
        # A headerless file whose first row has one word where numbers belong: that row is
        # data with a typo, refused by its line, never dropped as if it were a header.
        rows = [[repr(v) for v in r] + [str(k)] for r, k in zip(self.x, self.labels)]
        rows[0][1] = "2x"
        write_table(self.path("typo.csv"), None, rows)
        err = self.refused("nobias-train", "--x", self.path("typo.csv"), "--target", "-1",
                           *QUICK)
        self.assertIn("column 2 holds text, not numbers (line 1: '2x'); 39 of its 40 values are "
                      "numbers; line 1 is read as data, not as a header", err)
        rows[0][1] = "NA"
        write_table(self.path("na.csv"), None, rows)
        err = self.refused("nobias-train", "--x", self.path("na.csv"), "--target", "-1", *QUICK)
        self.assertIn("line 1, column 2: missing value 'NA'", err)
        # A header row of names is still detected.
        rows[0][1] = repr(self.x[0][1])
        write_table(self.path("named.csv"), ["a", "b", "c", "y"], rows)
        self.ok("nobias-train", "--x", self.path("named.csv"), "--target", "y", *QUICK)

    def test_csv_header_yes_declares_integer_column_names(self):
        # pandas writes integer column names as a header of numbers: "0,1,2,label". The
        # automatic rule reads it as data, and the refusal names the flag that declares it.
        data = self.path("pandas.csv")
        write_table(data, ["0", "1", "2", "label"],
                    [[repr(v) for v in r] + [str(k)] for r, k in zip(self.x, self.labels)])
        for target in ("label", "-1"):
            err = self.refused("nobias-train", "--x", data, "--target", target, *QUICK)
            self.assertIn("--csv-header yes", err)
        err = self.refused("nobias-train", "--x", data, "--target", "label", *QUICK)
        self.assertIn("no column 'label'", err)
        err = self.refused("nobias-train", "--x", data, "--target", "-1", *QUICK)
        self.assertIn("line 1 alone ('label')", err)
        # Declared, every CSV input of the run has a header: --val-x and --val-y too.
        write_table(self.path("vx.csv"), ["0", "1", "2"], [[repr(v) for v in r] for r in self.x])
        write_table(self.path("vy.csv"), ["0"], [[str(k)] for k in self.labels])
        model = self.path("model")
        self.ok("nobias-train", "--x", data, "--target", "label", "--csv-header", "yes",
                "--val-x", self.path("vx.csv"), "--val-y", self.path("vy.csv"),
                "--weights-out", model, *QUICK)
        with open(os.path.join(model, "model.json")) as f:
            self.assertIn('"classes": 3', f.read())
        r = self.ok("nobias-evaluate", "--weights", model, "--x", data, "--target", "label",
                    "--csv-header", "yes", "--json")
        self.assertEqual(json.loads(r.stdout)["rows"], 40)
        err = self.refused("nobias-evaluate", "--weights", model, "--x", data, "--target",
                           "label")
        self.assertIn("--csv-header yes", err)
        self.ok("nobias-predict", "--weights", model, "--x", data, "--target", "label",
                "--csv-header", "yes", "--out", self.path("p.npy"))
        self.assertEqual(np.load(self.path("p.npy")).shape, (40, 3))
        # A header of numbers over numbers alone cannot be told from data: without the flag
        # it is predicted as a row, which only --csv-header yes avoids.
        for flags, rows in (([], 41), (["--csv-header", "yes"], 40)):
            self.ok("nobias-predict", "--weights", model, "--x", self.path("vx.csv"),
                    "--out", self.path("p2.npy"), *flags)
            self.assertEqual(np.load(self.path("p2.npy")).shape, (rows, 3))

    def test_csv_header_no_reads_the_first_row_as_data(self):
        # wine.csv's header is names: with --csv-header no they are a row of data, refused as
        # text in a number column, or as no column to name, saying the flag decided it.
        err = self.refused("nobias-train", "--x", self.data, "--target", "2", "--csv-header",
                           "no", *QUICK)
        self.assertIn("column 1 holds text, not numbers (line 1: 'a')", err)
        self.assertIn("--csv-header no reads line 1 as data", err)
        err = self.refused("nobias-train", "--x", self.data, "--target", "species",
                           "--csv-header", "no", *QUICK)
        self.assertIn("no column 'species'", err)
        self.assertIn("--csv-header no reads line 1 as data", err)
        # A file whose first row is data, declared so: every row is trained on and evaluated.
        rows = [[repr(v) for v in r] + [self.names[k]] for r, k in zip(self.x, self.labels)]
        write_table(self.path("bare.csv"), None, rows)
        model = self.path("model")
        self.ok("nobias-train", "--x", self.path("bare.csv"), "--target", "-1", "--csv-header",
                "no", "--weights-out", model, *QUICK)
        r = self.ok("nobias-evaluate", "--weights", model, "--x", self.path("bare.csv"),
                    "--target", "-1", "--csv-header", "no", "--json")
        self.assertEqual(json.loads(r.stdout)["rows"], 40)

    def test_csv_header_bad_value_refused(self):
        np.save(self.path("x.npy"), self.x)
        for tool, args in (("nobias-train", ["--x", self.data, "--target", "species"] + QUICK),
                           ("nobias-predict", ["--weights", self.d, "--x", self.data, "--out",
                                               self.path("p.npy")]),
                           ("nobias-evaluate", ["--weights", self.d, "--x", self.data,
                                                "--target", "species"])):
            err = self.refused(tool, *args, "--csv-header", "maybe")
            self.assertIn("--csv-header must be auto, yes or no, got 'maybe'", err)

    def test_bad_target_names_the_columns(self):
        err = self.refused("nobias-train", "--x", self.data, "--target", "specis", *QUICK)
        self.assertIn("--target specis", err)
        self.assertIn("'a', 'species', 'b', 'c'", err)

    def test_text_input_column_refused(self):
        err = self.refused("nobias-train", "--x", self.data, "--target", "a", *QUICK)
        self.assertIn("column 2 ('species')", err)
        self.assertIn("setosa", err)

    def test_target_needs_a_csv_x(self):
        np.save(self.path("x.npy"), self.x)
        err = self.refused("nobias-train", "--x", self.path("x.npy"), "--target", "1", *QUICK)
        self.assertIn("needs a CSV --x", err)
        err = self.refused("nobias-train", "--x", self.data, *QUICK)
        self.assertIn("--target COL", err)
        err = self.refused("nobias-train", "--target", "1", *QUICK)
        self.assertIn("--target", err)
        err = self.refused("nobias-evaluate", "--weights", self.d, "--x", self.path("x.npy"),
                           "--target", "1")
        self.assertIn("needs a CSV --x", err)

    def big_table(self):
        """A CSV of about 7 MB (several of the readers' 4 MiB blocks), integer labels first, and
        bare weights (a classifier of 3 outputs) that evaluate it: (path, weights, stdout)."""
        rng = np.random.default_rng(8)
        rows, cols = 12000, 150
        table = np.column_stack([rng.integers(0, 3, rows), rng.integers(0, 256, (rows, cols))])
        path = self.path("big.csv")
        np.savetxt(path, table, fmt="%d", delimiter=",", comments="",
                   header=",".join(["label"] + ["p%d" % j for j in range(cols)]))
        weights = self.path("bare")
        os.mkdir(weights)
        np.save(os.path.join(weights, "w1.npy"),
                (rng.standard_normal((cols, 4)) / 256).astype(np.float32))
        np.save(os.path.join(weights, "w2.npy"), rng.standard_normal((4, 3)).astype(np.float32))
        return path, weights

    @unittest.skipUnless(os.path.exists("/proc/self/io"), "needs /proc/<pid>/io")
    def test_evaluate_reads_a_target_csv_three_times(self):
        # One first pass (the shape, the header, each column's kind), then the targets' column,
        # then the inputs: three reads of the file. Each pass had its own reader before: four.
        path, weights = self.big_table()
        size = os.path.getsize(path)
        argv = [os.path.join(BIN, "nobias-evaluate"), "--weights", weights, "--x", path,
                "--target", "label", "--threads", "1"]
        r = subprocess.run([sys.executable, "-c", READ_BYTES] + argv, capture_output=True,
                           text=True, timeout=TIMEOUT_S)
        self.assertEqual(r.returncode, 0, r.stderr)
        read = int(r.stderr.split()[-1])
        # A record across a block's end is read again with the next block; the model and the
        # libraries' headers are a few kB.
        self.assertGreater(read, 2.5 * size)
        self.assertLess(read, 3.2 * size,
                        "read %.2f times the file's %d bytes" % (read / size, size))

    def test_evaluate_reads_a_target_csv_from_a_fifo(self):
        # A FIFO is read once, whole (CsvRowReader holds a pipe's bytes): a second reader of it
        # waited for a writer that never came.
        path, weights = self.big_table()
        want = self.ok("nobias-evaluate", "--weights", weights, "--x", path, "--target", "label",
                       "--json").stdout
        with open(path, "rb") as f:
            data = f.read()
        fifo = self.path("fifo.csv")
        os.mkfifo(fifo)

        def write():
            with open(fifo, "wb") as f:  # waits for the reader
                f.write(data)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        got = self.ok("nobias-evaluate", "--weights", weights, "--x", fifo, "--target", "label",
                      "--json").stdout
        writer.join(TIMEOUT_S)
        self.assertEqual(got, want)


if __name__ == "__main__":
    BIN, ARGV = bin_dir_and_argv(sys.argv)
    sys.exit(run_tests(ARGV))
