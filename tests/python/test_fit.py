"""fit(): reports, callbacks that stop or fail, validation, checkpoints and resume; and the
file functions, which go through the C++ code."""
import numpy
import pytest

import nobias

WIDTHS = [6, 9, 4]


def problem(dtype, rows=40, seed=0):
    rng = numpy.random.default_rng(seed)
    x = rng.standard_normal((rows, WIDTHS[0])).astype(dtype)
    y = (x[:, :4] * 0.5).astype(dtype)
    return x, y


def test_fit_by_whole_batches_is_the_train_step_loop(dtype):
    x, y = problem(dtype)
    a = nobias.Network(WIDTHS, seed=1, init="he", dtype=dtype)
    b = nobias.Network(WIDTHS, seed=1, init="he", dtype=dtype)
    reports = nobias.fit(a, nobias.Optimizer(a, learning_rate=1e-3), x, y, epochs=5,
                         shuffle=False)
    losses = [b.train_step(x, y, 1e-3) for _ in range(5)]
    assert [r.train_loss for r in reports] == losses
    for wa, wb in zip(a.weights, b.weights):
        numpy.testing.assert_array_equal(wa, wb)


def test_callbacks_see_every_epoch_and_step_and_can_stop(dtype):
    x, y = problem(dtype)
    net = nobias.Network(WIDTHS, seed=2, init="he", dtype=dtype)
    optimizer = nobias.Optimizer(net, kind="adam", learning_rate=1e-2)
    epochs, steps = [], []

    def on_epoch(report):
        epochs.append(report.epoch)
        net.predict(x)  # the network may be used between steps, from the callback
        if report.epoch == 3:
            return False
        return None  # nothing returned: training goes on

    reports = nobias.fit(net, optimizer, x, y, epochs=10, batch_size=16, reduction="mean",
                         on_epoch=on_epoch, on_step=lambda r: steps.append((r.epoch, r.step)))
    assert epochs == [1, 2, 3] and len(reports) == 3
    assert steps == [(e, s) for e in (1, 2, 3) for s in (1, 2, 3)]  # 40 rows: 16 + 16 + 8
    assert optimizer.steps_taken == 9
    assert reports[-1].train_loss < reports[0].train_loss


def test_an_exception_in_a_callback_leaves_fit(dtype):
    x, y = problem(dtype)
    net = nobias.Network(WIDTHS, seed=2, dtype=dtype)

    def fail(report):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        nobias.fit(net, nobias.Optimizer(net, learning_rate=1e-4), x, y, epochs=3, on_epoch=fail)
    with pytest.raises(RuntimeError, match="stop here"):
        nobias.fit(net, nobias.Optimizer(net, learning_rate=1e-4), x, y, epochs=3, on_step=fail)


def test_validation_loss_is_that_of_the_final_weights(dtype):
    x, y = problem(dtype)
    vx, vy = problem(dtype, rows=15, seed=1)
    net = nobias.Network(WIDTHS, seed=3, init="he", dtype=dtype)
    reports = nobias.fit(net, nobias.Optimizer(net, kind="adam"), x, y, epochs=3, batch_size=8,
                         reduction="mean", val_x=vx, val_y=vy)
    assert reports[-1].validation_loss == pytest.approx(net.loss(vx, vy, reduction="mean"),
                                                        rel=1e-6)
    assert numpy.isnan(nobias.fit(net, nobias.Optimizer(net), x, y)[0].validation_loss)


def test_fit_refusals(dtype):
    x, y = problem(dtype)
    net = nobias.Network(WIDTHS, dtype=dtype)
    other = numpy.float64 if dtype == numpy.float32 else numpy.float32
    opt = nobias.Optimizer(net)
    with pytest.raises(ValueError, match="val_x and val_y: expected both or neither, got only val_x"):
        nobias.fit(net, opt, x, y, val_x=x)
    with pytest.raises(TypeError, match="fit: the optimizer is"):
        nobias.fit(net, nobias.Optimizer(nobias.Network(WIDTHS, dtype=other)), x, y)
    with pytest.raises(nobias.ValueError, match="epochs must be >= 1"):
        nobias.fit(net, opt, x, y, epochs=0)
    with pytest.raises(nobias.ShapeError, match="fit: x has 40 rows but y has 3"):
        nobias.fit(net, opt, x, y[:3])
    with pytest.raises(nobias.ValueError,
                       match=r"kind: unknown optimizer 'rmsprop' \(expected one of sgd, momentum, adam\)"):
        nobias.Optimizer(net, kind="rmsprop")
    with pytest.raises(nobias.ValueError, match="Optimizer: "):
        nobias.Optimizer(net, learning_rate=-1.0)
    with pytest.raises(TypeError, match="Optimizer.step: the optimizer is"):
        opt.step(nobias.Network(WIDTHS, dtype=other), x.astype(other), y.astype(other))


