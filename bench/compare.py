#!/usr/bin/python3
"""Run nobias, its GEMM floor and the numpy and PyTorch peers interleaved; write the results.

Usage: compare.py --bench build/release/bench/nobias-bench [--rounds 5] [--min-time 0.1]
                  [--out-dir bench] [--no-coretype-column]

Each round runs every system once over all batch sizes, as a subprocess: the bench binary
(train_step, gemm_floor and gemm_floor_1t, f32 and f64, seed widths) and each peer (f32
and f64); the order of the systems rotates from round to round so that drift in the
machine's load falls on all of them alike. Per (system, dtype, n) the median over rounds
of seconds per step is reported. Writes, in --out-dir:
  RESULTS.md      the machine, versions, tables of medians and ratios, the issue-3 targets
  throughput.png  samples/s against n, log-log, one line per system, one panel per dtype
  results.json    the raw per-round data
Sections of an existing RESULTS.md between <!-- hand-written --> and <!-- /hand-written -->
are kept. Run it with Debian's /usr/bin/python3 (numpy, torch, matplotlib, threadpoolctl).
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED_WIDTHS = [1000, 100, 100, 10]
BATCH_SIZES = [1, 4, 16, 64, 256, 1024, 4096, 8192]
DTYPES = ["f32", "f64"]
PEERS = {"numpy": HERE / "peers" / "numpy_peer.py", "torch": HERE / "peers" / "torch_peer.py"}
ROTATION = ["nobias", "numpy", "torch"]  # what one round runs, rotated each round
# Bench families, as named in the binary, and the column each feeds.
FAMILIES = {"train_step": "nobias", "gemm_floor": "floor", "gemm_floor_1t": "floor_1t"}
NO_CORETYPE = "nobias_no_coretype"
CORETYPE_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
LABELS = {"nobias": "nobias", "floor": "floor (all threads)", "floor_1t": "floor (1 thread)",
          "numpy": "numpy", "torch": "torch", NO_CORETYPE: "nobias (no CORETYPE)"}
HAND_OPEN, HAND_CLOSE = "<!-- hand-written -->", "<!-- /hand-written -->"
WHERE_HEADING = "Where the time goes"
PLACEHOLDER = ("_To be written by hand: where the time of a step goes (GEMMs, masks, "
               "threading, Python overhead for the peers) and why any target above is not "
               "met, with the profile that shows it. compare.py keeps whatever stands "
               "between the hand-written markers when it rewrites this file._")
UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


# ---------------------------------------------------------------- running the systems

def run(cmd, env=None, timeout=None):
    """Run cmd, return its stdout; raise RuntimeError with its stderr if it fails."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(map(str, cmd))} exited with {proc.returncode}:\n"
                           f"{proc.stderr.strip()[-2000:]}")
    return proc.stdout


def bench_filter(families, dtypes, ns):
    return "^({})_({})/n:({})/".format("|".join(families), "|".join(dtypes),
                                       "|".join(str(n) for n in ns))


def run_bench(path, families, ns, min_time, env=None, timeout=None):
    """One run of the bench binary: {'context': ..., 'records': [...]} of seconds per step."""
    cmd = [str(path), "--benchmark_filter=" + bench_filter(families, DTYPES, ns),
           "--benchmark_format=json", f"--benchmark_min_time={min_time}"]
    out = run(cmd, env=env, timeout=timeout)
    doc = json.loads(out[out.index("{"):])
    records = []
    for b in doc.get("benchmarks", []):
        if b.get("run_type") == "aggregate":
            continue
        m = re.match(r"^(\w+)_(f32|f64)/n:(\d+)(/|$)", b["name"])
        if not m or m.group(1) not in families:
            continue
        rec = {"family": m.group(1), "dtype": m.group(2), "n": int(m.group(3)),
               "name": b["name"]}
        if b.get("error_occurred"):
            rec["error"] = b.get("error_message", "error")
        else:
            rec["seconds_per_step"] = b["real_time"] * UNIT_SECONDS[b.get("time_unit", "ns")]
            rec["iterations"] = b.get("iterations")
            rec["allocs_per_step"] = b.get("allocs/step")
        records.append(rec)
    return {"command": shlex.join(cmd), "context": doc.get("context", {}), "records": records}


