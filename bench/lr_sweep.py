#!/usr/bin/python3
"""The sweep behind the demo's learning rate: docs/default-learning-rate.md's table.

    bench/lr_sweep.py --bin build/release/tools/nobias-train --json bench/lr_sweep.json \
                      --doc docs/default-learning-rate.md
    bench/lr_sweep.py --from-json bench/lr_sweep.json --doc docs/default-learning-rate.md --check

Runs the seed's experiment (nobias-train without --x/--y: 500 steps of full-batch gradient
descent) for every learning rate, seed and dtype, and keeps each run's first and final loss and
the steps on which the loss rose. The table between the page's marker lines

    <!-- bench/lr_sweep.py: begin table -->
    <!-- bench/lr_sweep.py: end table -->

is written from that JSON, never typed; --check exits 1 when it is not what the JSON gives.
"""
import argparse
import json
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import doc_regions  # bench/, this script's directory, is first on sys.path
import run_facts

ROOT = Path(__file__).resolve().parents[1]
BEGIN = re.compile(r"<!-- bench/lr_sweep\.py: begin (table) -->")
END = "<!-- bench/lr_sweep.py: end {} -->"


def run_one(binary, lr, dtype, seed):
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "loss.csv"
        done = subprocess.run([binary, "--seed", str(seed), "--dtype", dtype, "--lr", lr,
                               "--loss-csv", str(csv), "--quiet"], capture_output=True,
                              text=True, check=False)
        losses = [float(line.split(",")[1]) for line in csv.read_text().split("\n")[1:] if line]
    final = [line for line in done.stdout.split("\n") if line.startswith("final loss ")]
    return {"lr": lr, "dtype": dtype, "seed": seed, "exit": done.returncode,
            "first": losses[0] if losses else None,
            "final": float(final[0].split()[2]) if final else None,
            "rises": [i + 1 for i in range(1, len(losses)) if losses[i] > losses[i - 1]],
            "stuck_steps": next((len(losses) - i for i in range(len(losses) - 1, 0, -1)
                                 if losses[i - 1] != losses[-1]), len(losses))}


def power(value):
    """1.2·10⁴ for 12000."""
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa}·10" + "".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(d)] if d.isdigit() else "⁻"
                                      for d in str(int(exponent)))


def rises_cell(runs):
    """The seeds whose loss rose on some step, per dtype: 'seeds 2, 3 (f32, f64)'."""
    by_dtype = {}
    for r in runs:
        if r["rises"]:
            by_dtype.setdefault(r["dtype"], []).append(r["seed"])
    groups = {}
    for dtype, seeds in by_dtype.items():
        groups.setdefault(tuple(sorted(seeds)), []).append(dtype)
    if not groups:
        return "none"
    return "; ".join(f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))} "
                     f"({', '.join(dtypes)})" for seeds, dtypes in groups.items())


def table_lines(sweep):
    lines = ["| lr | first / final loss (min–max) | runs in which the loss rose on a step | "
             "last steps at one unchanged loss (most) |", "|---|---|---|---|"]
    for lr in sweep["meta"]["lrs"]:
        runs = [r for r in sweep["runs"] if r["lr"] == lr]
        falls = [r["first"] / r["final"] for r in runs if r["first"] and r["final"]]
        fall = f"{power(min(falls))}–{power(max(falls))}" if falls else "no final loss"
        stuck = max(r["stuck_steps"] for r in runs)
        lines.append(f"| {lr} | {fall} | {rises_cell(runs)} | {stuck if stuck > 1 else 'none'} |")
    m = sweep["meta"]
    firsts = [r["first"] for r in sweep["runs"] if r["first"]]
    lines += ["", f"Seeds 0–{m['seeds'] - 1}, {' and '.join(m['dtypes'])}, 500 steps each; first "
              f"losses {power(min(firsts))}–{power(max(firsts))}. Measured on {m['date']}, "
              f"{m['cpu']}, nobias at {m['commit']} (`{m['command']}`)."]
    return lines


def with_table(text, sweep, source):
    return doc_regions.rewrite(text, BEGIN, END, lambda m: table_lines(sweep), source)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default="build/release/tools/nobias-train")
    parser.add_argument("--lrs", default="3e-9,5e-9,8e-9,1e-8,1e-7")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--json", help="write the runs here")
    parser.add_argument("--from-json", help="run nothing: take the runs from this file")
    parser.add_argument("--doc", help="rewrite the table between the marker lines of this file")
    parser.add_argument("--check", action="store_true",
                        help="with --from-json and --doc: exit 1 when the doc's table differs")
    args = parser.parse_args(argv)
    if args.from_json:
        sweep = json.loads(Path(args.from_json).read_text())
    else:
        meta = {"date": time.strftime("%Y-%m-%d"), "cpu": doc_regions.cpu_name(count=True),
                "commit": run_facts.commit("lib", "include", "tools", "CMakeLists.txt", "cmake"),
                "lrs": args.lrs.split(","), "seeds": args.seeds,
                "dtypes": ["f32", "f64"],
                "command": "bench/lr_sweep.py " + shlex.join(argv or sys.argv[1:])}
        runs = [run_one(args.bin, lr, dtype, seed) for lr in meta["lrs"]
                for dtype in meta["dtypes"] for seed in range(args.seeds)]
        sweep = {"meta": meta, "runs": runs}
    if args.json:
        Path(args.json).write_text(json.dumps(sweep, indent=1) + "\n")
    print("\n".join(table_lines(sweep)))
    if args.doc:
        text = Path(args.doc).read_text()
        wanted = with_table(text, sweep, args.doc)
        if args.check:
            if wanted != text:
                print(f"{args.doc}: its table is not what {args.from_json} gives; run "
                      f"bench/lr_sweep.py --from-json {args.from_json} --doc {args.doc}",
                      file=sys.stderr)
                return 1
            return 0
        Path(args.doc).write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