@pytest.mark.parametrize("kwargs, error, words", [
    # Issue 19 item 13: bool is an int to Python; epochs=True trained one epoch.
    (dict(epochs=True), TypeError, r"epochs: expected a whole number >= 0, got True \(a bool\)"),
    (dict(batch_size=True), TypeError, r"batch_size: expected a whole number >= 0, got True"),
    (dict(seed=False), TypeError, r"seed: expected a whole number >= 0, got False \(a bool\)"),
    (dict(first_epoch=True), TypeError, r"first_epoch: expected a whole number"),
    (dict(patience=True), TypeError, r"patience: expected a whole number >= 0, got True"),
    (dict(checkpoint_every=True), TypeError, r"checkpoint_every: expected a whole number >= 1"),
    (dict(checkpoint_every=0), nobias.ValueError,
     r"checkpoint_every: expected a whole number >= 1, got 0"),
    (dict(tolerance=True), TypeError, r"tolerance: expected a number, got True \(a bool\)"),
    (dict(epochs=2.0), TypeError, r"epochs: expected a whole number >= 0, got 2.0 \(a float\)"),
    (dict(batch_size=-4), ValueError, r"batch_size: expected a whole number >= 0, got -4"),
])
def test_fit_refuses_bools_and_fractions_as_counts(kwargs, error, words):
    x, y = problem(numpy.float64)
    net = nobias.Network(WIDTHS, dtype=numpy.float64)
    before = [w.copy() for w in net.weights]
    with pytest.raises(error, match=words):
        nobias.fit(net, nobias.Optimizer(net), x, y, **kwargs)
    for w, b in zip(net.weights, before):
        numpy.testing.assert_array_equal(w, b)
    # numpy's integers are whole numbers.
    assert len(nobias.fit(net, nobias.Optimizer(net), x, y, epochs=numpy.int64(2))) == 2


# A yes-or-no option takes a bool alone: shuffle=1 or nesterov=1 was read as True, and so was
# shuffle="no" (anything with __bool__). Every bool option of the low level: fit's shuffle,
# Optimizer's nesterov, TrainingProgress's shuffle.
BOOL_OPTIONS = [
    ("shuffle", lambda net, x, y, v: nobias.fit(net, nobias.Optimizer(net), x, y, shuffle=v)),
    ("nesterov", lambda net, x, y, v: nobias.Optimizer(net, kind="momentum", nesterov=v)),
    ("shuffle", lambda net, x, y, v: nobias.TrainingProgress(shuffle=v)),
]


@pytest.mark.parametrize("name, call", BOOL_OPTIONS)
@pytest.mark.parametrize("value, shown", [(1, r"1 \(a int\)"), (0, r"0 \(a int\)"),
                                          (1.0, r"1\.0 \(a float\)"),
                                          ("no", r"'no' \(a str\)"), (None, r"None \(a NoneType\)"),
                                          (numpy.int64(1), r"(np\.int64\()?1\)? \(a int64\)")])
def test_bool_options_take_a_bool_alone(name, call, value, shown):
    x, y = problem(numpy.float64)
    net = nobias.Network(WIDTHS, dtype=numpy.float64)
    before = [w.copy() for w in net.weights]
    with pytest.raises(TypeError, match=r"^%s: expected a bool \(True or False\), got %s$"
                       % (name, shown)):
        call(net, x, y, value)
    for w, b in zip(net.weights, before):
        numpy.testing.assert_array_equal(w, b)
    # Python's and numpy's bools are bools.
    for value in (True, False, numpy.bool_(True), numpy.bool_(False)):
        call(net, x, y, value)


def test_bool_options_keep_their_values():
    net = nobias.Network(WIDTHS, dtype=numpy.float64)
    assert nobias.Optimizer(net, kind="momentum", nesterov=numpy.bool_(True)).config["nesterov"]
    assert nobias.Optimizer(net, kind="momentum").config["nesterov"] is False
    assert nobias.TrainingProgress(shuffle=numpy.bool_(False)).shuffle is False
    assert nobias.TrainingProgress().shuffle is True


