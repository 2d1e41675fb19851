#!/usr/bin/env python3
"""Black-box tests of the nobias-train command-line program.

    /usr/bin/python3 tests/cli_test.py --nobias-train PATH [unittest args]

Runs the program as a subprocess, each test in a fresh temporary directory, and checks
its exit status, its stdout / stderr and the files it writes (loss CSV, weights .npy).
Standard library + numpy only. Exit status non-zero if any test fails.
"""

import math
import os
import re
import subprocess
import sys
import tempfile
import unittest

import numpy as np

from cli_mode_units import ModeTests

PROGRAM = None  # set from --nobias-train in main()
TIMEOUT_S = 120
# Epoch mode also says how many epochs ran, why it ended and whose weights were kept.
FINAL_RE = re.compile(r"^final loss (\S+) after (\d+) steps?(?: in \d+ (?:of at most \d+ )?epochs? "
                      r"\([^)]*\))?, (\S+) steps/s$")
PROGRESS_RE = re.compile(r"^step (\d+)/(\d+) loss (\S+)$")
ALL_FLAGS = ["--layers", "--rows", "--steps", "--lr", "--seed", "--dtype", "--x", "--y",
             "--weights-in", "--weights-out", "--loss-csv", "--threads", "--log-every",
             "--quiet", "--help", "--epochs", "--batch-size", "--optimizer", "--momentum",
             "--nesterov", "--weight-decay", "--loss", "--val-x", "--val-y", "--no-shuffle",
             "--init", "--checkpoint", "--checkpoint-every", "--resume", "--version"]
# With validation, the metrics follow val_loss as "name value" pairs.
EPOCH_RE = re.compile(r"^epoch (\d+)/(\d+) train_loss (\S+)( val_loss (\S+)(?: \w+ \S+)*)? samples/s (\S+)$")


def read_loss_csv(path):
    """(steps, losses) of a loss CSV; asserts the header."""
    with open(path, encoding="ascii") as f:
        lines = f.read().splitlines()
    if not lines or lines[0] != "step,loss":
        raise AssertionError("%s: header is %r, expected 'step,loss'" % (path, lines[:1]))
    steps, losses = [], []
    for line in lines[1:]:
        step, loss = line.split(",")
        steps.append(int(step))
        losses.append(float(loss))
    return steps, losses


def final_line(stdout):
    """(loss, steps, rate) from the last stdout line; asserts its format."""
    lines = stdout.splitlines()
    if not lines:
        raise AssertionError("no stdout")
    m = FINAL_RE.match(lines[-1])
    if m is None:
        raise AssertionError("last stdout line %r does not match %r"
                             % (lines[-1], FINAL_RE.pattern))
    return float(m.group(1)), int(m.group(2)), float(m.group(3))


def file_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def tree_bytes(root):
    """{relative path: bytes (None for a directory)} of everything under root."""
    tree = {}
    for where, dirs, files in os.walk(root):
        for name in dirs:
            tree[os.path.relpath(os.path.join(where, name), root)] = None
        for name in files:
            path = os.path.join(where, name)
            tree[os.path.relpath(path, root)] = file_bytes(path)
    return tree


