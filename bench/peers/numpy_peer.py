#!/usr/bin/python3
"""The training step of the seed's experiment in plain numpy, timed per batch size: the code a
user would write.

Legend: n = rows of the batch, d_k = widths, w_k: (d_{k-1}, d_k), h_k = a_{k-1} w_k.

One step is the algorithm of docs/derivation.md, full batch: forward with ReLU on the hidden
layers and a linear last layer, the loss L = sum (y_pred - y)^2, the gradients of eqs. 44-46 (mask
h >= 0), all computed from the old weights, then w_k -= lr dL/dw_k. Nothing is
preallocated: every step allocates its temporaries, as the seed's experiment does.

Prints one JSON line per n:
  {"system": "numpy", "dtype": "f32", "n": 64, "seconds_per_step": ..., "steps": ...}
Run it with Debian's /usr/bin/python3 (python3-numpy).
"""
import json
import sys

import numpy as np

from timing import parse_args, time_steps

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
            g = g.dot(w[k].T) * (h[k - 1] >= 0)  # the derivation's A and B masks: 1 where h >= 0

    # All gradients come from the old weights; only now update them.
    for w_k, grad_k in zip(w, grads):
        w_k -= lr * grad_k
    return loss


def main(argv=None):
    args = parse_args(__doc__.split("\n")[0], DTYPES, argv)

    dtype = DTYPES[args.dtype]
    rng = np.random.default_rng(args.seed)
    for n in args.n:
        w = make_network(args.widths, dtype, rng)
        x = rng.standard_normal((n, args.widths[0]), dtype=dtype)
        y = rng.standard_normal((n, args.widths[-1]), dtype=dtype)
        seconds, steps = time_steps(lambda: train_step(w, x, y, args.lr), args.min_time,
                                    args.warmup)
        print(json.dumps({"system": "numpy", "dtype": args.dtype, "n": n,
                          "seconds_per_step": seconds, "steps": steps}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
