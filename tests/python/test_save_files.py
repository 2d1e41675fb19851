"""Saves never delete what they did not write (issue 19): save_weights refuses a model
directory, and a save keeps the user's own files named like a model's; write_npy and
export_onnx refuse a name whose extension is another format's, as the tools' output flags do."""
import os

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


@pytest.mark.parametrize("name", ["a.csv", "a.txt", "a.npz"])
def test_write_npy_refuses_another_extension_and_leaves_the_file(tmp_path, name):
    target = tmp_path / name
    target.write_bytes(b"the user's own")
    extension = name[name.index("."):]
    with pytest.raises(nobias.ValueError, match=rf"^write_npy \S*{name}: \{extension} is not a "
                       r"format write_npy writes; expected a name ending in \.npy or without an extension$"):
        nobias.write_npy(target, numpy.ones((2, 3), numpy.float32))
    assert target.read_bytes() == b"the user's own"


def test_write_npy_takes_npy_in_any_case_and_a_name_without_an_extension(tmp_path):
    a = numpy.arange(6, dtype=numpy.float64).reshape(2, 3)
    for name in ("upper.NPY", "bare"):
        nobias.write_npy(tmp_path / name, a)
        numpy.testing.assert_array_equal(numpy.load(tmp_path / name), a)


def test_export_onnx_refuses_another_extension_before_writing(tmp_path):
    with pytest.raises(nobias.ValueError, match=r"^export_onnx \S*m\.npy: \.npy is not a format "
                       r"export_onnx writes; expected a name ending in \.onnx or without an extension$"):
        nobias.export_onnx(tmp_path / "m.npy", nobias.Network([3, 2], seed=1))
    assert list(tmp_path.iterdir()) == []


def test_paths_given_as_bytes_are_those_bytes(tmp_path):
    # A bytes path was its repr: write_npy(b"x.npy") wrote a file named "b'x.npy'".
    a = numpy.arange(6, dtype=numpy.float32).reshape(3, 2)
    odd = os.fsencode(tmp_path) + b"/\xff-not-utf8.npy"
    for path in (os.fsencode(tmp_path / "plain.npy"), odd):
        nobias.write_npy(path, a)
        numpy.testing.assert_array_equal(nobias.read_npy(path), a)
    assert sorted(os.listdir(os.fsencode(tmp_path))) == [b"plain.npy", b"\xff-not-utf8.npy"]
    nobias.save_weights(os.fsencode(tmp_path / "w"), [a])
    numpy.testing.assert_array_equal(nobias.load_weights(os.fsencode(tmp_path / "w"))[0], a)
    with pytest.raises(TypeError):
        nobias.write_npy(3, a)