@pytest.mark.parametrize("name", ["learning_rate", "momentum", "beta1", "beta2", "epsilon",
                                  "weight_decay"])
def test_optimizer_refuses_bools_as_numbers(name):
    net = nobias.Network(WIDTHS, dtype=numpy.float64)
    for value in (True, numpy.bool_(False)):
        with pytest.raises(TypeError, match=r"%s: expected a number, got .*(True|False) \(a bool"
                           % name):
            nobias.Optimizer(net, kind="adam", **{name: value})
    with pytest.raises(TypeError, match=r"%s: expected a number, got '0.5' \(a str\)" % name):
        nobias.Optimizer(net, kind="adam", **{name: "0.5"})
    # Ints and numpy floats are numbers.
    assert nobias.Optimizer(net, kind="adam", **{name: numpy.float32(0.5)}).config[name] == 0.5
    with pytest.raises(TypeError, match=r"steps: expected a whole number >= 0, got True"):
        nobias.Optimizer(net).restore(kind="sgd", steps=True, first=[], second=[])


def test_divergence_names_the_epoch_and_step():
    x, y = problem(numpy.float32)
    net = nobias.Network(WIDTHS, seed=1, dtype=numpy.float32)
    with pytest.raises(nobias.DivergenceError, match=r"fit: epoch \d+, step \d+: "):
        nobias.fit(net, nobias.Optimizer(net, learning_rate=1e30), x * 1e15, y, epochs=3)


def test_optimizer_config_and_moments(dtype):
    x, y = problem(dtype)
    net = nobias.Network(WIDTHS, seed=2, dtype=dtype)
    opt = nobias.Optimizer(net, kind="adam", learning_rate=2e-3, beta1=0.8, weight_decay=0.01)
    assert opt.config == dict(kind="adam", learning_rate=2e-3, momentum=0.9, nesterov=False,
                              beta1=0.8, beta2=0.999, epsilon=1e-8, weight_decay=0.01)
    assert opt.dtype == dtype
    twin = nobias.Optimizer(net, **opt.config)
    assert twin.config == opt.config
    opt.step(net, x, y)
    assert opt.steps_taken == 1
    assert [m.shape for m in opt.first] == [(6, 9), (9, 4)]
    assert all((m != 0).any() for m in opt.first + opt.second)


def test_checkpoint_and_resume_continue_bit_for_bit(tmp_path, dtype):
    x, y = problem(dtype)
    settings = dict(batch_size=16, seed=5, reduction="mean")
    straight = nobias.Network(WIDTHS, seed=6, init="he", dtype=dtype)
    nobias.fit(straight, nobias.Optimizer(straight, kind="adam"), x, y, epochs=4, **settings)

    first = nobias.Network(WIDTHS, seed=6, init="he", dtype=dtype)
    nobias.fit(first, nobias.Optimizer(first, kind="adam"), x, y, epochs=2,
               checkpoint=tmp_path / "ck", **settings)
    net, optimizer, progress = nobias.resume(tmp_path / "ck")
    assert net.dtype == dtype and progress.epochs_done == 2 and progress.seed == 5
    assert progress.batch_size == 16 and progress.reduction == "mean"
    assert optimizer.steps_taken == 6
    nobias.fit(net, optimizer, x, y, epochs=4, first_epoch=progress.epochs_done + 1, **settings)
    for a, b in zip(net.weights, straight.weights):
        numpy.testing.assert_array_equal(a, b)


