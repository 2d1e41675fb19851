"""Tests of cli_model_test.py (its ModelToolsTest inherits them; run that file): nobias-predict
and nobias-evaluate read --x and write --out a window of rows at a time (issue 22), so their
memory does not grow with the file: a peak far below the input's size, whatever the format.
nobias-train validates on rows of its mapped --x without copying them.
Each peak is counted above a like run's (the same tool on a small file of the same width; the
same training with no rows held out), so that what a run holds whatever its rows or its split
(the libraries, the mapped file's pages, a sanitizer's shadow memory) is not counted.
"""

import json
import os
import subprocess
import sys

import numpy as np


# Runs argv[1:] as a child of a fresh interpreter and prints the child's peak resident memory
# (kB) as the last line of stderr. A child forked by this test's own process would count the
# test's memory (numpy's arrays) from before its exec; a fresh interpreter holds a few MB.
PEAK = """import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write("\\n%d\\n" % usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


class StreamingTests:
    def peak_rss_mb(self, tool, *args):
        """Runs tool (exit status 0 required) and returns its peak resident memory (MB)."""
        # Under AddressSanitizer freed blocks wait in a quarantine (256 MB by default) before
        # reuse: a run that frees its batches fills it, the small run does not, and the
        # difference is the sanitizer's, not the tool's. Other builds ignore the variable.
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                     "quarantine_size_mb=0"]))
        r = subprocess.run([sys.executable, "-c", PEAK, self.tool_path(tool)] +
                           [str(a) for a in args], cwd=self.dir, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, universal_newlines=True, timeout=300, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        return int(r.stderr.split()[-1]) / 1024

    def test_a_large_x_is_read_and_written_a_window_at_a_time(self):
        # 200 MB of inputs into a narrow network: the whole file mapped would be its size in
        # memory; a window of rows is about 64 MB of it.
        for dtype, cols in ((np.float32, 1024), (np.float64, 512)):
            with self.subTest(dtype=dtype.__name__):
                rows = 50000
                rng = np.random.default_rng(9)
                os.mkdir(self.path(dtype.__name__))
                weights = [rng.standard_normal((cols, 4)).astype(dtype),
                           rng.standard_normal((4, 2)).astype(dtype)]
                for k, w in enumerate(weights):
                    np.save(self.path(dtype.__name__, "w%d.npy" % (k + 1)), w)
                x = rng.standard_normal((rows, cols)).astype(dtype)
                np.save(self.path("big.npy"), x)
                np.save(self.path("y.npy"), np.zeros((rows, 2), dtype=dtype))
                np.save(self.path("small.npy"), x[:1000])
                np.save(self.path("small_y.npy"), np.zeros((1000, 2), dtype=dtype))
                input_mb = os.path.getsize(self.path("big.npy")) / 2**20
                # A window of rows is about 64 MB. Before windows, the whole input was held: about
                # 190 of these 195 MB over the small file's peak.
                bound = 0.6 * input_mb
                common = ["--weights", dtype.__name__, "--x", "big.npy", "--threads", "1"]
                small = ["--weights", dtype.__name__, "--x", "small.npy", "--threads", "1"]
                for out in ("p.npy", "p.csv"):
                    base = self.peak_rss_mb("nobias-predict", *small, "--out", "small_" + out)
                    peak = self.peak_rss_mb("nobias-predict", *common, "--out", out)
                    self.assertLess(peak - base, bound,
                                    "%s: peak %.0f MB, %.0f MB on 1000 rows" % (out, peak, base))
                # Every row written, in order: the first and last rows as numpy computes them.
                p = np.load(self.path("p.npy"))
                self.assertEqual(p.shape, (rows, 2))
                q = np.loadtxt(self.path("p.csv"), delimiter=",", skiprows=1)
                np.testing.assert_array_equal(q.astype(dtype), p)
                for i in (0, rows // 2, rows - 1):
                    a = np.maximum(x[i] @ weights[0], 0) @ weights[1]
                    np.testing.assert_allclose(p[i], a, rtol=1e-4 if dtype == np.float32 else 1e-12,
                                               atol=1e-3 if dtype == np.float32 else 1e-9)
                del x
                base = self.peak_rss_mb("nobias-evaluate", *small, "--y", "small_y.npy")
                peak = self.peak_rss_mb("nobias-evaluate", *common, "--y", "y.npy")
                self.assertLess(peak - base, bound,
                                "evaluate: peak %.0f MB, %.0f MB on 1000 rows" % (peak, base))
                # A NaN past the first windows: named by its row in the file, and --out kept.
                big = np.load(self.path("big.npy"), mmap_mode="r+")
                big[rows - 7, 5] = np.nan
                big.flush()
                del big
                with open(self.path("p.npy"), "rb") as f:
                    before = f.read()
                needle = "--x: big.npy: element (%d, 5) is nan" % (rows - 7)
                self.refused("nobias-predict", common + ["--out", "p.npy"], needle)
                self.refused("nobias-evaluate", common + ["--y", "y.npy"], needle)
                with open(self.path("p.npy"), "rb") as f:
                    self.assertEqual(f.read(), before)

    def test_an_x_to_convert_is_read_a_window_at_a_time(self):
        # A .npy that cannot be mapped as the model's dtype (float32 rows for a float64 model,
        # float64 rows, numpy's default, for a float32 one; Fortran order) is read and converted
        # as it is predicted (nobias::NpyRowReader), not copied whole first. Before, the copy was
        # held: the rows in the model's dtype over the small file's peak (381 MB for a float64
        # model, 191 for a float32 one). Now two windows of them and predict_rows' blocks: 94-103
        # MB.
        rows, cols = 250000, 200
        rng = np.random.default_rng(10)
        x = rng.standard_normal((rows, cols))
        os.mkdir(self.path("f64"))
        weights = [rng.standard_normal((cols, 4)), rng.standard_normal((4, 2))]
        for k, w in enumerate(weights):
            np.save(self.path("f64", "w%d.npy" % (k + 1)), w)
        os.mkdir(self.path("f32"))
        for k, w in enumerate(weights):
            np.save(self.path("f32", "w%d.npy" % (k + 1)), w.astype(np.float32))
        for dtype, model in ((np.float32, "f64"), (np.float64, "f32")):
            with self.subTest(x=dtype.__name__, model=model):
                np.save(self.path("big.npy"), x.astype(dtype))
                np.save(self.path("small.npy"), x[:1000].astype(dtype))
                np.save(self.path("y.npy"), np.zeros((rows, 2), dtype=dtype))
                np.save(self.path("small_y.npy"), np.zeros((1000, 2), dtype=dtype))
                model_dtype = np.float64 if model == "f64" else np.float32
                copy_mb = rows * cols * np.dtype(model_dtype).itemsize / 2**20
                common = ["--weights", model, "--threads", "1"]
                for tool, small, big in (("nobias-predict", ["--out", "small_p.npy"],
                                          ["--out", "p.npy"]),
                                         ("nobias-evaluate", ["--y", "small_y.npy"],
                                          ["--y", "y.npy"])):
                    base = self.peak_rss_mb(tool, *common, "--x", "small.npy", *small)
                    peak = self.peak_rss_mb(tool, *common, "--x", "big.npy", *big)
                    self.assertLess(peak - base, 0.7 * copy_mb,
                                    "%s: peak %.0f MB, %.0f MB on 1000 rows" % (tool, peak, base))
                # The same predictions as the rows converted by numpy first, which map in place.
                np.save(self.path("same.npy"), x.astype(dtype).astype(model_dtype))
                self.ok("nobias-predict", *common, "--x", "same.npy", "--out", "q.npy")
                np.testing.assert_array_equal(np.load(self.path("p.npy")),
                                              np.load(self.path("q.npy")))
        # Fortran order, converted or not: the same predictions again.
        np.save(self.path("fortran.npy"), np.asfortranarray(x[:5000].astype(np.float32)))
        np.save(self.path("c.npy"), x[:5000].astype(np.float32))
        for model in ("f32", "f64"):
            with self.subTest(fortran=model):
                self.ok("nobias-predict", "--weights", model, "--x", "fortran.npy", "--out",
                        "pf.npy")
                self.ok("nobias-predict", "--weights", model, "--x", "c.npy", "--out", "pc.npy")
                np.testing.assert_array_equal(np.load(self.path("pf.npy")),
                                              np.load(self.path("pc.npy")))

    def test_evaluate_scores_outputs_a_window_at_a_time(self):
        # A regression as wide out as in (an autoencoder's shape): its outputs (n x d_out) are
        # as large as --y. nobias-evaluate scores each window of outputs as it comes and holds
        # --y, a window or two of --x and of outputs (each window about 32 MB of --x), never
        # all outputs: before, it held them all, --y's size more (117 MB here).
        for dtype, cols in ((np.float32, 1024), (np.float64, 512)):
            with self.subTest(dtype=dtype.__name__):
                rows = 30000
                rng = np.random.default_rng(11)
                name = "wide_" + dtype.__name__
                os.mkdir(self.path(name))
                weights = [rng.standard_normal((cols, 8)).astype(dtype) / np.sqrt(cols),
                           rng.standard_normal((8, cols)).astype(dtype)]
                for k, w in enumerate(weights):
                    np.save(self.path(name, "w%d.npy" % (k + 1)), w)
                x = rng.standard_normal((rows, cols)).astype(dtype)
                np.save(self.path("x.npy"), x)
                np.save(self.path("small_x.npy"), x[:1000])
                y = x + 0.5
                np.save(self.path("y.npy"), y)
                np.save(self.path("small_y.npy"), y[:1000])
                outputs_mb = rows * cols * np.dtype(dtype).itemsize / 2**20
                args = ["--weights", name, "--threads", "1", "--json"]
                base = self.peak_rss_mb("nobias-evaluate", *args, "--x", "small_x.npy",
                                        "--y", "small_y.npy")
                peak = self.peak_rss_mb("nobias-evaluate", *args, "--x", "x.npy", "--y", "y.npy")
                # --y (outputs_mb) and windows, two of --x and two of outputs: about 100 MB
                # (main's tool before the change: 330 MB, the outputs besides). The bound is
                # halfway, so that a sanitizer's shadow memory (an eighth of the heap) fits.
                self.assertLess(peak - base, 1.5 * outputs_mb + 100,
                                "peak %.0f MB, %.0f MB on 1000 rows; outputs %.0f MB"
                                % (peak, base, outputs_mb))
                # The scores are those of all outputs at once (numpy's, in double).
                r = self.ok("nobias-evaluate", *args, "--x", "x.npy", "--y", "y.npy")
                p = np.maximum(x @ weights[0], 0) @ weights[1]
                err = p.astype(np.float64) - y
                got = json.loads(r.stdout)
                self.assertEqual(got["rows"], rows)
                np.testing.assert_allclose(got["mse"], np.mean(err ** 2), rtol=1e-4)
                np.testing.assert_allclose(got["mae"], np.mean(np.abs(err)), rtol=1e-4)
                del x, y, p, err

    def test_validation_rows_are_read_where_they_lie(self):
        # nobias-train holds a standardized --validation-fraction out of the mapped --x without
        # copying it: the run's peak is that of the same run with no rows held out, plus a few
        # blocks of rows and the held-out targets (about 25 MB; the same file's pages are read
        # either way). Before, the 20,000 held-out rows were copied, standardized: 78 MB more.
        for dtype, cols in ((np.float32, 1024), (np.float64, 512)):
            with self.subTest(dtype=dtype.__name__):
                rows = 50000
                rng = np.random.default_rng(10)
                x = rng.standard_normal((rows, cols)).astype(dtype)
                np.save(self.path("train_x.npy"), x)
                np.save(self.path("train_y.npy"), x[:, :2] * 2.0 + 1.0)
                del x
                common = ["--x", "train_x.npy", "--y", "train_y.npy", "--layers",
                          "%d,4,2" % cols, "--epochs", "1", "--batch-size", "5000",
                          "--standardize", "--threads", "1", "--quiet",
                          "--dtype", "f32" if dtype == np.float32 else "f64"]
                whole = self.peak_rss_mb("nobias-train", *common, "--validation-fraction", "0")
                held = self.peak_rss_mb("nobias-train", *common, "--validation-fraction", "0.4")
                self.assertLess(held - whole, 50, "peak %.0f MB holding 40%% out, %.0f MB not"
                                % (held, whole))

    def test_wide_outputs_are_scored_a_block_at_a_time(self):
        # nobias-train's final loss predicts a block of rows at a time: with 1000 outputs, the
        # predictions and the gathered targets of every row (two arrays the size of --y) were
        # held at once. Measured over the 2,000-row run and the growth of --y: before, 77 MB
        # (float32) and 279 MB (float64); after, -19 and 28 (a block or two of each).
        for dtype, bound in ((np.float32, 40), (np.float64, 100)):
            with self.subTest(dtype=dtype.__name__):
                rng = np.random.default_rng(11)
                sizes = {}
                for rows in (2000, 20000):
                    x = rng.standard_normal((rows, 16)).astype(dtype)
                    np.save(self.path("x%d.npy" % rows), x)
                    np.save(self.path("y%d.npy" % rows),
                            np.repeat(x[:, :1], 1000, axis=1) + rng.standard_normal((rows, 1000)))
                    sizes[rows] = os.path.getsize(self.path("y%d.npy" % rows)) / 2**20
                common = ["--layers", "16,8,1000", "--epochs", "1", "--batch-size", "1000",
                          "--threads", "1", "--quiet", "--standardize",
                          "--dtype", "f32" if dtype == np.float32 else "f64"]
                small = self.peak_rss_mb("nobias-train", "--x", "x2000.npy", "--y", "y2000.npy",
                                         *common)
                large = self.peak_rss_mb("nobias-train", "--x", "x20000.npy", "--y", "y20000.npy",
                                         *common)
                extra = large - small - (sizes[20000] - sizes[2000])  # over the mapped --y's growth
                self.assertLess(extra, bound, "peak %.0f MB on 20,000 rows, %.0f MB on 2,000"
                                % (large, small))

    def test_csv_inputs_are_held_as_the_dtype_not_as_a_table(self):
        # A CSV --x is read twice (nobias::CsvRowReader): its shape, then its rows straight
        # into the inputs, sizeof(dtype) a value: all of them for nobias-train, windows as the
        # pass reaches them for nobias-predict and nobias-evaluate (nobias::predict_read), so
        # that a CSV larger than memory predicts. Before, a table of doubles (8 bytes a value)
        # and the matrix made of it were held at once: 3x the float32 inputs. Measured over the
        # 1,000-row runs, 250,000 x 201 (inputs 191 MB as float32): train 571 MB, now 212;
        # predict now 99 and evaluate 103 (at 100,000 rows they were 223 and 229, as train).
        rows, cols = 250000, 200
        rng = np.random.default_rng(12)
        x = (rng.random((rows, cols)) < 0.3) * rng.integers(0, 256, (rows, cols))
        label = rng.integers(0, 3, rows)
        names = ",".join(["label"] + ["p%d" % j for j in range(cols)])
        for name, n in (("big.csv", rows), ("small.csv", 1000)):
            np.savetxt(self.path(name), np.column_stack([label[:n], x[:n]]), fmt="%d",
                       delimiter=",", header=names, comments="")
        inputs_mb = rows * cols * 4 / 2**20  # as float32
        train = ["--target", "label", "--layers", "%d,8,3" % cols, "--epochs", "1",
                 "--batch-size", "4000", "--threads", "1", "--quiet", "--weights-out"]
        base = self.peak_rss_mb("nobias-train", "--x", "small.csv", *train, "csv_small")
        peak = self.peak_rss_mb("nobias-train", "--x", "big.csv", *train, "csv_model")
        # The inputs once, windows of rows, the targets: under 2x the inputs, which the table of
        # doubles alone was.
        self.assertLess(peak - base, 2 * inputs_mb,
                        "train: peak %.0f MB, %.0f MB on 1000 rows" % (peak, base))
        for tool, extra in (("nobias-predict", ["--out", "p.npy"]), ("nobias-evaluate", [])):
            common = ["--weights", "csv_model", "--target", "label", "--threads", "1"] + extra
            base = self.peak_rss_mb(tool, "--x", "small.csv", *common)
            peak = self.peak_rss_mb(tool, "--x", "big.csv", *common)
            # Two windows of the inputs and predict_rows' own: less than the inputs, all of
            # which were held before (3x them).
            self.assertLess(peak - base, 0.8 * inputs_mb,
                            "%s: peak %.0f MB, %.0f MB on 1000 rows" % (tool, peak, base))
        # The predictions, over several windows, are those of the same rows given as .npy.
        np.save(self.path("big.npy"), x.astype(np.float32))
        self.ok("nobias-predict", "--weights", "csv_model", "--x", "big.npy", "--out", "q.npy")
        np.testing.assert_array_equal(np.load(self.path("p.npy")), np.load(self.path("q.npy")))
        # So are the scores.
        np.save(self.path("label.npy"), label)
        by_npy = self.ok("nobias-evaluate", "--weights", "csv_model", "--x", "big.npy", "--y",
                         "label.npy", "--json")
        by_csv = self.ok("nobias-evaluate", "--weights", "csv_model", "--x", "big.csv",
                         "--target", "label", "--json")
        self.assertEqual(json.loads(by_csv.stdout), json.loads(by_npy.stdout))