def run_peer(python, system, dtype, ns, min_time, timeout=None):
    cmd = [python, str(PEERS[system]), "--widths", ",".join(map(str, SEED_WIDTHS)),
           "--dtype", dtype, "--n", ",".join(map(str, ns)), "--min-time", str(min_time)]
    out = run(cmd, timeout=timeout)
    records = [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]
    return {"command": shlex.join(cmd), "records": records}


def core_name(blas_description):
    """'OpenBLAS ... Prescott MAX_THREADS=64, core Haswell' -> 'Haswell'."""
    m = re.search(r"core\s+(\S+)", blas_description or "")
    return m.group(1) if m else "(unknown)"


# ---------------------------------------------------------------- collecting medians

def collect(rounds):
    """{(column, dtype, n): [seconds per step, one per round that has it]}."""
    samples = {}
    for rnd in rounds:
        for run_ in rnd["runs"]:
            for rec in run_.get("records", []):
                if "seconds_per_step" not in rec:
                    continue
                column = FAMILIES.get(rec.get("family"), rec.get("system"))
                if run_.get("system") == NO_CORETYPE:
                    column = NO_CORETYPE
                samples.setdefault((column, rec["dtype"], rec["n"]), []).append(
                    rec["seconds_per_step"])
    return samples


def medians_of(samples):
    return {key: statistics.median(values) for key, values in samples.items()}


# ---------------------------------------------------------------- describing the machine

def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "(unknown)"


def os_name():
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"') + ", Linux " + platform.release()
    except OSError:
        pass
    return platform.platform()


def numpy_info():
    import numpy
    import threadpoolctl
    return {"version": numpy.__version__, "threadpools": threadpoolctl.threadpool_info()}


def torch_info(python):
    """torch's version and threads, from a subprocess with the peers' environment."""
    code = ("import json, torch, threadpoolctl; print(json.dumps({'version': torch.__version__,"
            " 'threads': torch.get_num_threads(), 'interop_threads':"
            " torch.get_num_interop_threads(), 'threadpools': threadpoolctl.threadpool_info()}))")
    try:
        return json.loads(run([python, "-c", code], timeout=120).strip().splitlines()[-1])
    except (RuntimeError, ValueError, IndexError, subprocess.TimeoutExpired) as e:
        return {"version": "(unavailable)", "error": str(e)}


def build_type(bench_path):
    """CMAKE_BUILD_TYPE from the CMakeCache.txt of the build tree holding the binary."""
    for parent in Path(bench_path).resolve().parents:
        cache = parent / "CMakeCache.txt"
        if cache.is_file():
            m = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", cache.read_text(errors="replace"),
                          re.MULTILINE)
            return m.group(1) if m else "(unset)"
    return "(unknown)"


def describe_pools(pools):
    parts = []
    for p in pools:
        desc = f"{p.get('internal_api')} {p.get('version') or ''}".strip()
        extra = [f"{p['num_threads']} threads"]
        if p.get("architecture"):
            extra.append(f"core {p['architecture']}")
        if p.get("threading_layer"):
            extra.append(p["threading_layer"])
        parts.append(f"{desc} ({', '.join(extra)}; `{p.get('filepath')}`)")
    return "; ".join(parts) or "(none found)"


# ---------------------------------------------------------------- RESULTS.md

def fmt_us(seconds):
    if seconds is None:
        return "—"
    us = seconds * 1e6
    if us < 10:
        return f"{us:.2f}"
    if us < 1000:
        return f"{us:.1f}"
    return f"{us:,.0f}"


def fmt_ratio(r):
    return "—" if r is None else f"{r:.2f}"


def ratio(a, b):
    return a / b if a is not None and b else None


def ratios(med, dtype, n):
    get = lambda col: med.get((col, dtype, n))  # noqa: E731
    nobias, floor, floor_1t = get("nobias"), get("floor"), get("floor_1t")
    best_floor = min((v for v in (floor, floor_1t) if v is not None), default=None)
    return {"nobias/floor": ratio(nobias, floor),
            "nobias/best floor": ratio(nobias, best_floor),
            "numpy/nobias": ratio(get("numpy"), nobias),
            "torch/nobias": ratio(get("torch"), nobias)}


