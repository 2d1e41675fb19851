#!/usr/bin/env python3
"""Which defaults let a bias-free network reach what it can on real data (issue 20).

For each data set and seed: one 75/25 split (stratified for classes, random_state = seed), then
  - nobias's estimators (the library's driver, as nobias-train), under named candidate
    settings, among them the current defaults;
  - scikit-learn's MLPClassifier / MLPRegressor with their defaults, on raw columns and behind
    a StandardScaler;
  - the bias-free reference: the same 100-100 ReLU network without biases in PyTorch, inputs
    standardized, regression targets standardized, one-hot targets with the squared loss, Adam
    1e-3, batches of 32, 200 epochs, no early stopping, no tuning.
Held-out accuracy (classes) or R² (regression). Prints every run, and a markdown table of
medians over the seeds; the figures of docs/real-data.md are written by this program, never typed:

  ./dev python bench/defaults_study.py --json bench/defaults_study.json --doc docs/real-data.md
  ./dev python bench/defaults_study.py --from-json bench/defaults_study.json --doc docs/real-data.md --check
  ./dev python bench/defaults_study.py --seeds 3 --datasets wine,iris --no-torch    # a quick look

A document's figures lie between marker lines that name the scores they come from (a path
relative to the repository) and what to write (KIND: table, or medians: each runner's median
and mean per data set, for a study of many seeds):

  <!-- bench/defaults_study.py FILE.json: begin KIND -->
  <!-- bench/defaults_study.py: end KIND -->
"""
import argparse
import json
import os
import re
import shlex
import sys
import time
import warnings

import statistics

import doc_regions  # bench/, this script's directory, is first on sys.path
import run_facts

HIDDEN = (100, 100)


# ----------------------------------------------------------------------------- data sets

def teacher(rows, columns, seed, offset=50.0):
    """A regression a bias-free network can express: inputs with offsets and unequal scales, the
    target a random bias-free ReLU network of the standardized inputs, plus noise and an
    offset (which standardizing the target removes)."""
    import numpy
    rng = numpy.random.default_rng(1000 + seed)
    means, scales = rng.uniform(-5, 5, columns), rng.uniform(0.5, 20, columns)
    x = rng.standard_normal((rows, columns)) * scales + means
    z = (x - means) / scales
    w1 = rng.standard_normal((columns, 32)) * numpy.sqrt(2 / columns)
    w2 = rng.standard_normal((32, 1)) * numpy.sqrt(2 / 32)
    signal = numpy.maximum(z @ w1, 0) @ w2
    y = 10 * signal[:, 0] + rng.standard_normal(rows) * 10 * signal.std() * 0.2 + offset
    return x, y


def datasets():
    from sklearn import datasets as d
    return {
        "wine": ("class", lambda seed: d.load_wine(return_X_y=True)),
        "breast_cancer": ("class", lambda seed: d.load_breast_cancer(return_X_y=True)),
        "digits": ("class", lambda seed: d.load_digits(return_X_y=True)),
        "iris": ("class", lambda seed: d.load_iris(return_X_y=True)),
        "diabetes": ("regression", lambda seed: d.load_diabetes(return_X_y=True)),
        "teacher13": ("regression", lambda seed: teacher(600, 13, 0)),
        "teacher13_40k": ("regression", lambda seed: teacher(40000, 13, 1)),
    }


# ----------------------------------------------------------------------------- the runners

def score(kind, truth, predicted):
    from sklearn.metrics import accuracy_score, r2_score
    return accuracy_score(truth, predicted) if kind == "class" else r2_score(truth, predicted)


CANDIDATES = {
    "nobias defaults": dict(),
    # The homogeneous model, one flag away (--no-standardize).
    "nobias, standardize=False": dict(standardize=False),
    # Glorot's full scale: the default before half of it was measured better.
    "nobias, init=glorot": dict(init="glorot"),
    # The defaults before issue 20 used He's scale, without standardizing.
    "nobias, init=he": dict(init="he"),
    "nobias, no early stopping": dict(early_stopping=False),
}


