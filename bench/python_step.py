#!/usr/bin/python3
"""One training step from Python: nobias, numpy and PyTorch side by side, in one process.

    ./dev python bench/python_step.py [--rows 1,64,256] [--dtype float32] [--repeats 15]
                                      [--threads 1]

The step is the derivation's: forward through the seed's widths 1000,100,100,10 (ReLU on the
hidden layers), sum-of-squares loss, backward, w -= lr dL/dw. Each contender runs the same
number of steps per sample, in interleaved rounds (the machine is shared: ratios taken in one
run mean more than absolute times), and the median per-step time is reported.

  nobias (C++ loop)   Network::train_step called from a C++ loop (GIL released)
  nobias (Python)     Network.train_step called from a Python loop: the binding's cost is the
                      difference between the two
  numpy               the same step with numpy's matmul on preallocated-free arrays
  torch autograd      nn.Linear(bias=False) layers, MSE sum, backward(), manual SGD update
  torch manual        the same step in torch ops without autograd

Every contender gets the same thread count (--threads, default 1: on a shared machine the
only setting that measures the code rather than the neighbours): nobias.set_threads,
torch.set_num_threads, and numpy's BLAS through threadpoolctl (python3-threadpoolctl).

Prints a Markdown table (for bench/RESULTS.md), then the binding's overhead: the cost of one
call on a 2x2 network (where the step itself is almost nothing), and at the seed's widths the
paired difference Python loop - C++ loop beside that of the C++ loop against itself (the noise
floor of the machine at that moment).
"""
import argparse
import statistics
import sys
import time

import numpy

import nobias
from nobias import _nobias

WIDTHS = [1000, 100, 100, 10]
LR = 5e-9  # the seed's: a stable loss for many steps with N(0, 1) weights


def numpy_step(ws, x, y, lr):
    a1 = x @ ws[0]
    m1 = a1 >= 0
    a1 = numpy.maximum(a1, 0)
    a2 = a1 @ ws[1]
    m2 = a2 >= 0
    a2 = numpy.maximum(a2, 0)
    out = a2 @ ws[2]
    g3 = 2 * (out - y)
    loss = float((g3 * g3).sum()) / 4
    g2 = (g3 @ ws[2].T) * m2
    g1 = (g2 @ ws[1].T) * m1
    ws[2] -= lr * (a2.T @ g3)
    ws[1] -= lr * (a1.T @ g2)
    ws[0] -= lr * (x.T @ g1)
    return loss


def contenders(rows, dtype, steps):
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((rows, WIDTHS[0])).astype(dtype)
    y = rng.standard_normal((rows, WIDTHS[-1])).astype(dtype)
    net_cpp = nobias.Network(WIDTHS, seed=0, dtype=dtype)
    net_py = nobias.Network(WIDTHS, seed=0, dtype=dtype)
    ws = [w.copy() for w in net_py.weights]

    def nobias_cpp():
        return _nobias._train_steps_seconds(net_cpp, x, y, LR, steps)

    def nobias_python():
        step = net_py.train_step
        start = time.perf_counter()
        for _ in range(steps):
            step(x, y, LR)
        return time.perf_counter() - start

    def numpy_loop():
        start = time.perf_counter()
        for _ in range(steps):
            numpy_step(ws, x, y, LR)
        return time.perf_counter() - start

    found = {"nobias (C++ loop)": nobias_cpp, "nobias (Python)": nobias_python,
             "numpy": numpy_loop}
    try:
        import torch
    except ImportError:
        print("torch not installed (python3-torch): its rows are left out", file=sys.stderr)
        return found

    tdtype = torch.float32 if dtype == numpy.float32 else torch.float64
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    layers = [torch.nn.Linear(a, b, bias=False).to(tdtype) for a, b in zip(WIDTHS, WIDTHS[1:])]
    with torch.no_grad():
        for layer, w in zip(layers, net_py.weights):
            layer.weight.copy_(torch.from_numpy(w.T.copy()))
    params = [layer.weight for layer in layers]
    tws = [torch.from_numpy(w.copy()) for w in net_py.weights]

    def torch_autograd():
        start = time.perf_counter()
        for _ in range(steps):
            h = tx
            for k, layer in enumerate(layers):
                h = layer(h)
                if k + 1 < len(layers):
                    h = torch.relu(h)
            loss = ((h - ty) ** 2).sum()
            for p in params:
                p.grad = None
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p.sub_(LR * p.grad)
        return time.perf_counter() - start

    def torch_manual():
        start = time.perf_counter()
        with torch.no_grad():
            for _ in range(steps):
                a1 = tx @ tws[0]
                m1 = a1 >= 0
                a1 = a1.clamp_min(0)
                a2 = a1 @ tws[1]
                m2 = a2 >= 0
                a2 = a2.clamp_min(0)
                g3 = 2 * (a2 @ tws[2] - ty)
                g2 = (g3 @ tws[2].T) * m2
                g1 = (g2 @ tws[1].T) * m1
                tws[2].sub_(LR * (a2.T @ g3))
                tws[1].sub_(LR * (a1.T @ g2))
                tws[0].sub_(LR * (tx.T @ g1))
        return time.perf_counter() - start

    found["torch autograd"] = torch_autograd
    found["torch manual"] = torch_manual
    return found


