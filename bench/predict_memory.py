#!/usr/bin/env python3
"""Prediction throughput and peak memory of the command line against rows (issue 22).

For each row count: nobias-predict (and nobias-evaluate) on an n x 784 float32 .npy with a
784->512->512->10 model, wall time and peak RSS (/usr/bin/time), against Network.predict on the
same rows from Python once warm, interleaved, medians of --repeats. Prints a table; the
machine's load average is printed with it (the numbers mean little on a busy machine). --json
writes every repeat's timings with the machine's facts (bench/run_facts.py), from which
bench/report.py writes RESULTS.md's "What users run".

What each time includes. Network.predict: the products alone, on rows already in memory, its
workspace warm (an earlier call on the same rows), nothing read or written. nobias-predict: the
whole process as a user runs it: start and library loading, the model read, --x mapped and read
from the page cache (the file was just written), the predictions, their check, the .npy written
and synced (fsync) and renamed. nobias-evaluate: the same, with --y read and the metrics instead
of a file written. "start-up" is nobias-predict on one row: the part that does not grow with rows.
"np.load + predict" is what a Python user pays from the same file: numpy.load (read from the page
cache into fresh memory) and then Network.predict, the closest like-for-like to the tool.

  PYTHONPATH=build/test/python /usr/bin/python3 bench/predict_memory.py \\
      --tools build/test/tools --rows 10000,100000 --repeats 3 [--json PATH]
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np

import nobias
import run_facts  # bench/, this script's directory, is first on sys.path

WIDTHS = [784, 512, 512, 10]


def timed_tool(argv):
    """(wall seconds, peak RSS in MB, user s, system s) of one run of argv."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        start = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-o", report.name, "-f", "%M %U %S"] + argv,
                       check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        rss_kb, user, system = report.read().split()
    return wall, int(rss_kb) / 1024, float(user), float(system)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", default="build/test/tools", help="where nobias-predict is")
    parser.add_argument("--rows", default="10000,30000,100000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write every repeat's figures and the facts here")
    args = parser.parse_args()
    facts = run_facts.start(os.path.join(args.tools, "nobias-predict"))
    facts["module"] = nobias.__file__
    measured = []
    rng = np.random.default_rng(0)
    net = nobias.Network(WIDTHS, seed=1, init="half_glorot")
    print("load average: %.2f %.2f %.2f" % os.getloadavg())
    print("| rows | input MB | Network.predict rows/s | nobias-predict rows/s | ratio | "
          "np.load + predict rows/s | tool / that | nobias-evaluate rows/s | start-up s | "
          "predict peak MB | evaluate peak MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "m")
        nobias.save_model(model, net, classes=10)
        for rows in [int(r) for r in args.rows.split(",")]:
            x_path, y_path = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
            x = rng.standard_normal((rows, WIDTHS[0]), dtype=np.float32)
            np.save(x_path, x)
            np.save(y_path, rng.integers(0, 10, rows))
            input_mb = os.path.getsize(x_path) / 2**20
            out = os.path.join(tmp, "p.npy")
            predict = [os.path.join(args.tools, "nobias-predict"), "--weights", model, "--x",
                       x_path, "--out", out]
            evaluate = [os.path.join(args.tools, "nobias-evaluate"), "--weights", model, "--x",
                        x_path, "--y", y_path]
            one_path = os.path.join(tmp, "x1.npy")
            np.save(one_path, x[:1])
            startup = [os.path.join(args.tools, "nobias-predict"), "--weights", model, "--x",
                       one_path, "--out", os.path.join(tmp, "p1.npy")]
            net.predict(x)  # warm: the workspace for these rows exists
            library, tool, tool_rss, evaluations, evaluate_rss, starts = [], [], [], [], [], []
            loaded = []
            for _ in range(args.repeats):  # interleaved: all see the same load
                start = time.perf_counter()
                net.predict(x)
                library.append(time.perf_counter() - start)
                start = time.perf_counter()
                net.predict(np.load(x_path))
                loaded.append(time.perf_counter() - start)
                wall, rss, _, _ = timed_tool(predict)
                tool.append(wall)
                tool_rss.append(rss)
                wall, rss, _, _ = timed_tool(evaluate)
                evaluations.append(wall)
                evaluate_rss.append(rss)
                starts.append(timed_tool(startup)[0])
            lib_rate = rows / statistics.median(library)
            tool_rate = rows / statistics.median(tool)
            print(f"| {rows} | {input_mb:.0f} | {lib_rate:,.0f} | {tool_rate:,.0f} | "
                  f"{tool_rate / lib_rate:.2f} | {rows / statistics.median(loaded):,.0f} | "
                  f"{statistics.median(loaded) / statistics.median(tool):.2f} | "
                  f"{rows / statistics.median(evaluations):,.0f} | "
                  f"{statistics.median(starts):.2f} | {max(tool_rss):.0f} | "
                  f"{max(evaluate_rss):.0f} |", flush=True)
            measured.append({"rows": rows, "input_mb": input_mb, "library_s": library,
                             "np_load_and_predict_s": loaded, "predict_s": tool,
                             "predict_peak_mb": tool_rss, "evaluate_s": evaluations,
                             "evaluate_peak_mb": evaluate_rss, "startup_s": starts})
            del x
    if args.json:
        run_facts.finish(facts, args.json, widths=WIDTHS, dtype="f32", repeats=args.repeats,
                         runs=measured)


if __name__ == "__main__":
    main()
