"""The GIL is released while nobias computes, one network shared by threads is serialized,
and Ctrl-C stops fit() between steps with the network at its last completed step."""
import signal
import threading
import time

import numpy
import pytest

import nobias


@pytest.fixture
def one_thread():
    # Leave the second core to the Python thread under test.
    saved = nobias.threads_setting()
    nobias.set_threads(1)
    yield
    nobias.set_threads(saved)


def progress_during(call):
    """How far a busy Python thread counts while call() runs in this one."""
    counter = [0]
    stop = threading.Event()

    def count():
        while not stop.is_set():
            counter[0] += 1

    thread = threading.Thread(target=count)
    thread.start()
    time.sleep(0.05)
    before = counter[0]
    call()
    after = counter[0]
    stop.set()
    thread.join()
    return after - before


def test_fit_predict_and_train_step_release_the_gil(one_thread):
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((512, 400))
    y = rng.standard_normal((512, 10))
    net = nobias.Network([400, 300, 300, 10], seed=1, init="he", dtype=numpy.float64)
    optimizer = nobias.Optimizer(net, kind="adam")
    big = rng.standard_normal((20000, 400))
    # While the GIL is held, the counter cannot move at all; while released, it moves
    # millions of times a second.
    assert progress_during(lambda: nobias.fit(net, optimizer, x, y, epochs=8,
                                              batch_size=64)) > 10000
    assert progress_during(lambda: net.predict(big)) > 10000
    assert progress_during(lambda: [net.train_step(big[:4096], y[:1].repeat(4096, 0), 1e-9)
                                    for _ in range(3)]) > 10000


def test_one_network_from_two_threads_is_serialized():
    # Every step is the same function of the weights (same full batch), so 2 x 150 steps
    # taken by two threads, whole and one at a time, equal 300 steps in one thread bit for
    # bit. Steps that overlapped would share the network's workspace and differ.
    rng = numpy.random.default_rng(1)
    x = rng.standard_normal((96, 50))
    y = rng.standard_normal((96, 8))
    shared = nobias.Network([50, 40, 30, 8], seed=2, dtype=numpy.float64)
    alone = nobias.Network([50, 40, 30, 8], seed=2, dtype=numpy.float64)
    losses = []
    start = threading.Barrier(3)

    def train():
        start.wait()
        mine = [shared.train_step(x, y, 1e-6) for _ in range(150)]
        losses.extend(mine)

    def read():
        start.wait()
        for _ in range(150):
            shared.predict(x)
            shared.loss(x, y)

    threads = [threading.Thread(target=train), threading.Thread(target=train),
               threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = [alone.train_step(x, y, 1e-6) for _ in range(300)]
    assert sorted(losses) == sorted(expected)
    for a, b in zip(shared.weights, alone.weights):
        numpy.testing.assert_array_equal(a, b)


def test_ctrl_c_stops_fit_at_a_completed_step():
    rng = numpy.random.default_rng(2)
    rows, batch = 60, 16  # 4 steps an epoch, the last one partial
    x = rng.standard_normal((rows, 30))
    y = rng.standard_normal((rows, 4))
    net = nobias.Network([30, 20, 4], seed=3, init="he", dtype=numpy.float64)
    optimizer = nobias.Optimizer(net, learning_rate=1e-5)
    main = threading.main_thread().ident
    timer = threading.Timer(0.3, lambda: signal.pthread_kill(main, signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            # Far more epochs than 0.3 s allows: only the interrupt ends this call early.
            nobias.fit(net, optimizer, x, y, epochs=10**8, batch_size=batch, shuffle=False)
    finally:
        timer.cancel()
    steps = optimizer.steps_taken
    assert steps > 0
    # The same steps replayed by train_step (plain SGD is the fused step), batch by batch.
    replay = nobias.Network([30, 20, 4], seed=3, init="he", dtype=numpy.float64)
    for i in range(steps):
        begin = (i % 4) * batch
        replay.train_step(x[begin:begin + batch], y[begin:begin + batch], 1e-5)
    for a, b in zip(net.weights, replay.weights):
        numpy.testing.assert_array_equal(a, b)
