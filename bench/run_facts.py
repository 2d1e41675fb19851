"""The machine facts every --json of the user-run benchmarks carries (optimizer_compare.py,
predict_memory.py, train_memory.py), so that bench/report.py can say beside each table where,
when, on which commit and build, how and under what load it was measured.
"""
import datetime
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import doc_regions  # bench/, the scripts' directory, is first on sys.path

HERE = Path(__file__).resolve().parent
# The variables that change what OpenBLAS and nobias do: recorded as measure.py records them.
ENVIRONMENT = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "NOBIAS_THREADS", "OPENBLAS_NUM_THREADS",
               "OMP_NUM_THREADS", "OMP_WAIT_POLICY")


# What the measured programs are built from: a run's own output (bench/user_runs/) written
# earlier in the same session does not make the next run "dirty".
SOURCES = ("lib", "include", "tools", "python", "mpi", "CMakeLists.txt", "cmake")


def commit(*sources):
    """HEAD of this checkout, with '-dirty' when tracked files differ from it: any of them, or
    only those under `sources` (paths from the top of the checkout: what the measured program
    is built from)."""
    def git(*args):
        return subprocess.run(["git", "-C", str(HERE), *args], capture_output=True, text=True,
                              check=False).stdout.strip()
    head = git("rev-parse", "--short=10", "HEAD") or "(unknown)"
    top = git("rev-parse", "--show-toplevel")
    changed = git("-C", top or str(HERE), "status", "--porcelain", "--untracked-files=no", "--",
                  *sources)
    return head + ("-dirty" if changed else "")


def build_of(binary):
    """{"path", "build_type"}: CMAKE_BUILD_TYPE from the CMakeCache.txt of the tree holding it."""
    for parent in Path(binary).resolve().parents:
        cache = parent / "CMakeCache.txt"
        if cache.is_file():
            m = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", cache.read_text(errors="replace"),
                          re.MULTILINE)
            return {"path": str(binary), "build_type": m.group(1) if m else "(unset)"}
    return {"path": str(binary), "build_type": "(unknown)"}


def start(binary, argv=None):
    """The facts known before measuring; binary: the nobias program (or module) measured."""
    return {"cpu": doc_regions.cpu_name(), "cpus": len(os.sched_getaffinity(0)),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": commit(*SOURCES), "build": build_of(binary),
            "command": shlex.join([sys.executable, sys.argv[0],
                                   *(sys.argv[1:] if argv is None else argv)]),
            "environment": {k: os.environ[k] for k in ENVIRONMENT if k in os.environ},
            "load_before": list(os.getloadavg())}


def finish(facts, path, **measured):
    """Writes facts (with the load average now) and measured to path as JSON."""
    facts = dict(facts, load_after=list(os.getloadavg()))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(dict(meta=facts, **measured), indent=1) + "\n")
    print(f"wrote {path}", file=sys.stderr)
