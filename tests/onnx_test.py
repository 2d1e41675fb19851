#!/usr/bin/env python3
"""nobias-export's ONNX models, checked by ONNX itself and run in a real ONNX runtime.

    /usr/bin/python3 tests/onnx_test.py --bin-dir DIR [--ort ORT_DIR] [unittest args]

DIR holds nobias-train, nobias-predict and nobias-export. Models of odd shapes (7->13->5->3,
one layer, four layers, a classifier), with and without standardization, in both dtypes, are
trained for a few epochs, exported, and:
  CheckerTest   Debian's python3-onnx (1.12): onnx.checker.check_model(full_check=True), and
                the graph evaluated with numpy from the decoded initializers (onnx.reference
                came in 1.13), against nobias-predict;
  RuntimeTest   onnxruntime-node in ORT_DIR (tests/install_onnxruntime.py put it there) run by
                node (tests/onnx_run.js), against nobias-predict;
  ToolTest      nobias-export's refusals and its atomic replacement of --onnx.
Agreement: 1e-5 relative in float32, 1e-12 in float64, relative to the magnitude of what
each output sums (magnitude()).
Exit 77 (ctest's skip) when the module onnx or node is missing, saying which.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

BIN = None
ORT = None
SKIP = 77
TIMEOUT_S = 120
QUICK = ["--init", "he", "--optimizer", "adam", "--loss", "mean", "--epochs", "3", "--threads",
         "1", "--quiet"]
TOLERANCE = {"f32": 1e-5, "f64": 1e-12}

# name: (layers, dtype, standardize, classes)
MODELS = {
    "deep3-f32-std": ([7, 13, 5, 3], "f32", True, 0),
    "deep3-f64-std": ([7, 13, 5, 3], "f64", True, 0),
    "deep3-f32-raw": ([7, 13, 5, 3], "f32", False, 0),
    "one-f64-raw": ([7, 3], "f64", False, 0),
    "one-f32-std": ([7, 3], "f32", True, 0),
    "four-f64-std": ([7, 13, 11, 5, 3], "f64", True, 0),
    "four-f32-raw": ([7, 13, 11, 5, 3], "f32", False, 0),
    "classes-f32": ([6, 9, 4], "f32", True, 4),
    "classes-f64": ([6, 9, 4], "f64", True, 4),
}


def tool(name, *args, check=True):
    r = subprocess.run([os.path.join(BIN, name)] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                       timeout=TIMEOUT_S)
    if check and r.returncode != 0:
        raise AssertionError("%s %s: exit %d\n%s%s" % (name, args, r.returncode, r.stdout,
                                                      r.stderr))
    return r


def magnitude(model_dir, x):
    """What each output of the model directory's forward pass sums, in absolute value: the
    forward pass on |x| (standardized), |w_k|, |y_scale| and |y_mean|, in float64. Rounding
    errors are bounded relative to it (a dot product's by n eps |x| |w|), also where the terms
    cancel to an output near 0."""
    def stat(name):
        f = os.path.join(model_dir, name + ".npy")
        return np.load(f).reshape(-1) if os.path.exists(f) else None
    a = x.astype(np.float64)
    if stat("x_mean") is not None:
        a = (a - stat("x_mean")) / stat("x_scale")
    a = np.abs(a)
    k = 1
    while os.path.exists(os.path.join(model_dir, "w%d.npy" % k)):
        a = a @ np.abs(np.load(os.path.join(model_dir, "w%d.npy" % k)).astype(np.float64))
        k += 1
    if stat("y_mean") is not None:
        a = a * stat("y_scale") + np.abs(stat("y_mean"))
    return a


def agree(test, got, want, size, flag, what):
    """|got - want| within TOLERANCE relative to size (magnitude(): what the outputs sum)."""
    test.assertEqual(got.dtype, want.dtype, what)
    test.assertEqual(got.shape, want.shape, what)
    err = np.max(np.abs(got.astype(np.float64) - want) / np.maximum(size, 1e-300))
    test.assertLessEqual(err, TOLERANCE[flag], "%s: max relative error %g" % (what, err))


class Models:
    """The models, trained and exported once for every test class, with nobias-predict's
    outputs on fresh inputs (37 rows, and one)."""
    root = None

    @classmethod
    def build(cls):
        if cls.root is not None:
            return
        cls._tmp = tempfile.TemporaryDirectory(prefix="nobias-onnx-")
        cls.root = cls._tmp.name
        rng = np.random.default_rng(23)
        for name, (layers, flag, standardize, classes) in MODELS.items():
            dtype = np.float32 if flag == "f32" else np.float64
            d_in, d_out = layers[0], layers[-1]
            x = (3.0 + 2.0 * rng.standard_normal((60, d_in))).astype(dtype)
            if classes:
                y = np.argmax(x[:, :classes], axis=1).astype(np.int64)
            else:
                y = (10.0 + x @ rng.standard_normal((d_in, d_out))).astype(dtype)
            np.save(cls.path(name + "-x.npy"), x)
            np.save(cls.path(name + "-y.npy"), y)
            tool("nobias-train", "--x", cls.path(name + "-x.npy"), "--y", cls.path(name + "-y.npy"),
                 "--layers", ",".join(map(str, layers)), "--dtype", flag,
                 "--standardize" if standardize else "--no-standardize", *QUICK,
                 "--weights-out", cls.path(name))
            tool("nobias-export", "--weights", cls.path(name), "--onnx", cls.path(name + ".onnx"))
            for rows in (37, 1):
                x_new = (3.0 + 2.0 * rng.standard_normal((rows, d_in))).astype(dtype)
                np.save(cls.path("%s-new%d.npy" % (name, rows)), x_new)
                tool("nobias-predict", "--weights", cls.path(name), "--x",
                     cls.path("%s-new%d.npy" % (name, rows)), "--out",
                     cls.path("%s-p%d.npy" % (name, rows)))

    @classmethod
    def path(cls, name):
        return os.path.join(cls.root, name)

    @classmethod
    def inputs(cls, name, rows):
        return (np.load(cls.path("%s-new%d.npy" % (name, rows))),
                np.load(cls.path("%s-p%d.npy" % (name, rows))))


def evaluate_with_numpy(model, x):
    """The graph's nodes in order, each computed in the tensors' own dtype."""
    from onnx import numpy_helper
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    values["x"] = x
    ops = {"Sub": np.subtract, "Div": np.divide, "Mul": np.multiply, "Add": np.add,
           "MatMul": np.matmul, "Relu": lambda a: np.maximum(a, a.dtype.type(0))}
    for node in model.graph.node:
        values[node.output[0]] = ops[node.op_type](*(values[i] for i in node.input))
    return values["y"]


class CheckerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        Models.build()

    def test_check_model_and_numpy_evaluation(self):
        import onnx
        for name, (layers, flag, standardize, classes) in MODELS.items():
            with self.subTest(model=name):
                model = onnx.load(Models.path(name + ".onnx"))
                onnx.checker.check_model(model, full_check=True)
                self.assertEqual((model.ir_version, model.opset_import[0].version), (7, 13))
                ops = [n.op_type for n in model.graph.node]
                expected = ["MatMul", "Relu"] * (len(layers) - 2) + ["MatMul"]
                if standardize:
                    expected = ["Sub", "Div"] + expected
                if standardize and not classes:
                    expected += ["Mul", "Add"]
                self.assertEqual(ops, expected)
                meta = {p.key: p.value for p in model.metadata_props}
                self.assertEqual(meta["widths"], ",".join(map(str, layers)))
                self.assertEqual((meta["dtype"], meta["classes"]), (flag, str(classes)))
                elem = onnx.TensorProto.FLOAT if flag == "f32" else onnx.TensorProto.DOUBLE
                for t in model.graph.initializer:
                    self.assertEqual(t.data_type, elem, t.name)
                for rows in (37, 1):
                    x, want = Models.inputs(name, rows)
                    agree(self, evaluate_with_numpy(model, x), want,
                          magnitude(Models.path(name), x), flag, "%s, %d rows" % (name, rows))

    def test_weights_are_the_model_directorys(self):
        import onnx
        from onnx import numpy_helper
        model = onnx.load(Models.path("four-f64-std.onnx"))
        weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        for k in range(1, 5):
            w = np.load(os.path.join(Models.path("four-f64-std"), "w%d.npy" % k))
            np.testing.assert_array_equal(weights["w%d" % k], w)


class RuntimeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        Models.build()

    def test_onnxruntime_agrees_with_nobias_predict(self):
        jobs = []
        for name, (_, flag, _, _) in MODELS.items():
            for rows in (37, 1):
                x, _ = Models.inputs(name, rows)
                raw = Models.path("%s-new%d.raw" % (name, rows))
                x.tofile(raw)
                jobs.append({"model": Models.path(name + ".onnx"), "x": raw, "rows": rows,
                             "cols": x.shape[1], "dtype": str(x.dtype),
                             "out": Models.path("%s-ort%d.raw" % (name, rows))})
        with open(Models.path("jobs.json"), "w") as f:
            json.dump(jobs, f)
        r = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "onnx_run.js"), ORT,
                            Models.path("jobs.json")], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, timeout=TIMEOUT_S)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        print(r.stdout.splitlines()[-1], file=sys.stderr)
        for job, line in zip(jobs, r.stdout.splitlines()):
            name = os.path.basename(job["model"])[:-len(".onnx")]
            x, want = Models.inputs(name, job["rows"])
            self.assertEqual(line.split()[1:], [str(n) for n in want.shape], line)
            got = np.fromfile(job["out"], dtype=want.dtype).reshape(want.shape)
            agree(self, got, want, magnitude(Models.path(name), x), MODELS[name][1],
                  "%s, %d rows" % (name, job["rows"]))


class ToolTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="nobias-export-")
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def refused(self, args, needle):
        before = sorted(os.listdir(self.dir))
        r = tool("nobias-export", *args, check=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertTrue(r.stderr.startswith("nobias-export: "), r.stderr)
        self.assertIn(needle, r.stderr)
        self.assertEqual(sorted(os.listdir(self.dir)), before)

    def test_help_and_required_flags(self):
        r = tool("nobias-export", "--help")
        self.assertIn("--weights", r.stdout)
        self.assertIn("--onnx", r.stdout)
        self.refused(["--weights", self.dir], "--onnx is required")

    def test_refusals_leave_the_previous_file(self):
        with open(self.path("m.onnx"), "w") as f:
            f.write("previous")
        self.refused(["--weights", self.path("none"), "--onnx", self.path("m.onnx")], "none")
        os.mkdir(self.path("d.onnx"))
        np.save(self.path("w1.npy"), np.ones((2, 3)))
        self.refused(["--weights", self.dir, "--onnx", self.path("d.onnx")], "is a directory")
        self.refused(["--weights", self.dir, "--onnx", self.path("w1.npy")], "--onnx")
        with open(self.path("m.onnx")) as f:
            self.assertEqual(f.read(), "previous")

    def test_replaces_an_existing_file(self):
        np.save(self.path("w1.npy"), np.ones((2, 3), dtype=np.float32))
        with open(self.path("m.onnx"), "w") as f:
            f.write("previous")
        tool("nobias-export", "--weights", self.dir, "--onnx", self.path("m.onnx"))
        with open(self.path("m.onnx"), "rb") as f:
            self.assertNotEqual(f.read(), b"previous")
        self.assertEqual(sorted(os.listdir(self.dir)), ["m.onnx", "w1.npy"])


def main():
    global BIN, ORT
    args = sys.argv[1:]
    BIN = args[args.index("--bin-dir") + 1]
    del args[args.index("--bin-dir"):args.index("--bin-dir") + 2]
    if "--ort" in args:
        ORT = args[args.index("--ort") + 1]
        del args[args.index("--ort"):args.index("--ort") + 2]
    names = [a for a in args if not a.startswith("-")]
    if any(n.startswith("CheckerTest") for n in names):
        try:
            import onnx  # noqa: F401
        except ImportError:
            print("onnx checks skipped: no module onnx for %s (apt-get install python3-onnx)"
                  % sys.executable)
            return SKIP
    if any(n.startswith("RuntimeTest") for n in names):
        if shutil.which("node") is None:
            print("onnxruntime checks skipped: node is not on PATH (apt-get install nodejs)")
            return SKIP
        if ORT is None:
            print("RuntimeTest needs --ort DIR (tests/install_onnxruntime.py DIR)")
            return 2
        if shutil.which("npm") is None and not os.path.isdir(
                os.path.join(ORT, "node_modules", "onnxruntime-node")):
            print("onnxruntime checks skipped: npm is not on PATH to install onnxruntime-node")
            return SKIP
    result = unittest.main(argv=[sys.argv[0]] + args, exit=False).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
