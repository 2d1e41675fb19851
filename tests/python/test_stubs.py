"""The stub python/nobias/_nobias.pyi, what editors and type checkers show of the compiled
module, held to the module: the same public names (in every class too), the same parameters
(names, order, keyword-only mark, literal defaults) as pybind11's signatures, the same
docstrings. mypy's stubtest, where mypy is installed, checks the rest."""
import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nobias import _nobias

PACKAGE_STUB = Path(_nobias.__file__).with_name("_nobias.pyi")
SOURCE_STUB = Path(__file__).resolve().parents[2] / "python" / "nobias" / "_nobias.pyi"


def stub_tree():
    assert PACKAGE_STUB.is_file(), f"the built package lacks its stub: {PACKAGE_STUB}"
    assert PACKAGE_STUB.read_text() == SOURCE_STUB.read_text(), \
        f"{PACKAGE_STUB} is not {SOURCE_STUB}: rebuild the target nobias-python"
    return ast.parse(PACKAGE_STUB.read_text())


STUB = stub_tree()


def public(name):
    return not name.startswith("_") or name in ("__init__", "__version__")


def stub_members(body):
    """{name: node} of the definitions in a module's or class's body."""
    members = {}
    for node in body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            members[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            members[node.target.id] = node
    return {name: node for name, node in members.items() if public(name)}


STUB_NAMES = stub_members(STUB.body)
CLASSES = [name for name, node in STUB_NAMES.items() if isinstance(node, ast.ClassDef)
           and hasattr(_nobias, name) and not issubclass(getattr(_nobias, name), BaseException)]
FUNCTIONS = [name for name, node in STUB_NAMES.items() if isinstance(node, ast.FunctionDef)
             and hasattr(_nobias, name)]
METHODS = [(cls, name) for cls in CLASSES
           for name, node in stub_members(STUB_NAMES[cls].body).items()
           if isinstance(node, ast.FunctionDef) and not any(
               isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list)]


def runtime_members(cls):
    """What the binding defines in a class: the public names, and __init__ when it has one."""
    names = {name for name in vars(cls) if public(name)}
    if type(vars(cls).get("__init__")).__name__ != "instancemethod":  # pybind11_object's
        names.discard("__init__")
    return names


def test_module_names():
    runtime = {name for name in dir(_nobias) if public(name) and not name.startswith("__")}
    runtime.add("__version__")
    assert sorted(runtime - set(STUB_NAMES)) == [], "in the module, not in the stub"
    assert sorted(set(STUB_NAMES) - runtime) == [], "in the stub, not in the module"


@pytest.mark.parametrize("name", CLASSES)
def test_class_members(name):
    stub = set(stub_members(STUB_NAMES[name].body))
    runtime = runtime_members(getattr(_nobias, name))
    assert sorted(runtime - stub) == [], f"in {name}, not in its stub"
    assert sorted(stub - runtime) == [], f"in {name}'s stub, not in the module"


def test_exception_bases():
    for name, node in STUB_NAMES.items():
        runtime = getattr(_nobias, name, None)
        if isinstance(node, ast.ClassDef) and isinstance(runtime, type) \
                and issubclass(runtime, BaseException):
            stub = [ast.unparse(base).removeprefix("builtins.") for base in node.bases]
            assert stub == [base.__name__ for base in runtime.__bases__], name


def split_parameters(text):
    """pybind11's parameter list 'a: int = 0, b: Dict[str, str] = {}' cut at its top-level
    commas."""
    parts, depth, quote, start = [], 0, None, 0
    for i, c in enumerate(text):
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in "([{<":
            depth += 1
        elif c in ")]}>" and text[i - 1] != "-":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def runtime_parameters(function, name, method):
    """[(name, default text or None)] and '*' from pybind11's signature line, without self."""
    first = (function.__doc__ or "").lstrip("\n").split("\n")[0]
    assert first.startswith(name + "(") and ") -> " in first, f"no signature: {first!r}"
    inside = first[len(name) + 1:first.rindex(") -> ")]
    parameters = []
    for part in split_parameters(inside):
        head, _, default = part.partition(" = ")
        parameters.append((head.split(":")[0].strip(), default or None))
    if method and parameters and parameters[0][0] in ("self", "arg0"):
        parameters = parameters[1:]
    return parameters


def stub_parameters(node, method):
    args = node.args
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + args.defaults
    parameters = list(zip([a.arg for a in positional], defaults))
    if args.vararg or args.kwonlyargs:
        parameters.append(("*", None))
    parameters += list(zip([a.arg for a in args.kwonlyargs], args.kw_defaults))
    if method and parameters and parameters[0][0] == "self":
        parameters = parameters[1:]
    return parameters


def compare_parameters(runtime, stub, where):
    assert [p for p, _ in stub] == [p for p, _ in runtime], f"{where}: parameters"
    for (parameter, given), (_, default) in zip(runtime, stub):
        if default is None or isinstance(default, ast.Constant) and default.value is Ellipsis:
            continue  # no default, or one the stub does not spell out (dtype=numpy.float32)
        assert given is not None, f"{where}: {parameter} has a default only in the stub"
        stub_value = ast.literal_eval(default)
        assert stub_value == ast.literal_eval(given), f"{where}: {parameter}'s default"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_parameters(name):
    compare_parameters(runtime_parameters(getattr(_nobias, name), name, False),
                       stub_parameters(STUB_NAMES[name], False), name)


@pytest.mark.parametrize("cls,name", METHODS)
def test_method_parameters(cls, name):
    node = stub_members(STUB_NAMES[cls].body)[name]
    static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)
    compare_parameters(runtime_parameters(getattr(getattr(_nobias, cls), name), name, not static),
                       stub_parameters(node, not static), f"{cls}.{name}")


