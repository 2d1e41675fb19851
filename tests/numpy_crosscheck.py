#!/usr/bin/env python3
"""Cross-check the nobias-train program against the derivation written in numpy.

For a few network shapes this script writes float64 x, y and starting weights as
.npy files, runs

    nobias-train --dtype f64 --x x.npy --y y.npy --layers <widths>
                 --weights-in win --weights-out wout --steps K --lr LR
                 --loss-csv loss.csv --quiet

in a per-configuration directory, runs K steps of tests/reference/seed_numpy.py's
train() from the same arrays, and compares every final weight matrix and every
per-step loss by max relative error max|a-b| / max(max|a|, max|b|, tiny) <= 1e-9.

Exit 0 only if every configuration passes, 1 otherwise (with the reason).

--self-test additionally perturbs numpy's results by 1e-6 (relative) and checks
that the comparison catches every perturbation: it exits 0 only if the honest
comparison passes AND every perturbation is caught.

Standard library + numpy only.
"""

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference"))
import seed_numpy  # noqa: E402  (tests/reference/seed_numpy.py)

TOL = 1e-9
TINY = np.finfo(np.float64).tiny
PERTURB = 1e-6
TIMEOUT_S = 600

# name, widths d_in,...,d_out, rows, rng seed, lr, columns to zero: {layer index k (w_{k+1}): [cols]}
CONFIGS = [
    # the 3-layer network of the seed's experiment (1000,100,100,10), at odd sizes
    dict(name="seed-3layer", layers=[37, 23, 19, 5], rows=29, seed=101, lr=1e-3, zero_cols={}),
    # a single weight matrix: no hidden layer, no ReLU
    dict(name="depth-2", layers=[13, 3], rows=17, seed=202, lr=1e-3, zero_cols={}),
    dict(name="depth-5", layers=[11, 17, 7, 9, 13, 3], rows=23, seed=303, lr=1e-3, zero_cols={}),
    # exact zeros in hidden pre-activations: a zero column in w1 / w2 makes h1[:, 0]
    # and h2[:, 2] exactly 0 for every row. The derivation's relu'(0) = 1 (eqs 25, 43) lets
    # gradient through these units, so they move off zero; relu'(0) = 0 would freeze them.
    dict(name="relu-at-zero", layers=[37, 23, 19, 5], rows=29, seed=404, lr=1e-3,
         zero_cols={0: [0], 1: [2]}),
]


def comparable(a, b):
    """a and b as float64 arrays, or None when they cannot agree (shape, non-finite)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return None
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return None
    return a, b


def rel_err(a, b, per_element):
    """max|a-b| over a scale: max(max|a|, max|b|, tiny) for the whole array, or, per element,
    max(|a_i|, |b_i|, tiny). inf if the shapes differ or anything is non-finite."""
    pair = comparable(a, b)
    if pair is None:
        return float("inf")
    a, b = pair
    if a.size == 0:
        return 0.0
    if per_element:
        return float(np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), TINY)))
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), TINY)
    return float(np.max(np.abs(a - b))) / scale


def max_rel_err(a, b):
    return rel_err(a, b, per_element=False)


def per_step_rel_err(a, b):
    """Each step's loss judged against its own size."""
    return rel_err(a, b, per_element=True)


def make_arrays(cfg):
    """float64 x, y standard normal; w_k standard normal / sqrt(fan_in)."""
    rng = np.random.default_rng(cfg["seed"])
    layers = cfg["layers"]
    x = rng.standard_normal((cfg["rows"], layers[0]))
    y = rng.standard_normal((cfg["rows"], layers[-1]))
    ws = []
    for k in range(len(layers) - 1):
        w = rng.standard_normal((layers[k], layers[k + 1])) / np.sqrt(layers[k])
        for c in cfg["zero_cols"].get(k, []):
            w[:, c] = 0.0
        ws.append(w)
    return x, y, ws


def read_loss_csv(path, steps):
    """Parse `step,loss`, one row per step. Returns (losses array, error message or None)."""
    if not os.path.isfile(path):
        return None, "loss csv %s was not written" % path
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    if not rows:
        return None, "loss csv %s is empty" % path
    header = [c.strip() for c in rows[0]]
    if header != ["step", "loss"]:
        return None, "loss csv header is %r, expected 'step,loss'" % ",".join(rows[0])
    body = rows[1:]
    if len(body) != steps:
        return None, "loss csv has %d data rows, expected %d (one per step)" % (len(body), steps)
    step_ids, losses = [], []
    for i, r in enumerate(body):
        if len(r) != 2:
            return None, "loss csv row %d has %d fields, expected 2: %r" % (i + 2, len(r), r)
        try:
            step_ids.append(int(r[0]))
            losses.append(float(r[1]))
        except ValueError:
            return None, "loss csv row %d is not 'int,float': %r" % (i + 2, r)
    # The spec does not fix whether steps count from 0 or 1; they must be consecutive.
    if steps and step_ids not in (list(range(steps)), list(range(1, steps + 1))):
        return None, ("loss csv step column is %s..., expected 0..%d or 1..%d in order"
                      % (step_ids[:5], steps - 1, steps))
    return np.array(losses, dtype=np.float64), None