class CliTest(ModeTests, unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="nobias-cli-")
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    # ---- helpers ----

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def mkdir(self, name):
        p = self.path(name)
        os.mkdir(p)
        return p

    def run_cli(self, *args):
        return subprocess.run([PROGRAM] + [str(a) for a in args], cwd=self.dir,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=TIMEOUT_S)

    def run_with_env(self, env, *args):
        return subprocess.run([PROGRAM] + [str(a) for a in args], cwd=self.dir,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=TIMEOUT_S,
                              env=dict(os.environ, **env))

    def test_nobias_threads_environment(self):
        bad = self.run_with_env({"NOBIAS_THREADS": "many"}, "--steps", 3, "--quiet")
        self.assertEqual(bad.returncode, 2, bad.stderr)
        self.assertTrue(bad.stderr.startswith(
            'nobias-train: NOBIAS_THREADS: expected "auto", 0 or a thread count, got "many"'),
            bad.stderr)
        # --threads overrides the environment, bad or not.
        fixed = self.run_with_env({"NOBIAS_THREADS": "many"}, "--steps", 3, "--quiet",
                                  "--threads", 1)
        self.assertEqual(fixed.returncode, 0, fixed.stderr)
        one = self.run_with_env({"NOBIAS_THREADS": "1"}, "--steps", 3, "--quiet",
                                "--loss-csv", "a.csv")
        auto = self.run_with_env({"NOBIAS_THREADS": "auto"}, "--steps", 3, "--quiet",
                                 "--loss-csv", "b.csv")
        self.assertEqual((one.returncode, auto.returncode), (0, 0), one.stderr + auto.stderr)
        _, one_losses = read_loss_csv(self.path("a.csv"))
        _, auto_losses = read_loss_csv(self.path("b.csv"))
        for a, b in zip(one_losses, auto_losses):
            self.assertAlmostEqual(a / b, 1.0, delta=1e-5)

    def test_nobias_sgemm_environment(self):
        bad = self.run_with_env({"NOBIAS_SGEMM": "mkl"}, "--steps", 3, "--quiet")
        self.assertEqual(bad.returncode, 2, bad.stderr)
        self.assertTrue(bad.stderr.startswith(
            'nobias-train: NOBIAS_SGEMM: expected "blas" or "onednn", got "mkl"'), bad.stderr)
        version = self.run_with_env({"NOBIAS_SGEMM": "blas"}, "--version")
        self.assertEqual(version.returncode, 0, version.stderr)
        if "float32 products" in version.stdout:  # a build with oneDNN says where they went
            self.assertIn("float32 products on the BLAS (chosen by the environment: "
                          "NOBIAS_SGEMM=blas)", version.stdout)
        # A bad value of the other precision's variable is not ignored either.
        bad = self.run_with_env({"NOBIAS_DGEMM": "mkl"}, "--steps", 3, "--quiet")
        self.assertEqual(bad.returncode, 2, bad.stderr)
        self.assertTrue(bad.stderr.startswith(
            'nobias-train: NOBIAS_DGEMM: expected "blas" or "eigen", got "mkl"'), bad.stderr)
        # The two backends agree to float32 rounding on the seed's experiment.
        losses = []
        for backend in ("blas", "onednn"):
            r = self.run_with_env({"NOBIAS_SGEMM": backend}, "--steps", 3, "--quiet",
                                  "--loss-csv", backend + ".csv")
            if r.returncode != 0 and "built without oneDNN" in r.stderr:
                continue
            self.assertEqual(r.returncode, 0, r.stderr)
            losses.append(read_loss_csv(self.path(backend + ".csv"))[1])
        for a, b in zip(losses[0], losses[-1]):
            self.assertAlmostEqual(a / b, 1.0, delta=1e-5)

    def test_nobias_dgemm_environment(self):
        version = self.run_with_env({"NOBIAS_DGEMM": "blas"}, "--version")
        self.assertEqual(version.returncode, 0, version.stderr)
        if "float64 products" in version.stdout:  # a build with Eigen says where they went
            self.assertIn("float64 products on the BLAS (chosen by the environment: "
                          "NOBIAS_DGEMM=blas)", version.stdout)
        # The two backends agree to float64 rounding on the seed's experiment.
        losses = []
        for backend in ("blas", "eigen"):
            r = self.run_with_env({"NOBIAS_DGEMM": backend}, "--steps", 3, "--quiet",
                                  "--dtype", "f64", "--loss-csv", backend + ".csv")
            if r.returncode == 2 and ("built without Eigen" in r.stderr
                                      or "no usable AVX-512" in r.stderr):
                continue
            self.assertEqual(r.returncode, 0, r.stderr)
            losses.append(read_loss_csv(self.path(backend + ".csv"))[1])
        self.assertTrue(losses)
        for a, b in zip(losses[0], losses[-1]):
            self.assertAlmostEqual(a / b, 1.0, delta=1e-12)

    def ok(self, *args):
        """Runs and asserts exit 0 with an empty stderr; returns the CompletedProcess."""
        r = self.run_cli(*args)
        self.assertEqual(r.returncode, 0, "args %s\nstdout:\n%s\nstderr:\n%s"
                         % (args, r.stdout[-2000:], r.stderr))
        self.assertEqual(r.stderr, "", "stderr of a successful run: %r" % r.stderr)
        return r

    def save(self, name, array):
        p = self.path(name)
        np.save(p, array)
        return p

    def data(self, rows=31, d_in=13, d_out=3, dtype=np.float64, seed=7):
        rng = np.random.default_rng(seed)
        x = self.save("x.npy", rng.standard_normal((rows, d_in)).astype(dtype))
        y = self.save("y.npy", rng.standard_normal((rows, d_out)).astype(dtype))
        return x, y

    def weight_files(self, d):
        return sorted(f for f in os.listdir(d) if re.fullmatch(r"w\d+\.npy", f))

    def load_weights(self, d):
        files = self.weight_files(d)
        self.assertEqual(files, ["w%d.npy" % k for k in range(1, len(files) + 1)])
        return [np.load(os.path.join(d, f)) for f in files]

    def snapshot(self):
        """Every file under the test directory, with its bytes."""
        out = {}
        for root, _dirs, files in os.walk(self.dir):
            for f in files:
                p = os.path.join(root, f)
                out[os.path.relpath(p, self.dir)] = file_bytes(p)
        return out

    # ---- 1. default convergence ----

    def test_default_convergence(self):
        for dtype in ("f32", "f64"):
            for seed in range(5):
                with self.subTest(dtype=dtype, seed=seed):
                    csv = self.path("loss-%s-%d.csv" % (dtype, seed))
                    r = self.ok("--seed", seed, "--dtype", dtype, "--loss-csv", csv, "--quiet")
                    final, n, _ = final_line(r.stdout)
                    steps, losses = read_loss_csv(csv)
                    self.assertEqual(n, 500)
                    self.assertEqual(steps, list(range(1, 501)))
                    self.assertTrue(all(math.isfinite(v) for v in losses))
                    self.assertTrue(math.isfinite(final) and final > 0, final)
                    ratio = losses[0] / final
                    self.assertGreaterEqual(ratio, 1e4, "loss %g -> %g" % (losses[0], final))
                    # The final loss is the one after the last update: below the last row.
                    self.assertLess(final, losses[-1])

    # ---- 2. output format ----

    def test_final_line_and_progress(self):
        r = self.ok("--steps", 37, "--layers", "20,10,4", "--rows", 16)
        lines = r.stdout.splitlines()
        loss, n, rate = final_line(r.stdout)
        self.assertEqual(n, 37)
        self.assertTrue(math.isfinite(loss) and loss > 0)
        self.assertTrue(math.isfinite(rate) and rate > 0)
        # Step 1, then every --log-every = steps/10 = 3 steps: 3, 6, ..., 36.
        progress = [PROGRESS_RE.match(line) for line in lines[:-1]]
        self.assertTrue(all(progress), lines[:-1])
        self.assertEqual([int(m.group(1)) for m in progress], [1] + list(range(3, 37, 3)))
        self.assertTrue(all(int(m.group(2)) == 37 for m in progress))

    def test_quiet_prints_only_final_line(self):
        r = self.ok("--quiet", "--steps", 50, "--layers", "20,10,4", "--threads", 1)
        self.assertEqual(len(r.stdout.splitlines()), 1, r.stdout)
        self.assertEqual(final_line(r.stdout)[1], 50)

    def test_log_every(self):
        r = self.ok("--log-every", 100, "--loss-csv", "loss.csv")
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 7, r.stdout)
        self.assertEqual(final_line(r.stdout)[1], 500)
        _, losses = read_loss_csv(self.path("loss.csv"))
        for line, step in zip(lines[:-1], (1, 100, 200, 300, 400, 500)):
            m = PROGRESS_RE.match(line)
            self.assertIsNotNone(m, line)
            self.assertEqual((int(m.group(1)), int(m.group(2))), (step, 500))
            # The progress line shows that step's loss (%.3e) as the CSV has it.
            self.assertAlmostEqual(float(m.group(3)) / losses[step - 1], 1.0, delta=1e-3)

    # ---- 3. reproducibility ----

    def test_same_seed_same_losses(self):
        args = ["--steps", 100, "--quiet"]
        self.ok(*args, "--seed", 3, "--loss-csv", "a.csv")
        self.ok(*args, "--seed", 3, "--loss-csv", "b.csv")
        self.ok(*args, "--seed", 4, "--loss-csv", "c.csv")
        a, b, c = (file_bytes(self.path(f)) for f in ("a.csv", "b.csv", "c.csv"))
        self.assertEqual(a, b)
        self.assertEqual(len(read_loss_csv(self.path("a.csv"))[1]), 100)
        self.assertNotEqual(a, c)
        self.assertNotEqual(read_loss_csv(self.path("a.csv"))[1][0],
                            read_loss_csv(self.path("c.csv"))[1][0])

    # ---- 4. data mode ----

    def test_data_mode_explicit_layers(self):
        x, y = self.data()
        out = self.mkdir("out")
        r = self.ok("--x", x, "--y", y, "--layers", "13,9,3", "--dtype", "f64",
                    "--weights-out", out, "--loss-csv", "loss.csv", "--steps", 20,
                    "--lr", 1e-3, "--quiet")
        self.assertEqual(final_line(r.stdout)[1], 20)
        self.assertEqual(self.weight_files(out), ["w1.npy", "w2.npy"])
        w = self.load_weights(out)
        self.assertEqual([m.shape for m in w], [(13, 9), (9, 3)])
        self.assertEqual([m.dtype for m in w], [np.float64, np.float64])
        self.assertTrue(all(np.all(np.isfinite(m)) for m in w))
        _, losses = read_loss_csv(self.path("loss.csv"))
        self.assertEqual(len(losses), 20)
        self.assertLess(losses[-1], losses[0])

    def test_data_mode_default_hidden_widths(self):
        x, y = self.data()
        out = self.mkdir("out")
        self.ok("--x", x, "--y", y, "--dtype", "f64", "--weights-out", out, "--steps", 3,
                "--lr", 1e-4, "--quiet")
        w = self.load_weights(out)
        self.assertEqual([m.shape for m in w], [(13, 100), (100, 100), (100, 3)])
        self.assertTrue(all(m.dtype == np.float64 for m in w))

    def test_data_mode_dtype_conversion(self):
        for file_dtype, flag, want in ((np.float32, "f64", np.float64),
                                       (np.float64, "f32", np.float32)):
            with self.subTest(file_dtype=file_dtype.__name__, dtype=flag):
                x, y = self.data(dtype=file_dtype)
                out = self.mkdir("out-" + flag)
                r = self.ok("--x", x, "--y", y, "--layers", "13,9,3", "--dtype", flag,
                            "--weights-out", out, "--steps", 5, "--lr", 1e-3, "--quiet")
                self.assertTrue(math.isfinite(final_line(r.stdout)[0]))
                w = self.load_weights(out)
                self.assertEqual([m.shape for m in w], [(13, 9), (9, 3)])
                self.assertTrue(all(m.dtype == want for m in w), [m.dtype for m in w])

    def test_data_mode_same_values_either_file_dtype(self):
        # f32-representable values stored as float32 or float64 train identically in f64.
        rng = np.random.default_rng(11)
        x = rng.standard_normal((31, 13)).astype(np.float32)
        y = rng.standard_normal((31, 3)).astype(np.float32)
        np.save(self.path("x32.npy"), x)
        np.save(self.path("y32.npy"), y)
        np.save(self.path("x64.npy"), x.astype(np.float64))
        np.save(self.path("y64.npy"), y.astype(np.float64))
        common = ["--layers", "13,9,3", "--dtype", "f64", "--steps", 5, "--lr", 1e-3, "--quiet"]
        self.ok("--x", "x32.npy", "--y", "y32.npy", "--loss-csv", "a.csv", *common)
        self.ok("--x", "x64.npy", "--y", "y64.npy", "--loss-csv", "b.csv", *common)
        self.assertEqual(file_bytes(self.path("a.csv")), file_bytes(self.path("b.csv")))

    # ---- 5. --weights-in round trip ----

    def test_weights_round_trip(self):
        a, b = self.mkdir("A"), self.mkdir("B")
        common = ["--dtype", "f64", "--seed", 2, "--quiet"]
        self.ok(*common, "--steps", 5, "--weights-out", a, "--loss-csv", "first.csv")
        self.ok(*common, "--steps", 5, "--weights-in", a, "--weights-out", b,
                "--loss-csv", "second.csv")
        r_long = self.ok(*common, "--steps", 10, "--loss-csv", "long.csv")
        _, first = read_loss_csv(self.path("first.csv"))
        steps2, second = read_loss_csv(self.path("second.csv"))
        _, long = read_loss_csv(self.path("long.csv"))
        self.assertEqual(steps2, [1, 2, 3, 4, 5])
        np.testing.assert_allclose(first, long[:5], rtol=1e-12, atol=0)
        np.testing.assert_allclose(second, long[5:], rtol=1e-12, atol=0)
        # The resumed run is not a restart: it starts below where the first run ended.
        self.assertLess(second[0], first[-1])
        self.assertEqual([m.shape for m in self.load_weights(b)],
                         [(1000, 100), (100, 100), (100, 10)])
        # And B holds the weights after 10 steps: a 1-step run from B starts at long's final loss.
        r = self.ok(*common, "--steps", 1, "--weights-in", b, "--loss-csv", "third.csv")
        _, third = read_loss_csv(self.path("third.csv"))
        final_long = final_line(r_long.stdout)[0]  # printed with %.6g
        self.assertAlmostEqual(third[0] / final_long, 1.0, delta=1e-5)

    def test_weights_out_replaces_deeper_network(self):
        # A deeper network saved before must not linger: the directory reads back as the
        # network just trained (no w3.npy left to be loaded as its third layer).
        out = self.mkdir("out")
        self.ok("--layers", "20,10,6,4", "--steps", 2, "--weights-out", out, "--quiet")
        self.assertEqual(self.weight_files(out), ["w1.npy", "w2.npy", "w3.npy"])
        with open(os.path.join(out, "notes.txt"), "w") as f:
            f.write("keep me")
        self.ok("--layers", "20,10,4", "--steps", 2, "--weights-out", out, "--quiet")
        # --weights-out writes a model directory: its metadata and manifest come along.
        self.assertEqual(sorted(os.listdir(out)), ["model.json", "nobias-manifest.txt",
                                                   "notes.txt", "w1.npy", "w2.npy"])
        self.assertEqual([m.shape for m in self.load_weights(out)], [(20, 10), (10, 4)])
        self.ok("--weights-in", out, "--steps", 1, "--quiet")

    # ---- 6. bad usage and bad input ----

    def assert_bad_input(self, args, *needles, out_dir=None, csv=None):
        """Runs args plus --weights-out/--loss-csv into the test directory; asserts exit 2,
        stderr 'nobias-train: ...' containing every needle, and nothing written. Returns the
        CompletedProcess."""
        if out_dir is None:
            out_dir = self.path("out")
            if not os.path.isdir(out_dir):
                os.mkdir(out_dir)
        if csv is None:
            csv = self.path("loss.csv")
        before = self.snapshot()
        r = self.run_cli(*args, "--weights-out", out_dir, "--loss-csv", csv)
        msg = "args %s\nstdout:\n%s\nstderr:\n%s" % (args, r.stdout, r.stderr)
        self.assertEqual(r.returncode, 2, msg)
        self.assertTrue(r.stderr.startswith("nobias-train:"), msg)
        for needle in needles:
            self.assertIn(needle, r.stderr, msg)
        self.assertNotIn("final loss", r.stdout, msg)
        self.assertEqual(self.snapshot(), before, "files changed: " + msg)
        self.assertFalse(os.path.exists(csv), msg)
        if os.path.isdir(out_dir):
            self.assertEqual(os.listdir(out_dir), [], msg)
        return r

    def test_bad_flag_values(self):
        base = {"--layers": "20,10,4", "--steps": "3"}  # small and fast, were it to run
        lr = "--lr must be a finite number > 0, got '%s'"
        cases = [
            (["--lr", "-1"], [lr % "-1"]),
            (["--lr", "0"], [lr % "0"]),
            (["--lr", "nan"], [lr % "nan"]),
            (["--lr", "inf"], [lr % "inf"]),
            (["--lr", "abc"], [lr % "abc"]),
            (["--lr", "1e-60"], ["--lr 1e-60 is not representable in f32 (use --dtype f64)"]),
            (["--steps", "0"], ["--steps must be at least 1, got 0"]),
            (["--steps", "-5"], ["--steps must be a whole number, got '-5'"]),
            (["--rows", "0"], ["--rows must be at least 1, got 0"]),
            (["--layers", "5"], ["--layers needs at least two widths (d_in,...,d_out), got '5'"]),
            (["--layers", "5,0,2"], ["--layers: every width must be at least 1, got 0"]),
            (["--layers", "5,,2"], ["--layers: every width must be a whole number, got ''"]),
            (["--layers", "5,x,2"], ["--layers: every width must be a whole number, got 'x'"]),
            (["--dtype", "f16"], ["--dtype must be f32 or f64, got 'f16'"]),
            (["--x", "x.npy"], ["--x requires --y"]),
            (["--y", "y.npy"], ["--y requires --x"]),
            (["--threads", "0"], ["--threads must be at least 1, got 0"]),
            (["--log-every", "0"], ["--log-every must be at least 1, got 0"]),
            (["--seed", "-1"], ["--seed must be a whole number, got '-1'"]),
            (["--bogus"], ["The following argument was not expected: --bogus"]),
            (["extra-positional"], ["The following argument was not expected: extra-positional"]),
        ]
        for extra, needles in cases:
            with self.subTest(args=extra):
                args = [a for flag, value in base.items() if flag != extra[0]
                        for a in (flag, value)]
                r = self.assert_bad_input(args + extra, *needles)
                # A usage error ends with the pointer to --help.
                self.assertTrue(r.stderr.endswith("\nRun 'nobias-train --help' for the flags.\n"),
                                r.stderr)

    def test_data_shape_mismatches(self):
        rng = np.random.default_rng(1)
        np.save(self.path("x.npy"), rng.standard_normal((31, 13)))
        np.save(self.path("y.npy"), rng.standard_normal((31, 3)))
        np.save(self.path("y30.npy"), rng.standard_normal((30, 3)))
        np.save(self.path("y4.npy"), rng.standard_normal((31, 4)))
        np.save(self.path("x0.npy"), np.zeros((0, 13)))
        np.save(self.path("y0.npy"), np.zeros((0, 3)))
        rows_differ = "--x x.npy is 31x13, --y y30.npy is 30x3: row counts differ"
        cases = [
            # x has 13 columns, --layers wants 12: both shapes named
            (["--x", "x.npy", "--y", "y.npy", "--layers", "12,9,3"],
             ["--x x.npy is 31x13, but the input width is 12 (--layers 12,9,3)"]),
            (["--x", "x.npy", "--y", "y30.npy", "--layers", "13,9,3"], [rows_differ]),
            (["--x", "x.npy", "--y", "y30.npy"], [rows_differ]),
            (["--x", "x.npy", "--y", "y4.npy", "--layers", "13,9,3"],
             ["--y y4.npy is 31x4, but the output width is 3 (--layers 13,9,3)"]),
            (["--x", "x0.npy", "--y", "y0.npy", "--layers", "13,9,3"],
             ["--x x0.npy is 0x13, --y y0.npy is 0x3: no rows to train on"]),
            (["--x", "x.npy", "--y", "y.npy", "--rows", "31"],
             ["--rows excludes --x"]),
        ]
        for args, needles in cases:
            with self.subTest(args=args):
                self.assert_bad_input(args + ["--dtype", "f64"], *needles)

    def test_bad_npy_files(self):
        rng = np.random.default_rng(2)
        np.save(self.path("y.npy"), rng.standard_normal((31, 3)))
        with open(self.path("garbage.npy"), "wb") as f:
            f.write(bytes(range(256)) * 4)
        np.save(self.path("int32.npy"), np.arange(31 * 13, dtype=np.int32).reshape(31, 13))
        np.save(self.path("oned.npy"), rng.standard_normal(31))
        np.save(self.path("threed.npy"), rng.standard_normal((31, 13, 1)))
        full = file_bytes(self.path("y.npy"))
        with open(self.path("truncated.npy"), "wb") as f:
            f.write(full[:len(full) - 8])
        cases = [
            ("missing.npy", ["--x", "missing.npy", "does not exist"]),
            ("garbage.npy", ["--x", "garbage.npy", "not a .npy file"]),
            ("int32.npy", ["--x", "int32.npy", "<i4"]),
            ("oned.npy", ["--x", "oned.npy", "2-D", "(31,)"]),
            ("threed.npy", ["--x", "threed.npy", "2-D"]),
            ("truncated.npy", ["--x", "truncated.npy", "truncated"]),
        ]
        for name, needles in cases:
            for dtype in ("f32", "f64"):
                with self.subTest(file=name, dtype=dtype):
                    self.assert_bad_input(["--x", name, "--y", "y.npy", "--layers", "13,9,3",
                                           "--dtype", dtype], *needles)
        with self.subTest(file="y missing"):
            np.save(self.path("x.npy"), rng.standard_normal((31, 13)))
            self.assert_bad_input(["--x", "x.npy", "--y", "nope.npy"], "--y", "nope.npy",
                                  "does not exist")

    def test_non_finite_data_is_bad_input(self):
        rng = np.random.default_rng(3)
        x = rng.standard_normal((31, 13))
        np.save(self.path("y.npy"), rng.standard_normal((31, 3)))
        for name, value, where in (("nan", np.nan, (4, 7)), ("-inf", -np.inf, (0, 12))):
            with self.subTest(value=name):
                bad = x.copy()
                bad[where] = value
                np.save(self.path("x.npy"), bad)
                r = self.assert_bad_input(["--x", "x.npy", "--y", "y.npy"],
                                          "--x: x.npy: element (%d, %d) is %s; values must be "
                                          "finite" % (where[0], where[1], name))
                # Bad data is not a usage error: no pointer to --help.
                self.assertNotIn("--help", r.stderr)
        with self.subTest("float64 beyond float32's range, read as f32"):
            big = x.copy()
            big[2, 3] = 1e300
            np.save(self.path("x.npy"), big)
            self.assert_bad_input(["--x", "x.npy", "--y", "y.npy", "--dtype", "f32"],
                                  "--x: x.npy: element (2, 3) is inf; values must be finite")

    def test_loss_csv_may_not_overwrite_an_input(self):
        rng = np.random.default_rng(4)
        np.save(self.path("x.npy"), rng.standard_normal((31, 13)))
        np.save(self.path("y.npy"), rng.standard_normal((31, 3)))
        before = file_bytes(self.path("x.npy"))
        r = self.run_cli("--x", "x.npy", "--y", "y.npy", "--loss-csv", "x.npy")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertTrue(r.stderr.startswith("nobias-train:"), r.stderr)
        self.assertIn("--loss-csv x.npy is the input file x.npy; writing it would destroy the data",
                      r.stderr)
        self.assertEqual(file_bytes(self.path("x.npy")), before)

    def test_bad_weights_in(self):
        with self.subTest("missing directory"):
            self.assert_bad_input(["--weights-in", "nowhere", "--steps", 2],
                                  "reading --weights-in nowhere: load_weights: directory "
                                  "'nowhere' does not exist")
        win = self.mkdir("win")
        rng = np.random.default_rng(3)
        np.save(os.path.join(win, "w1.npy"), rng.standard_normal((13, 9)))
        np.save(os.path.join(win, "w2.npy"), rng.standard_normal((9, 3)))
        with self.subTest("shapes differ from --layers"):
            self.assert_bad_input(["--weights-in", win, "--layers", "13,8,3", "--steps", 2],
                                  "--weights-in %s: w1.npy is 13x9, but --layers 13,8,3 needs 13x8"
                                  % win)
        with self.subTest("depth differs from --layers"):
            self.assert_bad_input(["--weights-in", win, "--layers", "13,9,5,3", "--steps", 2],
                                  "--weights-in %s holds 2 weight matrices, but --layers 13,9,5,3 "
                                  "needs 3" % win)
        with self.subTest("x does not fit the weights"):
            np.save(self.path("x.npy"), rng.standard_normal((31, 12)))
            np.save(self.path("y.npy"), rng.standard_normal((31, 3)))
            self.assert_bad_input(["--weights-in", win, "--x", "x.npy", "--y", "y.npy"],
                                  "--x x.npy is 31x12, but the input width is 13 (widths 13,9,3 "
                                  "from --weights-in)")
        with self.subTest("empty directory"):
            self.mkdir("empty")
            self.assert_bad_input(["--weights-in", "empty", "--steps", 2],
                                  "load_weights: empty: w1.npy is missing")
        with self.subTest("chain broken"):
            bad = self.mkdir("chain")
            np.save(os.path.join(bad, "w1.npy"), rng.standard_normal((13, 9)))
            np.save(os.path.join(bad, "w2.npy"), rng.standard_normal((8, 3)))
            self.assert_bad_input(["--weights-in", bad, "--steps", 2], "w2.npy", "8x3")

    def test_bad_output_locations(self):
        with self.subTest("--weights-out under a file"):
            with open(self.path("afile"), "w") as f:
                f.write("x")
            self.assert_bad_input(["--layers", "20,10,4", "--steps", 2],
                                  "--weights-out: '%s' is not an existing directory"
                                  % self.path("afile"), out_dir=self.path("afile", "sub", "w"))
        with self.subTest("--weights-out is a file"):
            with open(self.path("afile"), "w") as f:
                f.write("x")
            self.assert_bad_input(["--layers", "20,10,4", "--steps", 2],
                                  "--weights-out: '%s' is not an existing directory"
                                  % self.path("afile"), out_dir=self.path("afile"))
        with self.subTest("--loss-csv into a missing directory"):
            self.assert_bad_input(["--layers", "20,10,4", "--steps", 2],
                                  "--loss-csv: '%s' is not an existing directory"
                                  % self.path("no-such-dir"),
                                  csv=self.path("no-such-dir", "loss.csv"))
            self.assertFalse(os.path.exists(self.path("no-such-dir")))
        with self.subTest("--loss-csv is a directory"):
            self.mkdir("csvdir")
            r = self.run_cli("--layers", "20,10,4", "--steps", 2, "--loss-csv", "csvdir")
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertTrue(r.stderr.startswith("nobias-train:"), r.stderr)
            self.assertIn("--loss-csv: 'csvdir' is a directory, expected a file name", r.stderr)
            self.assertEqual(os.listdir(self.path("csvdir")), [])

    # ---- 7. existing outputs survive a failed run ----

    def test_existing_outputs_untouched_on_failure(self):
        out = self.mkdir("out")
        csv = self.path("loss.csv")
        self.ok("--layers", "20,10,4", "--steps", 4, "--weights-out", out, "--loss-csv", csv,
                "--quiet")
        self.assertEqual(self.weight_files(out), ["w1.npy", "w2.npy"])
        before = self.snapshot()
        rng = np.random.default_rng(4)
        np.save(self.path("x.npy"), rng.standard_normal((9, 20)))
        np.save(self.path("y.npy"), rng.standard_normal((9, 5)))  # d_out 5, not 4
        inputs = {"x.npy", "y.npy"}
        failures = [
            (2, ["--layers", "20,10,4", "--x", "x.npy", "--y", "y.npy"]),
            (2, ["--layers", "20,10,4", "--lr", "-3"]),
            (2, ["--layers", "20,10,4", "--weights-in", "missing"]),
            (3, ["--layers", "20,10,4", "--lr", "1e6", "--steps", 50]),
            (3, ["--lr", "1", "--steps", 50]),
        ]
        for code, args in failures:
            with self.subTest(args=args):
                r = self.run_cli(*args, "--weights-out", out, "--loss-csv", csv)
                self.assertEqual(r.returncode, code, r.stderr)
                after = {k: v for k, v in self.snapshot().items() if k not in inputs}
                self.assertEqual(sorted(after), sorted(before))
                for name, content in before.items():
                    self.assertEqual(after[name], content, name + " changed")

    def test_missing_flag_value(self):
        r = self.run_cli("--layers", "20,10,4", "--steps")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertTrue(r.stderr.startswith("nobias-train:"), r.stderr)
        self.assertIn("--steps", r.stderr)
        self.assertEqual(os.listdir(self.dir), [])

    def assert_refused_before_training(self, args, *needles):
        """Asserts exit 2 with stderr naming every needle, before any training (no progress
        line, no final line), and no file of the test directory created or changed."""
        before = self.snapshot()
        r = self.run_cli(*args)
        msg = "args %s\nstdout:\n%s\nstderr:\n%s" % (args, r.stdout, r.stderr)
        self.assertEqual(r.returncode, 2, msg)
        self.assertTrue(r.stderr.startswith("nobias-train:"), msg)
        for needle in needles:
            self.assertIn(needle, r.stderr, msg)
        self.assertEqual(r.stdout, "", msg)
        self.assertEqual(self.snapshot(), before, "files changed: " + msg)
        return r

    def test_unwritable_output_locations(self):
        # The tests run as root, whom access() lets write anywhere, so these are places where
        # nobody can create a file: under /proc, and under a regular file. Each is refused
        # before training, and the other outputs of the run are left as they were.
        with open(self.path("afile"), "w") as f:
            f.write("x")
        out = self.mkdir("out")
        # The reason follows in parentheses (strerror), which varies with the system.
        unwritable = "%s: directory '%s' is not writable ("
        missing = "%s: '%s' is not an existing directory"
        small = ["--layers", "20,10,4", "--steps", 2]
        cases = [
            (["--weights-out", "/proc"], unwritable % ("--weights-out", "/proc")),
            # --weights-out is created with its parents: the nearest existing one is checked.
            (["--weights-out", "afile/sub"], missing % ("--weights-out", "afile")),
            (["--loss-csv", "/proc/loss.csv"], unwritable % ("--loss-csv", "/proc")),
            (["--loss-csv", "afile/loss.csv"], missing % ("--loss-csv", "afile")),
            (["--weights-out", out, "--loss-csv", "/proc/loss.csv"],
             unwritable % ("--loss-csv", "/proc")),
            (["--loss-csv", "l.csv", "--weights-out", "/proc/self"],
             unwritable % ("--weights-out", "/proc/self")),
        ]
        for extra, needle in cases:
            with self.subTest(args=extra):
                self.assert_refused_before_training(small + extra, needle)
                self.assertEqual(os.listdir(out), [])
        # --checkpoint DIR may not exist yet (it is created), so its parent is checked then.
        epochs = ["--layers", "20,10,4", "--epochs", 1]
        for where, needle in (("/proc/nobias-ck", unwritable % ("--checkpoint", "/proc")),
                              ("/proc", unwritable % ("--checkpoint", "/proc")),
                              ("afile/ck", missing % ("--checkpoint", "afile")),
                              ("afile", missing % ("--checkpoint", "afile"))):
            with self.subTest(checkpoint=where):
                self.assert_refused_before_training(epochs + ["--checkpoint", where,
                                                              "--weights-out", out], needle)
                self.assertEqual(os.listdir(out), [])

    def raw_npy(self, name, data, shape, descr="<f8"):
        """Writes a version 1.0 .npy file whose header says shape, whatever data holds."""
        header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
        header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
        with open(self.path(name), "wb") as f:
            f.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little")
                    + header.encode("ascii") + data)

    def test_foreign_and_lying_npy_files(self):
        rng = np.random.default_rng(12)
        np.save(self.path("y.npy"), rng.standard_normal((31, 3)))
        x = rng.standard_normal((31, 13))
        np.save(self.path("big-endian.npy"), x.astype(">f8"))
        np.save(self.path("int64.npy"), np.arange(31 * 13).reshape(31, 13))
        np.save(self.path("no-columns.npy"), np.zeros((31, 0)))
        # Headers that lie about the 31x13 float64 data: a shape with fewer elements (the
        # data runs on), one with more (the file ends early), one whose bytes overflow size_t.
        for name, shape in (("fewer.npy", "(31, 12)"), ("more.npy", "(31, 14)"),
                            ("overflow.npy", "(2305843009213693952, 13)")):
            self.raw_npy(name, x.tobytes(), shape)
        cases = [
            ("big-endian.npy", ["--x", "big-endian.npy", ">f8", "big-endian"]),
            ("int64.npy", ["--x", "int64.npy", "<i8"]),
            ("no-columns.npy", ["none zero", "0,100,100,3"]),
            ("fewer.npy", ["--x", "fewer.npy", "header promises"]),
            ("more.npy", ["--x", "more.npy", "truncated data"]),
            ("overflow.npy", ["--x", "overflow.npy", "more bytes than fit in size_t"]),
        ]
        for name, needles in cases:
            with self.subTest(file=name):
                self.assert_bad_input(["--x", name, "--y", "y.npy", "--dtype", "f64"], *needles)

    def test_widths_and_rows_that_overflow(self):
        x, y = self.data()
        cases = [
            (["--layers", "9223372036854775807,4"],
             ["matrix of 64x9223372036854775807 elements overflows size_t"]),
            (["--layers", "20,10,4", "--rows", "18446744073709551615"],
             ["matrix of 18446744073709551615x20 elements overflows size_t"]),
            (["--x", x, "--y", y, "--layers", "13,9223372036854775807,3"],
             ["Network: width 1 is 9223372036854775807; BLAS indexes with int"]),
            (["--layers", "18446744073709551616,4"],
             ["--layers: every width must be at most 18446744073709551615, got "
              "18446744073709551616"]),
        ]
        for args, needles in cases:
            with self.subTest(args=args):
                self.assert_bad_input(args + ["--steps", 2], *needles)

    def test_learning_rate_and_decay_beyond_the_dtype(self):
        # Finite in the flag, infinite or zero in the arithmetic: refused, not a NaN later.
        base = ["--layers", "20,10,4", "--steps", 2]
        self.assert_bad_input(base + ["--lr", "1e39"],
                              "--lr 1e39 is not representable in f32 (use --dtype f64)")
        self.assert_bad_input(base + ["--weight-decay", "1e39"],
                              "Optimizer: weight_decay must be finite in float (the network's "
                              "type), got ")
        self.assert_bad_input(base + ["--optimizer", "adam", "--lr", "1e-50"],
                              "--lr 1e-50 is not representable in f32 (use --dtype f64)")

    def test_weights_in_with_a_missing_extra_or_bad_file(self):
        rng = np.random.default_rng(13)
        def weights(name, shapes, nan_at=None):
            d = self.mkdir(name)
            for k, shape in enumerate(shapes, 1):
                w = rng.standard_normal(shape)
                if nan_at is not None and k == 1:
                    w[nan_at] = np.nan
                np.save(os.path.join(d, "w%d.npy" % k), w)
            return d
        gap = weights("gap", [(20, 10), (10, 6), (6, 4)])
        os.remove(os.path.join(gap, "w2.npy"))
        extra = weights("extra", [(20, 10), (10, 4), (4, 4)])
        stray = weights("stray", [(20, 10), (10, 4)])
        np.save(os.path.join(stray, "w0.npy"), rng.standard_normal((4, 4)))
        nan = weights("nan", [(20, 10), (10, 4)], nan_at=(2, 5))
        cases = [
            (["--weights-in", gap], ["w2.npy is missing but w3.npy exists"]),
            (["--weights-in", extra, "--layers", "20,10,4"],
             ["--weights-in %s holds 3 weight matrices, but --layers 20,10,4 needs 2" % extra]),
            (["--weights-in", stray], ["unexpected w0.npy"]),
            (["--weights-in", nan], ["--weights-in", "w1.npy", "element (2, 5) is nan"]),
        ]
        for args, needles in cases:
            with self.subTest(args=args):
                self.assert_bad_input(args + ["--steps", 2], *needles)

    def test_more_bad_flag_values(self):
        base = ["--layers", "20,10,4"]
        cases = [
            (["--steps", "1000000001"], ["--steps must be at most 1000000000, got 1000000001"]),
            (["--seed", "18446744073709551616"],
             ["--seed must be at most 18446744073709551615, got 18446744073709551616"]),
            (["--threads", "2147483648"], ["--threads must be at most 2147483647, got 2147483648"]),
            (["--threads", "x"], ["--threads must be a whole number, got 'x'"]),
            (["--lr", "-inf"], ["--lr must be a finite number > 0, got '-inf'"]),
            (["--optimizer", "momentum", "--lr", "0.1", "--momentum", "nan"],
             ["--momentum must be a number in [0, 1), got 'nan'"]),
            (["--epochs", "1000000000", "--batch-size", "1"],
             ["--epochs 1000000000 of 64 steps each exceeds 1000000000 steps"]),
            (["--x", "x.npy", "--x", "x.npy", "--y", "y.npy"],
             ["--x: At Most 1 required but received 2"]),
            (["--quiet", "--steps", "2", "--steps", "3"],
             ["--steps: At Most 1 required but received 2"]),
        ]
        for extra, needles in cases:
            with self.subTest(args=extra):
                self.assert_bad_input(base + extra, *needles)

    def test_bad_checkpoint_and_resume(self):
        x, y = self.teacher_data(rows=40)
        common = ["--x", x, "--y", y, "--layers", "8,16,2", "--optimizer", "adam",
                  "--batch-size", 16, "--quiet"]
        self.ok(*common, "--epochs", 1, "--checkpoint", "ck")
        win = self.mkdir("win")
        np.save(os.path.join(win, "w1.npy"), np.ones((8, 16)))
        np.save(os.path.join(win, "w2.npy"), np.ones((16, 2)))
        cases = [
            (["--epochs", 2, "--checkpoint", "ck2", "--checkpoint-every", 0],
             ["--checkpoint-every must be at least 1, got 0"]),
            (["--epochs", 2, "--checkpoint-every", 2],
             ["--checkpoint-every requires --checkpoint"]),
            (["--epochs", 2, "--resume", "ck", "--weights-in", win],
             ["--resume excludes --weights-in"]),
            (["--epochs", 2, "--init", "xavier"],
             ["--init must be normal, he, lecun, glorot or half_glorot, got 'xavier'"]),
        ]
        for extra, needles in cases:
            with self.subTest(args=extra):
                self.assert_refused_before_training(common + extra, *needles)
        # A checkpoint whose state was damaged after it was saved.
        with open(self.path("ck", "state-000001", "state.txt"), "a") as f:
            f.write("garbage\n")
        self.assert_refused_before_training(common + ["--epochs", 2, "--resume", "ck"],
                                            "load_checkpoint: ck: state.txt: line",
                                            "has no '=': garbage")

    # ---- 8. divergence ----

    def assert_diverged(self, r, step=None):
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertTrue(r.stderr.startswith("nobias-train:"), r.stderr)
        m = re.search(r"step \(?(\d+)", r.stderr)
        self.assertIsNotNone(m, r.stderr)
        if step is not None:
            self.assertEqual(int(m.group(1)), step, r.stderr)
        self.assertIn("--lr", r.stderr)
        self.assertIn("smaller", r.stderr)
        self.assertNotIn("final loss", r.stdout)
        return int(m.group(1))

    def test_divergence(self):
        # Rates that overflow within a few steps (a merely large rate in f64 often kills every
        # ReLU instead: the loss stays finite, which is not divergence by the definition).
        for dtype, lr in (("f32", "1"), ("f64", "1e50")):
            for seed in (0, 3):
                with self.subTest(dtype=dtype, seed=seed):
                    r = self.run_cli("--lr", lr, "--dtype", dtype, "--seed", seed,
                                     "--loss-csv", "loss.csv", "--weights-out", ".", "--quiet")
                    step = self.assert_diverged(r)
                    self.assertLessEqual(step, 10)
                    self.assertEqual(os.listdir(self.dir), [])

    def test_divergence_keeps_the_library_reason(self):
        # Issue 10 item 12: the step mode recomputed the loss and dropped the library's own
        # reason (which hidden layer overflowed, or the loss it saw); it is kept now, once.
        r = self.run_cli("--lr", "1", "--quiet")
        self.assert_diverged(r)
        self.assertIn(": train_step: ", r.stderr)
        self.assertIn("weights left unchanged", r.stderr)
        self.assertEqual(r.stderr.count("try a smaller"), 1, r.stderr)

    def test_divergence_after_last_step(self):
        # With --lr 1 (f32, seed 0) the loss is non-finite at step 3, so the weights after the
        # last of 2 steps are already unusable: that is divergence too, not a success.
        r = self.run_cli("--lr", "1", "--steps", 2, "--loss-csv", "loss.csv", "--quiet")
        self.assert_diverged(r, step=2)
        self.assertEqual(os.listdir(self.dir), [])

    def test_divergence_step_matches_progress(self):
        # Progress lines for every step: the diverging step is the first one not printed.
        r = self.run_cli("--lr", "1", "--log-every", 1)
        step = self.assert_diverged(r)
        printed = [int(PROGRESS_RE.match(line).group(1)) for line in r.stdout.splitlines()]
        self.assertEqual(printed, list(range(1, len(printed) + 1)))
        self.assertGreaterEqual(len(printed), 1)
        self.assertEqual(step, len(printed) + 1, r.stdout + r.stderr)

    # ---- 9. epoch mode (--epochs) ----

    def teacher_data(self, rows=200, d_in=8, d_hidden=16, d_out=2, seed=5, prefix=""):
        """A regression set a bias-free network can fit: y from a random bias-free teacher
        (weights scaled by 1/sqrt(fan-in)) applied to standard normal x."""
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((rows, d_in))
        w1 = rng.standard_normal((d_in, d_hidden)) / math.sqrt(d_in)
        w2 = rng.standard_normal((d_hidden, d_out)) / math.sqrt(d_hidden)
        y = np.maximum(x @ w1, 0) @ w2
        return self.save(prefix + "x.npy", x), self.save(prefix + "y.npy", y)

    def epoch_lines(self, stdout, epochs, validation):
        """Asserts one well-formed line per epoch (after the defaults line of a run on --x/--y),
        then the final line; returns the matches."""
        self.assertNotIn("\r", stdout)
        lines = stdout.splitlines()
        if lines and lines[0].startswith("defaults for real data:"):
            lines = lines[1:]
        self.assertEqual(len(lines), epochs + 1, stdout)
        matches = [EPOCH_RE.match(line) for line in lines[:-1]]
        self.assertTrue(all(matches), lines)
        self.assertEqual([(int(m.group(1)), int(m.group(2))) for m in matches],
                         [(e, epochs) for e in range(1, epochs + 1)])
        for m in matches:
            self.assertTrue(math.isfinite(float(m.group(3))), m.group(0))
            self.assertGreater(float(m.group(6)), 0)
            self.assertEqual(m.group(4) is not None, validation, m.group(0))
            if validation:
                self.assertTrue(math.isfinite(float(m.group(5))), m.group(0))
        final_line(stdout)
        return matches

    def test_epochs_adam_fits_teacher(self):
        x, y = self.teacher_data()
        r = self.ok("--x", x, "--y", y, "--layers", "8,16,2", "--dtype", "f64", "--epochs", 30,
                    "--optimizer", "adam", "--lr", 1e-2, "--loss", "mean", "--threads", 1,
                    "--validation-fraction", 0, "--loss-csv", "loss.csv", "--quiet")
        final, n, _ = final_line(r.stdout)
        steps, losses = read_loss_csv(self.path("loss.csv"))
        self.assertEqual(n, 30 * 7)  # 200 rows in batches of 32: 6 full and one of 8
        self.assertEqual(steps, list(range(1, n + 1)))
        self.assertLess(final * 10, losses[0], "loss %g -> %g" % (losses[0], final))

    def test_epoch_lines_when_not_a_terminal(self):
        x, y = self.teacher_data()
        vx, vy = self.teacher_data(rows=40, seed=6, prefix="val-")
        common = ["--x", x, "--y", y, "--layers", "8,16,2", "--epochs", 4, "--batch-size", 50,
                  "--optimizer", "adam", "--threads", 1, "--no-standardize"]
        r = self.ok(*common, "--validation-fraction", 0)
        self.epoch_lines(r.stdout, 4, validation=False)
        self.assertEqual(final_line(r.stdout)[1], 16)
        r = self.ok(*common, "--val-x", vx, "--val-y", vy)
        matches = self.epoch_lines(r.stdout, 4, validation=True)
        # Adam at its default rate on the mean loss: the training loss falls (the validation
        # loss, of 40 other rows after 4 epochs, need not), and both are numbers.
        self.assertLess(float(matches[-1].group(3)), float(matches[0].group(3)))
        self.assertTrue(all(math.isfinite(float(m.group(5))) for m in matches), r.stdout)
        r = self.ok(*common, "--quiet")
        self.assertEqual(len(r.stdout.splitlines()), 1, r.stdout)

    def test_epochs_deterministic(self):
        x, y = self.teacher_data(rows=50)
        common = ["--x", x, "--y", y, "--layers", "8,16,2", "--epochs", 3, "--batch-size", 8,
                  "--optimizer", "momentum", "--lr", 1e-3, "--nesterov", "--weight-decay",
                  1e-4, "--validation-fraction", 0, "--quiet"]
        self.ok(*common, "--seed", 1, "--loss-csv", "a.csv")
        self.ok(*common, "--seed", 1, "--loss-csv", "b.csv")
        self.ok(*common, "--seed", 1, "--no-shuffle", "--loss-csv", "c.csv")
        self.ok(*common, "--seed", 2, "--loss-csv", "d.csv")
        a, b, c, d = (file_bytes(self.path(f)) for f in ("a.csv", "b.csv", "c.csv", "d.csv"))
        self.assertEqual(a, b)
        self.assertEqual(read_loss_csv(self.path("a.csv"))[0], list(range(1, 22)))
        self.assertNotEqual(a, c)
        self.assertNotEqual(a, d)

    def test_epochs_full_batch_equals_steps(self):
        # A batch larger than the data is the whole set; unshuffled, plain SGD, that is the
        # --steps mode step for step, and naming the defaults changes nothing. (With --x/--y,
        # --epochs keeps the real-data defaults: the seed's are named.)
        x, y = self.data()
        common = ["--x", x, "--y", y, "--layers", "13,9,3", "--lr", 1e-3, "--quiet"]
        seeds = ["--optimizer", "sgd", "--loss", "sum", "--init", "normal"]
        self.ok(*common, "--steps", 5, "--loss-csv", "steps.csv")
        self.ok(*common, "--steps", 5, *seeds, "--loss-csv", "named.csv")
        self.ok(*common, "--epochs", 5, "--batch-size", 1000, "--no-shuffle", "--no-standardize", *seeds,
                "--validation-fraction", 0, "--loss-csv", "epochs.csv")
        self.assertEqual(file_bytes(self.path("steps.csv")), file_bytes(self.path("named.csv")))
        self.assertEqual(file_bytes(self.path("steps.csv")), file_bytes(self.path("epochs.csv")))

    def test_resume_equals_uninterrupted(self):
        x, y = self.teacher_data(rows=60)
        os.mkdir(self.path("whole"))
        os.mkdir(self.path("resumed"))
        common = ["--x", x, "--y", y, "--layers", "8,16,2", "--optimizer", "adam",
                  "--loss", "mean", "--batch-size", 16, "--threads", 1, "--quiet", "--seed", 3]
        self.ok(*common, "--epochs", 5, "--weights-out", "whole")
        self.ok(*common, "--epochs", 2, "--checkpoint", "ck")
        with open(self.path("ck", "CURRENT")) as f:
            self.assertEqual(f.read().strip(), "state-000002")
        # numpy reads the checkpoint's weights as they are.
        self.assertEqual(np.load(self.path("ck", "state-000002", "w1.npy")).shape, (8, 16))
        r = self.ok(*common, "--epochs", 5, "--resume", "ck", "--checkpoint", "ck",
                    "--weights-out", "resumed", "--loss-csv", "resumed.csv")
        self.assertEqual(final_line(r.stdout)[1], 3 * 4)  # epochs 3..5 of 4 steps
        # The loss log continues the first run's step numbers.
        self.assertEqual(read_loss_csv(self.path("resumed.csv"))[0], list(range(9, 21)))
        for k in (1, 2):
            self.assertEqual(file_bytes(self.path("whole", "w%d.npy" % k)),
                             file_bytes(self.path("resumed", "w%d.npy" % k)))

    def test_resume_with_early_stopping_equals_uninterrupted(self):
        # Issue 19 item 9: the best weights and the patience count were not in the checkpoint,
        # so a resumed run stopped later and kept another epoch than the uninterrupted one.
        x, y = self.teacher_data(rows=60)
        os.mkdir(self.path("whole"))
        os.mkdir(self.path("resumed"))
        common = ["--x", x, "--y", y, "--layers", "8,16,2", "--optimizer", "adam", "--lr", 0.05,
                  "--loss", "mean", "--batch-size", 8, "--threads", 1, "--seed", 3,
                  "--validation-fraction", 0.3, "--patience", 2]
        whole = self.ok(*common, "--epochs", 40, "--weights-out", "whole", "--checkpoint", "wk")
        m = re.search(r"after \d+ steps in (\d+) of at most 40 epochs \(stopped early: .*; kept epoch "
                      r"(\d+),", whole.stdout)
        self.assertIsNotNone(m, whole.stdout)
        stopped, kept = int(m.group(1)), int(m.group(2))
        self.assertLess(stopped, 40, "the run should stop early: " + whole.stdout)
        split = stopped - 1  # after the best epoch, before early stopping ends the run
        self.assertLess(kept, split, whole.stdout)
        self.ok(*common, "--epochs", split, "--checkpoint", "ck", "--quiet")
        r = self.ok(*common, "--epochs", 40, "--resume", "ck", "--weights-out", "resumed")
        self.assertIn("stopped early", r.stdout)
        self.assertIn(f"kept epoch {kept},", r.stdout)
        for k in (1, 2):
            self.assertEqual(file_bytes(self.path("whole", "w%d.npy" % k)),
                             file_bytes(self.path("resumed", "w%d.npy" % k)))
        # A checkpoint of the epoch that met the stopping condition (the run split there, or
        # the stopped run's own) resumes to the same end: no more epochs, the kept epoch's
        # weights, the same report, the checkpoint left as it was. It used to train on.
        self.ok(*common, "--epochs", stopped, "--checkpoint", "sk", "--quiet")
        final = whole.stdout.splitlines()[-1]
        for ck in ("sk", "wk"):
            with self.subTest(checkpoint=ck):
                out = "out-" + ck
                os.mkdir(self.path(out))
                before = tree_bytes(self.path(ck))
                r = self.ok(*common, "--epochs", 40, "--resume", ck, "--checkpoint", ck,
                            "--weights-out", out, "--loss-csv", out + ".csv")
                self.assertNotRegex(r.stdout, r"(?m)^epoch ")
                self.assertIn(f"nothing to train: early stopping ended the run of --resume {ck} "
                              f"at epoch {stopped}\n", r.stdout)
                last = r.stdout.splitlines()[-1]
                self.assertEqual(final_line(last)[0], final_line(final)[0])
                self.assertEqual(final_line(last)[1], 0)
                self.assertIn(f"(stopped early: val_loss did not improve for 2 epochs; kept epoch "
                              f"{kept}, the lowest val_loss)", last)
                for k in (1, 2):
                    self.assertEqual(file_bytes(self.path("whole", "w%d.npy" % k)),
                                     file_bytes(self.path(out, "w%d.npy" % k)))
                self.assertEqual(read_loss_csv(self.path(out + ".csv")), ([], []))
                self.assertEqual(tree_bytes(self.path(ck)), before)
        # Another patience cannot continue it.
        self.assert_refused_before_training(
            [*common[:-1], 3, "--epochs", 40, "--resume", "ck"],
            "--patience is 3 but the checkpoint in ck was trained with 2")

    def test_resume_refuses_a_different_run(self):
        x, y = self.teacher_data(rows=40)
        common = ["--x", x, "--y", y, "--layers", "8,16,2", "--batch-size", 16, "--quiet"]
        self.ok(*common, "--epochs", 1, "--optimizer", "adam", "--checkpoint", "ck")
        first_run = "; resume with the flags of the first run"
        cases = [
            (["--epochs", 3, "--optimizer", "adam", "--lr", 0.5],
             "--lr is 0.5 but the checkpoint in ck was trained with 0.001" + first_run),
            (["--epochs", 3, "--optimizer", "adam", "--seed", 9],
             "--seed is 9 but the checkpoint in ck was trained with 0" + first_run),
            (["--epochs", 3, "--optimizer", "momentum", "--lr", 0.1],
             "--optimizer is momentum but the checkpoint in ck was trained with adam" + first_run),
            (["--epochs", 1, "--optimizer", "adam"],
             "the checkpoint in ck has done 1 epochs already; ask for more with --epochs"),
            (["--epochs", 3, "--optimizer", "adam", "--dtype", "f64"],
             "--dtype is f64 but the checkpoint in ck was trained with f32" + first_run),
            (["--epochs", 3, "--optimizer", "adam", "--loss", "sum"],
             "--loss is sum but the checkpoint in ck was trained with mean" + first_run),
            (["--epochs", 3, "--optimizer", "adam", "--no-shuffle"],
             "--no-shuffle is given but the checkpoint in ck was trained with shuffled batches" +
             first_run),
        ]
        for extra, needle in cases:
            with self.subTest(extra=extra):
                self.assert_refused_before_training(common + extra + ["--resume", "ck"], needle)
        plain = ["--x", x, "--y", y, "--layers", "8,16,2", "--quiet"]
        for args, needle in (([], "--resume needs --epochs (a fixed number of epochs)"),
                             (["--steps", 2], "--resume needs --epochs (epoch-based training)"),
                             (["--epochs", 2], "load_checkpoint: nowhere: no CURRENT file naming "
                                               "a state (is it a checkpoint directory?)")):
            with self.subTest(args=args):
                self.assert_refused_before_training(plain + args + ["--resume", "nowhere"],
                                                    needle)
        self.assert_refused_before_training(plain + ["--checkpoint", "ck2"],
                                            "--checkpoint needs --epochs (a fixed number of epochs)")
        self.assert_refused_before_training(plain + ["--steps", 2, "--checkpoint", "ck2"],
                                            "--checkpoint needs --epochs (epoch-based training)")
        self.assertFalse(os.path.exists(self.path("ck2")))
        # A changed batch size is another run, and a fresh run may not replace a checkpoint.
        self.assert_refused_before_training(
            plain + ["--epochs", 3, "--optimizer", "adam", "--batch-size", 8, "--resume", "ck"],
            "--batch-size is 8 but the checkpoint in ck was trained with 16" + first_run)
        self.assert_refused_before_training(
            common + ["--epochs", 2, "--optimizer", "adam", "--checkpoint", "ck"],
            "--checkpoint ck already holds a checkpoint: continue it with --resume ck")

    def test_resume_refuses_other_data(self):
        # Issue 10 item 6: --resume promises "bit for bit as if never stopped", which other data
        # cannot keep; the checkpoint records a fingerprint of what it was trained on.
        x, y = self.teacher_data(rows=40)
        x2, y2 = self.teacher_data(rows=40, seed=6, prefix="other-")
        x3, y3 = self.teacher_data(rows=30, prefix="short-")
        common = ["--layers", "8,16,2", "--batch-size", 16, "--quiet", "--optimizer", "adam"]
        whole = [*common, "--validation-fraction", 0]  # every row: the counts below are the files'
        self.ok("--x", x, "--y", y, *whole, "--epochs", 1, "--checkpoint", "ck")
        other = "--resume ck: the checkpoint was trained on other data ("
        for data, needle in (((x2, y), "x differs: same shape, other values"),
                             ((x, y2), "y differs: same shape, other values"),
                             ((x3, y3), "30 rows now, 40 in the checkpoint")):
            with self.subTest(data=data):
                r = self.assert_refused_before_training(
                    ["--x", data[0], "--y", data[1], *whole, "--epochs", 2, "--resume", "ck"],
                    other, needle)
        # The same data resumes.
        self.ok("--x", x, "--y", y, *whole, "--epochs", 2, "--resume", "ck")
        # Generated data: another --rows is other data.
        gen = ["--layers", "8,16,2", "--quiet", "--optimizer", "adam", "--batch-size", 8]
        self.ok(*gen, "--rows", 16, "--epochs", 1, "--checkpoint", "gk")
        self.assert_refused_before_training(
            gen + ["--rows", 24, "--epochs", 2, "--resume", "gk"],
            "--resume gk: the checkpoint was trained on other data (")
        self.ok(*gen, "--rows", 16, "--epochs", 2, "--resume", "gk")
        # Issue 19 item 13: another split or standardization of the same files was blamed on
        # the data ("trained on other data ...; resume with the data of the first run"); it is
        # a flag that differs, named with its value now and then.
        prep = ["--x", x, "--y", y, *common, "--validation-fraction", 0.25]
        self.ok(*prep, "--epochs", 1, "--checkpoint", "pk")
        for args, needle in (
                ([*prep[:-1], 0.5], "--validation-fraction is 0.5 but the checkpoint in pk was "
                                    "trained with 0.25; resume with the flags of the first run"),
                # The default fraction holds out no rows of this small set (fewer than 20).
                (prep[:-2], "--validation-fraction is none (no rows held out) but the checkpoint "
                            "in pk was trained with 0.25"),
                ([*prep[:-1], 0], "--validation-fraction is none (no rows held out) but the "
                                  "checkpoint in pk was trained with 0.25"),
                ([*prep, "--no-standardize"], "standardization is off (--no-standardize) but the "
                                              "checkpoint in pk was trained with it; resume with "
                                              "the flags of the first run")):
            r = self.assert_refused_before_training(
                [*args, "--epochs", 2, "--resume", "pk"], needle)
            self.assertNotIn("other data", r.stderr)
        self.ok(*prep, "--epochs", 2, "--resume", "pk")
        self.ok("--x", x, "--y", y, *common, "--standardize", "--epochs", 1, "--checkpoint", "sk")
        self.assert_refused_before_training(
            ["--x", x, "--y", y, *common, "--no-standardize", "--epochs", 2, "--resume", "sk"],
            "standardization is off (--no-standardize) but the checkpoint in sk was trained with it")

    def test_resume_refuses_other_validation_data(self):
        # Early stopping resumed from a best val_loss measured on other rows (and the weights
        # kept for it) is not the run it continues; other --val-x/--val-y, or none where there
        # were some (and the reverse), were accepted. The checkpoint records a fingerprint of
        # the validation rows as well.
        x, y = self.teacher_data(rows=40)
        vx, vy = self.teacher_data(rows=20, seed=8, prefix="val-")
        vx2, vy2 = self.teacher_data(rows=20, seed=9, prefix="val2-")
        vx3, vy3 = self.teacher_data(rows=12, seed=8, prefix="val3-")
        common = ["--x", x, "--y", y, "--layers", "8,16,2", "--batch-size", 16, "--quiet",
                  "--optimizer", "adam"]
        val = ["--val-x", vx, "--val-y", vy]
        self.ok(*common, *val, "--patience", 3, "--epochs", 1, "--checkpoint", "ck")
        other = ("--resume ck: the checkpoint was validated on other data (", "); resume with "
                 "the validation data of the first run")
        for args, needle in (
                (["--val-x", vx2, "--val-y", vy], "val_x differs: same shape, other values"),
                (["--val-x", vx, "--val-y", vy2], "val_y differs: same shape, other values"),
                (["--val-x", vx3, "--val-y", vy3],
                 "the validation data differ: 12 rows now, 20 in the checkpoint")):
            with self.subTest(args=args):
                self.assert_refused_before_training(
                    [*common, *args, "--patience", 3, "--epochs", 2, "--resume", "ck"],
                    *other, needle)
        self.ok(*common, *val, "--patience", 3, "--epochs", 2, "--resume", "ck")
        # Without early stopping (--patience 0), validating or not is still the run's.
        self.ok(*common, *val, "--patience", 0, "--epochs", 1, "--checkpoint", "with")
        self.assert_refused_before_training(
            [*common, "--validation-fraction", 0, "--epochs", 2, "--resume", "with"],
            "--resume with: the checkpoint was validated on other data (the validation data "
            "differ: none now, 20 rows in the checkpoint)")
        self.ok(*common, "--validation-fraction", 0, "--epochs", 1, "--checkpoint", "without")
        self.assert_refused_before_training(
            [*common, *val, "--patience", 0, "--epochs", 2, "--resume", "without"],
            "--resume without: the checkpoint was validated on other data (the validation data "
            "differ: 20 rows now, none in the checkpoint)")
        self.ok(*common, "--validation-fraction", 0, "--epochs", 2, "--resume", "without")

    def test_resume_with_other_layers_names_the_checkpoint(self):
        # Issue 10 item 12: this blamed an empty --weights-in ("--weights-in : w1.npy is 8x16").
        x, y = self.teacher_data(rows=40)
        common = ["--x", x, "--y", y, "--batch-size", 16, "--quiet", "--optimizer", "adam"]
        self.ok(*common, "--layers", "8,16,2", "--epochs", 1, "--checkpoint", "ck")
        r = self.assert_refused_before_training(
            common + ["--layers", "8,32,2", "--epochs", 2, "--resume", "ck"],
            "--resume ck (checkpoint): w1.npy is 8x16, but --layers 8,32,2 needs 8x32")
        self.assertNotIn("--weights-in", r.stderr)

    def test_too_long_output_name_is_refused_before_training(self):
        # Issue 10 item 10: a name the filesystem cannot hold failed only after training,
        # when the temporary was renamed; a 254-character name (the limit is 255) works.
        self.ok("--steps", 2, "--rows", 8, "--quiet", "--loss-csv", "a" * 250 + ".csv")
        self.assert_refused_before_training(
            ["--steps", 2, "--rows", 8, "--quiet", "--loss-csv", "b" * 260 + ".csv"],
            "--loss-csv: the file name 'bbbb", "more than the filesystem's limit of 255")

    def test_too_long_output_directory_is_refused_before_training(self):
        # Issue 19 item 13: a --weights-out or --checkpoint name the filesystem cannot hold
        # failed only at the save, after every epoch. The check counts the names the saves
        # create inside (temporaries; a checkpoint's state being built, longer).
        x, y = self.teacher_data(rows=40)
        run = ["--x", x, "--y", y, "--layers", "8,16,2", "--epochs", 2, "--quiet",
               "--optimizer", "adam"]
        # --weights-out is created with its missing parents, --checkpoint in an existing one.
        for flag, name in (("--weights-out", "w" * 256), ("--checkpoint", "w" * 256),
                           ("--weights-out", os.path.join("new", "w" * 256, "deeper"))):
            self.assert_refused_before_training(
                run + [flag, name], flag + ": the directory name 'wwww",
                "has 256 characters, more than the filesystem's limit of 255")
        # A directory whose path is 4000 characters long holds a weight set (its temporaries
        # add at most 91), not a checkpoint (a state being built and a temporary in it).
        parent = os.path.join(*["p" * 249] * 15)
        os.makedirs(self.path(parent))
        deep = os.path.join(parent, "q" * (4000 - len(parent) - 1))
        self.assertEqual(len(deep), 4000)
        self.assert_refused_before_training(
            run + ["--checkpoint", deep], "--checkpoint: the path 'pppp",
            "(with the names nobias creates inside it, 4138 characters) is longer than the "
            "system's limit of 4095")
        self.ok(*run, "--weights-out", deep)
        self.assertIn("w2.npy", os.listdir(self.path(deep)))
        self.assert_refused_before_training(
            run + ["--weights-out", os.path.join(deep, "q" * 39)], "--weights-out: the path 'pppp",
            "(with the names nobias creates inside it, 4131 characters)")

    def test_resume_lr_message_shows_the_difference(self):
        # Issue 10 item 12: %g printed 0.00010000000000000002 as 0.0001, hiding the difference.
        x, y = self.teacher_data(rows=40)
        common = ["--x", x, "--y", y, "--layers", "8,16,2", "--batch-size", 16, "--quiet",
                  "--optimizer", "adam"]
        self.ok(*common, "--lr", "0.0001", "--epochs", 1, "--checkpoint", "ck")
        self.assert_refused_before_training(
            common + ["--lr", "0.00010000000000000002", "--epochs", 2, "--resume", "ck"],
            "--lr is 0.00010000000000000002 but the checkpoint in ck was trained with 1e-04")

    def test_checkpoint_leaves_other_files_alone(self):
        x, y = self.teacher_data(rows=40)
        os.mkdir(self.path("ck"))
        os.mkdir(self.path("ck", "state-backup"))
        with open(self.path("ck", "state-of-the-art.md"), "w") as f:
            f.write("mine")
        # Entries of the user's named exactly like states: they used to be removed by the
        # cleanup of superseded states.
        for sub in ("state-000001", "state-000005.building", "state-000002.building"):
            os.mkdir(self.path("ck", sub))
            with open(self.path("ck", sub, "notes.txt"), "w") as f:
                f.write("mine")
        with open(self.path("ck", "state-000042"), "w") as f:
            f.write("mine")
        before = tree_bytes(self.path("ck"))
        self.ok("--x", x, "--y", y, "--layers", "8,16,2", "--quiet", "--epochs", 3,
                "--optimizer", "adam", "--checkpoint", "ck")
        self.assertEqual(sorted(os.listdir(self.path("ck"))),
                         ["CURRENT", "state-000001", "state-000002.building", "state-000003",
                          "state-000005.building", "state-000042", "state-backup",
                          "state-of-the-art.md"])
        after = tree_bytes(self.path("ck"))
        self.assertEqual({k: v for k, v in after.items() if k in before}, before)

    def test_steps_mode_with_adam(self):
        x, y = self.teacher_data()
        r = self.ok("--x", x, "--y", y, "--layers", "8,16,2", "--steps", 30, "--optimizer",
                    "adam", "--lr", 1e-2, "--loss", "mean", "--loss-csv", "loss.csv", "--quiet")
        _, losses = read_loss_csv(self.path("loss.csv"))
        self.assertEqual(len(losses), 30)
        self.assertLess(final_line(r.stdout)[0], losses[0])

    def test_bad_epoch_flags(self):
        x, y = self.teacher_data()
        rng = np.random.default_rng(8)
        np.save(self.path("vx7.npy"), rng.standard_normal((10, 7)))
        np.save(self.path("vy.npy"), rng.standard_normal((10, 2)))
        np.save(self.path("vy3.npy"), rng.standard_normal((10, 3)))
        np.save(self.path("vy9.npy"), rng.standard_normal((9, 2)))
        vx = rng.standard_normal((10, 8))
        np.save(self.path("vx.npy"), vx)
        vx[3, 4] = np.nan
        np.save(self.path("vxnan.npy"), vx)
        data = ["--x", x, "--y", y, "--layers", "8,16,2"]
        epochs = data + ["--epochs", "2"]
        momentum = "--momentum must be a number in [0, 1), got '%s'"
        decay = "--weight-decay must be a number that is finite and >= 0, got '%s'"
        lr_required = "--lr is required with --optimizer momentum or --loss mean"
        cases = [
            (data + ["--epochs", "0"], ["--epochs must be at least 1, got 0"]),
            (data + ["--epochs", "-1"], ["--epochs must be a whole number, got '-1'"]),
            (data + ["--epochs", "x"], ["--epochs must be a whole number, got 'x'"]),
            (epochs + ["--steps", "3"], ["--steps excludes --epochs"]),
            (epochs + ["--batch-size", "0"], ["--batch-size must be at least 1, got 0"]),
            (epochs + ["--log-every", "2"], ["--epochs excludes --log-every"]),
            (data + ["--steps", "3", "--batch-size", "8"], ["--batch-size needs --epochs"]),
            (data + ["--steps", "3", "--no-shuffle"],
             ["--no-shuffle needs --epochs (epoch-based training)"]),
            (data + ["--steps", "3", "--val-x", "vx.npy", "--val-y", "vy.npy"],
             ["--val-x/--val-y needs --epochs"]),
            (epochs + ["--optimizer", "foo"],
             ["--optimizer must be sgd, momentum or adam, got 'foo'"]),
            (epochs + ["--loss", "foo"], ["--loss must be sum or mean, got 'foo'"]),
            (epochs + ["--optimizer", "momentum", "--lr", "0.1", "--momentum", "1"],
             [momentum % "1"]),
            (epochs + ["--optimizer", "momentum", "--lr", "0.1", "--momentum", "-0.1"],
             [momentum % "-0.1"]),
            (epochs + ["--optimizer", "adam", "--momentum", "0.5"],
             ["--momentum needs --optimizer momentum"]),
            (epochs + ["--momentum", "0.5"], ["--momentum needs --optimizer momentum"]),
            (epochs + ["--optimizer", "adam", "--nesterov"],
             ["--nesterov needs --optimizer momentum"]),
            (epochs + ["--weight-decay", "-1"], [decay % "-1"]),
            (epochs + ["--weight-decay", "inf"], [decay % "inf"]),
            (epochs + ["--optimizer", "sgd", "--loss", "mean"], [lr_required]),
            (epochs + ["--optimizer", "momentum"], [lr_required]),
            (epochs + ["--val-x", "vx.npy"], ["--val-x requires --val-y"]),
            (epochs + ["--val-y", "vy.npy"], ["--val-y requires --val-x"]),
            (epochs + ["--val-x", "vx7.npy", "--val-y", "vy.npy"],
             ["--val-x vx7.npy is 10x7, but the input width is 8 (--layers 8,16,2)"]),
            (epochs + ["--val-x", "vx.npy", "--val-y", "vy3.npy"],
             ["--val-y vy3.npy is 10x3, but the output width is 2 (--layers 8,16,2)"]),
            (epochs + ["--val-x", "vx.npy", "--val-y", "vy9.npy"],
             ["--val-x vx.npy is 10x8, --val-y vy9.npy is 9x2: row counts differ"]),
            (epochs + ["--val-x", "vxnan.npy", "--val-y", "vy.npy"],
             ["--val-x: vxnan.npy: element (3, 4) is nan; values must be finite"]),
            (epochs + ["--val-x", "none.npy", "--val-y", "vy.npy"],
             ["--val-x: read_npy: none.npy: file does not exist"]),
        ]
        for args, needles in cases:
            with self.subTest(args=args[len(data):]):
                self.assert_bad_input(args, *needles)

    def test_epochs_divergence(self):
        x, y = self.teacher_data()
        before = sorted(os.listdir(self.dir))
        r = self.run_cli("--x", x, "--y", y, "--layers", "8,16,2", "--epochs", 5, "--lr", 10,
                         "--optimizer", "sgd", "--loss", "sum", "--dtype", "f32",
                         "--loss-csv", "loss.csv", "--weights-out", ".")
        self.assert_diverged(r)
        self.assertRegex(r.stderr, r"epoch \d+, step \d+")
        self.assertEqual(sorted(os.listdir(self.dir)), before)

    # ---- 10. --help ----

    def test_help(self):
        r = self.run_cli("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        for flag in ALL_FLAGS:
            self.assertIn(flag, r.stdout)
        self.assertIn("f32", r.stdout)
        self.assertIn("f64", r.stdout)
        self.assertEqual(os.listdir(self.dir), [])

    def test_help_says_what_happens_to_missing_output_directories(self):
        # Issue 19 item 13: --help said --weights-out "must exist"; it is created with its
        # missing parents, and --checkpoint in an existing parent only.
        text = " ".join(self.run_cli("--help").stdout.split())
        self.assertIn("into DIR (created, with its missing parents, if missing)", text)
        self.assertIn("(created if missing; its parent must exist)", text)
        self.assertNotIn("(must exist)", text)
        run = ["--layers", "4,3,2", "--rows", 8, "--epochs", 1, "--quiet"]
        self.ok(*run, "--weights-out", os.path.join("a", "b", "model"))
        self.assertIn("w2.npy", os.listdir(self.path("a", "b", "model")))
        self.ok(*run, "--checkpoint", os.path.join("a", "ck"))
        self.assert_refused_before_training(
            run + ["--checkpoint", os.path.join("c", "ck")], "--checkpoint: 'c' is not an "
            "existing directory")

    def test_version(self):
        # The BLAS line itself is checked against the build's choice by ctest's blas_backend.
        r = self.ok("--version")
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 2, r.stdout)
        self.assertRegex(lines[0], r"^nobias-train \d+\.\d+\.\d+$")
        self.assertTrue(lines[1].startswith("BLAS: "), lines[1])
        self.assertEqual(os.listdir(self.dir), [])


def main():
    global PROGRAM
    argv = list(sys.argv)
    program = None
    for i, arg in enumerate(argv):
        if arg == "--nobias-train" and i + 1 < len(argv):
            program = argv[i + 1]
            del argv[i:i + 2]
            break
        if arg.startswith("--nobias-train="):
            program = arg.split("=", 1)[1]
            del argv[i]
            break
    if program is None:
        sys.stderr.write("usage: %s --nobias-train PATH [unittest args]\n" % argv[0])
        return 2
    PROGRAM = os.path.abspath(program)
    if not os.access(PROGRAM, os.X_OK):
        sys.stderr.write("%s: not an executable: %s\n" % (argv[0], PROGRAM))
        return 2
    result = unittest.main(argv=argv, exit=False, verbosity=2).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
