"""RESULTS.md's section "What users run", from the --json files of optimizer_compare.py
(epochs_<widths>.json), predict_memory.py (predict.json) and train_memory.py
(train_memory.json) in bench/user_runs/. Each table says how it was run (the JSON's command
line), on what, and under what load; every figure is a median over the JSON's rounds or
repeats (peak memory: the largest). Used by bench/report.py; a file that is absent is left out.
"""
import json
import statistics
from pathlib import Path

EPOCH_FILES = ("epochs_mnist.json", "epochs_seed.json")
TUNED = "_tuned_malloc"  # optimizer_compare.py's PyTorch with TUNED_MALLOC
OPTIMIZERS = ("sgd", "momentum", "adam")


def how_run(meta):
    load = ", ".join(f"{meta[k][0]:.1f}" for k in ("load_before", "load_after"))
    env = ", ".join(f"`{k}={v}`" for k, v in meta.get("environment", {}).items()) or "none"
    lines = [f"Run: `{meta['command']}`", "",
             f"{meta['cpu']}, {meta['cpus']} CPUs; {meta['date']}; commit {meta['commit']}; "
             f"build {meta['build']['build_type']} (`{meta['build']['path']}`); OpenBLAS "
             f"environment {env}; load average (1 min) before, after: {load}."]
    if meta.get("module"):
        lines[-1] += f" Python module: `{meta['module']}`."
    if meta.get("blas"):
        lines[-1] += f" BLAS as nobias-bench reports it: {meta['blas']}."
    return lines + [""]


def tuned_note(doc, tuned):
    if not tuned:
        return ""
    env = " ".join(f"{k}={v}" for k, v in doc["torch_tuned_malloc"].items())
    return (" PyTorch as Debian ships it frees and maps again megabytes of gradients and "
            "temporaries every step: at 784→512→512→10, Adam, batch 32, one thread, a fifth of "
            "its time was page faults, and its rate moved up to 4x between runs (bench/"
            f"ANALYSIS.md); *malloc tuned* is the same run with `{env}`, glibc's own "
            "equivalent of the allocator PyTorch's CPU tuning guide recommends.")


def epochs_lines(doc):
    med = {}
    for r in doc["rates"]:
        med.setdefault((r["system"], r["optimizer"], r["batch"]), []).append(
            r["samples_per_second"])
    med = {k: statistics.median(v) for k, v in med.items()}
    torch = sorted({s for s, _, _ in med if s.startswith("torch_")})
    shipped = [t for t in torch if not t.endswith(TUNED)]
    tuned = [t for t in torch if t.endswith(TUNED)]
    batches = sorted({n for _, _, n in med})

    def fastest(systems, opt, n):
        """The system of systems with the most samples/s for (opt, n), or None."""
        have = [t for t in systems if (t, opt, n) in med]
        return max(have, key=lambda t: med[(t, opt, n)]) if have else None

    def column(t):
        threads = int(t.split("_")[1][:-1])
        return (f"PyTorch {threads} thread{'s' if threads != 1 else ''}"
                f"{', malloc tuned' if t.endswith(TUNED) else ''} samples/s")

    peers = [(systems, what) for systems, what in
             ((shipped, "nobias / PyTorch's best"),
              (tuned, "nobias / PyTorch's best, malloc tuned")) if systems]
    head = (["batch", "optimizer", "nobias samples/s", "nobias adam/sgd"]
            + [column(t) for t in torch]
            + ["PyTorch best adam/sgd (one system)"] * bool(torch) + [h for _, h in peers])
    lines = [f"### Epochs of the real-data recipe, {'→'.join(map(str, doc['layers']))} "
             f"({doc['widths']}), {doc['dtype']}", "",
             f"Samples/s of whole epochs (shuffle, gather each batch, step), medians of "
             f"{doc['rounds']} interleaved rounds; nobias-bench's epoch_* over "
             f"{doc['nobias_rows']:,} rows, PyTorch (bench/peers/torch_epoch_peer.py, the same "
             f"recipe) over {doc['torch_rows']:,} rows, the same work per sample. Higher is "
             "better." + tuned_note(doc, tuned), ""] + how_run(doc["meta"])
    lines += ["| " + " | ".join(head) + " |", "|---:|---|" + "---:|" * (len(head) - 2)]
    for n in batches:
        for opt in OPTIMIZERS:
            if ("nobias", opt, n) not in med:
                continue
            nb = med[("nobias", opt, n)]
            row = [str(n), opt, f"{nb:,.0f}",
                   f"{nb / med[('nobias', 'sgd', n)]:.2f}" if opt == "adam" else ""]
            row += [f"{med[(t, opt, n)]:,.0f}" if (t, opt, n) in med else "—" for t in torch]
            if torch:
                # Adam over SGD within the system whose Adam is fastest, as nobias's column.
                best = fastest(peers[0][0], "adam", n) if opt == "adam" else None
                row.append(f"{med[(best, 'adam', n)] / med[(best, 'sgd', n)]:.2f} ({best})"
                           if best and (best, "sgd", n) in med else "")
            for systems, _ in peers:
                best = fastest(systems, opt, n)
                row.append(f"{nb / med[(best, opt, n)]:.1f}×" if best else "—")
            lines.append("| " + " | ".join(row) + " |")
    return lines + [""]