def run_config(cfg, prog, workdir, steps):
    """Run one configuration. Returns a result dict (ok, reason, numpy and program outputs)."""
    name = cfg["name"]
    d = os.path.join(workdir, name)
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(os.path.join(d, "win"))
    x, y, ws = make_arrays(cfg)
    np.save(os.path.join(d, "x.npy"), x)
    np.save(os.path.join(d, "y.npy"), y)
    for k, w in enumerate(ws, start=1):
        np.save(os.path.join(d, "win", "w%d.npy" % k), w)

    lr = cfg["lr"]
    cmd = [prog, "--dtype", "f64", "--x", "x.npy", "--y", "y.npy",
           "--layers", ",".join(str(v) for v in cfg["layers"]),
           "--weights-in", "win", "--weights-out", "wout",
           "--steps", str(steps), "--lr", repr(lr),
           "--loss-csv", "loss.csv", "--quiet"]
    res = dict(name=name, ok=False, reason=None, cmd=cmd, dir=d, lr=lr)

    # numpy reference first: its own sanity (loss falls, stays finite) validates the config.
    np_losses, np_ws = seed_numpy.train(x, y, ws, lr, steps)
    res["np_losses"], res["np_ws"] = np_losses, np_ws
    if not all(np.isfinite(np_losses)) or not all(np.all(np.isfinite(w)) for w in np_ws):
        res["reason"] = "test setup: numpy training diverged at lr %g" % lr
        return res
    if steps >= 2 and not np_losses[-1] < np_losses[0]:
        res["reason"] = ("test setup: numpy loss did not fall (%g -> %g) at lr %g"
                         % (np_losses[0], np_losses[-1], lr))
        return res

    os.makedirs(os.path.join(d, "wout"), exist_ok=True)  # --weights-out wants an existing dir
    try:
        proc = subprocess.run(cmd, cwd=d, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        res["reason"] = "program timed out after %d s" % TIMEOUT_S
        return res
    except OSError as e:
        res["reason"] = "could not run %s: %s" % (prog, e)
        return res
    res["stdout"] = proc.stdout.decode(errors="replace")
    res["stderr"] = proc.stderr.decode(errors="replace")
    if proc.returncode != 0:
        res["reason"] = "program exited with code %d" % proc.returncode
        return res

    prog_ws = []
    for k, w in enumerate(np_ws, start=1):
        p = os.path.join(d, "wout", "w%d.npy" % k)
        if not os.path.isfile(p):
            res["reason"] = "program did not write %s" % os.path.relpath(p, d)
            return res
        try:
            a = np.load(p, allow_pickle=False)
        except Exception as e:  # noqa: BLE001 - any unreadable file is a failure
            res["reason"] = "cannot load %s: %s" % (os.path.relpath(p, d), e)
            return res
        if a.dtype != np.float64:
            res["reason"] = "wout/w%d.npy has dtype %s, expected float64 (--dtype f64)" % (k, a.dtype)
            return res
        if a.shape != w.shape:
            res["reason"] = "wout/w%d.npy has shape %s, expected %s" % (k, a.shape, w.shape)
            return res
        prog_ws.append(a)
    extra = os.path.join(d, "wout", "w%d.npy" % (len(np_ws) + 1))
    if os.path.exists(extra):
        res["reason"] = "program wrote an extra weight file %s" % os.path.relpath(extra, d)
        return res
    prog_losses, err = read_loss_csv(os.path.join(d, "loss.csv"), steps)
    if err:
        res["reason"] = err
        return res
    res["prog_ws"], res["prog_losses"] = prog_ws, prog_losses
    compare(res, np_ws, np_losses)
    return res


def compare(res, np_ws, np_losses):
    """Fill res with per-matrix / loss errors and ok/reason for numpy results vs the program's."""
    res["w_errs"] = [max_rel_err(a, b) for a, b in zip(res["prog_ws"], np_ws)]
    res["loss_err"] = per_step_rel_err(res["prog_losses"], np_losses)
    bad = ["w%d rel err %.3g" % (k, e) for k, e in enumerate(res["w_errs"], start=1) if not e <= TOL]
    if not res["loss_err"] <= TOL:
        bad.append("per-step loss rel err %.3g" % res["loss_err"])
    res["ok"] = not bad
    res["reason"] = None if not bad else "exceeds %g: %s" % (TOL, "; ".join(bad))
    return res["ok"]


def self_test(res):
    """Perturb numpy's results by PERTURB and check each perturbation is caught. Returns failures."""
    failures = []
    np_ws, np_losses = res["np_ws"], list(res["np_losses"])
    for k in range(len(np_ws)):
        pert = [w.copy() for w in np_ws]
        i = np.unravel_index(np.argmax(np.abs(pert[k])), pert[k].shape)
        pert[k][i] *= 1 + PERTURB
        trial = dict(res)
        if compare(trial, pert, np_losses) or trial["w_errs"][k] <= TOL:
            failures.append("perturbing w%d by %g was not caught" % (k + 1, PERTURB))
    if np_losses:
        for j in (0, len(np_losses) - 1):
            pl = list(np_losses)
            pl[j] *= 1 + PERTURB
            trial = dict(res)
            if compare(trial, np_ws, pl):
                failures.append("perturbing the loss of step %d by %g was not caught" % (j, PERTURB))
    return failures


def main(argv=None):
    p = argparse.ArgumentParser(description="Cross-check nobias-train against numpy (seed_numpy).")
    p.add_argument("--nobias-train", required=True, metavar="PATH", help="the nobias-train program")
    p.add_argument("--workdir", metavar="DIR", help="work directory (default: a temporary one)")
    p.add_argument("--steps", type=int, default=20, help="gradient-descent steps (default 20)")
    p.add_argument("--self-test", action="store_true",
                   help="also check that a %g perturbation of numpy's results is caught" % PERTURB)
    args = p.parse_args(argv)

    prog = os.path.abspath(args.nobias_train)
    if not os.path.isfile(prog):
        print("FAIL: nobias-train program not found at %s (build it first, or pass the right --nobias-train)"
              % prog)
        return 1
    if not os.access(prog, os.X_OK):
        print("FAIL: %s is not executable" % prog)
        return 1
    if args.steps < 1:
        print("FAIL: --steps must be at least 1, got %d" % args.steps)
        return 1

    own_tmp = args.workdir is None
    workdir = tempfile.mkdtemp(prefix="nobias-crosscheck-") if own_tmp else os.path.abspath(args.workdir)
    os.makedirs(workdir, exist_ok=True)
    print("numpy %s, program %s, workdir %s, steps %d, tolerance %g"
          % (np.__version__, prog, workdir, args.steps, TOL))

    failed = []
    for cfg in CONFIGS:
        res = run_config(cfg, prog, workdir, args.steps)
        print("  command (in %s): %s" % (res["dir"], " ".join(res["cmd"])))
        if "w_errs" in res:
            werrs = " ".join("w%d %.2e" % (k, e) for k, e in enumerate(res["w_errs"], start=1))
            print("%-4s %-13s layers %-20s rows %3d lr %g loss %.6g -> %.6g | weight rel err %s | loss rel err %.2e"
                  % ("ok" if res["ok"] else "FAIL", res["name"], ",".join(map(str, cfg["layers"])),
                     cfg["rows"], res["lr"], res["np_losses"][0], res["np_losses"][-1], werrs,
                     res["loss_err"]))
        else:
            print("FAIL %-13s layers %s" % (res["name"], ",".join(map(str, cfg["layers"]))))
        if not res["ok"]:
            print("     why: %s" % res["reason"])
            for stream in ("stdout", "stderr"):
                text = res.get(stream, "").strip()
                if text:
                    print("     program %s:\n       %s" % (stream, "\n       ".join(text.splitlines()[-20:])))
            failed.append(res["name"])
            continue
        if args.self_test:
            misses = self_test(res)
            if misses:
                for m in misses:
                    print("     self-test FAIL: %s" % m)
                failed.append(res["name"] + " (self-test)")
            else:
                print("     self-test ok: every %g perturbation of numpy's weights and losses was caught"
                      % PERTURB)

    if failed:
        print("FAIL: %d of %d configurations failed: %s (files kept in %s)"
              % (len(failed), len(CONFIGS), ", ".join(failed), workdir))
        return 1
    if own_tmp:
        shutil.rmtree(workdir, ignore_errors=True)
    print("PASS: %d configurations agree with numpy to %g%s"
          % (len(CONFIGS), TOL, " (self-test: perturbations caught)" if args.self_test else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
