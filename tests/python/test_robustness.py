"""What used to take the interpreter down or hang it: pickling at protocols 0 and 1, methods
of an object whose __init__ never ran, and fit() callbacks of two threads that call into each
other's network. The crashing and hanging cases run in a subprocess, so that a regression fails
the test instead of the test run."""
import os
import pickle
import subprocess
import sys
import textwrap

import numpy
import pytest

import nobias

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)


def run_python(code, timeout=60):
    """Runs code in a fresh interpreter (same PYTHONPATH); its CompletedProcess."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ))


def assert_runs(code, timeout=60):
    try:
        done = run_python(code, timeout)
    except subprocess.TimeoutExpired:
        pytest.fail("the scenario did not finish within %d s (a deadlock?)" % timeout)
    assert done.returncode == 0, "exit status %d\nstdout:\n%s\nstderr:\n%s" % (
        done.returncode, done.stdout, done.stderr)
    return done.stdout


# 1. Pickling, every protocol.

def test_pickle_at_every_protocol_does_not_crash():
    # Protocols 0 and 1 went through copyreg._reduce_ex, which called pybind11_object(self):
    # an exception out of a C slot, std::terminate.
    out = assert_runs("""
        import pickle, numpy, nobias
        net = nobias.Network([5, 8, 1])
        optimizer = nobias.Optimizer(net, kind="adam")
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            pickle.loads(pickle.dumps(net, protocol=protocol))
            pickle.loads(pickle.dumps(optimizer, protocol=protocol))
        x = numpy.random.default_rng(0).standard_normal((40, 5))
        model = nobias.Regressor(hidden_layer_sizes=(8,), max_epochs=3).fit(x, x[:, 0])
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            pickle.loads(pickle.dumps(model, protocol=protocol))
        print("ok")
    """)
    assert out.strip() == "ok"


def test_network_optimizer_and_regressor_round_trip_exactly_at_every_protocol():
    # In a subprocess: before the fix, protocol 0 aborted the interpreter.
    out = assert_runs("""
        import pickle, numpy, nobias
        rng = numpy.random.default_rng(3)
        checked = 0
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            for dtype in (numpy.float32, numpy.float64):
                net = nobias.Network([5, 8, 1], seed=4, dtype=dtype)
                twin = pickle.loads(pickle.dumps(net, protocol=protocol))
                assert type(twin) is nobias.Network
                assert twin.dtype == dtype and twin.widths == [5, 8, 1]
                for a, b in zip(twin.weights, net.weights):
                    assert a.dtype == dtype
                    numpy.testing.assert_array_equal(a, b)
                x = rng.standard_normal((20, 5)).astype(dtype)
                y = rng.standard_normal((20, 2)).astype(dtype)
                numpy.testing.assert_array_equal(twin.predict(x), net.predict(x))

                for kind in ("sgd", "momentum", "adam"):
                    net = nobias.Network([5, 6, 2], seed=6, dtype=dtype)
                    optimizer = nobias.Optimizer(net, kind=kind, learning_rate=1e-3,
                                                 nesterov=True, weight_decay=1e-4)
                    for _ in range(3):
                        optimizer.step(net, x, y)
                    twin = pickle.loads(pickle.dumps(optimizer, protocol=protocol))
                    assert type(twin) is nobias.Optimizer and twin.dtype == dtype
                    assert twin.config == optimizer.config and twin.steps_taken == 3
                    for mine, theirs in ((twin.first, optimizer.first),
                                         (twin.second, optimizer.second)):
                        assert len(mine) == len(theirs)
                        for a, b in zip(mine, theirs):
                            assert a.dtype == dtype
                            numpy.testing.assert_array_equal(a, b)
                    # The copy goes on exactly as the original does.
                    other = nobias.Network.from_weights(net.weights)
                    optimizer.step(net, x, y)
                    twin.step(other, x, y)
                    for a, b in zip(net.weights, other.weights):
                        numpy.testing.assert_array_equal(a, b)
                    checked += 1

            x = rng.standard_normal((40, 5))
            model = nobias.Regressor(hidden_layer_sizes=(8,), max_epochs=3).fit(x, x[:, 0])
            again = pickle.loads(pickle.dumps(model, protocol=protocol))
            numpy.testing.assert_array_equal(again.predict(x), model.predict(x))
        print("ok", checked)
    """)
    assert out.strip() == "ok %d" % (len(PROTOCOLS) * 2 * 3)


def test_objects_without_a_pickled_form_refuse_clearly_at_every_protocol():
    out = assert_runs("""
        import pickle, numpy, nobias
        net = nobias.Network([3, 2])
        x = numpy.ones((4, 3), dtype=numpy.float32)
        reports = []
        nobias.fit(net, nobias.Optimizer(net), x, x[:, :2], epochs=1,
                   on_step=reports.append)
        objects = [nobias.fit(net, nobias.Optimizer(net), x, x[:, :2], epochs=1)[0],
                   reports[0], nobias.TrainingProgress()]
        for obj in objects:
            for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
                try:
                    pickle.dumps(obj, protocol=protocol)
                except TypeError as e:
                    assert type(obj).__name__ in str(e), str(e)
                else:
                    raise AssertionError("pickled %r" % obj)
        print("ok")
    """)
    assert out.strip() == "ok"


# 2. Objects whose __init__ never ran.

def test_methods_of_an_uninitialized_object_raise_instead_of_crashing():
    out = assert_runs("""
        import copy, pickle, numpy, nobias
        x = numpy.ones((2, 5), dtype=numpy.float32)
        y = numpy.ones((2, 1), dtype=numpy.float32)
        net = nobias.Network([5, 1])
        live_optimizer = nobias.Optimizer(net)
        calls = {
            nobias.Network: [
                lambda o: o.predict(x), lambda o: o.loss(x, y), lambda o: o.gradients(x, y),
                lambda o: o.train_step(x, y, 0.1), lambda o: o.dtype, lambda o: o.widths,
                lambda o: o.layers, lambda o: o.weights, repr, copy.copy, copy.deepcopy,
                pickle.dumps, lambda o: nobias.Optimizer(o),
                lambda o: nobias.fit(o, live_optimizer, x, y),
                lambda o: live_optimizer.step(o, x, y),
                lambda o: nobias.save_weights("unused", o),
                lambda o: nobias.save_model("unused", o),
            ],
            nobias.Optimizer: [
                lambda o: o.step(net, x, y), lambda o: o.dtype, lambda o: o.config,
                lambda o: o.steps_taken, lambda o: o.state(), lambda o: o.first,
                lambda o: o.second, lambda o: o.restore("sgd", 0, [], []),
                pickle.dumps, lambda o: nobias.fit(net, o, x, y),
                lambda o: nobias.save_checkpoint("unused", net, o,
                                                 nobias.TrainingProgress()),
            ],
            nobias.Checkpoint: [
                lambda o: o.weights, lambda o: o.first, lambda o: o.second,
                lambda o: o.optimizer, lambda o: o.optimizer_steps, lambda o: o.progress,
                lambda o: o.trained_dtype, lambda o: o.dtype,
                lambda o: nobias.restore_optimizer(live_optimizer, o),
            ],
            nobias.TrainingProgress: [
                lambda o: o.epochs_done, lambda o: o.seed, lambda o: o.batch_size,
                lambda o: o.shuffle, lambda o: o.reduction,
            ],
            nobias.EpochReport: [
                lambda o: o.epoch, lambda o: o.train_loss, lambda o: o.stops, repr,
            ],
            nobias.StepReport: [lambda o: o.epoch, lambda o: o.step, lambda o: o.loss],
        }
        checked = 0
        for cls, uses in calls.items():
            for use in uses:
                for obj in (cls.__new__(cls), type("Sub", (cls,), {}).__new__(
                        type("Sub", (cls,), {}))):
                    try:
                        use(obj)
                    except TypeError as e:
                        assert "not initialized" in str(e), (cls, str(e))
                        checked += 1
                    else:
                        raise AssertionError("%s: a call on an uninitialized object passed"
                                             % cls.__name__)
        # __setstate__ (what unpickling calls) initializes it; nothing else changed.
        fresh = nobias.Network.__new__(nobias.Network)
        fresh.__setstate__(net.__getstate__())
        assert fresh.widths == [5, 1]
        print("ok", checked)
    """)
    assert out.startswith("ok ")


# 3. fit() callbacks that call into another thread's training.

def test_crossed_fit_callbacks_of_two_threads_do_not_deadlock():
    # Thread A trains a and its callbacks predict with b; thread B trains b and predicts with
    # a. Each held its own network and waited for the other's: neither could go on.
    out = assert_runs("""
        import threading, numpy, nobias
        rng = numpy.random.default_rng(0)
        x = rng.standard_normal((64, 10))
        y = rng.standard_normal((64, 2))
        nets = [nobias.Network([10, 16, 2], seed=s, dtype=numpy.float64) for s in (1, 2)]
        # Between the two barriers, both threads are inside a callback of their fit().
        both_in = threading.Barrier(2, timeout=30)
        both_tried = threading.Barrier(2, timeout=30)
        outcomes = [[], []]
        errors = []

        def train(me):
            other = nets[1 - me]
            first = [True]

            def on_step(report):
                if first[0]:
                    both_in.wait()
                try:
                    other.predict(x)
                    outcomes[me].append("predicted")
                except nobias.ValueError as e:
                    assert "being trained by another thread" in str(e), str(e)
                    outcomes[me].append("refused")
                if first[0]:
                    both_tried.wait()
                    first[0] = False
                net_prediction = nets[me].predict(x)  # its own network: always allowed
                assert net_prediction.shape == (64, 2)

            def on_epoch(report):
                try:
                    other.loss(x, y)
                except nobias.ValueError as e:
                    assert "being trained by another thread" in str(e), str(e)

            try:
                nobias.fit(nets[me], nobias.Optimizer(nets[me], learning_rate=1e-4), x, y,
                           epochs=20, batch_size=8, on_step=on_step, on_epoch=on_epoch)
            except BaseException as e:
                errors.append(repr(e))

        threads = [threading.Thread(target=train, args=(k,)) for k in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert all(len(o) == 20 * 8 for o in outcomes), [len(o) for o in outcomes]
        # While both trained, each callback was refused, never kept waiting.
        assert outcomes[0][0] == "refused" and outcomes[1][0] == "refused", outcomes
        print("ok")
    """)
    assert out.strip() == "ok"


def test_a_thread_outside_fit_still_waits_for_a_training_network():
    # Only a call from inside a fit() callback refuses: an ordinary call waits its turn.
    out = assert_runs("""
        import threading, numpy, nobias
        rng = numpy.random.default_rng(0)
        x = rng.standard_normal((64, 10))
        y = rng.standard_normal((64, 2))
        net = nobias.Network([10, 16, 2], seed=1, dtype=numpy.float64)
        started = threading.Event()
        results = []

        def on_step(report):
            started.set()

        def train():
            nobias.fit(net, nobias.Optimizer(net, learning_rate=1e-4), x, y, epochs=200,
                       batch_size=8, on_step=on_step)

        t = threading.Thread(target=train)
        t.start()
        started.wait(30)
        for _ in range(20):
            results.append(net.predict(x).shape)
        t.join()
        assert results == [(64, 2)] * 20
        print("ok")
    """)
    assert out.strip() == "ok"
