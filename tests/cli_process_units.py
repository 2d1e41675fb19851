"""Tests of cli_model_test.py (its ModelToolsTest inherits them; run that file): what every
tool does about its process, whatever its flags:
  - a bad NOBIAS_THREADS is refused on inputs of any size, not only on those large enough
    to run on several threads;
  - a FIFO (or another file that is not a regular one) in a model directory is refused at
    once, not waited on for a writer that never comes.
"""

import os
import subprocess

import numpy as np

# A tool that waits on a FIFO never ends: this bounds the wait, far above a refusal's time.
FIFO_TIMEOUT_S = 20


class ProcessTests:
    def process_model(self):
        """A small standardized regression model in m (model.json, x_mean.npy, ...)."""
        x, y = self.regression(rows=40, dtype=np.float32)
        self.ok("nobias-train", "--x", x, "--y", y, "--epochs", "1", "--threads", "1",
                "--weights-out", "m", "--quiet")
        return x, y

    def run_with(self, tool, args, timeout=None, **kwargs):
        """Runs tool with args; kwargs go to subprocess.run (stdout, stderr, preexec_fn, env)."""
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        return subprocess.run([self.tool_path(tool)] + [str(a) for a in args], cwd=self.dir,
                              universal_newlines=True, timeout=timeout or 120, **kwargs)

    # ---- 3. a bad NOBIAS_THREADS, on inputs of any size ----

    def test_bad_nobias_threads_is_refused_on_small_inputs(self):
        x, y = self.process_model()  # 40 rows: one piece, on the calling thread
        runs = [
            ("nobias-predict", ["--weights", "m", "--x", x, "--out", "p.npy"]),
            ("nobias-evaluate", ["--weights", "m", "--x", x, "--y", y]),
            ("nobias-train", ["--x", x, "--y", y, "--epochs", "1", "--quiet"]),
            ("nobias-train", ["--steps", "1", "--layers", "3,4,2", "--rows", "2", "--quiet"]),
        ]
        for bad in ("many", "-1", "4097", "", "2.5", " 2", "+2", "auto "):
            env = dict(os.environ, NOBIAS_THREADS=bad)
            for tool, args in runs:
                with self.subTest(tool=tool, args=args, value=bad):
                    r = self.run_with(tool, args, env=env)
                    self.assertEqual(r.returncode, 2, r.stderr)
                    self.assertEqual(r.stderr, '%s: NOBIAS_THREADS: expected "auto", 0 or a '
                                     'thread count, got "%s"\n' % (tool, bad))
                    self.assertFalse(os.path.exists(self.path("p.npy")))
        # --threads overrides it, bad or not.
        env = dict(os.environ, NOBIAS_THREADS="many")
        for tool, args in runs[:2]:
            r = self.run_with(tool, args + ["--threads", "1"], env=env)
            self.assertEqual(r.returncode, 0, r.stderr)

    # ---- 4. a FIFO in a model directory is refused at once ----

    def test_a_fifo_in_the_model_directory_is_refused_at_once(self):
        x, y = self.process_model()
        for name in ("model.json", "x_mean.npy", "w2.npy"):
            for manifest in (True, False):
                with self.subTest(name=name, manifest=manifest):
                    d = "fifo-%s-%d" % (name, manifest)
                    os.mkdir(self.path(d))
                    for f in os.listdir(self.path("m")):
                        if f == "nobias-manifest.txt" and not manifest:
                            continue
                        with open(self.path("m", f), "rb") as src, \
                                open(self.path(d, f), "wb") as dst:
                            dst.write(src.read())
                    os.remove(self.path(d, name))
                    os.mkfifo(self.path(d, name))
                    for tool, args in (("nobias-predict", ["--out", "p.npy"]),
                                       ("nobias-evaluate", ["--y", y])):
                        try:
                            r = self.run_with(tool, ["--weights", d, "--x", x] + args,
                                              timeout=FIFO_TIMEOUT_S)
                        except subprocess.TimeoutExpired:
                            self.fail("%s waited on the FIFO %s/%s" % (tool, d, name))
                        self.assertEqual(r.returncode, 2, r.stderr)
                        self.assertTrue(r.stderr.startswith(tool + ": --weights " + d),
                                        r.stderr)
                        self.assertIn(name, r.stderr)
                        if name != "w2.npy":  # a weight's header is refused by its size
                            self.assertIn(name + ": is a FIFO (named pipe), expected a regular "
                                          "file", r.stderr)
                        self.assertFalse(os.path.exists(self.path("p.npy")))
