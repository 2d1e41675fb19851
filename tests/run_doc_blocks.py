#!/usr/bin/env python3
"""Runs the code blocks of a document as a reader would: in order, in one fresh directory.

    run_doc_blocks.py --work DIR [--path DIR]... [--pythonpath DIR] [--python EXE]
                      [--env NAME=VALUE]... DOC.md
    run_doc_blocks.py --list DOC.md      what each block is, without running anything

Each fenced block is one of these, decided by its language and by a marker on the line right
before it (blank lines between are allowed):

    ```sh                          run with bash (-e -o pipefail) in DIR
    ```python                      run with --python (default /usr/bin/python3) in DIR
    <!-- example: PATH -->         written into DIR under PATH's file name, for the blocks
                                   after it (check_doc_examples.py checks it is that file)
    <!-- not run: REASON -->       not run, for the reason given (./dev test itself, a
                                   package install, a whole build, a long benchmark)
    <!-- needs: mpirun -->         a ```sh block run only when mpirun and nobias-train-mpi are
                                   on PATH, else reported as skipped
    ```text                        output or a synopsis: not code

Any other block (```cpp, ```cmake, a fence without a language, ...) without one of the
markers is an error, as is a marker that names no reason or an unknown need: nothing is
skipped silently. --path directories are put first on PATH (the built tools), --pythonpath
first on PYTHONPATH (the built package), --env sets more of the environment. DIR is emptied
first. The first block that fails stops the run: later blocks use what earlier ones made.

Exit status 0 when every block ran (or was marked), 1 otherwise.
"""

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

MARKER = re.compile(r"^<!--\s*(example|not run|needs):\s*(.*?)\s*-->$")
FENCE = re.compile(r"^```(\S*)\s*$")
NEEDS = {"mpirun": ("mpirun", "nobias-train-mpi")}
TIMEOUT_S = 300


def blocks(text):
    """Yields (line number from 1, language, (marker kind, value) or None, body)."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        start = i
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        previous = start - 1
        while previous >= 0 and not lines[previous].strip():
            previous -= 1
        marker = MARKER.match(lines[previous]) if previous >= 0 else None
        body = "\n".join(lines[start + 1 : j]) + "\n"
        yield start + 1, fence.group(1), marker.groups() if marker else None, body
        i = j + 1


def plan(language, marker):
    """What to do with a block: (action, detail); action 'error' says why in detail."""
    if marker is not None:
        kind, value = marker
        if kind == "not run":
            return ("skip", value) if value else ("error", "'not run:' gives no reason")
        if kind == "example":
            return ("write", value) if value else ("error", "'example:' names no file")
        if value not in NEEDS:
            return ("error", f"unknown need '{value}' (known: {', '.join(NEEDS)})")
        if language != "sh":
            return ("error", f"'needs: {value}' goes before a ```sh block")
        return ("run-if", value)
    if language in ("sh", "python"):
        return ("run", language)
    if language == "text":
        return ("text", "")
    fence = f"```{language}" if language else "a fence without a language"
    return ("error", f"{fence} is neither run nor marked: give it '<!-- example: FILE -->' or "
                     f"'<!-- not run: REASON -->' before it, or ```text if it is output")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=pathlib.Path)
    parser.add_argument("--path", action="append", default=[])
    parser.add_argument("--pythonpath", action="append", default=[])
    parser.add_argument("--python", default="/usr/bin/python3")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("document", type=pathlib.Path)
    args = parser.parse_args()
    if not args.list and args.work is None:
        parser.error("--work is required (or --list)")

    found = [(line, language, marker, body, plan(language, marker))
             for line, language, marker, body in blocks(args.document.read_text(encoding="utf-8"))]
    errors = [f"{args.document}:{line}: {detail}"
              for line, _, _, _, (action, detail) in found if action == "error"]
    if args.list or errors:
        for line, language, _, _, (action, detail) in found:
            print(f"{args.document}:{line}: ```{language}: {action} {detail}".rstrip())
        for error in errors:
            print(error, file=sys.stderr)
        return 1 if errors else 0

    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(pathlib.Path(p).resolve()) for p in args.path] +
                                  [env.get("PATH", "")])
    if args.pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([str(pathlib.Path(p).resolve())
                                             for p in args.pythonpath] +
                                            ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    for setting in args.env:
        name, _, value = setting.partition("=")
        env[name] = value
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    work = args.work.resolve()

    counts = {}
    for line, language, _, body, (action, detail) in found:
        where = f"{args.document}:{line}"
        if action == "run-if":
            missing = [p for p in NEEDS[detail] if shutil.which(p, path=env["PATH"]) is None]
            if missing:
                print(f"{where}: skipped, needs {detail}: {', '.join(missing)} not on PATH")
                counts["skipped (needs)"] = counts.get("skipped (needs)", 0) + 1
                continue
            action = "run"
        if action == "write":
            (work / pathlib.PurePosixPath(detail).name).write_text(body, encoding="utf-8")
        if action != "run":
            counts[action] = counts.get(action, 0) + 1
            continue
        script = work / f".doc-block-{line}.{'sh' if language == 'sh' else 'py'}"
        script.write_text(body, encoding="utf-8")
        command = (["bash", "-e", "-o", "pipefail", str(script)] if language == "sh"
                   else [args.python, str(script)])
        start = time.monotonic()
        try:
            p = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True,
                               timeout=TIMEOUT_S)
            status = p.returncode
        except subprocess.TimeoutExpired as e:
            p, status = e, f"timeout after {TIMEOUT_S} s"
        script.unlink()
        seconds = time.monotonic() - start
        if status != 0:
            print(f"{where}: the ```{language} block failed ({status}):\n{body}", file=sys.stderr)
            print(f"--- stdout\n{p.stdout or ''}\n--- stderr\n{p.stderr or ''}", file=sys.stderr)
            return 1
        print(f"{where}: ```{language} ran in {seconds:.1f} s")
        counts["run"] = counts.get("run", 0) + 1
    summary = ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
    print(f"{args.document}: {summary or 'no blocks'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
