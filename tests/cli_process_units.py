"""Tests of cli_model_test.py (its ModelToolsTest inherits them; run that file): what every
tool does about its process, whatever its flags (tools/cli_common.cpp, prepare_process and
run_tool):
  - a failed write to standard output (/dev/full, a closed stdout, a pipe whose reader has
    gone while SIGPIPE is ignored) exits 2 naming standard output and the reason, never 0;
    with SIGPIPE at its default the tool ends by it, quietly (no flood of messages);
  - a file-size limit (ulimit -f) fails the write with "File too large" (exit 2, no temporary
    left, the old output kept) instead of killing the tool with SIGXFSZ;
  - a bad NOBIAS_THREADS is refused on inputs of any size, not only on those large enough
    to run on several threads;
  - a FIFO (or another file that is not a regular one) in a model directory is refused at
    once, not waited on for a writer that never comes.
"""

import os
import resource
import signal
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

    def assert_stdout_failed(self, r, tool, reason):
        """Exit 2 and one line on stderr (after any warning of the run) naming the failure."""
        self.assertEqual(r.returncode, 2, r.stderr)
        line = "%s: standard output: write failed (%s)\n" % (tool, reason)
        self.assertTrue(r.stderr.endswith(line), r.stderr)
        self.assertEqual(r.stderr.count("standard output"), 1, r.stderr)

    def stdout_runs(self, x, y):
        """(name, tool, args) of runs that write to standard output and nothing else fails."""
        return [
            ("evaluate", "nobias-evaluate", ["--weights", "m", "--x", x, "--y", y]),
            ("evaluate --json", "nobias-evaluate", ["--weights", "m", "--x", x, "--y", y,
                                                    "--json"]),
            ("train", "nobias-train", ["--x", x, "--y", y, "--epochs", "1", "--threads", "1",
                                       "--weights-out", "m2"]),
            ("train --quiet", "nobias-train", ["--x", x, "--y", y, "--epochs", "1",
                                               "--threads", "1", "--quiet"]),
            ("train --steps", "nobias-train", ["--steps", "3", "--layers", "4,5,2", "--rows",
                                               "9"]),
        ] + [(tool + " " + flag, tool, [flag])
             for tool in ("nobias-train", "nobias-predict", "nobias-evaluate", "nobias-export")
             for flag in ("--help", "--version")]

    # ---- 1. a failed write to standard output is an error ----

    def test_a_failed_standard_output_exits_2_naming_it(self):
        x, y = self.process_model()
        for name, tool, args in self.stdout_runs(x, y):
            with self.subTest(name=name, stdout="/dev/full"):
                with open("/dev/full", "w") as full:
                    r = self.run_with(tool, args, stdout=full)
                self.assert_stdout_failed(r, tool, "No space left on device")
            with self.subTest(name=name, stdout="closed"):
                r = self.run_with(tool, args, stdout=subprocess.DEVNULL,
                                  preexec_fn=lambda: os.close(1))
                self.assert_stdout_failed(r, tool, "Bad file descriptor")
        # A closed stdout is not taken by a file the run opens: the model is whole, and no
        # progress line went into it.
        r = self.run_with("nobias-train", ["--x", x, "--y", y, "--epochs", "2", "--threads",
                                           "1", "--weights-out", "m3"],
                          stdout=subprocess.DEVNULL, preexec_fn=lambda: os.close(1))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.ok("nobias-evaluate", "--weights", "m3", "--x", x, "--y", y)

    def test_a_pipe_without_reader(self):
        x, y = self.process_model()
        for name, tool, args in self.stdout_runs(x, y)[:3]:
            # SIGPIPE at its default (as a shell starts a pipeline): the tool ends by it, as
            # cat does under | head, and says nothing.
            with self.subTest(name=name, sigpipe="default"):
                read, write = os.pipe()
                os.close(read)
                try:
                    r = self.run_with(tool, args, stdout=write)
                finally:
                    os.close(write)
                self.assertEqual(r.returncode, -signal.SIGPIPE, r.stderr)
                self.assertNotIn("standard output", r.stderr)
            # SIGPIPE ignored by whoever started it: one message, exit 2, not one per line.
            with self.subTest(name=name, sigpipe="ignored"):
                read, write = os.pipe()
                os.close(read)
                try:
                    r = self.run_with(tool, args, stdout=write,
                                      preexec_fn=lambda: signal.signal(signal.SIGPIPE,
                                                                       signal.SIG_IGN))
                finally:
                    os.close(write)
                self.assert_stdout_failed(r, tool, "Broken pipe")

    def test_a_failed_standard_error_is_not_exit_0(self):
        x, _ = self.process_model()
        # A constant target: r2 is undefined, which text mode notes on stderr.
        self.save("flat.npy", np.ones((40, 2), dtype=np.float32))
        args = ["--weights", "m", "--x", x, "--y", "flat.npy"]
        with open("/dev/full", "w") as full:
            r = self.run_with("nobias-evaluate", args, stderr=full)
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn("r2 undefined", r.stdout)
        # Nothing written to stderr: nothing failed.
        with open("/dev/full", "w") as full:
            r = self.run_with("nobias-evaluate", args + ["--json"], stderr=full)
        self.assertEqual(r.returncode, 0, r.stdout)

    # ---- 2. a file-size limit is an IoError, not SIGXFSZ ----

    def test_a_file_size_limit_fails_the_write_cleanly(self):
        x, _ = self.process_model()
        limit = 64 * 1024
        # predict: 20,000 rows of 2 float32 outputs, 160 kB.
        self.save("big.npy", np.random.default_rng(5).standard_normal((20000, 5))
                  .astype(np.float32))
        with open(self.path("p.npy"), "w") as old:
            old.write("old")

        def limited():
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        r = self.run_with("nobias-predict", ["--weights", "m", "--x", "big.npy", "--out",
                                             "p.npy"], preexec_fn=limited)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertTrue(r.stderr.startswith("nobias-predict: "), r.stderr)
        self.assertIn("(File too large)", r.stderr)
        with open(self.path("p.npy")) as f:
            self.assertEqual(f.read(), "old")
        # train --weights-out: w2.npy of 300 x 300 float32 is 360 kB; the old model stays.
        before = {name: open(self.path("m", name), "rb").read()
                  for name in os.listdir(self.path("m"))}
        r = self.run_with("nobias-train", ["--steps", "1", "--layers", "5,300,300,2",
                                           "--weights-out", "m", "--quiet"],
                          preexec_fn=limited)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertTrue(r.stderr.startswith("nobias-train: "), r.stderr)
        self.assertIn("(File too large)", r.stderr)
        after = {name: open(self.path("m", name), "rb").read()
                 for name in os.listdir(self.path("m"))}
        self.assertEqual(after, before)
        leftovers = [name for _, _, names in os.walk(self.dir) for name in names
                     if name.startswith(".nobias-tmp-")]
        self.assertEqual(leftovers, [])

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
                        self.assertIn(name + ": is a FIFO (named pipe), expected a regular "
                                      "file", r.stderr)
                        self.assertFalse(os.path.exists(self.path("p.npy")))