def runtime_doc(obj, name):
    """The docstring's text, without pybind11's signature line, whitespace collapsed."""
    lines = (obj.__doc__ or "").strip("\n").split("\n")
    if lines and lines[0].startswith(name + "(") and not isinstance(obj, property):
        lines = lines[1:]
    return " ".join(" ".join(lines).split())


def documented():
    """(qualified name, runtime object, stub node) of every class, function and property."""
    for name, node in STUB_NAMES.items():
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            runtime = getattr(_nobias, name, None)
            if runtime is None:
                continue  # test_module_names says so
            yield name, runtime, node
            if isinstance(node, ast.ClassDef):
                for member, inner in stub_members(node.body).items():
                    if isinstance(inner, ast.FunctionDef) and member in vars(runtime):
                        yield f"{name}.{member}", vars(runtime)[member], inner


@pytest.mark.parametrize("name,runtime,node", list(documented()), ids=lambda v: str(v)[:40])
def test_docstrings(name, runtime, node):
    if isinstance(runtime, staticmethod):
        runtime = runtime.__func__
    stub = " ".join((ast.get_docstring(node) or "").split())
    assert stub == runtime_doc(runtime, name.split(".")[-1]), f"{name}'s docstring"


def test_python_api_documented():
    # What an editor shows of the pure-Python part: every public class, function and method.
    import inspect

    import nobias
    missing = []
    for name in nobias.__all__:
        obj = getattr(nobias, name)
        if getattr(obj, "__module__", "").startswith("nobias._nobias"):
            continue  # the stub's, above
        if inspect.isclass(obj) or inspect.isfunction(obj):
            if not inspect.getdoc(obj):
                missing.append(name)
        if inspect.isclass(obj):
            missing += [f"{name}.{member}" for member, value in inspect.getmembers(obj)
                        if not member.startswith("_") and callable(value)
                        and not inspect.getdoc(value)]
    assert missing == [], "without a docstring"


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None,
                    reason="mypy is not installed (Debian: python3-mypy)")
def test_stubtest():
    # Types, properties, defaults and what inspect sees, as mypy understands the stub.
    allow = Path(__file__).with_name("stubtest_allowlist.txt")
    done = subprocess.run([sys.executable, "-m", "mypy.stubtest", "nobias._nobias",
                           "--allowlist", str(allow)],
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, MYPY_CACHE_DIR=os.devnull))
    assert done.returncode == 0, done.stdout + done.stderr
