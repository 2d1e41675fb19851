#!/usr/bin/python3
"""The cost model of docs/distributed.md: a data-parallel step on P machines, one rank each.

Usage: cost_model.py --rate-seed R1 --rate-mnist R2 [--batches 256 4096] [--ranks 2 4 ... 64]

R1, R2: samples/s of one rank, one thread, at n = 4096 in fast mode (mpi/bench/run_scaling.sh),
for 1000,100,100,10 and 784,512,512,10. Prints the Markdown table of docs/distributed.md:
speed-up over one machine, and in brackets the share of the step spent communicating.

  T_comp = B / (P R)
  T_comm = 2 (P-1)/P * M / bandwidth + 2 (P-1) * latency   (ring allreduce of M = 4 W bytes)
  speed-up = (B / R) / (T_comp + T_comm)                  (no overlap: an upper bound on T)
"""
import argparse

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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate-seed", type=float, required=True)
    parser.add_argument("--rate-mnist", type=float, required=True)
    parser.add_argument("--batches", type=int, nargs="+", default=[256, 4096])
    parser.add_argument("--ranks", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64])
    args = parser.parse_args()
    rates = {"seed": args.rate_seed, "mnist": args.rate_mnist}

    print("| network | B | link | " + " | ".join(f"P={p}" for p in args.ranks)
          + " | comm = comp at |")
    print("|---|---|---|" + "---|" * len(args.ranks) + "---|")
    for name, widths in NETWORKS.items():
        message = 4 * weights(widths)
        rate = rates[name]
        for batch in args.batches:
            for link, bandwidth, latency in LINKS:
                cells = []
                for ranks in args.ranks:
                    compute, communicate = step_times(batch, ranks, rate, message, bandwidth,
                                                      latency)
                    total = compute + communicate
                    cells.append(f"{batch / rate / total:.1f}x ({communicate / total:.0%})")
                at = crossover(batch, rate, message, bandwidth, latency)
                print(f"| {','.join(map(str, widths))} | {batch} | {link} | "
                      + " | ".join(cells) + f" | {'P = ' + str(at) if at else 'never'} |")


if __name__ == "__main__":
    main()