# (ratio, comparison, bound, which n, description)
TARGETS = [
    ("nobias/floor", "<=", 1.05, lambda n: n >= 256,
     "train_step / gemm_floor ≤ 1.05 for n ≥ 256"),
    ("nobias/best floor", "<=", 1.05, lambda n: True,
     "train_step ≤ 1.05 × min(floor, floor 1t) at every n"),
    ("numpy/nobias", ">=", 3.0, lambda n: n <= 16, "numpy / nobias ≥ 3 for n ≤ 16"),
    ("numpy/nobias", ">=", 2.0, lambda n: n == 64, "numpy / nobias ≥ 2 at n = 64"),
    ("numpy/nobias", ">=", 1.05, lambda n: n >= 1024, "numpy / nobias ≥ 1.05 for n ≥ 1024"),
    ("torch/nobias", ">=", 5.0, lambda n: n <= 16, "torch / nobias ≥ 5 for n ≤ 16"),
    ("torch/nobias", ">=", 4.0, lambda n: n == 64, "torch / nobias ≥ 4 at n = 64"),
    ("torch/nobias", ">=", 1.4, lambda n: n >= 1024, "torch / nobias ≥ 1.4 for n ≥ 1024"),
]


def target_lines(med, dtype, ns):
    lines = []
    for key, op, bound, applies, text in TARGETS:
        values = [(n, ratios(med, dtype, n)[key]) for n in ns if applies(n)]
        values = [(n, v) for n, v in values if v is not None]
        if not values:
            lines.append(f"- {text}: **not measured**")
            continue
        ok = (lambda v: v <= bound) if op == "<=" else (lambda v: v >= bound)
        failing = [(n, v) for n, v in values if not ok(v)]
        shown = ", ".join(f"n={n}: {v:.2f}" for n, v in values)
        if failing:
            fails = ", ".join(f"n={n}" for n, _ in failing)
            lines.append(f"- {text}: **not met** at {fails} ({shown})")
        else:
            lines.append(f"- {text}: **met** ({shown})")
    return lines


def table(med, dtype, ns, with_no_coretype):
    cols = ["nobias", "floor", "floor_1t", "numpy", "torch"]
    if with_no_coretype:
        cols.append(NO_CORETYPE)
    head = ["n"] + [f"{LABELS[c]} µs" for c in cols] + [
        "nobias / floor", "nobias / min(floor, floor 1t)", "numpy / nobias", "torch / nobias"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for n in ns:
        r = ratios(med, dtype, n)
        cells = [str(n)] + [fmt_us(med.get((c, dtype, n))) for c in cols] + [
            fmt_ratio(r[k]) for k in ("nobias/floor", "nobias/best floor", "numpy/nobias",
                                      "torch/nobias")]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def hand_written_blocks(text):
    """[(heading, inner text)] of each hand-written block, heading = the '## ' above it."""
    blocks, heading, inside, buf = [], None, False, []
    for line in text.splitlines():
        if not inside and line.startswith("## "):
            heading = line[3:].strip()
        if not inside and line.strip() == HAND_OPEN:
            inside, buf = True, []
        elif inside and line.strip() == HAND_CLOSE:
            inside = False
            blocks.append((heading, "\n".join(buf)))
        elif inside:
            buf.append(line)
    return blocks


def write_results_md(path, meta, med, ns, with_no_coretype, errors):
    old = hand_written_blocks(path.read_text()) if path.exists() else []
    # The block under "Where the time goes" goes back there; failing that the first block
    # (its heading was renamed: keep it here rather than lose it); the rest at the end.
    where_at = next((i for i, (h, _) in enumerate(old) if h == WHERE_HEADING),
                    0 if old else None)
    where = old[where_at][1] if where_at is not None else None
    others = [hb for i, hb in enumerate(old) if i != where_at]

    ctx = meta["bench_context"]
    L = ["# nobias benchmark results", "",
         "Generated by `bench/compare.py`; every number is the median over the rounds of one "
         "run. Times are per full-batch training step of the seed widths "
         f"{'→'.join(map(str, SEED_WIDTHS))}, lower is better; ratios above 1 in the "
         "last two columns mean nobias is faster.", "",
         "## Machine and run", "",
         f"- CPU: {meta['cpu']}, {meta['cpus']} logical CPUs available to the run",
         f"- OS: {meta['os']}",
         f"- BLAS (nobias): {ctx.get('blas', '(not reported)')}; threads available to "
         f"nobias: {ctx.get('blas_threads_available', '?')}",
         f"- OpenBLAS core type used by nobias: **{core_name(ctx.get('blas'))}**; environment: "
         + ", ".join(f"`{k}={ctx.get(k, '(not reported)')}`"
                     for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                               "NOBIAS_THREADS")),
         f"- nobias build type: {meta['build_type']} (`{meta['bench']}`)",
         f"- numpy {meta['numpy']['version']}; its BLAS: "
         f"{describe_pools(meta['numpy']['threadpools'])}",
         f"- torch {meta['torch'].get('version')}: torch.get_num_threads() = "
         f"{meta['torch'].get('threads', '?')} (default, not set); its thread pools: "
         f"{describe_pools(meta['torch'].get('threadpools', []))}",
         "- The peers run with the same environment as nobias, `OPENBLAS_*` included: numpy "
         "uses the same OpenBLAS library with the same core type and thread settings.",
         f"- Heap allocations per nobias train_step (counter `allocs/step`), largest seen: "
         f"{meta.get('max_allocs_per_step')}",
         f"- Date: {meta['date']}",
         f"- Command: `{meta['command']}`",
         f"- Rounds: {meta['rounds']}, interleaved (order rotated each round); "
         f"min time per measurement {meta['min_time']} s; n = {', '.join(map(str, ns))}"]
    if with_no_coretype:
        nc = meta.get("no_coretype", {})
        L.append(f"- Column \"{LABELS[NO_CORETYPE]}\": one extra run of the train_step families "
                 f"with {' and '.join(CORETYPE_VARS)} removed from its environment; OpenBLAS "
                 f"then chose core **{nc.get('core', '(not run)')}**.")
        if all(ctx.get(k, "(unset)") == "(unset)" for k in CORETYPE_VARS):
            L.append("  (They were unset for the main runs too, so both nobias columns ran the "
                     "same configuration.)")
    if errors:
        L.append(f"- **Failed runs**: {len(errors)} (see results.json): "
                 + "; ".join(e.splitlines()[0] for e in errors[:5]))
    L += ["", "![samples/s against batch size](throughput.png)", ""]

    for dtype in DTYPES:
        if not any(k[1] == dtype for k in med):
            continue
        L += [f"## {'float32' if dtype == 'f32' else 'float64'} ({dtype})", ""]
        L += table(med, dtype, ns, with_no_coretype)
        L += ["", f"Targets of issue 3, {dtype}:", ""]
        L += target_lines(med, dtype, ns)
        L.append("")

    L += [f"## {WHERE_HEADING}", "", HAND_OPEN, where if where is not None else PLACEHOLDER,
          HAND_CLOSE, ""]
    for heading, block in others:
        L += [f"## {heading}" if heading else "## Notes", "", HAND_OPEN, block, HAND_CLOSE, ""]
    path.write_text("\n".join(L))