def test_resume_goes_through_the_driver_checks_and_early_stopping(tmp_path, dtype):
    # resume= continues with the driver's own resume(): early stopping's best weights and
    # patience count, and every setting and the data compared. Before, Python's resume was
    # first_epoch alone: a run with early stopping resumed into another run, and another seed
    # or other data were accepted.
    x, y = problem(dtype)
    vx, vy = x[:20] * 1.5, y[:20]
    settings = dict(batch_size=8, seed=3, reduction="mean", val_x=vx, val_y=vy, patience=2,
                    tolerance=0.0)

    def run(epochs, **more):
        net = nobias.Network(WIDTHS, seed=6, init="he", dtype=dtype)
        opt = nobias.Optimizer(net, kind="adam", learning_rate=5e-2)
        return net, nobias.fit(net, opt, x, y, epochs=epochs, **settings, **more)

    straight, reports = run(30)
    stopped_at = reports[-1].epoch
    assert reports[-1].stops and reports[-1].best_epoch < stopped_at, "the case must stop early"
    first_part = max(1, stopped_at - 2)
    run(first_part, checkpoint=tmp_path / "ck")
    net, opt, progress = nobias.resume(tmp_path / "ck")
    resumed = nobias.fit(net, opt, x, y, epochs=30, resume=tmp_path / "ck", **settings)
    assert resumed[-1].epoch == stopped_at and resumed[-1].best_epoch == reports[-1].best_epoch
    for a, b in zip(net.weights, straight.weights):
        numpy.testing.assert_array_equal(a, b)
    # The checkpoint of the epoch early stopping ended the run at (a run split there, or the
    # stopped run's own) trains no more: no reports, the best epoch's weights. It trained on.
    run(stopped_at, checkpoint=tmp_path / "at_stop")
    run(30, checkpoint=tmp_path / "whole")
    for ck in ("at_stop", "whole"):
        net, opt, progress = nobias.resume(tmp_path / ck)
        assert progress.epochs_done == stopped_at
        assert nobias.fit(net, opt, x, y, epochs=30, resume=tmp_path / ck, **settings) == []
        for a, b in zip(net.weights, straight.weights):
            numpy.testing.assert_array_equal(a, b)

    # A Checkpoint object works as well as its directory; a changed setting is named.
    checkpoint = nobias.load_checkpoint(tmp_path / "ck", dtype=dtype)
    for change, word in [(dict(seed=4), "seed"), (dict(batch_size=9), "batch_size"),
                         (dict(patience=3), "patience")]:
        net, opt, _ = nobias.resume(tmp_path / "ck")
        with pytest.raises(nobias.ValueError, match=word):
            nobias.fit(net, opt, x, y, epochs=30, resume=checkpoint, **{**settings, **change})
    net, opt, _ = nobias.resume(tmp_path / "ck")
    with pytest.raises(nobias.ValueError, match="data"):
        nobias.fit(net, opt, x + 1, y, epochs=30, resume=checkpoint, **settings)
    # So are other validation rows: early stopping would go on from another set's best loss.
    net, opt, _ = nobias.resume(tmp_path / "ck")
    with pytest.raises(nobias.ValueError, match=r"validated on other data \(val_x differs: "
                                                r"same shape, other values\)"):
        nobias.fit(net, opt, x, y, epochs=30, resume=checkpoint, **{**settings, "val_x": vx + 1})
    other = nobias.Network(WIDTHS, seed=7, init="he", dtype=dtype)
    with pytest.raises(ValueError, match="does not hold the checkpoint's weights"):
        nobias.fit(other, nobias.Optimizer(other, kind="adam", learning_rate=5e-2), x, y,
                   epochs=30, resume=checkpoint, **settings)
    net, opt, _ = nobias.resume(tmp_path / "ck")
    with pytest.raises(ValueError, match="first_epoch=2 and resume"):
        nobias.fit(net, opt, x, y, epochs=30, resume=checkpoint, first_epoch=2, **settings)


def test_save_and_load_checkpoint_directly(tmp_path, dtype):
    x, y = problem(dtype)
    net = nobias.Network(WIDTHS, seed=6, dtype=dtype)
    opt = nobias.Optimizer(net, kind="momentum", learning_rate=1e-4)
    opt.step(net, x, y)
    nobias.save_checkpoint(tmp_path / "ck", net, opt,
                           nobias.TrainingProgress(epochs_done=1, seed=3, batch_size=4))
    checkpoint = nobias.load_checkpoint(tmp_path / "ck", dtype=dtype)
    assert checkpoint.optimizer_steps == 1 and checkpoint.optimizer["kind"] == "momentum"
    assert checkpoint.trained_dtype == ("f32" if dtype == numpy.float32 else "f64")
    for a, b in zip(checkpoint.weights, net.weights):
        numpy.testing.assert_array_equal(a, b)
    fresh = nobias.Optimizer(net, kind="momentum", learning_rate=1e-4)
    nobias.restore_optimizer(fresh, checkpoint)
    assert fresh.steps_taken == 1
    for a, b in zip(fresh.first, opt.first):
        numpy.testing.assert_array_equal(a, b)
    with pytest.raises(nobias.IoError):
        nobias.load_checkpoint(tmp_path / "nothing")


