#!/usr/bin/env python3
"""Peak memory of nobias-train against its input files (issue 22).

One epoch of the real-data defaults (Adam, batches of 32) on an n x 784 .npy (the dtype
trained: mapped, not copied) with 784->512->512->10 and 10 class labels, in four
preparations: as given (--no-standardize --validation-fraction 0), --standardize,
--validation-fraction 0.1, and both (the defaults). Peak RSS from /usr/bin/time; a second
nobias-train (--base, say one built from another commit) runs interleaved with the same
data. Prints a table and the load average (timings mean little on a busy machine; peak
memory does not depend on the load). --rows takes a list; --json writes the figures with the
machine's facts (bench/run_facts.py), from which bench/report.py writes RESULTS.md's "What
users run".

  /usr/bin/python3 bench/train_memory.py --tools build/test/tools --rows 25000,100000 \
      --dtype f32,f64 [--json PATH]
"""
import argparse
import itertools
import os
import subprocess
import tempfile

import numpy as np

import run_facts  # bench/, this script's directory, is first on sys.path

WIDTHS = [784, 512, 512, 10]
PREPARATIONS = {
    "as given": ["--no-standardize", "--validation-fraction", "0"],
    "--standardize": ["--standardize", "--validation-fraction", "0"],
    "--validation-fraction 0.1": ["--no-standardize", "--validation-fraction", "0.1"],
    "both (defaults)": ["--standardize", "--validation-fraction", "0.1"],
}


def peak_mb(argv):
    """Peak RSS in MB of one run of argv."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        subprocess.run(["/usr/bin/time", "-o", report.name, "-f", "%M"] + argv, check=True,
                       stdout=subprocess.DEVNULL)
        return int(report.read().split()[-1]) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", default="build/test/tools", help="where nobias-train is")
    parser.add_argument("--base", help="another nobias-train to compare with")
    parser.add_argument("--rows", default="100000", help="row counts, e.g. 25000,100000")
    parser.add_argument("--dtype", default="f32,f64")
    parser.add_argument("--json", help="write the figures and the facts here")
    args = parser.parse_args()
    facts = run_facts.start(os.path.join(args.tools, "nobias-train"))
    measured = []
    rng = np.random.default_rng(0)
    print("load average: %.2f %.2f %.2f" % os.getloadavg())
    columns = ["rows", "dtype", "preparation", "input MB", "peak MB", "over input MB"]
    if args.base:
        columns[3:3] = ["base peak MB", "base over input MB"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    with tempfile.TemporaryDirectory() as tmp:
        for rows, dtype in itertools.product(map(int, args.rows.split(",")),
                                             args.dtype.split(",")):
            x_path, y_path = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
            np.save(x_path, rng.standard_normal((rows, WIDTHS[0]))
                    .astype(np.float32 if dtype == "f32" else np.float64))
            np.save(y_path, rng.integers(0, 10, rows))
            input_mb = (os.path.getsize(x_path) + os.path.getsize(y_path)) / 2**20
            for name, flags in PREPARATIONS.items():
                def run(tool):
                    return peak_mb([tool, "--x", x_path, "--y", y_path, "--epochs", "1",
                                    "--dtype", dtype, "--quiet",
                                    "--layers", ",".join(map(str, WIDTHS))] + flags)
                row = [str(rows), dtype, name, f"{input_mb:.0f}"]
                if args.base:
                    base = run(args.base)
                peak = run(os.path.join(args.tools, "nobias-train"))
                if args.base:
                    row += [f"{base:.0f}", f"{base - input_mb:.0f}"]
                row += [f"{peak:.0f}", f"{peak - input_mb:.0f}"]
                print("| " + " | ".join(row) + " |", flush=True)
                measured.append({"rows": rows, "dtype": dtype, "preparation": name,
                                 "flags": flags, "input_mb": input_mb, "peak_mb": peak}
                                | ({"base_peak_mb": base} if args.base else {}))
    if args.json:
        run_facts.finish(facts, args.json, widths=WIDTHS, epochs=1, runs=measured)


if __name__ == "__main__":
    main()
