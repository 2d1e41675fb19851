"""Ctrl-C during a call that released the GIL: write_npy into a FIFO whose reader is absent or
reads nothing, and a predict over many rows, float32 and float64. Python's SIGINT handler only
sets a flag; these calls once ran to their end (a minute of predict) or waited without end
(the FIFO's open or write retried after EINTR). Each runs in a fresh interpreter that is sent
SIGINT while inside the call, and must end with KeyboardInterrupt within about a second,
leaving no file behind."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

CHILD = textwrap.dedent("""
    import os, sys, time
    import numpy
    import nobias

    case, where = sys.argv[1], sys.argv[2]
    if case == "predict32" or case == "predict64":
        dtype = numpy.float32 if case == "predict32" else numpy.float64
        net = nobias.Network([16, 2048, 2048, 1], seed=1, init="he", dtype=dtype)
        x = numpy.random.default_rng(0).standard_normal((200_000, 16)).astype(dtype)
        call = lambda: net.predict(x)  # a minute or more on two cores
    else:
        array = numpy.ones((1000, 1000))  # 8 MB: far more than a pipe holds
        call = lambda: nobias.write_npy(os.path.join(where, "fifo"), array)
    print("ready", flush=True)
    try:
        call()
    except KeyboardInterrupt:
        print("interrupted", sorted(os.listdir(where)), flush=True)
        sys.exit(0)
    print("finished uninterrupted", flush=True)
    sys.exit(1)
""")


def interrupted(case, where, environment=None, before=None):
    """Runs CHILD's case, sends SIGINT 1 s into the call; returns (seconds from the signal to
    the child's end, its output)."""
    env = dict(os.environ, **(environment or {}))
    child = subprocess.Popen([sys.executable, "-c", CHILD, case, str(where)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        if before:
            before()
        time.sleep(1.0)  # well inside the call: its arguments are ready
        child.send_signal(signal.SIGINT)
        sent = time.monotonic()
        try:
            out, err = child.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            out, err = child.communicate()
            pytest.fail(f"{case}: still running 20 s after SIGINT (not interruptible): {out}{err}")
        return time.monotonic() - sent, out, err, child.returncode
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def check(case, result, files):
    seconds, out, err, status = result
    assert status == 0 and out.strip() == f"interrupted {files!r}", (case, out, err)
    # About a second: a block of rows, or a poll, and the interpreter's own start of a handler.
    assert seconds < 3.0, f"{case}: {seconds:.1f} s from SIGINT to KeyboardInterrupt"


def test_write_npy_into_a_fifo_without_reader_is_interrupted(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    check("fifo", interrupted("fifo", tmp_path), ["fifo"])


def test_write_npy_into_a_fifo_whose_reader_reads_nothing_is_interrupted(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    reader = os.open(tmp_path / "fifo", os.O_RDONLY | os.O_NONBLOCK)  # open, reading nothing
    got = []
    try:
        result = interrupted("fifo", tmp_path, before=lambda: time.sleep(0.5))
        got.append(os.read(reader, 6))
    finally:
        os.close(reader)
    check("fifo", result, ["fifo"])
    assert got == [b"\x93NUMPY"]  # the write had begun, then waited for the reader


@pytest.mark.parametrize("case, environment", [
    ("predict32", {}), ("predict32", {"NOBIAS_SGEMM": "blas"}),
    ("predict64", {})], ids=["float32", "float32-blas", "float64"])
def test_a_long_predict_is_interrupted(tmp_path, case, environment):
    check(case, interrupted(case, tmp_path, environment), [])
