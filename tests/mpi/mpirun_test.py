#!/usr/bin/env python3
"""mpirun tests of nobias::mpi: the scenario program (mpi_scenarios.cpp) on 1-4 ranks.

  deterministic  N = 1..4 ranks give bit-identical weights, equal to one process in the same
                 mode (no MPI), for float and double, Sum and Mean, SGD and Adam
  fast           N = 1..4 ranks within 1e-5 (f32) / 1e-12 (f64) of nobias::fit
  resume         a checkpoint taken with 2 ranks, resumed with 3, equals an uninterrupted run;
                 a rank started with other weights is overwritten by the broadcast
  cli            nobias-train-mpi: the same weights on 1-3 ranks, one message per error
  failures       divergence on one rank stops all with the same error (exit 3); a killed rank
                 and a stalled rank make the job fail within a bounded time, with a clear error

Every program run also checks, after every epoch, that all ranks hold rank 0's weights.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

import numpy as np

FAILURES = []


def check(ok, what):
    print(("ok      " if ok else "FAILED  ") + what, flush=True)
    if not ok:
        FAILURES.append(what)


class Runner:
    def __init__(self, args):
        self.args = args
        shutil.rmtree(args.work, ignore_errors=True)
        os.makedirs(args.work)

    def command(self, ranks, options):
        if ranks is None:  # one process, no launcher
            return [self.args.program] + options
        pre = self.args.preflags.split() if self.args.preflags else []
        return ([self.args.mpiexec, self.args.numproc_flag, str(ranks)] + pre +
                [self.args.program] + options)

    def run(self, ranks, name, options, timeout=60, env=None, out_flag="--out"):
        out = os.path.join(self.args.work, name)
        os.makedirs(out)
        full_env = dict(os.environ, **(env or {}))
        start = time.monotonic()
        p = subprocess.run(self.command(ranks, [out_flag, out] + options), capture_output=True,
                           text=True, timeout=timeout, env=full_env)
        p.seconds = time.monotonic() - start
        p.out = out
        if p.returncode != 0 and not name.startswith("expect-fail"):
            print(p.stdout, p.stderr, sep="\n")
        return p

    def weights(self, out):
        if not os.path.isdir(out):
            return []
        files = sorted(f for f in os.listdir(out) if f.startswith("w") and f.endswith(".npy"))
        return [np.load(os.path.join(out, f)) for f in files]


def same_bits(a, b):
    return len(a) == len(b) and all(x.dtype == y.dtype and x.tobytes() == y.tobytes()
                                    for x, y in zip(a, b))


def max_rel(a, b):
    return max(float(np.max(np.abs(x.astype(np.float64) - y)) /
                     max(np.max(np.abs(x)), np.max(np.abs(y)), 1e-300)) for x, y in zip(a, b))


CONFIGS = ["f32-sum-sgd", "f32-mean-adam", "f64-sum-sgd", "f64-mean-adam"]


def deterministic(r):
    local = r.run(None, "local", ["--all-configs", "1", "--mode", "local"])
    check(local.returncode == 0, "det: one process, no MPI")
    runs = {n: r.run(n, f"det-np{n}", ["--all-configs", "1", "--mode", "det"]) for n in (1, 2, 3, 4)}
    for tag in CONFIGS:
        reference = r.weights(os.path.join(local.out, tag))
        check(len(reference) == 3, f"det {tag}: three weight matrices written")
        for n, p in runs.items():
            got = r.weights(os.path.join(p.out, tag))
            check(p.returncode == 0 and same_bits(got, reference),
                  f"det {tag}: mpirun -np {n} bit-identical to one process")


def fast(r):
    plain = r.run(None, "plain", ["--all-configs", "1", "--mode", "plain"])
    check(plain.returncode == 0, "fast: nobias::fit in one process")
    runs = {n: r.run(n, f"fast-np{n}", ["--all-configs", "1", "--mode", "fast"]) for n in (1, 2, 3, 4)}
    for tag in CONFIGS:
        tolerance = 1e-5 if tag.startswith("f32") else 1e-12
        expected = r.weights(os.path.join(plain.out, tag))
        for n, p in runs.items():
            got = r.weights(os.path.join(p.out, tag))
            error = max_rel(got, expected) if p.returncode == 0 and got else float("inf")
            check(error < tolerance,
                  f"fast {tag}: mpirun -np {n} within {tolerance:g} of fit ({error:.2g})")


def resume(r):
    common = ["--dtype", "f64", "--mode", "det"]
    whole = r.run(1, "whole", common + ["--epochs", "4"])
    check(whole.returncode == 0, "resume: an uninterrupted 4-epoch run")
    checkpoint = os.path.join(r.args.work, "checkpoint")
    first = r.run(2, "first-half", common + ["--epochs", "2", "--checkpoint", checkpoint])
    check(first.returncode == 0, "resume: epochs 1-2 on 2 ranks, checkpointed by rank 0")
    second = r.run(3, "second-half", common + ["--epochs", "4", "--resume", checkpoint])
    check(second.returncode == 0 and "epoch 3 " in second.stdout and "epoch 1 " not in second.stdout,
          "resume: epochs 3-4 on 3 ranks")
    check(same_bits(r.weights(second.out), r.weights(whole.out)),
          "resume: 2 ranks then 3 ranks bit-identical to the uninterrupted run")
    other = r.run(2, "other-weights", common + ["--epochs", "4", "--other-weights-on-rank", "1"])
    check(other.returncode == 0 and same_bits(r.weights(other.out), r.weights(whole.out)),
          "broadcast: rank 1 started with other weights, overwritten by rank 0's")


def failures(r):
    # Row 100 is in the last batch of epoch 1 (no shuffling with a poisoned row): one rank's
    # share; its loss overflows float.
    p = r.run(3, "expect-fail-divergence", ["--poison-row", "100", "--optimizer", "sgd",
                                            "--reduction", "sum", "--mode", "fast"])
    lines = [l for l in p.stderr.splitlines() if ": error: " in l]
    messages = {l.split(": error: ", 1)[1] for l in lines}
    check(p.returncode == 3 and len(lines) == 3 and len(messages) == 1 and
          all(m.startswith("fit: epoch 1, step 3: rank ") for m in messages),
          f"divergence on one rank: all 3 exit 3 with the same error {sorted(messages)}")

    p = r.run(2, "expect-fail-killed", ["--die-rank", "1", "--die-at-step", "2", "--epochs", "50"],
              timeout=60)
    check(p.returncode != 0 and p.seconds < 30 and "signal 9" in p.stdout + p.stderr,
          f"a killed rank: the job fails in {p.seconds:.1f} s, naming the signal")

    p = r.run(2, "expect-fail-stalled", ["--stall-rank", "1", "--stall-at-step", "2",
                                         "--epochs", "50"],
              timeout=60, env={"NOBIAS_MPI_TIMEOUT": "2"})
    check(p.returncode != 0 and p.seconds < 30 and
          "waited 2 s for the other ranks" in p.stderr and "died or stalled" in p.stderr,
          f"a stalled rank: the others give up after the timeout, in {p.seconds:.1f} s")


def cli(r):
    """nobias-train-mpi as the README runs it: the same weights on 1, 2 and 3 ranks."""
    x = np.random.default_rng(1).standard_normal((301, 20)).astype(np.float32)
    np.save(os.path.join(r.args.work, "x.npy"), x)
    np.save(os.path.join(r.args.work, "y.npy"), 2 * x[:, :3])
    flags = ["--x", os.path.join(r.args.work, "x.npy"), "--y", os.path.join(r.args.work, "y.npy"),
             "--layers", "20,16,3", "--epochs", "3", "--batch-size", "100", "--optimizer", "adam",
             "--loss", "mean", "--init", "he"]
    r.args.program = r.args.tool
    outs = {}
    for n in (1, 2, 3):
        p = r.run(n, f"cli-np{n}", flags, out_flag="--weights-out")
        check(p.returncode == 0 and p.stdout.count("final loss") == 1,
              f"cli: mpirun -np {n} nobias-train-mpi trains, rank 0 alone prints")
        outs[n] = r.weights(p.out)
    check(len(outs[1]) == 2 and same_bits(outs[2], outs[1]) and same_bits(outs[3], outs[1]),
          "cli: 2 and 3 ranks write the weights of 1 rank, bit for bit")
    p = r.run(2, "expect-fail-cli-usage", ["--lr", "-1"], out_flag="--weights-out")
    check(p.returncode != 0 and p.stderr.count("nobias-train-mpi: --lr") == 1,
          "cli: a bad flag is reported once, by rank 0")
    # Issue 19 item 6: a flag error on one rank only (MPMD: rank 1 gets another --lr) used to
    # hang the job until NOBIAS_MPI_TIMEOUT (300 s), the real reason lost.
    pre = r.args.preflags.split() if r.args.preflags else []
    out = os.path.join(r.args.work, "expect-fail-cli-one-rank")
    good = [r.args.tool, "--weights-out", out] + flags
    command = ([r.args.mpiexec, r.args.numproc_flag, "1"] + pre + good + [":", r.args.numproc_flag,
               "1"] + pre + good + ["--lr", "-1"])
    start = time.monotonic()
    p = subprocess.run(command, capture_output=True, text=True, timeout=100)
    seconds = time.monotonic() - start
    check(p.returncode != 0 and seconds < 30 and "rank 1: " in p.stderr and "--lr" in p.stderr,
          f"cli: a flag error on rank 1 alone ends the job in {seconds:.1f} s, naming rank 1 "
          "and the flag")
    check(not os.path.exists(out), "cli: ... and nothing is written")
    # Issue 19 item 5: ranks given other options or other data of the same shape trained a
    # silent mix; now every option and a fingerprint of the data are compared before a step.
    other_x = os.path.join(r.args.work, "other_x.npy")
    np.save(other_x, -x)
    # mpifix item 1: another dtype or --no-standardize on one rank was reported as "x's values
    # differ"; other validation targets (val_x below) trained a silent mix of verdicts.
    val_x, val_y, other_val = (os.path.join(r.args.work, f) for f in
                               ("val_x.npy", "val_y.npy", "other_val_x.npy"))
    vx = np.random.default_rng(2).standard_normal((50, 20)).astype(np.float32)
    np.save(val_x, vx)
    np.save(val_y, 2 * vx[:, :3])
    np.save(other_val, -vx)
    np.save(other_val[:-4] + "_y.npy", -2 * vx[:, :3])
    for name, extra, needle in (("lr", ["--lr", "0.002"], "learning_rate is 0.002 here but"),
                                ("data", ["--x", other_x], "x's values differ"),
                                ("standardize", ["--no-standardize"],
                                 "x is not standardized here but standardized on rank 0"),
                                ("dtype", ["--dtype", "f64"], "dtype is f64 here but f32 on rank 0"),
                                ("val-y", ["--val-x", val_x, "--val-y", other_val[:-4] + "_y.npy"],
                                 "val_y's values differ from rank 0's")):
        out = os.path.join(r.args.work, f"expect-fail-cli-other-{name}")
        good = [r.args.tool, "--weights-out", out] + flags
        if name.startswith("val-"):  # rank 0 validates on val_x, val_y
            good += ["--val-x", val_x, "--val-y", val_y]
        other = list(good)
        if len(extra) == 1:  # a switch
            other += extra
        for flag, value in zip(extra[::2], extra[1::2]) if len(extra) > 1 else ():
            if flag in other:  # another value of a flag already given
                other[other.index(flag) + 1] = value
            else:
                other += [flag, value]
        command = ([r.args.mpiexec, r.args.numproc_flag, "1"] + pre + good + [
            ":", r.args.numproc_flag, "1"] + pre + other)
        p = subprocess.run(command, capture_output=True, text=True, timeout=100)
        check(p.returncode == 2 and needle in p.stderr and "rank 0" in p.stderr and
              not os.path.exists(out),
              f"cli: another {name} on rank 1 is refused before training ({needle!r})")
    # Each rank checks a resume's validation rows by itself: ranks given other validation
    # values would reach other verdicts, so these are compared before a step, as x's are.
    val = {}
    for name, values in (("val_x", x[:40]), ("val_y", 2 * x[:40, :3]), ("other_val_x", -x[:40])):
        val[name] = os.path.join(r.args.work, name + ".npy")
        np.save(val[name], values)
    out = os.path.join(r.args.work, "expect-fail-cli-other-validation")
    good = [r.args.tool, "--weights-out", out] + flags + ["--val-x", val["val_x"]]
    other = [r.args.tool, "--weights-out", out] + flags + ["--val-x", val["other_val_x"]]
    command = ([r.args.mpiexec, r.args.numproc_flag, "1"] + pre + good + ["--val-y", val["val_y"],
               ":", r.args.numproc_flag, "1"] + pre + other + ["--val-y", val["val_y"]])
    p = subprocess.run(command, capture_output=True, text=True, timeout=100)
    check(p.returncode != 0 and "val_x's values differ" in p.stderr and "rank 0" in p.stderr and
          not os.path.exists(out),
          "cli: other validation values on rank 1 are refused before training")
    good = [r.args.tool, "--weights-out", os.path.join(r.args.work, "same-val")] + flags + [
        "--val-x", val_x, "--val-y", val_y]
    p = subprocess.run([r.args.mpiexec, r.args.numproc_flag, "2"] + pre + good,
                       capture_output=True, text=True, timeout=100)
    check(p.returncode == 0 and "val_loss" in p.stdout,
          "cli: the same validation files on every rank train")
    # Issue 19 item 12: a checkpoint of nobias-train resumed by nobias-train-mpi (or the reverse)
    # matched neither uninterrupted run; the checkpoint now says how its steps were taken.
    local = os.path.join(os.path.dirname(r.args.tool), "..", "..", "tools", "nobias-train")
    if os.path.exists(local):
        ck = os.path.join(r.args.work, "local-ck")
        subprocess.run([local] + flags[:flags.index("--epochs")] + ["--epochs", "1", "--checkpoint",
                       ck, "--quiet"] + flags[flags.index("--epochs") + 2:], check=True,
                       capture_output=True)
        p = r.run(2, "expect-fail-cli-cross-tool", flags + ["--resume", ck],
                  out_flag="--weights-out")
        check(p.returncode != 0 and "trained by nobias-train (local steps)" in p.stderr and
              "resume it with nobias-train" in p.stderr,
              "cli: a nobias-train checkpoint is not resumed by nobias-train-mpi")
    else:
        check(False, f"cli: nobias-train not found at {local}")
    p = r.run(2, "expect-fail-cli-divergence", ["--layers", "20,10,3", "--rows", "16", "--steps",
                                                "5", "--lr", "1e3"], out_flag="--weights-out")
    check("training diverged" in p.stderr and "[[" in p.stdout + p.stderr and
          "Exit code:    3" in p.stdout + p.stderr, "cli: divergence exits 3 on every rank")
    cli_environment(r, flags, pre)
    cli_fast_resume(r, flags)
    cli_names(r, flags)
    cli_edges(r, flags)


def timed(command, env=None, timeout=60):
    """Runs command; a hang is a failure (returncode None), never a blocked test."""
    start = time.monotonic()
    try:
        p = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                           env=dict(os.environ, **(env or {})))
    except subprocess.TimeoutExpired as e:
        p = subprocess.CompletedProcess(command, None, e.stdout or "", e.stderr or "")
        p.stdout = p.stdout.decode() if isinstance(p.stdout, bytes) else p.stdout
        p.stderr = p.stderr.decode() if isinstance(p.stderr, bytes) else p.stderr
    p.seconds = time.monotonic() - start
    return p


def cli_environment(r, flags, pre):
    """mpifix item 2: a bad NOBIAS_SGEMM or NOBIAS_MPI_TIMEOUT printed its error on the rank that
    read it, which left; the others waited for it until the timeout (300 s), then exited 4, and
    with the bad value on rank 1 alone the cause was never printed."""
    for variable, value, needle in (("NOBIAS_SGEMM", "mkl", 'NOBIAS_SGEMM: expected "blas"'),
                                    ("NOBIAS_MPI_TIMEOUT", "soon",
                                     "NOBIAS_MPI_TIMEOUT must be a number of seconds > 0")):
        out = os.path.join(r.args.work, f"expect-fail-env-{variable}")
        tool = [r.args.tool, "--weights-out", out] + flags
        # A bounded wait for the old behaviour: 20 s, not 300, for the ranks the value spares.
        p = timed([r.args.mpiexec, r.args.numproc_flag, "2"] + pre + tool,
                  env={variable: value, "NOBIAS_MPI_TIMEOUT": "20"}
                  if variable != "NOBIAS_MPI_TIMEOUT" else {variable: value})
        check(p.returncode == 2 and p.seconds < 15 and p.stderr.count(needle) == 1 and
              not os.path.exists(out),
              f"cli: {variable}={value} on every rank: exit 2 in {p.seconds:.1f} s "
              f"(exit {p.returncode}), said once")
        p = timed([r.args.mpiexec, r.args.numproc_flag, "1"] + pre + tool +
                  [":", r.args.numproc_flag, "1", "-x", f"{variable}={value}"] + pre + tool,
                  env={"NOBIAS_MPI_TIMEOUT": "20"})
        check(p.returncode == 2 and p.seconds < 15 and "rank 1: " + needle in p.stderr and
              not os.path.exists(out),
              f"cli: {variable}={value} on rank 1 alone: exit 2 in {p.seconds:.1f} s "
              f"(exit {p.returncode}), rank 0 names rank 1 and the variable")


def cli_fast_resume(r, flags):
    """mpifix item 3: fast mode's sums depend on the rank count, so its checkpoint continues bit
    for bit only on as many ranks; the refusal said "in the same mode" and "1 ranks"."""
    ck = os.path.join(r.args.work, "fast-ck")
    p = r.run(2, "fast-first", flags + ["--mpi-mode", "fast", "--checkpoint", ck],
              out_flag="--weights-out")
    check(p.returncode == 0, "cli: a fast-mode run on 2 ranks checkpoints")
    more = list(flags)
    more[more.index("--epochs") + 1] = "4"
    p = r.run(1, "expect-fail-fast-resume-1", more + ["--mpi-mode", "fast", "--resume", ck],
              out_flag="--weights-out")
    check(p.returncode == 2 and "fast on 1 rank," in p.stderr and
          "--mpi-mode fast on the same number of ranks (mpirun -np 2)" in p.stderr and
          "1 ranks" not in p.stderr,
          "cli: a fast-mode checkpoint of 2 ranks resumed on 1 is refused, naming 2 ranks")
    p = r.run(2, "expect-fail-fast-resume-det", more + ["--resume", ck], out_flag="--weights-out")
    check(p.returncode == 2 and "this run is nobias-train-mpi --mpi-mode deterministic" in p.stderr,
          "cli: a fast-mode checkpoint resumed in deterministic mode is refused, naming the mode")
    p = r.run(2, "fast-resume-2", more + ["--mpi-mode", "fast", "--resume", ck],
              out_flag="--weights-out")
    check(p.returncode == 0 and len(r.weights(p.out)) == 2,
          "cli: a fast-mode checkpoint of 2 ranks resumes on 2")


def cli_names(r, flags):
    """mpifix item 4: --version and the run's warnings said nobias-train."""
    p = timed([r.args.tool, "--version"])
    check(p.returncode == 0 and p.stdout.startswith("nobias-train-mpi "),
          f"cli: --version names nobias-train-mpi ({p.stdout.splitlines()[:1]})")
    slow = list(flags)
    slow[slow.index("--optimizer") + 1] = "sgd"
    slow[slow.index("--epochs") + 1] = "1"
    p = r.run(1, "warning-name", slow + ["--lr", "1e-12"], out_flag="--weights-out")
    check(p.returncode == 0 and "nobias-train-mpi: warning: the loss after the first epoch" in
          p.stderr and "nobias-train: " not in p.stderr,
          "cli: a run's warning begins with nobias-train-mpi")


