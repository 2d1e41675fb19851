#!/usr/bin/python3
"""Epoch throughput of the real-data recipe, interleaved: nobias (and a baseline build of it)
against PyTorch, in rounds that rotate their order, medians of the rounds.

Usage: optimizer_compare.py --bench build/release/bench/nobias-bench
                            [--baseline OTHER/nobias-bench] [--baseline-env VAR=VALUE,...]
                            [--rounds 5] [--widths mnist]
                            [--dtype f32] [--torch-threads 1,2] [--torch-malloc default,tuned]
                            [--min-time 0.5]
                            [--json bench/user_runs/epochs_mnist.json]

Each round runs, as subprocesses: the epoch_{sgd,momentum,adam}_<widths>_<dtype> benchmarks of
--bench (and of --baseline, the same benchmarks of another build, e.g. before a change), and
bench/peers/torch_epoch_peer.py once per --torch-threads, as Debian ships it and again with glibc's
allocator told to keep its memory (--torch-malloc). It prints samples/s (medians over the
rounds) for every optimizer and batch size, Adam's ratio to SGD within each system, nobias
against the baseline and against PyTorch's best thread count, and the load average before and
after.

Why the second PyTorch: its step frees and allocates its gradients and temporaries (megabytes
at these widths), and glibc serves blocks that large with mmap or trims them from the heap top,
so every step faults ~2.8 MB of fresh pages in again (~700 page faults a step at batch 32,
784→512→512→10): 20% of its samples are the kernel's fault handler, and the rate moves 3-4x
between runs with glibc's dynamic mmap threshold. PyTorch's CPU tuning guide answers this with
another allocator; TUNED_MALLOC does it with glibc's own tunables. nobias allocates nothing in
a step, so it is run once. --json writes every round's rates with the machine's facts (bench/run_facts.py), from
which bench/report.py writes RESULTS.md's "What users run". Run it with Debian's
/usr/bin/python3 (python3-torch).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import run_facts  # bench/, this script's directory, is first on sys.path

HERE = Path(__file__).resolve().parent
SHAPES = json.loads((HERE / "shapes.json").read_text())
OPTIMIZERS = ["sgd", "momentum", "adam"]
BATCHES = [32, 256]
# PyTorch's epochs are ~10x slower: fewer rows (the same per-sample work) keep a round short.
TORCH_ROWS = 2048
NOBIAS_ROWS = 8192  # kRows of bench/optimizer_benchmarks.cpp
# glibc keeps blocks up to 32 MiB on its heap and gives none of the heap back.
TUNED_MALLOC = {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=33554432:"
                                  "glibc.malloc.trim_threshold=1073741824"}
# The OpenBLAS core and the GEMMs that nobias-bench reports using (its context's "blas").
CONTEXT = {}


def run_bench(binary, widths, dtype, min_time, env=None):
    """{(optimizer, n): samples/s} from one run of the epoch benchmarks of binary."""
    pattern = (f"^epoch_({'|'.join(OPTIMIZERS)})_{widths}_{dtype}"
               f"/batch:({'|'.join(map(str, BATCHES))})/real_time$")
    out = subprocess.run([binary, f"--benchmark_filter={pattern}", "--benchmark_format=json",
                          f"--benchmark_min_time={min_time}"],
                         check=True, capture_output=True, text=True,
                         env=dict(os.environ, **(env or {}))).stdout
    rates, doc = {}, json.loads(out)
    CONTEXT.setdefault(binary, doc.get("context", {}).get("blas"))
    for b in doc["benchmarks"]:
        name, batch, _ = b["name"].split("/")
        rates[(name.split("_")[1], int(batch.split(":")[1]))] = b["items_per_second"]
    return rates


def run_torch(threads, widths, dtype, min_time, env=None):
    out = subprocess.run([sys.executable, str(HERE / "peers" / "torch_epoch_peer.py"),
                          "--widths", ",".join(map(str, SHAPES["widths"][widths])),
                          "--dtype", dtype, "--threads", str(threads),
                          "--n", ",".join(map(str, BATCHES)), "--min-time", str(min_time),
                          "--rows", str(TORCH_ROWS)],
                         check=True, capture_output=True, text=True,
                         env=dict(os.environ, **(env or {}))).stdout
    rates = {}
    for line in out.splitlines():
        r = json.loads(line)
        rates[(r["optimizer"], r["n"])] = r["samples_per_second"]
    return rates


def malloc_choices(text):
    choices = [v for v in text.split(",") if v]
    if not choices or any(v not in ("default", "tuned") for v in choices):
        raise argparse.ArgumentTypeError(f"expected default, tuned or default,tuned; got {text!r}")
    return choices


def tuned_malloc_env():
    """TUNED_MALLOC added to the caller's own GLIBC_TUNABLES, not in their place."""
    own = os.environ.get("GLIBC_TUNABLES")
    ours = TUNED_MALLOC["GLIBC_TUNABLES"]
    return {"GLIBC_TUNABLES": f"{own}:{ours}" if own else ours}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bench", required=True)
    parser.add_argument("--baseline")
    parser.add_argument("--baseline-env", default="",
                        help="VAR=VALUE,... for the baseline's runs (e.g. NOBIAS_THREADS=1)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--widths", default="mnist", choices=sorted(SHAPES["widths"]))
    parser.add_argument("--dtype", default="f32", choices=["f32", "f64"])
    parser.add_argument("--torch-threads", default="1,2", help="empty: no PyTorch")
    parser.add_argument("--torch-malloc", default="default,tuned", type=malloc_choices,
                        help="PyTorch with glibc's allocator as it comes (default), with "
                             "TUNED_MALLOC (tuned), or both")
    parser.add_argument("--min-time", type=float, default=0.5, help="seconds per measurement")
    parser.add_argument("--json", type=Path, help="write the rounds' rates and the facts here")
    args = parser.parse_args(argv)
    facts = run_facts.start(args.bench, argv)

    systems = [("nobias", lambda: run_bench(args.bench, args.widths, args.dtype, args.min_time))]
    if args.baseline:
        env = dict(v.split("=", 1) for v in args.baseline_env.split(",") if v)
        systems.append(("baseline", lambda: run_bench(args.baseline, args.widths, args.dtype,
                                                      args.min_time, env)))
    mallocs = {"default": ("", None), "tuned": ("_tuned_malloc", tuned_malloc_env())}
    for t in [int(v) for v in args.torch_threads.split(",") if v]:
        for suffix, env in [mallocs[m] for m in args.torch_malloc]:
            systems.append((f"torch_{t}t{suffix}",
                            lambda t=t, env=env: run_torch(t, args.widths, args.dtype,
                                                           2 * args.min_time, env)))
    load_before = os.getloadavg()
    samples = {name: [] for name, _ in systems}
    for round_ in range(args.rounds):
        shift = round_ % len(systems)
        for name, run in systems[shift:] + systems[:shift]:
            samples[name].append(run())
            print(f"round {round_ + 1}: {name} done", file=sys.stderr, flush=True)
    load_after = os.getloadavg()
    if args.json:
        rates = [{"system": name, "round": i + 1, "optimizer": opt, "batch": n,
                  "samples_per_second": rate}
                 for name, runs in samples.items() for i, run in enumerate(runs)
                 for (opt, n), rate in sorted(run.items())]
        facts["blas"] = CONTEXT.get(args.bench)
        run_facts.finish(facts, args.json, widths=args.widths,
                         layers=SHAPES["widths"][args.widths], dtype=args.dtype,
                         rounds=args.rounds, min_time=args.min_time, nobias_rows=NOBIAS_ROWS,
                         torch_rows=TORCH_ROWS, torch_min_time=2 * args.min_time,
                         torch_tuned_malloc=tuned_malloc_env(), rates=rates)

    median = {name: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
              for name, runs in samples.items()}
    print(f"# {args.widths} {SHAPES['widths'][args.widths]}, {args.dtype}, {args.rounds} rounds, "
          f"medians; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print("| system | optimizer | batch | samples/s | adam/sgd | vs baseline |")
    print("|---|---|---|---|---|---|")
    for name in median:
        for n in BATCHES:
            for opt in OPTIMIZERS:
                rate = median[name].get((opt, n))
                if rate is None:
                    continue
                ratio = rate / median[name][("sgd", n)] if opt == "adam" else None
                base = median.get("baseline", {}).get((opt, n))
                vs = rate / base if base and name == "nobias" else None
                print(f"| {name} | {opt} | {n} | {rate:,.0f} | "
                      f"{'' if ratio is None else f'{ratio:.2f}'} | "
                      f"{'' if vs is None else f'{vs:.2f}x'} |")
    for tuned, what in ((False, "PyTorch's best"), (True, "PyTorch's best, malloc tuned")):
        torch_names = [name for name in median
                       if name.startswith("torch") and name.endswith("_tuned_malloc") == tuned]
        for n in BATCHES:
            for opt in OPTIMIZERS:
                peers = [median[t][(opt, n)] for t in torch_names if (opt, n) in median[t]]
                if peers:
                    print(f"nobias {opt} batch {n} / {what}: "
                          f"{median['nobias'][(opt, n)] / max(peers):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
