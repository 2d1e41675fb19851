"""What the denoising experiment's results become: the lines printed while it runs, the markdown
region of docs/denoising.md, the two figures. Everything here reads the results' JSON alone, so
that --from-json remakes the document and the figures without training anything.
"""
import os
import re
import sys

import numpy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import doc_regions  # noqa: E402

BEGIN = re.compile(r"<!-- examples/denoising/experiment\.py: begin (results) -->")
END = "<!-- examples/denoising/experiment.py: end {} -->"
COLUMNS = (5, 10, 30, 50, 70, 90, 100)  # the sigmas the tables show (the JSON has them all)
PIXELS = ((1, 1), (3, 3), (2, 6), (6, 4))  # output pixels whose filters the figure shows
HOMOGENEITY_TOLERANCE = 1e-4  # float32 rounding through a few layers is ~1e-6
BIASED_MODEL = "with biases (PyTorch)"
BIAS_FREE_MODEL = "bias-free (nobias)"


def run_line(result, sigmas):
    """One run, as printed while the experiment goes: PSNR at the highest sigma, the times."""
    last = f"sigma {sigmas[-1]}"
    return (f"{result['setup']:40s} seed {result['seed']}  {last}: bias-free "
            f"{result['psnr']['bias_free'][-1]:6.2f} dB, biased {result['psnr']['biased'][-1]:6.2f}"
            f" dB  ({result['seconds']['bias_free']:.1f} s + {result['seconds']['biased']:.1f} s)")


def by_setup(results):
    """{setup name: (bias_free, biased)}: arrays of PSNR, one row per seed, one column per sigma."""
    table = {}
    for setup in results["setups"]:
        runs = [r for r in results["runs"] if r["setup"] == setup["name"]]
        table[setup["name"]] = tuple(numpy.array([r["psnr"][kind] for r in runs])
                                     for kind in ("bias_free", "biased"))
    return table


def spread(values):
    """mean [min, max] of per-seed values, or the one value."""
    if len(values) == 1:
        return f"{values[0]:+.2f}"
    return f"{numpy.mean(values):+.2f} [{numpy.min(values):+.2f}, {numpy.max(values):+.2f}]"


def psnr_table(results):
    sigmas = results["config"]["sigmas"]
    shown = [s for s in COLUMNS if s in sigmas]
    index = [sigmas.index(s) for s in shown]
    lines = ["| setup | training σ | model | " + " | ".join(f"σ={s}" for s in shown) + " |",
             "|---|---|---|" + "---:|" * len(shown)]
    noisy = numpy.array(results["noisy_input"])
    lines.append("| (no denoiser) | | noisy input | "
                 + " | ".join(f"{v:.2f}" for v in noisy[index]) + " |")
    ranges = {s["name"]: s["sigma_range"] for s in results["setups"]}
    for name, (bias_free, biased) in by_setup(results).items():
        low, high = ranges[name]
        for model, values in ((BIAS_FREE_MODEL, bias_free), (BIASED_MODEL, biased)):
            cells = " | ".join(f"{v:.2f}" for v in values.mean(axis=0)[index])
            lines.append(f"| {name} | [{low}, {high}] | {model} | {cells} |")
    return lines


def difference_table(results):
    """Per setup: bias-free minus biased (same seed, paired), and each minus the noisy input."""
    sigmas = results["config"]["sigmas"]
    noisy = numpy.array(results["noisy_input"])
    wanted = [s for s in (10, 50, 90) if s in sigmas]
    high = sigmas.index(wanted[-1])
    lines = ["| setup | " + " | ".join(f"bias-free − biased, σ={s}" for s in wanted)
             + f" | bias-free − noisy, σ={wanted[-1]} | biased − noisy, σ={wanted[-1]} |",
             "|---|" + "---:|" * (len(wanted) + 2)]
    for name, (bias_free, biased) in by_setup(results).items():
        cells = [spread(bias_free[:, sigmas.index(s)] - biased[:, sigmas.index(s)])
                 for s in wanted]
        cells += [spread(bias_free[:, high] - noisy[high]), spread(biased[:, high] - noisy[high])]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def failed_checks(results):
    """The runs whose bias-free denoiser is not homogeneous or not x A(x) to rounding."""
    failed = []
    for r in results["runs"]:
        for key in ("homogeneity_bias_free", "euler_bias_free"):
            if not r["checks"][key] <= HOMOGENEITY_TOLERANCE:
                failed.append(f"{r['setup']} seed {r['seed']}: {key} {r['checks'][key]:.3g}")
    return failed


