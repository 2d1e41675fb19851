#!/usr/bin/python3
"""The same bias-free network in PyTorch, timed per batch size: what a PyTorch user writes.

Legend: n = rows of the batch, d_k = widths.

nn.Sequential of nn.Linear(bias=False) with nn.ReLU between them (none after the last),
MSELoss(reduction="sum") (= the seed's L = sum (y_pred - y)^2) and optim.SGD(lr). One step
is zero_grad, forward, loss, backward, step. Weights are He-scaled, N(0, 2 / fan_in), as in
the numpy peer and nobias. torch's thread count is left at its default and reported.

Prints one JSON line per n:
  {"system": "torch", "dtype": "f32", "n": 64, "seconds_per_step": ..., "steps": ...,
   "threads": ...}
Run it with Debian's /usr/bin/python3 (python3-torch).
"""
import argparse
import json
import math
import sys
import time

import torch
from torch import nn

DTYPES = {"f32": torch.float32, "f64": torch.float64}


def make_network(widths, dtype):
    layers = []
    for k, (d_in, d_out) in enumerate(zip(widths[:-1], widths[1:])):
        linear = nn.Linear(d_in, d_out, bias=False, dtype=dtype)
        with torch.no_grad():
            linear.weight.normal_(0.0, math.sqrt(2.0 / d_in))  # weight: (d_out, d_in)
        layers.append(linear)
        if k + 2 < len(widths):
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


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


def int_list(text):
    return [int(v) for v in text.split(",") if v]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--widths", type=int_list, default=[1000, 100, 100, 10])
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    parser.add_argument("--n", type=int_list, default=[1, 4, 16, 64, 256, 1024, 4096, 8192])
    parser.add_argument("--min-time", type=float, default=0.2, help="seconds timed per n")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before timing")
    parser.add_argument("--lr", type=float, default=1e-9)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if len(args.widths) < 2:
        parser.error("--widths needs at least an input and an output width")

    dtype = DTYPES[args.dtype]
    torch.manual_seed(args.seed)
    for n in args.n:
        model = make_network(args.widths, dtype)
        loss_fn = nn.MSELoss(reduction="sum")
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
        x = torch.randn(n, args.widths[0], dtype=dtype)
        y = torch.randn(n, args.widths[-1], dtype=dtype)

        def step():
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()

        seconds, steps = time_steps(step, args.min_time, args.warmup)
        print(json.dumps({"system": "torch", "dtype": args.dtype, "n": n,
                          "seconds_per_step": seconds, "steps": steps,
                          "threads": torch.get_num_threads()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
