#!/usr/bin/python3
"""Turn results.json (from measure.py) into RESULTS.md, throughput.png and the docs' figures.

Usage: report.py [--results bench/results.json] [--out-dir bench] [--docs docs/benchmarks.md]
                 [--user-runs bench/user_runs]
       report.py --check    exit 1 when RESULTS.md or a generated region of the docs is not
                            what results.json gives (the doc tests run this)

Every number is the median over the rounds of one measure.py run. The targets are data
(targets.json); the hand-written analysis lives in ANALYSIS.md and is linked, never
rewritten. RESULTS.md's last section, "What users run", is bench/user_runs.py's, from the
--json files of the benchmarks of what users run (in --user-runs). A document's figures live
between two marker lines,

    <!-- bench/report.py: begin NAME -->
    <!-- bench/report.py: end NAME -->

and only there: this program rewrites what lies between them (NAME: one of REGIONS), so no
speed figure in the docs is typed by hand. Needs matplotlib for the plot (not for --check).
"""
import argparse
import json
import re
import statistics
import sys
import tempfile
from pathlib import Path

import doc_regions  # bench/, this script's directory, is first on sys.path
import user_runs

HERE = Path(__file__).resolve().parent
DTYPES = ["f32", "f64"]
LABELS = {
    "nobias": "nobias",
    "nobias_1t_setting": "nobias, NOBIAS_THREADS=1",
    "floor": "floor, OpenBLAS all threads",
    "floor_1t": "floor, OpenBLAS 1 thread",
    "floor_onednn": "floor, oneDNN sgemm, all threads",
    "floor_onednn_1t": "floor, oneDNN sgemm, 1 thread",
    "floor_eigen_1t": "floor, Eigen AVX-512 dgemm, 1 thread",
    "best_floor": "best floor",
    "best_floor_1t": "best 1-thread floor",
    "numpy_no_env": "numpy, no env",
    "numpy_best_1t": "numpy, best core, 1 thread",
    "numpy_best_all": "numpy, best core, all threads",
    "numpy_best": "numpy at its best",
    "torch_no_env": "torch, no env",
    "torch_best_1t": "torch, best core, 1 thread",
    "torch_best_all": "torch, best core, all threads, passive OpenMP",
    "torch_best": "torch at its best",
    "onednn_1t": "oneDNN primitives, 1 thread",
    "onednn_all": "oneDNN primitives, all threads",
    "onednn_best": "oneDNN primitives at their best",
    "nobias_busy": "nobias, busy",
    "nobias_1t_busy": "nobias 1 thread, busy",
}


def samples_of(results):
    """{(column, dtype, n): [seconds per step, one per round]}."""
    out = {}
    for rnd in results["rounds"]:
        for run in rnd["runs"]:
            for rec in run.get("records", []):
                if "seconds_per_step" in rec and rec.get("column"):
                    out.setdefault((rec["column"], rec["dtype"], rec["n"]), []).append(
                        rec["seconds_per_step"])
    return out


def medians(results):
    med = {k: statistics.median(v) for k, v in samples_of(results).items()}
    # Derived columns: the best a system could do, of the settings measured.
    derived = {"best_floor": ("floor", "floor_1t", "floor_onednn", "floor_onednn_1t",
                              "floor_eigen_1t"),
               "best_floor_1t": ("floor_1t", "floor_onednn_1t", "floor_eigen_1t"),
               "numpy_best": ("numpy_best_1t", "numpy_best_all"),
               "torch_best": ("torch_best_1t", "torch_best_all"),
               "onednn_best": ("onednn_1t", "onednn_all")}
    for (column, dtype, n) in list(med):
        for name, parts in derived.items():
            values = [med[(p, dtype, n)] for p in parts if (p, dtype, n) in med]
            if values:
                med[(name, dtype, n)] = min(values)
    return med


def label(column, meta):
    core = meta.get("policy_core")
    if core and column in (f"floor_{core}", f"floor_1t_{core}"):
        threads = "1 thread" if column.startswith("floor_1t") else "OpenBLAS all threads"
        return f"floor, {threads}, {core} core (not used: the environment pins another)"
    return LABELS.get(column, column)


def columns_present(med, dtype):
    seen = []
    for (column, d, _) in med:
        if d == dtype and column not in seen:
            seen.append(column)
    order = list(LABELS)
    return sorted(seen, key=lambda c: (order.index(c) if c in order else len(order), c))


def fmt_us(seconds):
    if seconds is None:
        return "—"
    us = seconds * 1e6
    return f"{us:.2f}" if us < 10 else f"{us:.1f}" if us < 1000 else f"{us:,.0f}"