def run_nobias(kind, settings, x_train, y_train, x_test, seed):
    import nobias
    make = nobias.Classifier if kind == "class" else nobias.Regressor
    model = make(hidden_layer_sizes=HIDDEN, random_state=seed, **settings)
    model.fit(x_train, y_train)
    return model.predict(x_test)


def run_sklearn(kind, scaled, x_train, y_train, x_test, seed):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    model = (MLPClassifier if kind == "class" else MLPRegressor)(random_state=seed)
    if scaled:
        model = make_pipeline(StandardScaler(), model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
    return model.predict(x_test)


def run_reference(kind, x_train, y_train, x_test, seed, epochs=200, batch=32):
    """The bias-free reference of the issue, in PyTorch."""
    import numpy
    import torch
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    mean, std = x_train.mean(0), x_train.std(0)
    std[std == 0] = 1
    xt = torch.tensor((x_train - mean) / std, dtype=torch.float32)
    xs = torch.tensor((x_test - mean) / std, dtype=torch.float32)
    if kind == "class":
        classes = numpy.unique(y_train)
        index = numpy.searchsorted(classes, y_train)
        yt = torch.nn.functional.one_hot(torch.tensor(index), len(classes)).float()
    else:
        y_mean, y_std = y_train.mean(), y_train.std()
        yt = torch.tensor(((y_train - y_mean) / y_std)[:, None], dtype=torch.float32)
    widths = [xt.shape[1], *HIDDEN, yt.shape[1]]
    layers = []
    for k in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[k], widths[k + 1], bias=False))
        if k < len(widths) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(xt), generator=generator)
        for start in range(0, len(xt), batch):
            rows = order[start:start + batch]
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(net(xt[rows]), yt[rows])
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        out = net(xs).numpy()
    return classes[out.argmax(1)] if kind == "class" else out[:, 0] * y_std + y_mean


# ----------------------------------------------------------------------------- the study

def table_lines(study):
    """The markdown table of a study's results: medians over the seeds (min–max)."""
    names = study["runners"]
    lines = ["| data set (metric) | " + " | ".join(names) + " |",
             "|---|" + "---|" * len(names)]
    for dataset, kind in study["datasets"].items():
        metric = "accuracy" if kind == "class" else "R²"
        cells = []
        for name in names:
            values = study["scores"][dataset][name]
            cells.append(f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})")
        lines.append(f"| {dataset} ({metric}) | " + " | ".join(cells) + " |")
    meta = study["meta"]
    lines += ["", f"Median over seeds 0..{meta['seeds'] - 1} (min–max in brackets), 75/25 splits; "
              f"{measured_on(meta)}, float32, one thread each."]
    return lines


def measured_on(meta):
    return (f"measured on {meta['date']}, {meta['cpu']}, nobias {meta['nobias']}"
            + (f" at commit {meta['commit']}" if "commit" in meta else ""))


def medians_lines(study, source):
    """One sentence per data set: each runner's median (mean) over the seeds."""
    lines = []
    for dataset, kind in study["datasets"].items():
        def cell(name):
            values = study["scores"][dataset][name]
            if kind == "class":
                return (f"{name} {100 * statistics.median(values):.1f}% "
                        f"({100 * statistics.mean(values):.1f}%)")
            return f"{name} {statistics.median(values):.3f} ({statistics.mean(values):.3f})"
        meta = study["meta"]
        what = "accuracy" if kind == "class" else "R²"
        command = f", `{meta['command']}`" if "command" in meta else ""
        lines.append(f"Over {meta['seeds']} seeds on {dataset}, held-out {what}, median (mean): "
                     + "; ".join(cell(name) for name in study["runners"])
                     + f" (`{source}`{command}; {measured_on(meta)}).")
    return lines