def test_npy_and_weight_files_round_trip_with_numpy(tmp_path, dtype):
    rng = numpy.random.default_rng(1)
    a = rng.standard_normal((5, 3)).astype(dtype)
    nobias.write_npy(tmp_path / "a.npy", a[::1])
    numpy.testing.assert_array_equal(numpy.load(tmp_path / "a.npy"), a)
    numpy.save(tmp_path / "b.npy", a)
    b = nobias.read_npy(tmp_path / "b.npy", dtype=dtype)
    assert b.dtype == dtype
    numpy.testing.assert_array_equal(b, a)
    numpy.testing.assert_array_equal(nobias.read_npy(str(tmp_path / "b.npy"), dtype=numpy.float64),
                                     a.astype(numpy.float64))

    net = nobias.Network(WIDTHS, seed=7, dtype=dtype)
    (tmp_path / "w").mkdir()
    nobias.save_weights(tmp_path / "w", net)
    loaded = nobias.load_weights(tmp_path / "w", dtype=dtype)
    for w, v in zip(loaded, net.weights):
        numpy.testing.assert_array_equal(w, v)
        assert numpy.array_equal(numpy.load(tmp_path / "w" / "w1.npy"), net.weights[0])
    restored = nobias.Network.from_weights(loaded)
    x, _ = problem(dtype)
    numpy.testing.assert_array_equal(restored.predict(x), net.predict(x))
    (tmp_path / "v").mkdir()
    nobias.save_weights(tmp_path / "v", [w * 2 for w in net.weights])
    numpy.testing.assert_array_equal(nobias.load_weights(tmp_path / "v", dtype=dtype)[1],
                                     net.weights[1] * 2)


def test_file_errors_are_oserrors(tmp_path):
    with pytest.raises(nobias.IoError, match="does not exist") as info:
        nobias.load_weights(tmp_path / "missing")
    assert isinstance(info.value, OSError)
    numpy.save(tmp_path / "one_d.npy", numpy.ones(3))
    with pytest.raises(OSError, match="one_d.npy"):
        nobias.read_npy(tmp_path / "one_d.npy")
    with pytest.raises(TypeError, match="save_weights: expected a Network or a list of arrays"):
        nobias.save_weights(tmp_path, 3)


def test_optimizer_state_and_restore(dtype):
    x, y = problem(dtype)
    net = nobias.Network(WIDTHS, seed=2, init="he", dtype=dtype)
    adam = nobias.Optimizer(net, kind="adam", learning_rate=1e-2)
    for _ in range(3):
        adam.step(net, x, y)
    state = adam.state()
    assert state["kind"] == "adam" and state["steps"] == 3
    with pytest.raises(ValueError, match="read-only"):
        state["first"][0][0, 0] = 1.0  # views of the optimizer's own buffers
    fresh_net = nobias.Network.from_weights(net.weights)
    fresh = nobias.Optimizer(fresh_net, kind="adam", learning_rate=1e-2)
    fresh.restore(**state)
    assert fresh.steps_taken == 3
    adam.step(net, x, y)
    fresh.step(fresh_net, x, y)
    for a, b in zip(net.weights, fresh_net.weights):
        numpy.testing.assert_array_equal(a, b)
    with pytest.raises(nobias.ValueError):
        nobias.Optimizer(net, kind="momentum").restore(**adam.state())
    with pytest.raises(nobias.ShapeError):
        nobias.Optimizer(nobias.Network([6, 5, 4], dtype=dtype), kind="adam").restore(**state)


def test_model_directory_round_trip(tmp_path, dtype):
    x, _ = problem(dtype)
    net = nobias.Network(WIDTHS, seed=9, dtype=dtype)
    mean, scale = numpy.arange(6, dtype=numpy.float64), numpy.full(6, 2.0)
    nobias.save_model(tmp_path / "m", net, classes=4, x_mean=mean, x_scale=scale,
                      settings={"note": "python"})
    loaded, info = nobias.load_model(tmp_path / "m", dtype=dtype)
    assert info["classes"] == 4 and info["widths"] == WIDTHS and info["has_metadata"]
    assert info["settings"]["note"] == "python" and info["y_mean"] is None
    numpy.testing.assert_array_equal(info["x_mean"], mean)
    numpy.testing.assert_array_equal(loaded.predict(x), net.predict(x))
    assert nobias.read_model_info(tmp_path / "m")["dtype"] == \
        ("f32" if dtype == numpy.float32 else "f64")
    with pytest.raises(nobias.ValueError):
        nobias.save_model(tmp_path / "bad", net, classes=3)  # classes must be d_out
    order = nobias.shuffled_order(10, 3, 1)
    assert sorted(order) == list(range(10)) and order != list(range(10))