def levels(sigmas):
    """5, 10, …, 100 for an evenly spaced list, else every value."""
    steps = set(numpy.diff(sigmas).tolist())
    if len(sigmas) > 3 and len(steps) == 1:
        return f"{sigmas[0]}, {sigmas[1]}, …, {sigmas[-1]}"
    return ", ".join(str(s) for s in sigmas)


def markdown(results):
    config, meta, runs = results["config"], results["meta"], results["runs"]
    checks = {key: [r["checks"][key] for r in runs] for key in runs[0]["checks"]}
    recipe = config["recipe"]
    check = results["recipe_check"]
    first = [r for r in runs if r["setup"] == check["setup"] and r["seed"] == check["seed"]][0]
    gap = numpy.abs(numpy.array(check["torch_bias_free"]) - numpy.array(first["psnr"]["bias_free"]))
    seconds = {kind: sum(r["seconds"][kind] for r in runs) for kind in ("bias_free", "biased")}
    side = config["side"]
    lines = [
        f"Settings: {side}×{side} patches, hidden widths {config['hidden']} unless the setup says"
        f" otherwise, Adam (learning rate {recipe['learning_rate']}), batch {recipe['batch_size']},"
        f" {recipe['epochs']} epochs, loss the mean squared error; {config['train_patches']}"
        f" training patches per seed (one noise level each, uniform in the training range),"
        f" {config['test_patches']} test patches; seeds {list(range(config['seeds']))}; test"
        f" noise at σ = {levels(config['sigmas'])}, on the 0–255 scale; PSNR in dB over all test"
        f" pixels. Training images (scikit-image): {', '.join(meta['train_images'])}; test"
        f" images (scikit-learn): {', '.join(meta['test_images'])}.",
        "",
        f"The run took {meta['seconds'] / 60:.1f} minutes on {meta['cpu']}, one thread per"
        f" library (training: {seconds['bias_free']:.0f} s in nobias, {seconds['biased']:.0f} s"
        f" in PyTorch {meta['torch']}; load average {meta['load_before']:.1f} at the start,"
        f" {meta['load_after']:.1f} at the end: the machine was shared).",
        "",
        "PSNR of the test patches (dB, mean over the seeds):",
        "",
        *psnr_table(results),
        "",
        "Differences in dB, paired by seed: mean [smallest, largest] over the seeds.",
        "",
        *difference_table(results),
        "",
        f"Checks on every bias-free denoiser, at σ={config['check_sigma']}: "
        f"|D(a x) − a D(x)| / |a D(x)| for a in {{0.3, 3.7}} at most "
        f"{max(checks['homogeneity_bias_free']):.1e}, and |x A(x) − D(x)| / |D(x)| at most "
        f"{max(checks['euler_bias_free']):.1e} (float32). The models with biases are not "
        f"homogeneous: their error is at least {min(checks['homogeneity_biased']):.2f}.",
        "",
        f"Recipe check: the setup \"{check['setup']}\" (seed {check['seed']}) trained once more in"
        f" PyTorch without biases lands within {gap.max():.2f} dB of nobias's at every σ (largest"
        f" gap at σ={config['sigmas'][int(gap.argmax())]}).",
        "",
        "![PSNR against σ](images/denoising_psnr.png)",
        "",
        f"![Adaptive filters of the setup \"{config['figure_setup']}\", seed 0]"
        "(images/denoising_filters.png)",
    ]
    return "\n".join(lines)


def with_region(text, results, path):
    try:
        return doc_regions.rewrite(text, BEGIN, END, lambda m: markdown(results).split("\n"),
                                   path)
    except ValueError as e:
        raise SystemExit(str(e))


