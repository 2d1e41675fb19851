#!/usr/bin/python3
"""Bias-free denoising with MLPs (Mohan, Kadkhodaie, Simoncelli, Fernandez-Granda, ICLR 2020):
does a bias-free MLP trained on low noise keep denoising far outside its training range, where
the same MLP with biases fails?

    experiment.py --json examples/denoising/results.json --figures docs/images \\
                  --doc docs/denoising.md                      # the full run (minutes)
    experiment.py --quick --json DIR/quick.json --figures DIR  # the same code, small (< 60 s)
    experiment.py --from-json examples/denoising/results.json --doc docs/denoising.md --check

For every setup and seed: the bias-free MLP trained by nobias and the same MLP with biases
trained by PyTorch (same initial weights, rows, order, Adam), then the PSNR of both on held-out
test patches at every noise level. Checks that the bias-free denoiser is homogeneous,
D(a x) = a D(x), and exactly linear around each input, x A(x) = D(x): exits 1 when it is not,
77 (ctest's "skipped") without PyTorch, scikit-image or matplotlib. The results, tables and
figures are written by this program, never typed (docs/denoising.md between its markers;
--check compares them with the JSON).
"""
import argparse
import importlib.util
import json
import os
import sys
import time

SKIPPED = 77  # ctest's SKIP_RETURN_CODE: without what a run needs, the test is skipped, saying why
if importlib.util.find_spec("numpy") is None:  # everything below needs it, --from-json too
    print(f"skipped: {sys.executable} has no numpy (Debian: `sudo apt-get install "
          "python3-numpy`, then run this with /usr/bin/python3)", file=sys.stderr)
    sys.exit(SKIPPED)

import numpy  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import models  # noqa: E402
import report  # noqa: E402

RECIPE = {"learning_rate": 1e-3, "batch_size": 32, "epochs": 15}
TEST_SEED = 12345  # test patches and their noise: the same for every setup and seed

# What each setup changes; hidden widths and patch side as in the first probe.
SETUPS = [
    {"name": "direct", "dc": False, "residual": False, "sigma_range": [0, 10]},
    {"name": "residual", "dc": False, "residual": True, "sigma_range": [0, 10]},
    {"name": "direct, DC removed", "dc": True, "residual": False, "sigma_range": [0, 10]},
    {"name": "residual, DC removed", "dc": True, "residual": True, "sigma_range": [0, 10]},
    {"name": "direct, DC removed, trained to 55", "dc": True, "residual": False,
     "sigma_range": [0, 55]},
    {"name": "residual, DC removed, trained to 55", "dc": True, "residual": True,
     "sigma_range": [0, 55]},
    {"name": "direct, DC removed, 4 hidden layers", "dc": True, "residual": False,
     "sigma_range": [0, 10], "hidden": [256, 256, 256, 256]},
]
FULL = {"side": 8, "hidden": [256, 256], "train_patches": 30000, "test_patches": 4000,
        "seeds": 3, "sigmas": list(range(5, 105, 5)), "setups": [s["name"] for s in SETUPS],
        "figure_setup": "direct, DC removed", "recipe": RECIPE,
        "check_sigma": 90}  # the paper's far-out-of-range level, for the checks and the figure
# What a run needs beyond numpy and nobias, and the Debian package that has it.
NEEDS = {"torch": "python3-torch", "skimage": "python3-skimage", "sklearn": "python3-sklearn",
         "PIL": "python3-pil", "matplotlib": "python3-matplotlib"}
QUICK = dict(FULL, train_patches=2000, test_patches=500, seeds=1, sigmas=[10, 50, 90],
             setups=["direct", "direct, DC removed"], recipe=dict(RECIPE, epochs=2))


def relative(a, b):
    return float(numpy.linalg.norm(a - b) / numpy.linalg.norm(b))


def checks(net, biased, noisy, setup):
    """Homogeneity of both denoisers (the biased one is expected to fail it) for a in {0.3, 3.7},
    and Euler's identity x A(x) = D(x) of the bias-free one, as relative errors."""
    bias_free = lambda x: models.estimate(net.predict, x, setup)  # noqa: E731
    with_biases = lambda x: models.estimate(biased.predict, x, setup)  # noqa: E731
    homogeneity = {"bias_free": 0.0, "biased": 0.0}
    for a in (0.3, 3.7):
        homogeneity["bias_free"] = max(homogeneity["bias_free"],
                                       relative(bias_free(a * noisy), a * bias_free(noisy)))
        homogeneity["biased"] = max(homogeneity["biased"],
                                    relative(with_biases(a * noisy), a * with_biases(noisy)))
    rows = noisy[:200]
    a_of_x = models.denoiser_jacobians(net, rows, setup)
    euler = relative(numpy.einsum("ni,nik->nk", rows, a_of_x), bias_free(rows))
    return {"homogeneity_bias_free": homogeneity["bias_free"],
            "homogeneity_biased": homogeneity["biased"], "euler_bias_free": euler}