def binding_overhead(dtype, rows_list, repeats):
    """Rows of (what, median per-step difference, noise floor), in seconds."""
    found = []
    for widths, rows_set in (([2, 2], [1]), (WIDTHS, rows_list)):
        for rows in rows_set:
            net = nobias.Network(widths, seed=0, dtype=dtype)
            x = numpy.ones((rows, widths[0]), dtype=dtype)
            y = numpy.ones((rows, widths[-1]), dtype=dtype)
            steps = 20000 if widths[0] == 2 else steps_for(rows)

            def cpp():
                return _nobias._train_steps_seconds(net, x, y, 1e-12, steps) / steps

            def python():
                step = net.train_step
                start = time.perf_counter()
                for _ in range(steps):
                    step(x, y, 1e-12)
                return (time.perf_counter() - start) / steps

            cpp(), python()
            samples = [(cpp(), python(), cpp()) for _ in range(repeats)]
            found.append((f"{','.join(map(str, widths))}, n={rows}",
                          statistics.median(c for c, _, _ in samples),
                          statistics.median(p - c for c, p, _ in samples),
                          statistics.median(abs(c2 - c) for c, _, c2 in samples)))
    return found


def set_threads(threads):
    nobias.set_threads(threads)
    notes = [f"nobias set_threads({threads})"]
    try:
        import threadpoolctl
        threadpoolctl.threadpool_limits(threads)
        notes.append(f"numpy's BLAS {threads} (threadpoolctl)")
    except ImportError:
        notes.append("numpy's BLAS at its default (no threadpoolctl)")
    try:
        import torch
        torch.set_num_threads(threads)
        notes.append(f"torch {threads}")
    except ImportError:
        pass
    return ", ".join(notes)


def steps_for(rows):
    return max(20, min(2000, 200000 // (rows * 100 + 2000) * 10))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1,64,256,1024")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    threads_note = set_threads(args.threads)
    dtype = numpy.dtype(args.dtype).type
    rows_list = [int(r) for r in args.rows.split(",")]

    try:
        import torch
        torch_info = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    except ImportError:
        torch_info = "torch absent"
    print(f"widths {','.join(map(str, WIDTHS))}, {args.dtype}, median of {args.repeats} "
          f"interleaved rounds; nobias {nobias.__version__} on {nobias.blas_description()} "
          f"; numpy {numpy.__version__}; {torch_info}; threads: {threads_note}")
    table = {}
    for rows in rows_list:
        steps = steps_for(rows)
        runs = contenders(rows, dtype, steps)
        for run in runs.values():  # warm up: workspaces, thread pools, caches
            run()
        samples = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, run in runs.items():
                samples[name].append(run() / steps)
        table[rows] = {name: statistics.median(s) for name, s in samples.items()}

    names = list(table[rows_list[0]])
    print()
    print("| rows | " + " | ".join(names) + " |")
    print("|---:|" + "---:|" * len(names))
    for rows, times in table.items():
        cpp = times["nobias (C++ loop)"]
        cells = [f"{times[n] * 1e6:.1f} us" + ("" if n == "nobias (C++ loop)"
                                              else f" ({times[n] / cpp:.2f}x)") for n in names]
        print(f"| {rows} | " + " | ".join(cells) + " |")

    print()
    print("| binding overhead | C++ step | Python - C++ (median of pairs) | noise: C++ - C++ |")
    print("|---|---:|---:|---:|")
    for what, cpp, overhead, noise in binding_overhead(dtype, rows_list, args.repeats):
        print(f"| {what} | {cpp * 1e6:.2f} us | {overhead * 1e6:+.2f} us "
              f"({overhead / cpp * 100:+.2f}%) | {noise * 1e6:.2f} us ({noise / cpp * 100:.2f}%) |")


if __name__ == "__main__":
    main()