def filter_figure_data(net, setup, test_clean, high_sigma, low_sigma=10):
    """For the test patch with the most contrast among the first 500: the noisy patch, the
    estimate and the filters (columns of A(x)) of PIXELS at two noise levels, one noise draw
    scaled to both, so that only the level differs."""
    import models
    side = int(round(numpy.sqrt(test_clean.shape[1])))
    clean = test_clean[int(numpy.argmax(test_clean[:500].std(axis=1)))]
    direction = numpy.random.default_rng(0).standard_normal(clean.shape)
    levels = []
    for sigma in (low_sigma, high_sigma):
        x = (clean + sigma / 255.0 * direction)[None, :]
        a = models.denoiser_jacobians(net, x, setup)[0]
        estimate = models.estimate(net.predict, x, setup)[0]
        filters = [a[:, r * side + c].tolist() for r, c in PIXELS]
        levels.append({"noisy": x[0].tolist(), "estimate": estimate.tolist(), "filters": filters})
    return {"setup": setup["name"], "sigmas": [low_sigma, high_sigma], "clean": clean.tolist(),
            "pixels": [list(p) for p in PIXELS], "levels": levels}


def figures(results, directory):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(directory, exist_ok=True)
    plt.rcParams.update({"font.size": 8})
    psnr_figure(plt, results).savefig(os.path.join(directory, "denoising_psnr.png"), dpi=110,
                                      metadata={"Software": None})
    filter_figure(plt, results["figure"]).savefig(os.path.join(directory, "denoising_filters.png"),
                                                  dpi=110, metadata={"Software": None})


def psnr_figure(plt, results):
    sigmas = numpy.array(results["config"]["sigmas"])
    table, setups = by_setup(results), results["setups"]
    columns = min(3, len(setups))
    rows = (len(setups) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 2.7 * rows), squeeze=False,
                             sharey=True)
    for ax, setup in zip(axes.flat, setups):
        bias_free, biased = table[setup["name"]]
        ax.axvspan(*setup["sigma_range"], color="0.9", label="training range")
        ax.plot(sigmas, results["noisy_input"], "k--", lw=1, label="noisy input")
        for values, colour, label in ((bias_free, "C0", BIAS_FREE_MODEL),
                                      (biased, "C3", BIASED_MODEL)):
            ax.plot(sigmas, values.mean(axis=0), color=colour, lw=1.5, label=label)
            ax.fill_between(sigmas, values.min(axis=0), values.max(axis=0), color=colour,
                            alpha=0.25, lw=0)
        ax.set_title(setup["name"])
        ax.set_xlabel("σ (of 255)")
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("PSNR (dB)")
    for ax in list(axes.flat)[len(setups):]:
        ax.axis("off")
    axes.flat[0].legend(loc="upper right", fontsize=7)
    fig.suptitle("Test PSNR against noise level (mean over seeds; band: smallest to largest)")
    fig.tight_layout()
    return fig


def filter_figure(plt, figure):
    clean = numpy.array(figure["clean"])
    side = int(round(numpy.sqrt(clean.size)))
    patch = lambda v: numpy.array(v).reshape(side, side)  # noqa: E731
    columns = 3 + len(figure["pixels"])
    fig, axes = plt.subplots(2, columns, figsize=(1.5 * columns, 3.5))
    for row, (sigma, level) in enumerate(zip(figure["sigmas"], figure["levels"])):
        images = [(clean, "clean"), (level["noisy"], f"noisy, σ={sigma}"),
                  (level["estimate"], "bias-free estimate")]
        for ax, (values, title) in zip(axes[row], images):
            ax.imshow(patch(values), cmap="gray", vmin=0, vmax=1)
            ax.set_title(title)
        # The colour scale is set by the weights on the other pixels: the output pixel's own
        # weight is often near 1 and would leave the rest white; it is given in the title.
        own = [f[r * side + c] for f, (r, c) in zip(level["filters"], figure["pixels"])]
        limit = max(numpy.abs(numpy.delete(f, r * side + c)).max()
                    for f, (r, c) in zip(level["filters"], figure["pixels"]))
        for ax, values, (r, c), weight in zip(axes[row, 3:], level["filters"], figure["pixels"],
                                              own):
            ax.imshow(patch(values), cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.plot(c, r, "k+", ms=6)
            ax.set_title(f"({r}, {c}): own {weight:.2f}")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"\"{figure['setup']}\": the filters of four output pixels (+), i.e. "
                 "the Jacobian's rows, at two noise levels; colour ±" + "max of the other weights")
    fig.tight_layout()
    return fig
