#!/usr/bin/python3
"""Epochs of the real-data recipe in PyTorch: what bench/optimizer_benchmarks.cpp's epoch_* time.

Legend: n = rows of a batch, d_k = widths.

The bias-free network of torch_peer.py (nn.Linear(bias=False), ReLU between, He-scaled), the
mean squared error (MSELoss(reduction="mean"), nobias's Reduction::Mean), lr 1e-3, and epochs
of --rows random rows (8192, as nobias's benchmark) in a new order each time (torch.randperm),
each batch gathered with index_select, then zero_grad, forward, loss, backward, step; untimed
steps for --warm-up seconds first (5 steps left the first case up to 2.5x slow). --optimizer
sgd | momentum (0.9) | adam (torch.optim defaults, as nobias's). --threads sets
torch.set_num_threads and, over what the environment says, OPENBLAS_NUM_THREADS and
OMP_NUM_THREADS before torch loads: Debian's torch multiplies through OpenBLAS (BLAS_INFO=generic),
whose own thread pool set_num_threads does not bound. Without it, "1 thread" ran OpenBLAS on
both cores and measured Adam at batch 32 at 2,700-3,300 samples/s instead of 4,000-4,900.

Prints one JSON line per (optimizer, n):
  {"system": "torch", "optimizer": "adam", "dtype": "f32", "n": 32, "widths": [...],
   "samples_per_second": ..., "epochs": ..., "threads": ..., "blas_threads": ...}
Run it with Debian's /usr/bin/python3 (python3-torch).
"""
import argparse
import json
import math
import os
import sys
import time

DTYPES = ("f32", "f64")


def make_network(torch, widths, dtype):
    nn = torch.nn
    layers = []
    for k, (d_in, d_out) in enumerate(zip(widths[:-1], widths[1:])):
        linear = nn.Linear(d_in, d_out, bias=False, dtype=dtype)
        with torch.no_grad():
            linear.weight.normal_(0.0, math.sqrt(2.0 / d_in))
        layers.append(linear)
        if k + 2 < len(widths):
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def make_optimizer(torch, name, parameters):
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=1e-3)
    if name == "momentum":
        return torch.optim.SGD(parameters, lr=1e-3, momentum=0.9)
    return torch.optim.Adam(parameters, lr=1e-3)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--widths", default="784,512,512,10")
    parser.add_argument("--dtype", choices=DTYPES, default="f32")
    parser.add_argument("--n", default="32,256")
    parser.add_argument("--optimizer", default="sgd,momentum,adam")
    parser.add_argument("--threads", type=int, default=0, help="0: torch's default")
    parser.add_argument("--rows", type=int, default=8192)
    parser.add_argument("--min-time", type=float, default=1.0, help="seconds timed per case")
    parser.add_argument("--warm-up", type=float, default=1.0,
                        help="seconds of untimed steps before each case")
    args = parser.parse_args(argv)
    widths = [int(v) for v in args.widths.split(",")]
    if args.threads > 0:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):  # a caller's own would win
            os.environ[name] = str(args.threads)
    import torch  # after the thread counts: OpenBLAS reads them when it loads

    dtype = {"f32": torch.float32, "f64": torch.float64}[args.dtype]
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = args.rows
    x = torch.randn(rows, widths[0], dtype=dtype)
    y = torch.randn(rows, widths[-1], dtype=dtype)
    loss_fn = torch.nn.MSELoss(reduction="mean")
    for name in args.optimizer.split(","):
        for n in [int(v) for v in args.n.split(",")]:
            model = make_network(torch, widths, dtype)
            optimizer = make_optimizer(torch, name, model.parameters())

            def epoch(steps=rows // n):
                order = torch.randperm(rows)
                for first in range(0, steps * n, n):
                    batch = order[first:first + n]
                    xb, yb = x.index_select(0, batch), y.index_select(0, batch)
                    optimizer.zero_grad()
                    loss = loss_fn(model(xb), yb)
                    loss.backward()
                    optimizer.step()

            warm_until = time.perf_counter() + args.warm_up
            while time.perf_counter() < warm_until:  # the optimizer's state, the allocator's pools
                epoch(steps=5)
            epochs, start = 0, time.perf_counter()
            while True:
                epoch()
                epochs += 1
                elapsed = time.perf_counter() - start
                if elapsed >= args.min_time:
                    break
            samples = epochs * (rows // n) * n
            print(json.dumps({"system": "torch", "optimizer": name, "dtype": args.dtype, "n": n,
                              "widths": widths, "samples_per_second": samples / elapsed,
                              "epochs": epochs, "threads": torch.get_num_threads(),
                              "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS")}),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
