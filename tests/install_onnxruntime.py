#!/usr/bin/env python3
"""Installs npm's onnxruntime-node into DIR once, for the onnx tests (ctest fixture onnxruntime).

    /usr/bin/python3 tests/install_onnxruntime.py DIR

The package ships its CPU runtime for every platform inside it (bin/napi-v*/linux/x64 here);
its install script would only fetch other platforms' files, which these machines cannot
reach, so it is skipped (--ignore-scripts). A DIR that already holds the pinned version is
left alone. Exit 77 (ctest's skip) when npm or node is absent, saying so; 1 when npm fails.
"""

import json
import os
import shutil
import subprocess
import sys
import time

VERSION = "1.31.1"  # pinned: the runtime the tests were written against (docs/onnx.md)
SKIP = 77


def installed(directory):
    package = os.path.join(directory, "node_modules", "onnxruntime-node", "package.json")
    try:
        with open(package) as f:
            return json.load(f).get("version") == VERSION
    except (OSError, ValueError):
        return False


def main():
    directory = sys.argv[1]
    missing = [tool for tool in ("npm", "node") if shutil.which(tool) is None]
    if missing:
        print("onnxruntime: skipped, %s not on PATH (apt-get install nodejs npm)"
              % " and ".join(missing))
        return SKIP
    if installed(directory):
        print("onnxruntime-node %s already in %s" % (VERSION, directory))
        return 0
    os.makedirs(directory, exist_ok=True)
    start = time.monotonic()
    r = subprocess.run(["npm", "install", "--prefix", directory, "--ignore-scripts", "--no-audit",
                        "--no-fund", "--no-save", "onnxruntime-node@" + VERSION])
    if r.returncode != 0 or not installed(directory):
        print("onnxruntime: npm install onnxruntime-node@%s into %s failed (exit %d)"
              % (VERSION, directory, r.returncode))
        return 1
    print("onnxruntime-node %s installed in %s in %.0f s"
          % (VERSION, directory, time.monotonic() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
