#!/usr/bin/env python3
"""Memory of nobias-train-mpi's ranks on one machine against its input files (issue 22).

mpirun -n RANKS nobias-train-mpi, one epoch of the real-data defaults on an n x 784 float32 .npy
with 784->512->512->10, as given and with the defaults' --standardize and validation fraction.
Every 0.1 s, each rank's /proc/PID/smaps_rollup: the peak over the run of the ranks' summed
Pss (proportional set size: a page shared by two ranks counts half in each, so the sum is
what the machine holds for them) and of their summed Rss, anonymous and file-backed. A second
nobias-train-mpi (--base) runs with the same data.

  /usr/bin/python3 bench/mpi_memory.py --tool build/test/mpi/tools/nobias-train-mpi --rows 100000
"""
import argparse
import os
import subprocess
import tempfile
import time

import numpy as np

WIDTHS = [784, 512, 512, 10]
ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
       "OMPI_MCA_rmaps_base_oversubscribe": "1",
       "OMPI_MCA_btl_vader_single_copy_mechanism": "none"}
FIELDS = ("Rss", "Pss", "Pss_Anon", "Pss_File")


def ranks_of(tool):
    """The pids running tool."""
    real = os.path.realpath(tool)
    pids = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.readlink(f"/proc/{pid}/exe") == real:
                    pids.append(int(pid))
            except OSError:
                pass
    return pids


def rollup(pid):
    """smaps_rollup's FIELDS of pid, in MB (zeros once it is gone)."""
    values = dict.fromkeys(FIELDS, 0.0)
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name in values:
                    values[name] = int(rest.split()[0]) / 1024
    except OSError:
        pass
    return values


def peaks(argv, tool):
    """The peak over the run of the ranks' summed FIELDS, and how many ranks were seen."""
    best = dict.fromkeys(FIELDS, 0.0)
    seen = set()
    process = subprocess.Popen(argv, env={**os.environ, **ENV}, stdout=subprocess.DEVNULL)
    while process.poll() is None:
        pids = ranks_of(tool)
        seen.update(pids)
        totals = dict.fromkeys(FIELDS, 0.0)
        for pid in pids:
            for name, value in rollup(pid).items():
                totals[name] += value
        for name in FIELDS:
            best[name] = max(best[name], totals[name])
        time.sleep(0.1)
    if process.returncode != 0:
        raise SystemExit(f"{argv} exited with {process.returncode}")
    return best, len(seen)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", default="build/test/mpi/tools/nobias-train-mpi")
    parser.add_argument("--base", help="another nobias-train-mpi to compare with")
    parser.add_argument("--mpirun", default="mpirun")
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--rows", type=int, default=100000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print("load average: %.2f %.2f %.2f" % os.getloadavg())
    print("| build | preparation | input MB | ranks | peak Pss MB (sum) | of it anonymous | "
          "of it file | peak Rss MB (sum) |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        x_path, y_path = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
        np.save(x_path, rng.standard_normal((args.rows, WIDTHS[0]), dtype=np.float32))
        np.save(y_path, rng.integers(0, 10, args.rows))
        input_mb = (os.path.getsize(x_path) + os.path.getsize(y_path)) / 2**20
        for name, flags in {"as given": ["--no-standardize", "--validation-fraction", "0"],
                            "both (defaults)": []}.items():
            for label, tool in [("base", args.base), ("this", args.tool)]:
                if tool is None:
                    continue
                argv = [args.mpirun, "-n", str(args.ranks), tool, "--x", x_path, "--y", y_path,
                        "--epochs", "1", "--quiet", "--layers",
                        ",".join(map(str, WIDTHS))] + flags
                best, seen = peaks(argv, tool)
                print(f"| {label} | {name} | {input_mb:.0f} | {seen} | {best['Pss']:.0f} | "
                      f"{best['Pss_Anon']:.0f} | {best['Pss_File']:.0f} | {best['Rss']:.0f} |",
                      flush=True)


if __name__ == "__main__":
    main()