def predict_lines(doc):
    lines = [f"### Prediction: the tools against Network.predict, "
             f"{'→'.join(map(str, doc['widths']))}, {doc['dtype']}", "",
             f"Rows/s, medians of {doc['repeats']} interleaved repeats; peak RSS the largest. "
             "What each timing includes: *Network.predict*, the products alone on rows already "
             "in memory, its workspace warm; *np.load + predict*, what a Python user pays from "
             "the same file (numpy.load from the page cache, then Network.predict); "
             "*nobias-predict*, the whole process as a user runs it (start, model read, --x "
             "mapped from the page cache, predictions, the .npy written, synced and renamed); "
             "*nobias-evaluate*, the same with --y read and the metrics printed instead; "
             "*start-up*, nobias-predict on one row, the part that does not grow with rows.",
             ""] + how_run(doc["meta"])
    lines += ["| rows | input MB | Network.predict rows/s | np.load + predict rows/s | "
              "nobias-predict rows/s | nobias-predict / Network.predict | "
              "nobias-predict / np.load + predict | nobias-evaluate rows/s | start-up s | "
              "nobias-predict peak MB | nobias-evaluate peak MB |",
              "|" + "---:|" * 11]
    for r in doc["runs"]:
        rate = {k: r["rows"] / statistics.median(r[k]) for k in
                ("library_s", "np_load_and_predict_s", "predict_s", "evaluate_s")}
        lines.append(
            f"| {r['rows']:,} | {r['input_mb']:.0f} | {rate['library_s']:,.0f} | "
            f"{rate['np_load_and_predict_s']:,.0f} | {rate['predict_s']:,.0f} | "
            f"{rate['predict_s'] / rate['library_s']:.2f} | "
            f"{rate['predict_s'] / rate['np_load_and_predict_s']:.2f} | "
            f"{rate['evaluate_s']:,.0f} | {statistics.median(r['startup_s']):.2f} | "
            f"{max(r['predict_peak_mb']):.0f} | {max(r['evaluate_peak_mb']):.0f} |")
    return lines + [""]


def train_memory_lines(doc):
    epochs = "One epoch" if doc["epochs"] == 1 else f"{doc['epochs']} epochs"
    lines = [f"### Peak memory of nobias-train against rows, {'→'.join(map(str, doc['widths']))}",
             "", f"{epochs} of the defaults (Adam, batches of 32) on an n × 784 .npy of the "
             "dtype trained (mapped, not copied) and its labels; peak RSS from /usr/bin/time; "
             "*over input* = peak − the two files' size. Lower is better.",
             ""] + how_run(doc["meta"])
    lines += ["| rows | dtype | preparation | input MB | peak MB | over input MB |",
              "|---:|---|---|---:|---:|---:|"]
    for r in doc["runs"]:
        lines.append(f"| {r['rows']:,} | {r['dtype']} | {r['preparation']} | "
                     f"{r['input_mb']:.0f} | {r['peak_mb']:.0f} | "
                     f"{r['peak_mb'] - r['input_mb']:.0f} |")
    return lines + [""]


def section_lines(directory):
    """The section's lines, or [] when directory holds none of the files."""
    parts = [(name, render) for name, render in
             [(f, epochs_lines) for f in EPOCH_FILES]
             + [("predict.json", predict_lines), ("train_memory.json", train_memory_lines)]
             if (Path(directory) / name).is_file()]
    if not parts:
        return []
    lines = ["## What users run", "",
             "The real-data recipe's epochs against PyTorch, the prediction tools and "
             "nobias-train's memory, from the --json files of `bench/optimizer_compare.py`, "
             "`bench/predict_memory.py` and `bench/train_memory.py` in `bench/user_runs/`.", ""]
    for name, render in parts:
        lines += render(json.loads((Path(directory) / name).read_text()))
    return lines
