"""Saves never delete what they did not write (issue 19): save_weights refuses a model
directory, and a save keeps the user's own files named like a model's."""
import numpy
import pytest

import nobias


def test_save_weights_refuses_a_model_directory(tmp_path):
    net = nobias.Network([5, 7, 2], seed=1)
    stats = {"x_mean": numpy.zeros(5), "x_scale": numpy.ones(5),
             "y_mean": numpy.full(2, 3.0), "y_scale": numpy.full(2, 2.0)}
    d = tmp_path / "m"
    nobias.save_model(d, net, **stats)
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    with pytest.raises(nobias.IoError, match=r"holds a model \(model.json\).*save_model"):
        nobias.save_weights(d, nobias.Network([5, 7, 2], seed=2))
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before


def test_save_weights_keeps_files_it_did_not_write(tmp_path):
    numpy.save(tmp_path / "w7.npy", numpy.ones((3, 3)))
    numpy.save(tmp_path / "y_mean.npy", numpy.ones((1, 2)))
    net = nobias.Network([5, 7, 2], seed=1)
    nobias.save_weights(tmp_path, net)
    assert (tmp_path / "w7.npy").exists() and (tmp_path / "y_mean.npy").exists()
    loaded = nobias.load_weights(tmp_path)
    assert len(loaded) == 2
    for w, v in zip(loaded, net.weights):
        numpy.testing.assert_array_equal(w, v)
