"""A signal storm while Python trains and predicts (issue 19, item 1): SIGALRM every 0.5 ms
with a Python handler during train_step, predict and fit, float32 and float64, on every float32
backend. oneDNN's kernel once corrupted the heap when a handler ran on the thread's stack
(Ctrl-C during a float32 fit aborted 9 runs of 16). Each scenario runs in a fresh interpreter,
so a crash fails the test instead of the test run; the results under signals must be the bits
of the same work done without them."""
import os
import subprocess
import sys
import textwrap

import pytest

SCENARIO = """
import signal, sys, time
import numpy
import nobias

dtype, seconds = sys.argv[1], float(sys.argv[2])
handled = 0
def count(signum, frame):
    global handled
    handled += 1

rng = numpy.random.default_rng(0)
x = rng.standard_normal((64, 1000)).astype(dtype)      # the README's batch of the seed's case
y = rng.standard_normal((64, 10)).astype(dtype)
big = rng.standard_normal((4096, 1000)).astype(dtype)  # predictions at scale

def work(rounds):
    net = nobias.Network([1000, 100, 100, 10], seed=1, init="he", dtype=dtype)
    for _ in range(rounds):
        net.train_step(x, y, 1e-5)
    predictions = [net.predict(big) for _ in range(max(1, rounds // 50))]
    nobias.fit(net, nobias.Optimizer(net, kind="adam", learning_rate=1e-4), x, y,
               epochs=max(1, rounds // 10), batch_size=4)
    return [numpy.array(w) for w in net.weights] + predictions

work(1)  # oneDNN generates its kernels
start = time.perf_counter()
work(20)
rounds = max(20, int(20 * seconds / (time.perf_counter() - start)))
quiet = work(rounds)
signal.signal(signal.SIGALRM, count)
signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
stormy = work(rounds)
signal.setitimer(signal.ITIMER_REAL, 0, 0)
assert handled > 0, "no signal reached the handler: the storm proved nothing"
for a, b in zip(quiet, stormy):
    assert a.tobytes() == b.tobytes(), "results under signals differ from the quiet run's"
print("rounds", rounds, "signals", handled)
"""


def backends():
    yield "float32", {}
    yield "float32", {"NOBIAS_SGEMM": "blas"}
    yield "float64", {}
    yield "float64", {"NOBIAS_DGEMM": "blas"}


@pytest.mark.parametrize("dtype,environment", list(backends()),
                         ids=lambda v: v if isinstance(v, str) else ",".join(v) or "default")
def test_signal_storm_during_training_and_prediction(dtype, environment):
    env = dict(os.environ, **environment)
    for run in range(3):
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(SCENARIO), dtype, "1"],
                              capture_output=True, text=True, timeout=300, env=env)
        assert done.returncode == 0, "run %d: exit status %d\nstdout:\n%s\nstderr:\n%s" % (
            run, done.returncode, done.stdout, done.stderr[-3000:])
