#!/usr/bin/env python3
"""The derivation's algorithm (docs/derivation.md), written literally in numpy.

Slow, obvious reference code: no fusion, no cleverness.  Generalized from the
derivation's three weight matrices to any depth K >= 1:

    forward  (eqs 1-5):   a_0 = x
                          h_k = a_{k-1} . w_k,  a_k = relu(h_k)   k = 1 .. K-1
                          y_pred = a_{K-1} . w_K                  (linear last layer)
    loss     (eq 6):      L = sum((y_pred - y)**2)
    backward (eqs 44-46): g_K   = 2 (y_pred - y)
                          dw_k  = a_{k-1}^T . g_k
                          g_{k-1} = (g_k . w_k^T) o (h_{k-1} >= 0)

The ReLU derivative at exactly 0 is 1 (mask h >= 0), as in eqs 25 and 43.
Training is plain gradient descent, w_k -= lr * dw_k, with every gradient
computed from the old weights before any weight is updated (the derivation's order).

Standard library + numpy only.

CLI:
    seed_numpy.py time [--layers 1000,100,100,10] [--rows 64] [--steps 500]
                       [--lr 5e-9] [--seed 0] [--dtype f32|f64]
"""

import argparse
import sys
import time

import numpy as np


def relu(h):
    """Relu(h), eqs 2 and 4."""
    return np.maximum(h, 0)


def relu_grad(h):
    """dRelu(h)/dh with the derivation's convention: 1 where h >= 0, else 0 (eqs 25, 43)."""
    return (h >= 0).astype(h.dtype)


def forward(x, ws, return_cache=False):
    """Forward pass. Returns y_pred, or (y_pred, hs, acts) when return_cache.

    hs[k]   = pre-activation of hidden layer k+1 (h_{k+1}), for k < K-1
    acts[k] = input of layer k+1, i.e. acts[0] = x, acts[k] = relu(h_k)
    """
    if len(ws) < 1:
        raise ValueError("forward: need at least one weight matrix")
    a = x
    hs = []
    acts = [x]
    for w in ws[:-1]:
        h = a @ w          # h_k = h_{k-1,relu} . w_k
        a = relu(h)        # h_{k,relu}
        hs.append(h)
        acts.append(a)
    y_pred = a @ ws[-1]    # last layer is linear
    if return_cache:
        return y_pred, hs, acts
    return y_pred


def loss(x, y, ws):
    """L = sum((y_pred - y)**2), eq 6."""
    d = forward(x, ws) - y
    return float(np.sum(d * d))


def gradients(x, y, ws):
    """Loss and every dL/dw_k at the given weights: (L, [dw_1, ..., dw_K])."""
    K = len(ws)
    y_pred, hs, acts = forward(x, ws, return_cache=True)
    if y_pred.shape != y.shape:
        raise ValueError("gradients: y has shape %s, network output has shape %s"
                         % (y.shape, y_pred.shape))
    diff = y_pred - y
    L = float(np.sum(diff * diff))
    dws = [None] * K
    g = 2 * diff                               # start of eq 44
    for k in range(K - 1, -1, -1):             # python index k <-> the derivation's w_{k+1}
        dws[k] = acts[k].T @ g                 # eqs 44, 45, 46: a^T . g
        if k > 0:
            # eqs 26, 42: g_{k-1} = mask(h_{k-1} >= 0) o (g_k . w_k^T), old w_k
            g = (g @ ws[k].T) * relu_grad(hs[k - 1])
    return L, dws


def train(x, y, ws, lr, steps):
    """`steps` steps of plain gradient descent. Returns (losses, ws).

    losses[i] is the loss computed in step i, before that step's update.
    The input weight list/arrays are not modified.
    """
    ws = [np.array(w, copy=True) for w in ws]
    losses = []
    for _ in range(steps):
        L, dws = gradients(x, y, ws)           # all gradients from the old weights
        losses.append(L)
        for k in range(len(ws)):
            ws[k] = ws[k] - lr * dws[k]        # then update every layer
    return losses, ws


def make_experiment(layers, rows, seed, dtype):
    """The seed's experiment: x, y and weights standard normal from default_rng(seed)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, layers[0])).astype(dtype)
    y = rng.standard_normal((rows, layers[-1])).astype(dtype)
    ws = [rng.standard_normal((layers[i], layers[i + 1])).astype(dtype)
          for i in range(len(layers) - 1)]
    return x, y, ws


def parse_layers(s):
    try:
        layers = [int(t) for t in s.split(",") if t.strip() != ""]
    except ValueError:
        raise argparse.ArgumentTypeError("--layers expects comma-separated integers, got %r" % s)
    if len(layers) < 2 or any(d <= 0 for d in layers):
        raise argparse.ArgumentTypeError(
            "--layers needs at least two positive widths (d_in,...,d_out), got %r" % s)
    return layers


def cmd_time(args):
    dtype = {"f32": np.float32, "f64": np.float64}[args.dtype]
    x, y, ws = make_experiment(args.layers, args.rows, args.seed, dtype)
    lr = dtype(args.lr)
    print("numpy %s: layers %s, rows %d, steps %d, lr %g, seed %d, dtype %s"
          % (np.__version__, ",".join(map(str, args.layers)), args.rows, args.steps,
             args.lr, args.seed, args.dtype))
    t0 = time.perf_counter()
    losses, ws = train(x, y, ws, lr, args.steps)
    dt = time.perf_counter() - t0
    if not losses:
        print("numpy: no steps run")
        return 0
    rate = args.steps / dt if dt > 0 else float("inf")
    print("numpy first loss %.9g" % losses[0])
    print("numpy final loss %.9g after %d steps, %.1f steps/s" % (losses[-1], args.steps, rate))
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description="The seed's bias-free MLP in plain numpy.")
    sub = p.add_subparsers(dest="cmd")
    t = sub.add_parser("time", help="run and time the seed's experiment")
    t.add_argument("--layers", type=parse_layers, default=[1000, 100, 100, 10],
                   help="comma-separated widths d_in,d1,...,d_out (default 1000,100,100,10)")
    t.add_argument("--rows", type=int, default=64, help="batch rows n (default 64)")
    t.add_argument("--steps", type=int, default=500, help="gradient-descent steps (default 500)")
    t.add_argument("--lr", type=float, default=5e-9, help="learning rate (default 5e-9, as nobias-train)")
    t.add_argument("--seed", type=int, default=0, help="numpy default_rng seed (default 0)")
    t.add_argument("--dtype", choices=["f32", "f64"], default="f32", help="default f32")
    args = p.parse_args(argv)
    if args.cmd == "time":
        if args.rows <= 0 or args.steps < 0:
            p.error("--rows must be positive and --steps non-negative")
        return cmd_time(args)
    p.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
