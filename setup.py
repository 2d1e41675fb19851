"""Builds the package nobias for pip: CMake builds the target nobias-python (the compiled module
_nobias, Release) for the interpreter running this, and setuptools packages that module with
python/nobias's files. Nothing else of the C++ project is installed.

    pip install --no-build-isolation .     (docs/python.md: why --no-build-isolation)

Environment:
  NOBIAS_CMAKE_ARGS  more arguments for CMake's configure step, split as a shell would
                     (e.g. "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
  NOBIAS_BUILD_DIR   CMake's build directory (default build/pip), kept so that installing
                     again rebuilds only what changed
  CMAKE_BUILD_PARALLEL_LEVEL  build jobs (default: every CPU)
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


def project_version():
    """The CMake project's version: the one place it is written."""
    text = (ROOT / "CMakeLists.txt").read_text()
    match = re.search(r"project\(\s*nobias\s+VERSION\s+([0-9][0-9.]*)", text)
    if match is None:
        raise RuntimeError(f"no 'project(nobias VERSION x.y.z' in {ROOT / 'CMakeLists.txt'}")
    return match.group(1)


def build_dir():
    return Path(os.environ.get("NOBIAS_BUILD_DIR") or ROOT / "build" / "pip").resolve()


def run(command):
    print("nobias:", shlex.join(str(part) for part in command), file=sys.stderr, flush=True)
    subprocess.run([str(part) for part in command], check=True)


class CMakeBuild(build_ext):
    """build_ext for the one extension, nobias._nobias, by CMake."""

    def build_extension(self, ext):
        cmake = shutil.which("cmake")
        if cmake is None:
            raise RuntimeError("nobias is built with CMake >= 3.25, and there is no cmake on "
                               "PATH (Debian: apt-get install cmake)")
        directory = build_dir()
        configure = [cmake, "-S", ROOT, "-B", directory, "-DCMAKE_BUILD_TYPE=Release",
                     "-DNOBIAS_PYTHON=ON", "-DNOBIAS_TESTS=OFF", "-DNOBIAS_BENCH=OFF",
                     "-DNOBIAS_TOOLS=OFF", "-DNOBIAS_INSTALL=OFF", "-DNOBIAS_MPI=OFF",
                     f"-DPython_EXECUTABLE={sys.executable}"]
        configure += shlex.split(os.environ.get("NOBIAS_CMAKE_ARGS", ""))
        run(configure)
        build = [cmake, "--build", directory, "--target", "nobias-python"]
        if not os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL"):
            build += ["--parallel", str(os.cpu_count() or 1)]
        run(build)

        # The module CMake built for this interpreter (its name carries the interpreter's
        # suffix, .cpython-311-x86_64-linux-gnu.so), and what CMake wrote about the build.
        package = directory / "python" / "nobias"
        target = Path(self.get_ext_fullpath(ext.name))
        built = package / target.name
        if not built.is_file():
            found = sorted(p.name for p in package.glob("_nobias*")) or "nothing"
            raise RuntimeError(f"CMake built no {built.name} in {package} (found: {found}): "
                               f"was it configured for another interpreter than "
                               f"{sys.executable}?")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)
        shutil.copyfile(package / "_built_for.py", target.parent / "_built_for.py")


# setuptools' own scratch files (build/lib.*, nobias.egg-info) go beside CMake's, not into
# the sources.
scratch = build_dir() / "setuptools"
scratch.mkdir(parents=True, exist_ok=True)  # egg_info wants its base to exist
# The package and nothing else: no headers, libraries or programs of the C++ project. (Here
# rather than in pyproject.toml's [tool.setuptools], which setuptools 66 calls beta and warns of.)
setup(
    version=project_version(),
    package_dir={"": "python"},
    packages=["nobias"],
    package_data={"nobias": ["py.typed", "*.pyi"]},
    include_package_data=False,
    ext_modules=[Extension("nobias._nobias", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    options={"build": {"build_base": str(scratch)}, "egg_info": {"egg_base": str(scratch)}},
)
