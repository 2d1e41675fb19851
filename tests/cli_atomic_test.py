#!/usr/bin/env python3
"""Black-box tests of how the programs replace their outputs (lib/io/atomic_file.hpp):

    /usr/bin/python3 tests/cli_atomic_test.py --bin-dir DIR [unittest args]

- a replaced --out or --weights-out file keeps its permission bits, and (where the process may:
  root here) its owner and group; a new one gets 0666 less the umask;
- a run in another pid namespace (`unshare --pid`, as in a container) writing the same
  directory leaves a live run's temporary alone, and two runs with the same pid in two
  namespaces may write the same --out at once.
The namespace tests need root and unshare(1); elsewhere they are skipped, saying so.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np

from cli_main import bin_dir_and_argv, run_tests

BIN = None
TIMEOUT_S = 120


def can_unshare_pid():
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    r = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


class AtomicOutputsTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="nobias-atomic-")
        self.dir = self._tmp.name
        self._umask = os.umask(0o022)
        rng = np.random.default_rng(5)
        os.mkdir(self.path("small"))
        np.save(self.path("small", "w1.npy"), rng.standard_normal((5, 3)).astype(np.float32))
        np.save(self.path("small", "w2.npy"), rng.standard_normal((3, 2)).astype(np.float32))
        np.save(self.path("x5.npy"), rng.standard_normal((5, 5)).astype(np.float32))
        os.mkdir(self.path("shared"))

    def tearDown(self):
        os.umask(self._umask)
        self._tmp.cleanup()

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def tool(self, name):
        return os.path.join(BIN, name)

    def predict_small(self, out, prefix=()):
        return subprocess.run(list(prefix) + [self.tool("nobias-predict"), "--weights",
                                              self.path("small"), "--x", self.path("x5.npy"),
                                              "--out", out, "--threads", "1"],
                              capture_output=True, text=True, timeout=TIMEOUT_S)

    def ok(self, r):
        self.assertEqual(r.returncode, 0, "%s\n%s%s" % (r.args, r.stdout, r.stderr))

    def mode(self, path):
        return os.lstat(path).st_mode & 0o7777

    # ---- what a replaced output keeps ----

    def test_predict_out_keeps_the_mode_of_the_file_it_replaces(self):
        out = self.path("shared", "p.npy")
        for mode in (0o600, 0o640, 0o444, 0o664):
            with self.subTest(mode=oct(mode)):
                with open(out, "wb") as f:
                    f.write(b"old")
                os.chmod(out, mode)
                self.ok(self.predict_small(out))
                self.assertEqual(self.mode(out), mode)
                self.assertEqual(np.load(out).shape, (5, 2))
                os.remove(out)
        # A new file: 0666 less the umask.
        os.umask(0o027)
        self.ok(self.predict_small(out))
        self.assertEqual(self.mode(out), 0o640)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to give files away")
    def test_predict_out_keeps_owner_and_group(self):
        out = self.path("shared", "p.npy")
        with open(out, "wb") as f:
            f.write(b"old")
        os.chown(out, 65534, 65534)
        os.chmod(out, 0o640)
        self.ok(self.predict_small(out))
        st = os.lstat(out)
        self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o7777), (65534, 65534, 0o640))

    def test_weights_out_keeps_the_modes_of_its_files(self):
        rng = np.random.default_rng(6)
        np.save(self.path("x.npy"), rng.standard_normal((40, 5)))
        np.save(self.path("y.npy"), rng.standard_normal((40, 2)))
        model = self.path("model")
        train = [self.tool("nobias-train"), "--x", self.path("x.npy"), "--y", self.path("y.npy"),
                 "--layers", "5,4,2", "--epochs", "1", "--threads", "1", "--quiet",
                 "--weights-out", model]
        self.ok(subprocess.run(train, capture_output=True, text=True, timeout=TIMEOUT_S))
        names = sorted(n for n in os.listdir(model) if not n.startswith("."))
        self.assertIn("w1.npy", names)
        for n in names:
            os.chmod(os.path.join(model, n), 0o600)
        self.ok(subprocess.run(train, capture_output=True, text=True, timeout=TIMEOUT_S))
        for n in names:
            with self.subTest(name=n):
                self.assertEqual(self.mode(os.path.join(model, n)), 0o600)

    # ---- runs in other pid namespaces ----

    def big_model(self):
        """A model and an input that nobias-predict takes a while over (a second or so)."""
        rng = np.random.default_rng(7)
        os.mkdir(self.path("big"))
        for k, (a, b) in enumerate(((128, 256), (256, 256), (256, 4))):
            np.save(self.path("big", "w%d.npy" % (k + 1)),
                    (rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32))
        np.save(self.path("big.npy"), rng.standard_normal((50000, 128)).astype(np.float32))

    def stopped_while_saving(self, out, prefix=()):
        """Starts nobias-predict on the big model writing out, in its own process group, and
        stops the group (SIGSTOP) once its temporary exists: a live run in the middle of its
        save, for as long as the test needs."""
        run = subprocess.Popen(list(prefix) + [self.tool("nobias-predict"), "--weights",
                                               self.path("big"), "--x", self.path("big.npy"),
                                               "--out", out, "--threads", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
        directory = os.path.dirname(out)
        deadline = time.monotonic() + 60
        while run.poll() is None and time.monotonic() < deadline:
            if any(n.startswith(".nobias-tmp-") for n in os.listdir(directory)):
                os.killpg(run.pid, signal.SIGSTOP)
                return run
            time.sleep(0.0005)
        run.kill()
        self.fail("nobias-predict ended (or took a minute) before its temporary was seen: %s"
                  % (run.communicate(),))

    def resume(self, run):
        os.killpg(run.pid, signal.SIGCONT)
        stdout, stderr = run.communicate(timeout=TIMEOUT_S)
        return run.returncode, stdout + stderr

    @unittest.skipUnless(can_unshare_pid(), "needs root and unshare(1) to make pid namespaces")
    def test_a_run_in_another_pid_namespace_keeps_a_live_run_s_temporary(self):
        # The tester's report: the namespaced run took the live run's pid for a dead one,
        # removed its temporary, and the live run failed "cannot rename temporary ...".
        self.big_model()
        a = self.stopped_while_saving(self.path("shared", "a.npy"))
        try:
            before = [n for n in os.listdir(self.path("shared")) if n.startswith(".nobias-tmp-")]
            self.ok(self.predict_small(self.path("shared", "b.npy"),
                                       ["unshare", "--pid", "--fork", "--mount-proc"]))
            after = [n for n in os.listdir(self.path("shared")) if n.startswith(".nobias-tmp-")]
        finally:
            status, output = self.resume(a)
        self.assertEqual(status, 0, output)
        self.assertEqual(after, before)
        self.assertEqual(np.load(self.path("shared", "a.npy")).shape, (50000, 4))
        self.assertEqual(np.load(self.path("shared", "b.npy")).shape, (5, 2))
        self.assertEqual([n for n in os.listdir(self.path("shared")) if n.startswith(".")], [])

    @unittest.skipUnless(can_unshare_pid(), "needs root and unshare(1) to make pid namespaces")
    def test_the_same_pid_in_two_namespaces_writes_the_same_out(self):
        # Both runs are pid 1 of their namespace: the second failed "cannot create a temporary
        # file ... (File exists)".
        self.big_model()
        out = self.path("shared", "out.npy")
        ns = ["unshare", "--pid", "--fork", "--mount-proc"]
        a = self.stopped_while_saving(out, ns)
        try:
            self.ok(self.predict_small(out, ns))
            self.assertEqual(np.load(out).shape, (5, 2))
        finally:
            status, output = self.resume(a)
        self.assertEqual(status, 0, output)
        self.assertEqual(np.load(out).shape, (50000, 4))
        self.assertEqual([n for n in os.listdir(self.path("shared")) if n.startswith(".")], [])


if __name__ == "__main__":
    BIN, ARGV = bin_dir_and_argv(sys.argv)
    sys.exit(run_tests(ARGV))
