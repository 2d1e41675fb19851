#!/usr/bin/python3
"""The same bias-free network in PyTorch, timed per batch size: what a PyTorch user writes.

Legend: n = rows of the batch, d_k = widths.

nn.Sequential of nn.Linear(bias=False) with nn.ReLU between them (none after the last),
MSELoss(reduction="sum") (= the derivation's L = sum (y_pred - y)^2) and optim.SGD(lr). One step
is zero_grad, forward, loss, backward, step. Weights are He-scaled, N(0, 2 / fan_in), as in
the numpy peer and nobias. torch's thread count is left at its default and reported.

Prints one JSON line per n:
  {"system": "torch", "dtype": "f32", "n": 64, "seconds_per_step": ..., "steps": ...,
   "threads": ...}
Run it with Debian's /usr/bin/python3 (python3-torch).
"""
import json
import math
import sys

import torch
from torch import nn

from timing import parse_args, time_steps

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


def main(argv=None):
    args = parse_args(__doc__.split("\n")[0], DTYPES, argv)

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