REGIONS = {"table": lambda study, source: table_lines(study), "medians": medians_lines}
BEGIN = re.compile(r"<!-- bench/defaults_study\.py (\S+): begin ([a-z]+) -->")
END = "<!-- bench/defaults_study.py: end {} -->"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def with_regions(text, source):
    """text with every marked region rewritten from the scores its begin marker names."""
    def render(m):
        scores, kind = m.groups()
        if kind not in REGIONS:
            raise ValueError(f"{source}: '{m.group(0)}' names no known region "
                             f"({', '.join(REGIONS)})")
        with open(os.path.join(ROOT, scores)) as f:
            return REGIONS[kind](json.load(f), scores)
    return doc_regions.rewrite(text, BEGIN, END, render, source)


def run_study(args):
    import numpy
    import nobias
    from sklearn.model_selection import train_test_split

    nobias.set_threads(1)
    measured_at = run_facts.commit()  # before the runs: the tree they measured
    chosen = datasets()
    if args.datasets:
        chosen = {name: chosen[name] for name in args.datasets.split(",")}
    candidates = CANDIDATES
    if args.candidates:
        candidates = {name: CANDIDATES[name] for name in args.candidates.split(";")}
    runners = [(name, lambda kind, *a, s=s: run_nobias(kind, s, *a)) for name, s in candidates.items()]
    if not args.no_sklearn:
        runners += [("sklearn MLP, raw", lambda kind, *a: run_sklearn(kind, False, *a)),
                    ("sklearn MLP, standardized", lambda kind, *a: run_sklearn(kind, True, *a))]
    if not args.no_torch:
        runners.append(("bias-free reference (PyTorch)", run_reference))

    scores = {dataset: {name: [] for name, _ in runners} for dataset in chosen}
    for dataset, (kind, load) in chosen.items():
        for seed in range(args.seeds):
            x, y = load(seed)
            x = numpy.asarray(x, dtype=numpy.float64)
            split = train_test_split(x, y, test_size=0.25, random_state=seed,
                                     stratify=y if kind == "class" else None)
            x_train, x_test, y_train, y_test = split
            for name, runner in runners:
                start = time.perf_counter()
                value = score(kind, y_test, runner(kind, x_train, y_train, x_test, seed))
                scores[dataset][name].append(float(value))
                print(f"{dataset:15s} seed {seed}  {name:42s} {value:.4f}  "
                      f"{time.perf_counter() - start:6.1f} s", file=sys.stderr, flush=True)
    return {"meta": {"seeds": args.seeds, "date": time.strftime("%Y-%m-%d"),
                     "cpu": doc_regions.cpu_name(count=True),
                     "nobias": nobias.__version__, "commit": measured_at,
                     "command": "bench/defaults_study.py " + shlex.join(sys.argv[1:])},
            "datasets": {dataset: kind for dataset, (kind, _) in chosen.items()},
            "runners": [name for name, _ in runners], "scores": scores}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--datasets", default="", help="comma-separated data set names")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch reference")
    parser.add_argument("--no-sklearn", action="store_true", help="skip scikit-learn's MLPs")
    parser.add_argument("--candidates", default="", help="candidate names separated by semicolons")
    parser.add_argument("--json", help="write every score here (the docs' table is made from it)")
    parser.add_argument("--from-json", help="run nothing: take the scores from this file")
    parser.add_argument("--doc", help="rewrite every region between marker lines of this file, "
                        "each from the scores its marker names (after --json is written)")
    parser.add_argument("--check", action="store_true",
                        help="with --from-json and --doc: exit 1 when a region of the doc differs")
    args = parser.parse_args()

    if args.from_json:
        with open(args.from_json) as f:
            study = json.load(f)
    else:
        study = run_study(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(study, f, indent=1)
            f.write("\n")
    print("\n".join(table_lines(study)))
    if args.doc:
        with open(args.doc) as f:
            text = f.read()
        wanted = with_regions(text, args.doc)
        if args.check:
            if wanted != text:
                print(f"{args.doc}: a region is not what the scores its marker names give; run "
                      f"bench/defaults_study.py --from-json {args.from_json} --doc {args.doc}",
                      file=sys.stderr)
                return 1
            return 0
        with open(args.doc, "w") as f:
            f.write(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
