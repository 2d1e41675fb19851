#!/usr/bin/python3
"""The seed's training step in plain numpy, timed per batch size: the code a user would write.

Legend: n = rows of the batch, d_k = widths, w_k: (d_{k-1}, d_k), h_k = a_{k-1} w_k.

One step is the seed's algorithm, full batch: forward with ReLU on the hidden layers and a
linear last layer, the loss L = sum (y_pred - y)^2, the gradients of eqs. 44-46 (mask
h >= 0), all computed from the old weights, then w_k -= lr dL/dw_k. Nothing is
preallocated: every step allocates its temporaries, as the seed does.

Prints one JSON line per n:
  {"system": "numpy", "dtype": "f32", "n": 64, "seconds_per_step": ..., "steps": ...}
Run it with Debian's /usr/bin/python3 (python3-numpy).
"""
import argparse
import json
import sys
import time

import numpy as np

DTYPES = {"f32": np.float32, "f64": np.float64}


def make_network(widths, dtype, rng):
    """He-scaled weights, N(0, 2 / fan_in), one (d_{k-1}, d_k) matrix per layer."""
    return [
        (rng.standard_normal((d_in, d_out), dtype=dtype) * dtype(np.sqrt(2.0 / d_in)))
        for d_in, d_out in zip(widths[:-1], widths[1:])
    ]


def train_step(w, x, y, lr):
    """One step of gradient descent on L = sum (y_pred - y)^2; updates w in place, returns L."""
    # Forward: h_k = a_{k-1} w_k, a_k = relu(h_k) on hidden layers, the last layer linear.
    h = []  # pre-activations of the hidden layers, for the masks
    a = [x]  # inputs of each layer
    for k, w_k in enumerate(w):
        h_k = a[-1].dot(w_k)
        if k + 1 < len(w):
            h.append(h_k)
            a.append(np.maximum(h_k, 0))
        else:
            y_pred = h_k
    loss = np.square(y_pred - y).sum()

    # Backward (eqs. 44-46): g is dL/dh_k, starting from 2 (y_pred - y).
    g = 2.0 * (y_pred - y)
    grads = [None] * len(w)
    for k in range(len(w) - 1, -1, -1):
        grads[k] = a[k].T.dot(g)
        if k > 0:
            g = g.dot(w[k].T) * (h[k - 1] >= 0)  # the seed's A and B masks: 1 where h >= 0

    # All gradients come from the old weights; only now update them.
    for w_k, grad_k in zip(w, grads):
        w_k -= lr * grad_k
    return loss


def time_steps(w, x, y, lr, min_time, warmup):
    """Seconds per step, and the number of timed steps, after a few untimed warm-up steps."""
    start = time.perf_counter()
    for _ in range(warmup):
        train_step(w, x, y, lr)
        if time.perf_counter() - start > min_time:
            break  # a big batch is warm after one step; don't spend many on it
    steps = 0
    start = time.perf_counter()
    while True:
        train_step(w, x, y, lr)
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
    rng = np.random.default_rng(args.seed)
    for n in args.n:
        w = make_network(args.widths, dtype, rng)
        x = rng.standard_normal((n, args.widths[0]), dtype=dtype)
        y = rng.standard_normal((n, args.widths[-1]), dtype=dtype)
        seconds, steps = time_steps(w, x, y, args.lr, args.min_time, args.warmup)
        print(json.dumps({"system": "numpy", "dtype": args.dtype, "n": n,
                          "seconds_per_step": seconds, "steps": steps}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