# ---------------------------------------------------------------- the plot

def write_plot(path, med, ns, meta):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {"nobias": dict(color="C0", marker="o", lw=2),
              "floor": dict(color="k", ls="--", marker="."),
              "floor_1t": dict(color="0.5", ls=":", marker="."),
              "numpy": dict(color="C1", marker="s"),
              "torch": dict(color="C3", marker="^"),
              NO_CORETYPE: dict(color="C0", ls="-.", marker="x", alpha=0.7)}
    dtypes = [d for d in DTYPES if any(k[1] == d for k in med)]
    fig, axes = plt.subplots(1, max(len(dtypes), 1), figsize=(6.5 * max(len(dtypes), 1), 5),
                             squeeze=False)
    for ax, dtype in zip(axes[0], dtypes):
        for col, style in styles.items():
            pts = [(n, n / med[(col, dtype, n)]) for n in ns if (col, dtype, n) in med]
            if pts:
                ax.plot(*zip(*pts), label=LABELS[col], **style)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size n")
        ax.set_ylabel("samples / s (n / seconds per step)")
        ax.set_title(f"{'float32' if dtype == 'f32' else 'float64'}, widths "
                     f"{'-'.join(map(str, SEED_WIDTHS))}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(f"{meta['cpu']}, {meta['cpus']} CPUs, OpenBLAS core "
                 f"{core_name(meta['bench_context'].get('blas'))}; median of {meta['rounds']} "
                 "rounds", fontsize="medium")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- main

