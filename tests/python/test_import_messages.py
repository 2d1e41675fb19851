"""`import nobias` that cannot work ends in an ImportError naming the cause, in its last line:
numpy missing from the interpreter (pybind11 alone says "initialization failed", the cause
higher in the traceback), a compiled module built for another Python, or none built."""
import os
import shutil
import subprocess
import sys

import nobias

PACKAGE = os.path.dirname(nobias.__file__)
COMPILED = [f for f in os.listdir(PACKAGE) if f.startswith("_nobias.") and f.endswith(".so")]


def last_error_line(args, path):
    """The last line of stderr of `python args -c 'import nobias'` with path first on
    sys.path; the import must fail."""
    env = dict(os.environ, PYTHONPATH=str(path))
    done = subprocess.run([sys.executable, *args, "-c", "import nobias"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0, f"import nobias succeeded: {done.stdout}"
    return done.stderr.strip().splitlines()[-1]


def test_interpreter_without_numpy():
    # -S: without the site module, Debian's dist-packages (and its numpy) are not on sys.path,
    # as in an interpreter that has no numpy.
    env = dict(os.environ, PYTHONPATH="")
    premise = subprocess.run([sys.executable, "-S", "-c", "import numpy"], env=env,
                             capture_output=True, timeout=60)
    assert premise.returncode != 0, f"{sys.executable} -S imports numpy: nothing to test"
    line = last_error_line(["-S"], os.path.dirname(PACKAGE))
    version = sys.version.split()[0]
    assert line.startswith(f"ImportError: nobias needs numpy, which this interpreter "
                           f"({sys.executable} {version}) cannot import: No module named "
                           "'numpy'; install numpy for it"), line


def test_numpy_hidden_from_an_interpreter():
    # numpy made unimportable in a normal interpreter, its site-packages still there.
    line = last_error_line(["-c", "import sys; sys.modules['numpy'] = None; import nobias"],
                           os.path.dirname(PACKAGE))
    assert line.startswith("ImportError: nobias needs numpy, which this interpreter"), line
    assert "import of numpy halted" in line, line


def package_copy(tmp_path, compiled_name):
    """The package's files in tmp_path/nobias (the stub too), and the compiled module under
    compiled_name (None: without it)."""
    copy = tmp_path / "nobias"
    copy.mkdir()
    for name in os.listdir(PACKAGE):
        if name.endswith((".py", ".pyi", ".typed")):
            shutil.copy(os.path.join(PACKAGE, name), copy / name)
    if compiled_name is not None:
        (copy / compiled_name).symlink_to(os.path.join(PACKAGE, COMPILED[0]))
    return copy


def test_module_built_for_another_python(tmp_path):
    assert len(COMPILED) == 1, f"expected one _nobias.*.so in {PACKAGE}, found {COMPILED}"
    copy = package_copy(tmp_path, "_nobias.cpython-39-x86_64-linux-gnu.so")
    line = last_error_line([], tmp_path)
    assert line.startswith(f"ImportError: nobias's compiled module in {copy} "
                           "(_nobias.cpython-39-x86_64-linux-gnu.so) is built for another Python "
                           f"than this interpreter ({sys.executable} "), line
    assert "which loads only _nobias{" in line and "rebuild nobias for it" in line, line


def test_module_not_built(tmp_path):
    copy = package_copy(tmp_path, None)
    line = last_error_line([], tmp_path)
    assert line.startswith(f"ImportError: nobias's compiled module _nobias is not in {copy}: "
                           "the package was not built"), line


def test_libraries_named_in_the_working_directory_are_not_loaded(tmp_path):
    # The module's run path holds absolute directories only: files named as the libraries it
    # loads, in the directory Python runs from, are not taken for them (an empty entry would
    # make the loader stop at "file too short", or run them). ldd is asked from / so that the
    # decoys are not in its way.
    listing = subprocess.run(["ldd", os.path.join(PACKAGE, COMPILED[0])], cwd="/",
                             capture_output=True, text=True, check=True, timeout=60)
    names = [line.split()[0] for line in listing.stdout.splitlines() if "=>" in line]
    assert "libc.so.6" in names, listing.stdout
    for name in names:
        (tmp_path / name).write_text("not a library\n")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(PACKAGE))
    done = subprocess.run(
        [sys.executable, "-c", "import numpy, nobias; x = numpy.ones((2, 3), numpy.float32); "
         "print(nobias.Network([3, 4, 1], seed=1).predict(x).shape)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == "(2, 1)\n", done.stderr
