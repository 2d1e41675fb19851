"""What the two peers share: their command line and how a step is timed."""
import argparse
import time

BATCH_SIZES = [1, 4, 16, 64, 256, 1024, 4096, 8192]


def int_list(text):
    return [int(v) for v in text.split(",") if v]


def parse_args(description, dtypes, argv=None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--widths", type=int_list, default=[1000, 100, 100, 10])
    parser.add_argument("--dtype", choices=sorted(dtypes), default="f32")
    parser.add_argument("--n", type=int_list, default=BATCH_SIZES)
    parser.add_argument("--min-time", type=float, default=0.2, help="seconds timed per n")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before timing")
    parser.add_argument("--lr", type=float, default=1e-9)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if len(args.widths) < 2:
        parser.error("--widths needs at least an input and an output width")
    return args


def time_steps(step, min_time, warmup):
    """Seconds per step, and the number of timed steps, after a few untimed warm-up steps."""
    start = time.perf_counter()
    for _ in range(warmup):
        step()
        if time.perf_counter() - start > min_time:
            break  # a big batch is warm after one step; don't spend many on it
    steps = 0
    start = time.perf_counter()
    while True:
        step()
        steps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / steps, steps
