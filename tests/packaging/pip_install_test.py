#!/usr/bin/env python3
"""`pip install .` of nobias as a user runs it, in a fresh venv, and everything after.

    /usr/bin/python3 tests/packaging/pip_install_test.py --source REPO --work DIR
        [--build-dir DIR] [--cmake-args "ARGS"]

In DIR (emptied first): a venv made by `/usr/bin/python3 -m venv --system-site-packages` (it
sees Debian's numpy, setuptools and wheel), `pip install --no-build-isolation REPO`, then from
outside the sources: import, Classifier and Regressor fit and predict, the installed files
(only the package), `pip wheel` (only the package), `pip uninstall` (the venv as before).
CMake builds in --build-dir (kept between runs: a second run rebuilds nothing); --cmake-args
and the environment's NOBIAS_CMAKE_ARGS reach CMake. A cold build takes minutes: every step
says what it does, and pip's output is passed through as it comes.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

START = time.monotonic()
# The interpreter the venv is made from: Debian's, whose numpy the venv then sees.
SYSTEM_PYTHON = sys.executable


def say(message):
    print(f"[pip_install_test {time.monotonic() - START:6.1f} s] {message}", flush=True)


def fail(message):
    say(f"FAILED: {message}")
    sys.exit(1)


def run(command, cwd, env=None, stream=False):
    """The command's exit status and output; with stream, each line is printed as it comes."""
    say("$ " + " ".join("'<script>'" if "\n" in str(c) else str(c) for c in command))
    process = subprocess.Popen([str(c) for c in command], cwd=cwd, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if stream:
            print("    " + line, end="", flush=True)
    return process.wait(), "".join(lines)


def check(command, cwd, env=None, stream=False):
    status, output = run(command, cwd, env, stream)
    if status != 0:
        fail(f"exit status {status} of {command[0]} ... {command[-1]}:\n{output[-4000:]}")
    return output


def files_under(root):
    """Every file and symbolic link under root, relative, without Python's bytecode caches
    (an import outside the package may write them)."""
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if (p.is_file() or p.is_symlink()) and "__pycache__" not in p.parts}


def make_venv(work):
    venv = work / "venv"
    status, output = run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", venv], work)
    if status != 0:
        fail(f"{SYSTEM_PYTHON} -m venv failed: the Debian package python3-venv is needed "
             f"(apt-get install python3-venv):\n{output}")
    python = venv / "bin" / "python3"
    for module, package in (("pip", "python3-pip"), ("setuptools", "python3-setuptools"),
                            ("wheel", "python3-wheel")):
        status, output = run([python, "-c", f"import {module}"], work)
        if status != 0:
            fail(f"the venv's python cannot import {module}: the Debian package {package} is "
                 f"needed (apt-get install {package}):\n{output}")
    return venv, python


def site_packages(python, work):
    return Path(check([python, "-c", "import sysconfig; print(sysconfig.get_path('platlib'))"],
                      work).strip())


def only_the_package(names, version, where):
    """names (paths relative to site-packages or in a wheel) all under nobias/ or its
    dist-info, and the module, the estimators and the stubs among them."""
    allowed = re.compile(rf"^(nobias/|nobias-{re.escape(version)}\.dist-info/)")
    stray = sorted(n for n in names if not allowed.match(n))
    if stray:
        fail(f"{where} holds files outside the package nobias: {stray}")
    package = {n.split("/", 1)[1] for n in names if n.startswith("nobias/")
               and "__pycache__" not in n}
    for wanted in ("__init__.py", "estimators.py", "_estimator.py", "_nobias.pyi", "py.typed",
                   "_built_for.py"):
        if wanted not in package:
            fail(f"{where} lacks nobias/{wanted}: {sorted(package)}")
    modules = [n for n in package if re.fullmatch(r"_nobias\..*\.so", n)]
    if len(modules) != 1:
        fail(f"{where}: expected one compiled module nobias/_nobias.*.so, got {modules}")
    say(f"{where}: {len(names)} files, all of the package: {sorted(package)}")


