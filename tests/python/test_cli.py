"""The bindings and the command line compute the same thing, bit for bit: the same seed,
data and settings give identical weights, by full-batch steps and by epochs, in both dtypes."""
import subprocess

import numpy
import pytest

import nobias

WIDTHS = [7, 13, 11, 5]
CLI_DTYPE = {numpy.float32: "f32", numpy.float64: "f64"}


def write_data(tmp_path, dtype, rows=37):
    rng = numpy.random.default_rng(2024)
    x = rng.standard_normal((rows, WIDTHS[0])).astype(dtype)
    y = rng.standard_normal((rows, WIDTHS[-1])).astype(dtype)
    numpy.save(tmp_path / "x.npy", x)
    numpy.save(tmp_path / "y.npy", y)
    return x, y


def train_with_cli(nobias_train, tmp_path, dtype, *flags):
    out = tmp_path / "weights"
    out.mkdir()
    subprocess.run([nobias_train, "--x", str(tmp_path / "x.npy"), "--y", str(tmp_path / "y.npy"),
                    "--layers", ",".join(map(str, WIDTHS)), "--dtype", CLI_DTYPE[dtype],
                    "--weights-out", str(out), "--quiet", *flags],
                   check=True, capture_output=True)
    weights = [numpy.load(out / f"w{k}.npy") for k in range(1, len(WIDTHS))]
    assert all(w.dtype == dtype for w in weights)
    return weights


def assert_same_weights(cli, net):
    assert len(cli) == net.layers
    for k, (a, b) in enumerate(zip(cli, net.weights)):
        assert a.shape == b.shape
        assert numpy.array_equal(a, b), f"w{k + 1} differs: max |diff| {numpy.abs(a - b).max()}"


def test_full_batch_steps_equal_the_cli(nobias_train, tmp_path, dtype):
    x, y = write_data(tmp_path, dtype)
    cli = train_with_cli(nobias_train, tmp_path, dtype, "--steps", "25", "--lr", "0.001",
                         "--seed", "4", "--init", "normal", "--optimizer", "sgd", "--loss", "sum")
    net = nobias.Network(WIDTHS, seed=4, init="normal", dtype=dtype)
    for _ in range(25):
        net.train_step(x, y, 1e-3)
    assert_same_weights(cli, net)


def test_momentum_steps_equal_the_cli(nobias_train, tmp_path, dtype):
    x, y = write_data(tmp_path, dtype)
    cli = train_with_cli(nobias_train, tmp_path, dtype, "--steps", "12", "--lr", "0.0005",
                         "--seed", "8", "--init", "he", "--optimizer", "momentum",
                         "--momentum", "0.8", "--nesterov", "--loss", "mean")
    net = nobias.Network(WIDTHS, seed=8, init="he", dtype=dtype)
    optimizer = nobias.Optimizer(net, kind="momentum", learning_rate=5e-4, momentum=0.8,
                                 nesterov=True)
    for _ in range(12):
        optimizer.step(net, x, y, reduction="mean")
    assert optimizer.steps_taken == 12
    assert_same_weights(cli, net)


def test_epochs_equal_the_cli(nobias_train, tmp_path, dtype):
    # 37 rows in batches of 8: four full batches and a partial one per epoch, shuffled.
    x, y = write_data(tmp_path, dtype)
    # Every row trains (no validation set held out), as fit() is given them all.
    cli = train_with_cli(nobias_train, tmp_path, dtype, "--epochs", "4", "--batch-size", "8",
                         "--lr", "0.001", "--seed", "11", "--init", "he", "--optimizer", "adam",
                         "--loss", "mean", "--validation-fraction", "0", "--no-standardize")
    net = nobias.Network(WIDTHS, seed=11, init="he", dtype=dtype)
    optimizer = nobias.Optimizer(net, kind="adam", learning_rate=1e-3)
    reports = nobias.fit(net, optimizer, x, y, epochs=4, batch_size=8, seed=11, reduction="mean")
    assert [r.epoch for r in reports] == [1, 2, 3, 4] and all(r.steps == 5 for r in reports)
    assert_same_weights(cli, net)
