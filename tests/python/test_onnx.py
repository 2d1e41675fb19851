"""nobias.export_onnx: from a Network with statistics, or from a model directory (the same
bytes), its refusals, and, with Debian's python3-onnx, ONNX's checker and the graph evaluated
with numpy against Network.predict. tests/onnx_test.py runs the exported models in onnxruntime."""
import json
import os

import numpy as np
import pytest

import nobias

SHAPES = [[7, 13, 5, 3], [7, 3], [7, 13, 11, 5, 3]]
DTYPES = [np.float32, np.float64]


def statistics(rng, d_in, d_out):
    return dict(x_mean=rng.standard_normal(d_in), x_scale=rng.uniform(0.5, 2.0, d_in),
                y_mean=rng.standard_normal(d_out), y_scale=rng.uniform(0.5, 2.0, d_out))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("widths", SHAPES)
def test_a_network_and_its_model_directory_export_alike(tmp_path, widths, dtype):
    rng = np.random.default_rng(len(widths))
    net = nobias.Network(widths, seed=5, dtype=dtype)
    stats = statistics(rng, widths[0], widths[-1])
    nobias.export_onnx(tmp_path / "net.onnx", net, **stats)
    nobias.save_model(tmp_path / "model", net, **stats)
    nobias.export_onnx(str(tmp_path / "dir.onnx"), tmp_path / "model")
    assert (tmp_path / "net.onnx").read_bytes() == (tmp_path / "dir.onnx").read_bytes()
    nobias.export_onnx(tmp_path / "plain.onnx", net)
    assert (tmp_path / "plain.onnx").stat().st_size < (tmp_path / "net.onnx").stat().st_size


def test_refusals_name_what_was_wrong(tmp_path):
    net = nobias.Network([4, 6, 2], seed=1)
    with pytest.raises(nobias.ValueError, match="x_mean"):
        nobias.export_onnx(tmp_path / "m.onnx", net, x_mean=np.zeros(3), x_scale=np.ones(3))
    with pytest.raises(nobias.ValueError, match="classes is 3 but the network has 2 outputs"):
        nobias.export_onnx(tmp_path / "m.onnx", net, classes=3)
    nobias.save_model(tmp_path / "model", net)
    with pytest.raises(ValueError, match="a model directory carries its own"):
        nobias.export_onnx(tmp_path / "m.onnx", tmp_path / "model", x_mean=np.zeros(4))
    with pytest.raises(nobias.IoError, match="is a directory"):
        nobias.export_onnx(tmp_path, net)
    with pytest.raises(nobias.IoError):
        nobias.export_onnx(tmp_path / "m.onnx", tmp_path / "no-model")
    assert sorted(os.listdir(tmp_path)) == ["model"]


def test_a_refused_export_leaves_the_previous_file(tmp_path):
    net = nobias.Network([4, 6, 2], seed=1)
    target = tmp_path / "m.onnx"
    nobias.export_onnx(target, net)
    before = target.read_bytes()
    with pytest.raises(nobias.ValueError):
        nobias.export_onnx(target, net, y_mean=np.zeros(2), y_scale=np.zeros(2))
    assert target.read_bytes() == before


def evaluate(model, x):
    """The graph's nodes in order, in the tensors' own dtype (onnx.reference came in 1.13)."""
    from onnx import numpy_helper
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    values["x"] = x
    ops = {"Sub": np.subtract, "Div": np.divide, "Mul": np.multiply, "Add": np.add,
           "MatMul": np.matmul, "Relu": lambda a: np.maximum(a, a.dtype.type(0))}
    for node in model.graph.node:
        values[node.output[0]] = ops[node.op_type](*(values[i] for i in node.input))
    return values["y"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("widths", SHAPES)
def test_onnx_checks_and_computes_predict(tmp_path, widths, dtype):
    onnx = pytest.importorskip("onnx", reason="Debian's python3-onnx")
    rng = np.random.default_rng(7)
    net = nobias.Network(widths, seed=2, dtype=dtype)
    stats = statistics(rng, widths[0], widths[-1])
    nobias.export_onnx(tmp_path / "m.onnx", net, **stats)
    model = onnx.load(str(tmp_path / "m.onnx"))
    onnx.checker.check_model(model, full_check=True)
    x = rng.standard_normal((11, widths[0])).astype(dtype)
    standardized = ((x - stats["x_mean"]) / stats["x_scale"]).astype(dtype)
    want = net.predict(standardized).astype(np.float64) * stats["y_scale"] + stats["y_mean"]
    got = evaluate(model, x)
    assert got.dtype == dtype
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    scale = np.maximum(np.abs(want), np.max(np.abs(want), axis=1, keepdims=True) * 1e-3)
    assert np.max(np.abs(got - want) / scale) <= tolerance


def test_metadata_says_what_nobias_knew(tmp_path):
    onnx = pytest.importorskip("onnx", reason="Debian's python3-onnx")
    net = nobias.Network([5, 8, 3], seed=4, dtype=np.float64)
    nobias.export_onnx(tmp_path / "m.onnx", net, classes=3, class_names=["cat", "dög", "x y"],
                       x_mean=np.zeros(5), x_scale=np.ones(5))
    model = onnx.load(str(tmp_path / "m.onnx"))
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["nobias_version"] == nobias.__version__
    assert (meta["dtype"], meta["widths"], meta["classes"]) == ("f64", "5,8,3", "3")
    assert json.loads(meta["class_names"]) == ["cat", "dög", "x y"]
    assert meta["standardization"] == "x"
    assert (model.producer_name, model.ir_version, model.opset_import[0].version) == \
        ("nobias", 7, 13)