USE = """
import sys, numpy, nobias
assert nobias.__file__.startswith(sys.argv[1]), nobias.__file__
assert nobias.__version__ == sys.argv[2], (nobias.__version__, sys.argv[2])
rng = numpy.random.default_rng(0)
X = rng.standard_normal((60, 3))
y = (X[:, 0] > 0).astype(int)
labels = nobias.Classifier(max_epochs=5).fit(X, y).predict(X)
assert labels.shape == (60,) and set(labels) <= {0, 1}, labels
values = nobias.Regressor(max_epochs=5).fit(X, X @ [1.0, -2.0, 0.5]).predict(X)
assert values.shape == (60,) and numpy.isfinite(values).all(), values
print("used", nobias.__file__, nobias.__version__, "BLAS:", nobias.blas_description())
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="the nobias repository")
    parser.add_argument("--work", type=Path, required=True, help="emptied, then used")
    parser.add_argument("--build-dir", type=Path, help="CMake's (default: WORK/cmake)")
    parser.add_argument("--cmake-args", default="", help="for CMake, before NOBIAS_CMAKE_ARGS")
    args = parser.parse_args()
    source, work = args.source.resolve(), args.work.resolve()
    version = re.search(r"project\(\s*nobias\s+VERSION\s+([0-9.]+)",
                        (source / "CMakeLists.txt").read_text()).group(1)

    shutil.rmtree(work, ignore_errors=True)
    outside = work / "elsewhere"  # the imports run here, away from the sources
    outside.mkdir(parents=True)
    env = dict(os.environ)
    env["NOBIAS_BUILD_DIR"] = str((args.build_dir or work / "cmake").resolve())
    env["NOBIAS_CMAKE_ARGS"] = " ".join(filter(None, [args.cmake_args,
                                                      os.environ.get("NOBIAS_CMAKE_ARGS")]))
    # ccache's hits shared with the other build trees of this checkout.
    env.setdefault("CCACHE_BASEDIR", str(source))
    env.setdefault("CCACHE_NOHASHDIR", "1")
    env.pop("PYTHONPATH", None)  # the venv alone decides what is imported
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    say(f"CMake builds in {env['NOBIAS_BUILD_DIR']} with NOBIAS_CMAKE_ARGS="
        f"'{env['NOBIAS_CMAKE_ARGS']}'")

    say("creating the venv")
    venv, python = make_venv(work)
    before = files_under(venv)
    site = site_packages(python, outside)

    say("pip install (a cold build of the library takes minutes; CMake's progress follows)")
    started = time.monotonic()
    check([python, "-m", "pip", "install", "--no-build-isolation", "-v", source], outside, env,
          stream=True)
    say(f"pip install took {time.monotonic() - started:.0f} s")

    say("using the installed package from outside the sources")
    say(check([python, "-c", USE, str(site / "nobias"), version], outside, env).strip())

    added = files_under(venv) - before
    in_site = {str((venv / a).relative_to(site)) for a in added
               if (venv / a).is_relative_to(site)}
    elsewhere = sorted(a for a in added if not (venv / a).is_relative_to(site))
    if elsewhere:
        fail(f"pip install put files outside site-packages: {elsewhere}")
    only_the_package(in_site, version, "the venv after pip install")

    say("pip wheel")
    wheels = work / "wheels"
    check([python, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-w", wheels,
           source], outside, env)
    built = sorted(wheels.glob("*.whl"))
    if len(built) != 1 or not built[0].name.startswith(f"nobias-{version}-"):
        fail(f"expected one wheel nobias-{version}-*.whl in {wheels}, got {built}")
    with zipfile.ZipFile(built[0]) as wheel:
        only_the_package(wheel.namelist(), version, built[0].name)

    say("pip uninstall")
    check([python, "-m", "pip", "uninstall", "-y", "nobias"], outside, env)
    left = sorted(files_under(venv) - before)
    if left:
        fail(f"pip uninstall left files behind: {left}")
    if (site / "nobias").exists():
        fail(f"pip uninstall left the directory {site / 'nobias'}")
    status, output = run([python, "-c", "import nobias"], outside, env)
    if status == 0 or "No module named 'nobias'" not in output:
        fail(f"import nobias after pip uninstall: expected ModuleNotFoundError, got exit status "
             f"{status}:\n{output}")
    say("passed: install, use, wheel, uninstall")


if __name__ == "__main__":
    main()
