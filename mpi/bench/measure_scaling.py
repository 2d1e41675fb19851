#!/usr/bin/python3
"""Measures nobias-mpi-bench on 1 and 2 ranks and writes the figures of docs/distributed.md.

    mpi/bench/measure_scaling.py [--bench build/release/mpi/bench/nobias-mpi-bench]
                                 [--epochs 5] [--runs 3] [--json mpi/bench/scaling.json]

Each run starts 1 rank, then 2 (mpirun --bind-to core, one nobias thread each), so the ratio of
a run's two rates is measured under the same load; the runs follow one another. Prints every
row as nobias-mpi-bench does; with --json writes them all, with the machine, the build's GEMM,
the commit and the load average before and after, for cost_model.py --doc to turn into the
page's figures (never typed). run_scaling.sh is the same measurement, printed only.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import doc_regions  # noqa: E402
import run_facts  # noqa: E402
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_btl_vader_single_copy_mechanism": "none"}


def parse_row(line):
    """One row of nobias-mpi-bench: | widths | n | mode | ranks | samples/s | waiting% |."""
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) != 6 or not cells[5].endswith("%"):
        raise ValueError(f"expected a row '| widths | n | mode | ranks | samples/s | x% |', "
                         f"got '{line.strip()}'")
    return {"widths": cells[0], "n": int(cells[1]), "mode": cells[2], "ranks": int(cells[3]),
            "samples_per_s": float(cells[4]), "waiting": float(cells[5][:-1]) / 100}


def run_bench(bench, ranks, epochs):
    """(rows, the GEMM description rank 0 printed on stderr)."""
    done = subprocess.run(["mpirun", "-np", str(ranks), "--bind-to", "core", bench,
                           "--epochs", str(epochs)], capture_output=True, text=True,
                          env={**os.environ, **MPI_ENV}, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"mpirun -np {ranks} {bench} exited {done.returncode}:\n{done.stderr}")
    gemm = [line[len("gemm: "):] for line in done.stderr.splitlines() if line.startswith("gemm: ")]
    return [parse_row(line) for line in done.stdout.splitlines() if line.startswith("|")], \
        (gemm[0] if gemm else "unknown")


def mpirun_version():
    done = subprocess.run(["mpirun", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.splitlines()[0] if done.stdout else "unknown"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bench", default="build/release/mpi/bench/nobias-mpi-bench")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", help="write the measurement here")
    args = parser.parse_args(argv)
    sources = ("lib", "include", "mpi", "CMakeLists.txt", "cmake")  # what the bench is built from
    load_before, measured_at = os.getloadavg(), run_facts.commit(*sources)
    rows, gemm = [], "unknown"
    print("| widths | n | mode | ranks | samples/s | waiting on communication |")
    print("|---|---|---|---|---|---|")
    for run in range(args.runs):
        for ranks in (1, 2):
            measured, gemm = run_bench(args.bench, ranks, args.epochs)
            for row in measured:
                rows.append({**row, "run": run})
                print(f"| {row['widths']} | {row['n']} | {row['mode']} | {ranks} | "
                      f"{row['samples_per_s']:.0f} | {100 * row['waiting']:.1f}% |", flush=True)
    if args.json:
        meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "cpu": doc_regions.cpu_name(),
                "cpus": os.cpu_count(), "gemm": gemm, "commit": measured_at,
                "mpirun": mpirun_version(), "epochs": args.epochs, "runs": args.runs,
                "load_before": [round(x, 2) for x in load_before],
                "load_after": [round(x, 2) for x in os.getloadavg()],
                "command": "mpi/bench/measure_scaling.py --bench BENCH --epochs "
                           f"{args.epochs} --runs {args.runs} --json mpi/bench/scaling.json"}
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