def int_list(text):
    return [int(v) for v in text.split(",") if v]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bench", required=True, help="path of the nobias-bench binary")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.1,
                        help="seconds per measurement, for the bench and the peers alike")
    parser.add_argument("--out-dir", type=Path, default=HERE)
    parser.add_argument("--n", type=int_list, default=BATCH_SIZES,
                        help="batch sizes (default: all of %(default)s)")
    parser.add_argument("--no-coretype-column", action="store_true",
                        help="skip the extra nobias run without OPENBLAS_CORETYPE/L2_SIZE")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the peers")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds before one subprocess is given up")
    args = parser.parse_args(argv)
    if not os.access(args.bench, os.X_OK):
        parser.error(f"--bench {args.bench}: not an executable file")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    ns = sorted(set(args.n))
    args.out_dir.mkdir(parents=True, exist_ok=True)

    def log(msg):
        print(f"[compare {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    rounds, errors = [], []
    for r in range(args.rounds):
        order = ROTATION[r % len(ROTATION):] + ROTATION[:r % len(ROTATION)]
        dtype_order = DTYPES if r % 2 == 0 else DTYPES[::-1]
        runs = []
        for system in order:
            jobs = [(system, None)] if system == "nobias" else [(system, d) for d in dtype_order]
            for system_, dtype in jobs:
                log(f"round {r + 1}/{args.rounds}: {system_}" + (f" {dtype}" if dtype else ""))
                t0 = time.time()
                try:
                    if system_ == "nobias":
                        res = run_bench(args.bench, list(FAMILIES), ns, args.min_time,
                                        timeout=args.timeout)
                    else:
                        res = run_peer(args.python, system_, dtype, ns, args.min_time,
                                       timeout=args.timeout)
                except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired) as e:
                    errors.append(f"round {r + 1} {system_} {dtype or ''}: {e}")
                    log("FAILED: " + str(e))
                    res = {"error": str(e), "records": []}
                res.update(system=system_, dtype=dtype, started=t0, seconds=time.time() - t0)
                runs.append(res)
        rounds.append({"round": r + 1, "order": order, "runs": runs})

    no_coretype = None
    if not args.no_coretype_column:
        log("extra run: nobias train_step without " + ", ".join(CORETYPE_VARS))
        env = {k: v for k, v in os.environ.items() if k not in CORETYPE_VARS}
        t0 = time.time()
        try:
            no_coretype = run_bench(args.bench, ["train_step"], ns, args.min_time, env=env,
                                    timeout=args.timeout)
        except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired) as e:
            errors.append(f"no-CORETYPE run: {e}")
            log("FAILED: " + str(e))
            no_coretype = {"error": str(e), "records": []}
        no_coretype.update(system=NO_CORETYPE, started=t0, seconds=time.time() - t0,
                           removed=list(CORETYPE_VARS))

    bench_context = next((run_["context"] for rnd in rounds for run_ in rnd["runs"]
                          if run_.get("context")), {})
    meta = {"cpu": cpu_model(), "cpus": len(os.sched_getaffinity(0)), "os": os_name(),
            "bench": str(args.bench), "build_type": build_type(args.bench),
            "bench_context": bench_context, "numpy": numpy_info(),
            "torch": torch_info(args.python),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": shlex.join([sys.executable, *(sys.argv if argv is None
                                                     else [sys.argv[0], *argv])]),
            "rounds": args.rounds, "min_time": args.min_time, "n": ns}
    if no_coretype is not None:
        meta["no_coretype"] = {"core": core_name(no_coretype.get("context", {}).get("blas")),
                               "blas": no_coretype.get("context", {}).get("blas")}

    all_rounds = rounds + ([{"round": "no_coretype", "runs": [no_coretype]}]
                           if no_coretype is not None else [])
    samples = collect(all_rounds)
    med = medians_of(samples)
    allocs = [rec["allocs_per_step"] for r in rounds for run_ in r["runs"]
              for rec in run_.get("records", []) if rec.get("allocs_per_step") is not None]
    meta["max_allocs_per_step"] = max(allocs) if allocs else None

    out = args.out_dir
    (out / "results.json").write_text(json.dumps({
        "meta": meta, "rounds": rounds, "no_coretype": no_coretype, "errors": errors,
        "medians": [{"column": c, "dtype": d, "n": n, "seconds_per_step": v,
                     "rounds": len(samples[(c, d, n)])}
                    for (c, d, n), v in sorted(med.items())]}, indent=1) + "\n")
    write_results_md(out / "RESULTS.md", meta, med, ns, no_coretype is not None, errors)
    write_plot(out / "throughput.png", med, ns, meta)
    log(f"wrote {out / 'RESULTS.md'}, {out / 'throughput.png'}, {out / 'results.json'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