def target_lines(med, dtype, ns, targets):
    lines = []
    for t in targets:
        num, den = t["ratio"]
        applies = [n for n in ns if t.get("n_min", 0) <= n <= t.get("n_max", 1 << 62)]
        values = [(n, med[(num, dtype, n)] / med[(den, dtype, n)]) for n in applies
                  if (num, dtype, n) in med and (den, dtype, n) in med]
        if not values:
            lines.append(f"- {t['text']}: **not measured**")
            continue
        ok = (lambda v: v <= t["bound"]) if t["op"] == "<=" else (lambda v: v >= t["bound"])
        failing = [n for n, v in values if not ok(v)]
        shown = ", ".join(f"n={n}: {v:.2f}" for n, v in values)
        verdict = f"**not met** at n = {', '.join(map(str, failing))}" if failing else "**met**"
        lines.append(f"- {t['text']} ({num} / {den}): {verdict} ({shown})")
    return lines


def table(med, dtype, ns, meta):
    cols = columns_present(med, dtype)
    head = ["n"] + [f"{label(c, meta)} µs" for c in cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for n in ns:
        lines.append("| " + " | ".join([str(n)] + [fmt_us(med.get((c, dtype, n)))
                                                   for c in cols]) + " |")
    return lines


def core_of(description):
    m = re.search(r"core\s+(\S+)", description or "")
    return m.group(1) if m else "(unknown)"


def write_results_md(path, results, med, targets, user_dir):
    meta = results["meta"]
    ctx = meta.get("bench_context", {})
    ns = meta["n"]
    busy = any(s.get("busy") for s in meta.get("systems", []))
    users = user_runs.section_lines(user_dir)
    L = ["# nobias benchmark results", "",
         "Generated by `bench/report.py` from `bench/results.json` (`bench/measure.py`); "
         "every number is the median over the rounds of one run, µs per full-batch training "
         f"step of the widths {'→'.join(map(str, meta['widths']))}, lower is better. "
         "The analysis, and the MPI and Python measurements, are written by hand in "
         "[ANALYSIS.md](ANALYSIS.md)." + (" The last section, what users run, is measured "
                                          "apart and says how." if users else ""), "",
         "## Machine and run", "",
         f"- CPU: {meta['cpu']}, {meta['cpus']} logical CPUs available",
         f"- OS: {meta['os']}",
         f"- BLAS (nobias): {ctx.get('blas', '(not reported)')}",
         f"- OpenBLAS core used by nobias: **{core_of(ctx.get('blas'))}**; the core nobias's "
         f"policy picks for this CPU when the environment pins none: "
         f"**{meta.get('policy_core')}**",
         "- Environment: " + ", ".join(f"`{k}={v}`" for k, v in meta["environment"].items()
                                       if v is not None),
         f"- Build: {meta['build_type']} (`{meta['bench']}`); numpy "
         f"{meta['numpy']['version']}; torch {meta['torch'].get('version')}",
         f"- Date: {meta['date']}; load average at the end: "
         f"{', '.join(f'{v:.1f}' for v in meta.get('load_average_at_end', []))}",
         f"- Command: `{meta['command']}`; {meta['rounds']} rounds, order rotated each "
         f"round; min time per measurement {meta['min_time']} s",
         "- Columns: *floor* = the step's GEMM calls alone, nothing between them, on "
         "OpenBLAS, (float32) oneDNN's sgemm or (float64) the Eigen AVX-512 GEMM nobias "
         "carries, with the library's threads or one (Eigen: one); *best floor* = the fastest "
         "of them; *best 1-thread floor* = the fastest one-thread floor. "
         "Peers: *no env* = "
         "no OPENBLAS_*/OMP_* variables; *best* = the policy's core with one BLAS thread, or "
         "all threads with passive OpenMP waiting; *at its best* = the faster."]
    load = meta.get("load_average_at_end") or [0]
    if load[0] > meta["cpus"]:
        L.append(f"- **Taken under load** (load average {load[0]:.1f} on {meta['cpus']} CPUs at "
                 "the end of the run): other processes competed for the cores throughout; these "
                 "figures are not evidence for or against any target. Rerun on a quiet machine.")
    if busy:
        L.append("- *busy* columns: measured while one `yes > /dev/null` competed for a core, "
                 "each for at least 0.5 s (steady training: a new network's team learns from "
                 "its first stalls that the machine is busy, a cost that 0.05 s would weigh ten "
                 "times more than a run of seconds does).")
    if results.get("errors"):
        L.append(f"- **Failed runs**: {len(results['errors'])} (see results.json)")
    L += ["", "![samples/s against batch size](throughput.png)", ""]
    for dtype in DTYPES:
        if not any(k[1] == dtype for k in med):
            continue
        L += [f"## {'float32' if dtype == 'f32' else 'float64'} ({dtype})", ""]
        L += table(med, dtype, ns, meta)
        L += ["", f"Targets of issue 11, {dtype}:", ""]
        L += target_lines(med, dtype, ns, targets)
        L.append("")
    L += users
    path.write_text("\n".join(L))


def summary_lines(med, meta):
    """The short table of docs/benchmarks.md: a few batch sizes, nobias against the floor and
    the peers at their best."""
    ns = [n for n in (1, 64, 4096) if n in meta["n"]]
    lines = [f"One full-batch training step of the widths {'→'.join(map(str, meta['widths']))}, "
             f"{meta['cpu']}, {meta['cpus']} CPUs, {meta['date']} (median of {meta['rounds']} "
             "rounds; every column in [bench/RESULTS.md](../bench/RESULTS.md)):", "",
             "| dtype | n | nobias | best GEMM floor | numpy at its best | PyTorch at its best |",
             "|---|---:|---:|---:|---:|---:|"]

    def slower(column, dtype, n):
        if (column, dtype, n) not in med or ("nobias", dtype, n) not in med:
            return "—"
        return f"{med[(column, dtype, n)] / med[('nobias', dtype, n)]:.1f}× slower"

    for dtype in DTYPES:
        for n in ns:
            if ("nobias", dtype, n) not in med:
                continue
            lines.append(f"| {dtype} | {n} | {fmt_us(med[('nobias', dtype, n)])} µs | "
                         f"{fmt_us(med.get(('best_floor', dtype, n)))} µs | "
                         f"{slower('numpy_best', dtype, n)} | {slower('torch_best', dtype, n)} |")
    return lines


REGIONS = {"summary": summary_lines}


def with_regions(text, med, meta, source):
    """text with every generated region rewritten; ValueError for a marker without its pair."""
    def render(m):
        if m.group(1) not in REGIONS:
            raise ValueError(f"{source}: unknown region '{m.group(1)}' "
                             f"(known: {', '.join(REGIONS)})")
        return REGIONS[m.group(1)](med, meta)
    return doc_regions.rewrite(text, re.compile(r"<!-- bench/report\.py: begin (\S+) -->"),
                               "<!-- bench/report.py: end {} -->", render, source)


def write_plot(path, med, meta):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = {"nobias": dict(color="C0", marker="o", lw=2),
             "best_floor": dict(color="k", ls="--", marker="."),
             "numpy_best": dict(color="C1", marker="s"),
             "torch_best": dict(color="C3", marker="^"),
             "onednn_best": dict(color="C2", marker="v"),
             "nobias_busy": dict(color="C0", ls=":", marker="x")}
    ns = meta["n"]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5), squeeze=False)
    for ax, dtype in zip(axes[0], DTYPES):
        for col, style in shown.items():
            pts = [(n, n / med[(col, dtype, n)]) for n in ns if (col, dtype, n) in med]
            if pts:
                ax.plot(*zip(*pts), label=LABELS[col], **style)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(ns)
        ax.set_xticklabels([str(n) for n in ns])
        ax.set_xlabel("batch size n (the measured points)")
        ax.set_ylabel("samples / s = n / seconds per step")
        ax.set_title(f"{'float32' if dtype == 'f32' else 'float64'}, widths "
                     f"{'-'.join(map(str, meta['widths']))}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small", title="floor = the step's GEMMs alone", title_fontsize="small")
    fig.suptitle(f"{meta['cpu']}, {meta['cpus']} CPUs, OpenBLAS core "
                 f"{core_of(meta['bench_context'].get('blas'))}; median of {meta['rounds']} "
                 "rounds", fontsize="medium")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=HERE / "results.json")
    parser.add_argument("--out-dir", type=Path, default=HERE)
    parser.add_argument("--docs", type=Path, action="append",
                        help="a document with generated regions (default: docs/benchmarks.md)")
    parser.add_argument("--user-runs", type=Path, default=HERE / "user_runs",
                        help="the --json files of RESULTS.md's section 'What users run'")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a generated file or region differs")
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text())
    targets = json.loads((HERE / "targets.json").read_text())["targets"]
    med = medians(results)
    docs = args.docs or [HERE.parent / "docs" / "benchmarks.md"]
    if args.check:
        stale = []
        with tempfile.TemporaryDirectory() as tmp:
            write_results_md(Path(tmp) / "RESULTS.md", results, med, targets,
                             args.user_runs)
            if (Path(tmp) / "RESULTS.md").read_text() != (args.out_dir / "RESULTS.md").read_text():
                stale.append(str(args.out_dir / "RESULTS.md"))
        for doc in docs:
            text = doc.read_text()
            if with_regions(text, med, results["meta"], doc) != text:
                stale.append(str(doc))
        for path in stale:
            print(f"{path}: not what {args.results} gives; run bench/report.py", file=sys.stderr)
        if not stale:
            print(f"RESULTS.md and the regions of {', '.join(map(str, docs))} match {args.results}")
        return 1 if stale else 0
    write_results_md(args.out_dir / "RESULTS.md", results, med, targets, args.user_runs)
    for doc in docs:
        doc.write_text(with_regions(doc.read_text(), med, results["meta"], doc))
    write_plot(args.out_dir / "throughput.png", med, results["meta"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