def run_one(setup, seed, config, train_images, test_clean):
    """Both models of one setup and seed: their PSNR at every sigma, losses, times, checks."""
    setup = dict({"hidden": config["hidden"]}, **setup)
    recipe, side = config["recipe"], config["side"]
    clean = data.patches(train_images, config["train_patches"], side, seed)
    noisy, clean = data.noisy_training_set(clean, setup["sigma_range"], 1, seed)
    z, target = models.training_pairs(noisy, clean, setup)

    net = models.initial_network(setup, side, seed)
    biased = models.TorchMLP([w.copy() for w in net.weights], biases=True)
    start = time.perf_counter()
    loss_bias_free = models.train_nobias(net, z, target, recipe, seed)
    seconds_bias_free = time.perf_counter() - start
    start = time.perf_counter()
    loss_biased = biased.train(z, target, recipe, seed)
    seconds_biased = time.perf_counter() - start

    psnr = {"bias_free": [], "biased": []}
    for sigma in config["sigmas"]:
        noisy_test = data.noisy_test_set(test_clean, sigma, TEST_SEED)
        psnr["bias_free"].append(data.psnr(models.estimate(net.predict, noisy_test, setup),
                                           test_clean))
        psnr["biased"].append(data.psnr(models.estimate(biased.predict, noisy_test, setup),
                                        test_clean))
    result = {"setup": setup["name"], "seed": seed, "psnr": psnr,
              "train_loss": {"bias_free": loss_bias_free, "biased": loss_biased},
              "seconds": {"bias_free": seconds_bias_free, "biased": seconds_biased},
              "checks": checks(net, biased, data.noisy_test_set(
                  test_clean, config["check_sigma"], TEST_SEED), setup)}
    return result, net


def recipe_check(config, train_images, test_clean, seed=0):
    """The first setup once more, in PyTorch *without* biases, from the same initial weights:
    how far PyTorch's training lands from nobias's when the architectures are equal, i.e. what
    part of a difference between the two models is not the biases."""
    setup = dict({"hidden": config["hidden"]}, **SETUPS[0])
    clean = data.patches(train_images, config["train_patches"], config["side"], seed)
    noisy, clean = data.noisy_training_set(clean, setup["sigma_range"], 1, seed)
    z, target = models.training_pairs(noisy, clean, setup)
    net = models.initial_network(setup, config["side"], seed)
    torch_free = models.TorchMLP([w.copy() for w in net.weights], biases=False)
    torch_free.train(z, target, config["recipe"], seed)
    return [data.psnr(models.estimate(torch_free.predict,
                                      data.noisy_test_set(test_clean, sigma, TEST_SEED), setup),
                      test_clean) for sigma in config["sigmas"]]


def run(config):
    import nobias
    import torch
    # One thread each: the machine is shared, batches of 32 gain little from more, and
    # PyTorch's sums then do not depend on the thread count.
    nobias.set_threads(1)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    train_images = data.train_images()
    test_clean = data.patches(data.test_images(), config["test_patches"], config["side"],
                              TEST_SEED)
    noisy_input = [data.psnr(data.noisy_test_set(test_clean, sigma, TEST_SEED), test_clean)
                   for sigma in config["sigmas"]]
    runs, figure = [], None
    for setup in (s for s in SETUPS if s["name"] in config["setups"]):
        for seed in range(config["seeds"]):
            result, net = run_one(setup, seed, config, train_images, test_clean)
            runs.append(result)
            print(report.run_line(result, config["sigmas"]), file=sys.stderr, flush=True)
            if setup["name"] == config["figure_setup"] and seed == 0:
                figure = report.filter_figure_data(net, dict({"hidden": config["hidden"]},
                                                             **setup), test_clean,
                                                      config["check_sigma"])
    torch_free = recipe_check(config, train_images, test_clean)
    meta = {"seconds": time.perf_counter() - started, "load_before": load_before,
            "load_after": os.getloadavg()[0], "cpu": report.doc_regions.cpu_name(), "threads": 1,
            "nobias": nobias.__version__, "torch": torch.__version__,
            "date": time.strftime("%Y-%m-%d"), "train_images": list(data.TRAIN_IMAGES),
            "test_images": ["china.jpg", "flower.jpg"]}
    return {"config": config, "setups": [s for s in SETUPS if s["name"] in config["setups"]],
            "noisy_input": noisy_input, "runs": runs, "figure": figure,
            "recipe_check": {"setup": SETUPS[0]["name"], "seed": 0, "torch_bias_free": torch_free},
            "meta": meta}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one seed (< 60 s)")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--from-json", help="run nothing: take the results from this file")
    parser.add_argument("--figures", help="write the PSNR plot and the filters' figure here")
    parser.add_argument("--doc", help="rewrite the results between the marker lines of this file")
    parser.add_argument("--check", action="store_true",
                        help="with --from-json and --doc: exit 1 when the doc differs")
    args = parser.parse_args()
    if args.check and not (args.from_json and args.doc):
        parser.error("--check compares --doc with --from-json's results: give both "
                     "(without --from-json it would run the whole experiment)")

    needed = {"matplotlib"} if args.figures else set()
    if not args.from_json:
        needed |= set(NEEDS)
    missing = sorted(NEEDS[m] for m in needed if importlib.util.find_spec(m) is None)
    if missing:
        # ./dev has no command that only installs them (compare installs PEER_PACKAGES, then
        # runs its benchmark for minutes): apt-get it is.
        print(f"skipped: the experiment needs {', '.join(missing)}, not installed; to install: "
              f"sudo apt-get install {' '.join(missing)}", file=sys.stderr)
        return SKIPPED
    if args.from_json:
        with open(args.from_json) as f:
            results = json.load(f)
    else:
        results = run(QUICK if args.quick else FULL)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")
    print(report.markdown(results))
    failed = report.failed_checks(results)
    for line in failed:
        print("check failed:", line, file=sys.stderr)
    if args.figures:
        report.figures(results, args.figures)
    if args.doc:
        with open(args.doc) as f:
            text = f.read()
        wanted = report.with_region(text, results, args.doc)
        if args.check:
            if wanted != text:
                print(f"{args.doc}: its results are not what {args.from_json} gives; run "
                      f"examples/denoising/experiment.py --from-json {args.from_json} "
                      f"--doc {args.doc}", file=sys.stderr)
                return 1
        else:
            with open(args.doc, "w") as f:
                f.write(wanted)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
