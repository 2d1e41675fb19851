#!/usr/bin/python3
"""The cost model of docs/distributed.md: a data-parallel step on P machines, one rank each.

Usage: cost_model.py --rate-seed R1 --rate-mnist R2 [--batches 256 4096] [--ranks 2 4 ... 64]
       cost_model.py --doc docs/distributed.md [--check]   the page's tables, from the arguments
                     their begin markers name: <!-- mpi/bench/cost_model.py ARGS: begin table -->

R1, R2: samples/s of one rank, one thread, at n = 4096 in fast mode (mpi/bench/run_scaling.sh),
for 1000,100,100,10 and 784,512,512,10. Prints the Markdown table of docs/distributed.md:
speed-up over one machine, and in brackets the share of the step spent communicating.

  T_comp = B / (P R)
  T_comm = 2 (P-1)/P * M / bandwidth + 2 (P-1) * latency   (ring allreduce of M = 4 W bytes)
  speed-up = (B / R) / (T_comp + T_comm)                  (no overlap: an upper bound on T)
"""
import argparse
import re
import shlex
import sys

NETWORKS = {"seed": [1000, 100, 100, 10], "mnist": [784, 512, 512, 10]}
# (name, bytes per second, seconds per message): 10 Gb/s Ethernet over TCP, 100 Gb/s RDMA.
LINKS = [("10 Gb/s", 1.25e9, 20e-6), ("100 Gb/s", 12.5e9, 3e-6)]


def weights(widths):
    return sum(a * b for a, b in zip(widths, widths[1:]))


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


BEGIN = re.compile(r"^<!-- mpi/bench/cost_model\.py (.*): begin table -->$")
END = "<!-- mpi/bench/cost_model.py: end table -->"


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate-seed", type=float)
    parser.add_argument("--rate-mnist", type=float)
    parser.add_argument("--batches", type=int, nargs="+", default=[256, 4096])
    parser.add_argument("--ranks", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64])
    parser.add_argument("--doc", help="rewrite every table between the marker lines of this "
                        "file, each from the arguments its begin marker names")
    parser.add_argument("--check", action="store_true",
                        help="with --doc: write nothing, exit 1 when a table differs")
    return parser.parse_args(argv)


def with_tables(text, source):
    """text with every marked table rewritten from the arguments in its begin marker."""
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        out.append(lines[i])
        m = BEGIN.match(lines[i])
        i += 1
        if not m:
            continue
        if END not in lines[i:]:
            raise ValueError(f"{source}: '{lines[i - 1]}' has no '{END}' after it")
        args = parse(shlex.split(m.group(1)))
        i = lines.index(END, i)
        out += [""] + table_lines({"seed": args.rate_seed, "mnist": args.rate_mnist},
                                  args.batches, args.ranks) + [""]
    return "\n".join(out)


def main(argv=None):
    args = parse(argv)
    if args.doc:
        with open(args.doc) as f:
            text = f.read()
        wanted = with_tables(text, args.doc)
        if args.check:
            if wanted != text:
                print(f"{args.doc}: a cost-model table is not what its marker's arguments give; "
                      f"run mpi/bench/cost_model.py --doc {args.doc}", file=sys.stderr)
                return 1
            return 0
        with open(args.doc, "w") as f:
            f.write(wanted)
        return 0
    if args.rate_seed is None or args.rate_mnist is None:
        print("cost_model.py: give --rate-seed and --rate-mnist (or --doc FILE)", file=sys.stderr)
        return 2
    print("\n".join(table_lines({"seed": args.rate_seed, "mnist": args.rate_mnist}, args.batches,
                                args.ranks)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
