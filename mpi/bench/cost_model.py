#!/usr/bin/python3
"""The cost model of docs/distributed.md: a data-parallel step on P machines, one rank each.

Usage: cost_model.py --rate-seed R1 --rate-mnist R2 [--batches 256 4096] [--ranks 2 4 ... 64]
       cost_model.py --scaling mpi/bench/scaling.json      R1, R2 from a measurement
       cost_model.py --doc docs/distributed.md [--check]   the page's regions, each from the
                     arguments its begin marker names: <!-- mpi/bench/cost_model.py ARGS: begin
                     KIND --> ... <!-- mpi/bench/cost_model.py: end KIND -->

R1, R2: samples/s of one rank, one thread, at n = 4096 in fast mode, for 1000,100,100,10 and
784,512,512,10; --scaling takes them from measure_scaling.py's JSON (the median over its runs,
to 3 figures). Prints the Markdown table of docs/distributed.md: speed-up over one machine, and
in brackets the share of the step spent communicating. KIND is table, or one of the measured
figures of scaling_figures.py (rates, determinism, two-ranks: these need --scaling). A path
in a marker is relative to the repository.

  T_comp = B / (P R)
  T_comm = 2 (P-1)/P * M / bandwidth + 2 (P-1) * latency   (ring allreduce of M = 4 W bytes)
  speed-up = (B / R) / (T_comp + T_comm)                  (no overlap: an upper bound on T)
"""
import argparse
import json
import re
import shlex
import sys
from pathlib import Path

import scaling_figures

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import doc_regions  # noqa: E402

NETWORKS = {"seed": [1000, 100, 100, 10], "mnist": [784, 512, 512, 10]}
# (name, bytes per second, seconds per message): 10 Gb/s Ethernet over TCP, 100 Gb/s RDMA.
LINKS = [("10 Gb/s", 1.25e9, 20e-6), ("100 Gb/s", 12.5e9, 3e-6)]


weights = scaling_figures.weights


def step_times(batch, ranks, rate, message_bytes, bandwidth, latency):
    compute = batch / (ranks * rate)
    communicate = (2 * (ranks - 1) / ranks * message_bytes / bandwidth
                   + 2 * (ranks - 1) * latency) if ranks > 1 else 0.0
    return compute, communicate


def crossover(batch, rate, message_bytes, bandwidth, latency, limit=100000):
    """The least P at which communication takes as long as computation."""
    for ranks in range(2, limit):
        compute, communicate = step_times(batch, ranks, rate, message_bytes, bandwidth, latency)
        if communicate >= compute:
            return ranks
    return None


def table_lines(rates, batches, ranks_list):
    """The Markdown table: speed-up over one machine, and the share of the step communicating."""
    lines = ["| network | B | link | " + " | ".join(f"P={p}" for p in ranks_list)
             + " | comm = comp at |",
             "|---|---|---|" + "---|" * len(ranks_list) + "---|"]
    for name, widths in NETWORKS.items():
        message = 4 * weights(widths)
        rate = rates[name]
        for batch in batches:
            for link, bandwidth, latency in LINKS:
                cells = []
                for ranks in ranks_list:
                    compute, communicate = step_times(batch, ranks, rate, message, bandwidth,
                                                      latency)
                    total = compute + communicate
                    cells.append(f"{batch / rate / total:.1f}x ({communicate / total:.0%})")
                at = crossover(batch, rate, message, bandwidth, latency)
                lines.append(f"| {','.join(map(str, widths))} | {batch} | {link} | "
                             + " | ".join(cells) + f" | {'P = ' + str(at) if at else 'never'} |")
    return lines


BEGIN = re.compile(r"<!-- mpi/bench/cost_model\.py (.*): begin ([a-z-]+) -->")
END = "<!-- mpi/bench/cost_model.py: end {} -->"


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate-seed", type=float)
    parser.add_argument("--rate-mnist", type=float)
    parser.add_argument("--scaling", help="measure_scaling.py's JSON: the rates, and the "
                        "measured figures of the page")
    parser.add_argument("--batches", type=int, nargs="+", default=[256, 4096])
    parser.add_argument("--ranks", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64])
    parser.add_argument("--doc", help="rewrite every region between the marker lines of this "
                        "file, each from the arguments its begin marker names")
    parser.add_argument("--check", action="store_true",
                        help="with --doc: write nothing, exit 1 when a region differs")
    return parser.parse_args(argv)


def load_rates(args, root=Path(".")):
    """(the measurement or None, {network: samples/s}): the flags' rates, else the JSON's;
    --scaling is relative to root."""
    study = None
    if args.scaling:
        with open(root / args.scaling) as f:
            study = json.load(f)
    rates = {"seed": args.rate_seed, "mnist": args.rate_mnist}
    if study is not None:
        for name, widths in (("seed", scaling_figures.SEED), ("mnist", scaling_figures.MNIST)):
            if rates[name] is None:
                rates[name] = scaling_figures.rate_of(study, widths)
    return study, rates


def region_lines(kind, args, source):
    study, rates = load_rates(args, ROOT)
    if kind == "table":
        if None in rates.values():
            raise ValueError(f"{source}: a table's marker gives --scaling, or both rates")
        return table_lines(rates, args.batches, args.ranks)
    if kind not in scaling_figures.REGIONS:
        raise ValueError(f"{source}: unknown region '{kind}' (known: table, "
                         f"{', '.join(scaling_figures.REGIONS)})")
    if study is None:
        raise ValueError(f"{source}: the region '{kind}' needs --scaling FILE in its marker")
    return scaling_figures.REGIONS[kind](study, args.scaling)


def with_tables(text, source):
    """text with every marked region rewritten from the arguments in its begin marker."""
    return doc_regions.rewrite(
        text, BEGIN, END,
        lambda m: region_lines(m.group(2), parse(shlex.split(m.group(1))), source), source)


def main(argv=None):
    args = parse(argv)
    if args.doc:
        with open(args.doc) as f:
            text = f.read()
        wanted = with_tables(text, args.doc)
        if args.check:
            if wanted != text:
                print(f"{args.doc}: a region is not what its marker's arguments give; "
                      f"run mpi/bench/cost_model.py --doc {args.doc}", file=sys.stderr)
                return 1
            return 0
        with open(args.doc, "w") as f:
            f.write(wanted)
        return 0
    rates = load_rates(args)[1]
    if None in rates.values():
        print("cost_model.py: give --rate-seed and --rate-mnist, or --scaling FILE (or --doc "
              "FILE)", file=sys.stderr)
        return 2
    print("\n".join(table_lines(rates, args.batches, args.ranks)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