def cli_edges(r, flags):
    """edges2: nobias-train-mpi refuses what nobias-train refuses, through the same code."""
    p = r.run(2, "expect-fail-loss-npy", flags + ["--loss-csv", os.path.join(r.args.work, "l.npy")],
              out_flag="--weights-out")
    check(p.returncode == 2 and ".npy is not a format --loss-csv writes; expected a name ending "
          "in .csv or .tsv" in p.stderr and "epoch 1/" not in p.stdout and
          not os.listdir(p.out) and not os.path.exists(os.path.join(r.args.work, "l.npy")),
          f"cli: --loss-csv l.npy is refused before training ({p.stderr.strip()[-200:]!r})")
    one = list(flags)
    for name, path in (("--x", "x1.npy"), ("--y", "y1.npy")):
        full = os.path.join(r.args.work, path)
        np.save(full, np.load(one[one.index(name) + 1])[:1])
        one[one.index(name) + 1] = full
    p = r.run(2, "expect-fail-one-row", one, out_flag="--weights-out")
    check(p.returncode == 2 and "every column of x is constant over the 1 training row" in
          p.stderr and "--lr" not in p.stderr and not os.listdir(p.out),
          f"cli: one standardized row is refused, naming why ({p.stderr.strip()[-300:]!r})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("group", choices=["deterministic", "fast", "resume", "failures", "cli"])
    parser.add_argument("--tool", help="nobias-train-mpi, for the cli group")
    parser.add_argument("--program", required=True)
    parser.add_argument("--mpiexec", required=True)
    parser.add_argument("--numproc-flag", default="-np")
    parser.add_argument("--preflags", default="")
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    globals()[args.group](Runner(args))
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
