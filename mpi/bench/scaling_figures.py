"""The measured figures of docs/distributed.md, from measure_scaling.py's JSON (cost_model.py
writes them into the page; nothing here is typed by hand)."""
import re
import statistics
import textwrap

SEED, MNIST = "1000,100,100,10", "784,512,512,10"


def weights(widths):
    return sum(a * b for a, b in zip(widths, widths[1:]))


def widths_of(name):
    return [int(w) for w in name.split(",")]


def rates(study, widths, n, mode, ranks):
    """{run: samples/s} of one configuration."""
    found = {r["run"]: r["samples_per_s"] for r in study["rows"]
             if (r["widths"], r["n"], r["mode"], r["ranks"]) == (widths, n, mode, ranks)}
    if not found:
        raise ValueError(f"the measurement has no row for {widths}, n = {n}, {mode}, "
                         f"{ranks} rank(s)")
    return found


def waits(study, widths, n, mode, ranks):
    return [r["waiting"] for r in study["rows"]
            if (r["widths"], r["n"], r["mode"], r["ranks"]) == (widths, n, mode, ranks)]


def ratios(a, b):
    """Each run's a / b, the two measured in the same run."""
    return [a[run] / b[run] for run in sorted(a) if run in b]


def paragraph(text):
    return textwrap.fill(text, width=96, break_long_words=False, break_on_hyphens=False).split("\n")


def runs(study):
    count = study["meta"]["runs"]
    return f"{count} run{'' if count == 1 else 's'}"


def span(values, fmt):
    low, high = min(values), max(values)
    return fmt(low) if fmt(low) == fmt(high) else f"{fmt(low)}-{fmt(high)}"


def rate_of(study, widths):
    """R of the cost model: one rank, n = 4096, fast mode, median over the runs, 3 figures."""
    return float(f"{statistics.median(rates(study, widths, 4096, 'fast', 1).values()):.3g}")


def conditions(study):
    m = study["meta"]
    f32 = re.search(r"float32 products on ([^(;]*)", m["gemm"])
    return (f"{m['date']}, {m['cpu']} ({m['cpus']} CPUs), float32 on "
            f"{f32.group(1).strip() if f32 else m['gemm']}, {m['mpirun']}, nobias at "
            f"{m['commit']}, load average {m['load_before'][0]:.1f} before the runs and "
            f"{m['load_after'][0]:.1f} after")


def rates_lines(study, source):
    parts = []
    for name in (SEED, MNIST):
        r, w = rate_of(study, name), weights(widths_of(name))
        parts.append(f"**R = {r:,.0f} samples/s** for {name} (W = {w:,}, "
                     f"{6 * w * r / 1e9:.0f} GFLOP/s)")
    m = study["meta"]
    return paragraph(f"Measured on one core, one rank, one thread, n = 4096, fast mode, the median of "
            f"{runs(study)} (`{source}`, written by `{m['command']}`): "
            f"{parts[0]} and {parts[1]}. Conditions: {conditions(study)}.")


def shards(n):
    """Micro-shards of a batch of n rows in deterministic mode (the default max_shards)."""
    return min(16, max(1, n // 32))


def determinism_lines(study, source):
    def at(n):
        def ratio(name):
            det, fast = rates(study, name, n, "det", 1), rates(study, name, n, "fast", 1)
            return span(ratios(det, fast), lambda v: f"{v:.2f}")
        cells = [f"{ratio(name)} for {name}" for name in (SEED, MNIST)]
        return f"at n = {n} ({shards(n)} shards of {n // shards(n)} rows) " + " and ".join(cells)
    return paragraph(f"Cost of determinism, one rank, one thread, f32, samples/s deterministic / "
                     f"fast measured in the same run (`{source}`, {runs(study)}): "
                     f"{at(4096)}; {at(256)}.")


def two_ranks_lines(study, source):
    lines = ["| widths | n | mode | 1 rank, samples/s | 2 ranks, samples/s | 2 ranks / 1, "
             "per run | waiting, 2 ranks |", "|---|---|---|---|---|---|---|"]
    for name in (SEED, MNIST):
        for n in (4096, 256):
            for mode in ("fast", "det"):
                one, two = rates(study, name, n, mode, 1), rates(study, name, n, mode, 2)
                lines.append(
                    f"| {name} | {n} | {mode} | {statistics.median(one.values()):,.0f} | "
                    f"{statistics.median(two.values()):,.0f} | "
                    f"{span(ratios(two, one), lambda v: f'{v:.2f}x')} | "
                    f"{span(waits(study, name, n, mode, 2), lambda v: f'{100 * v:.0f}%')} |")
    seed_rate = statistics.median(rates(study, SEED, 4096, "fast", 1).values())
    compute = [f"{n // 2} rows in {1e3 * (n // 2) / seed_rate:.2f} ms" for n in (4096, 256)]
    lines += [""] + paragraph(
        f"Rates are medians of {runs(study)} (`{source}`), each run 1 rank then 2; "
        f"{conditions(study)}. A rank of 1000,100,100,10 computes its share of a batch, "
        f"{compute[0]} at B = 4096 and {compute[1]} at B = 256.")
    return lines


REGIONS = {"rates": rates_lines, "determinism": determinism_lines, "two-ranks": two_ranks_lines}
