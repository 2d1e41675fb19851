#!/usr/bin/env python3
"""Kill and full-disk tests (issue 10): nobias-train is killed (SIGKILL) at random moments
while it saves --weights-out and --checkpoint-every 1 states, many times, and after every kill
what is on disk must be one complete save:
  - the weight directory loads as the complete old set or the complete new one, or is refused
    as not one complete save; it never loads as a mix (tests/support/load_probe.cpp says which:
    a checksum of every weight it loaded, compared with the old and new sets' checksums);
  - the checkpoint loads (the previous state or a newer one) and a run resumes from it;
  - temporaries of killed runs are removed by the next save.
Then, where a small tmpfs can be mounted (root), a save that fills the disk exits 2 naming
"No space left on device", and leaves the old set loadable and no temporary behind; elsewhere
that part is skipped with a message. Bounded to about 30 seconds whatever the machine."""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_SECONDS = 9.0  # for each of the two kill loops; at least MIN_KILLS kills each
MIN_KILLS = 3
# Big enough that saving takes a while (w2 is 8 MB in float32).
LAYERS = "300,1400,1400,10"
CHECKPOINT_LAYERS = "50,400,400,5"


def run(cmd, **kwargs):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)


def probe(args, kind, directory):
    out = run([args.probe, kind, directory])
    line = out.stdout.strip()
    if out.returncode not in (0, 3) or not (line.startswith("ok ") or line.startswith("refused ")):
        sys.exit(f"kill_test: the probe failed on {directory}: {out.stdout}{out.stderr}")
    return line


def train(args, *flags, check=True):
    out = run([args.nobias_train, "--quiet", *flags])
    if check and out.returncode != 0:
        sys.exit(f"kill_test: nobias-train {' '.join(map(str, flags))} failed:\n{out.stderr}")
    return out


def temporaries(directory):
    return sorted(p.name for p in Path(directory).iterdir() if p.name.startswith(".nobias-tmp-"))


def saving(directory, committing):
    """True once a save has started writing into directory (a temporary, a state being built),
    or with committing, once it has written the manifest's temporary: its commit is next."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return False
    if committing:
        return any(n.startswith(".nobias-tmp-") and n.endswith("-nobias-manifest.") for n in names)
    return any(n.startswith(".nobias-tmp-") or n.endswith(".building") for n in names)


def run_until_saving(args, flags, directory, committing=False):
    """Starts nobias-train and returns (process, time the first save began) once a save has
    begun in directory, or (process, None) if it ended first."""
    process = subprocess.Popen([str(args.nobias_train), "--quiet", *map(str, flags)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while process.poll() is None:
        if saving(directory, committing):
            return process, time.monotonic()
        time.sleep(0.0002)
    return process, None


def save_duration(args, flags, directory, committing=False):
    """How long a run takes from its first save's start (or its commit's) to its end: the
    window kills aim at."""
    process, began = run_until_saving(args, flags, directory, committing)
    process.wait()
    if process.returncode != 0:
        sys.exit(f"kill_test: nobias-train {' '.join(map(str, flags))} failed")
    return time.monotonic() - began if began is not None else 0.05


def kill_while_saving(args, flags, directory, delay, committing=False):
    """Runs nobias-train and kills it (SIGKILL) delay seconds after its first save began (or
    with committing, after its manifest's temporary appeared). Returns whether it was killed
    (False if it ended first)."""
    process, began = run_until_saving(args, flags, directory, committing)
    if began is None:
        return False
    try:
        process.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return True


def weights_test(args, tmp, rng):
    base = ["--layers", LAYERS, "--rows", 32, "--steps", 1]
    old_dir, new_dir, work = tmp / "old", tmp / "new", tmp / "work"
    old_dir.mkdir()
    new_dir.mkdir()  # older nobias-train flags want an existing directory
    train(args, *base, "--seed", 1, "--weights-out", old_dir)
    window = save_duration(args, [*base, "--seed", 2, "--weights-out", new_dir], new_dir)
    shutil.rmtree(new_dir)
    new_dir.mkdir()
    commit_window = save_duration(args, [*base, "--seed", 2, "--weights-out", new_dir], new_dir,
                                  committing=True)
    old, new = probe(args, "weights", old_dir), probe(args, "weights", new_dir)
    assert old.startswith("ok ") and new.startswith("ok ") and old != new, (old, new)
    # The check can fail: a mixed set (old w1, w3; new w2) is refused, and without the
    # manifest it would load as neither set, which the loop below reports as a failure.
    mixed = tmp / "mixed"
    shutil.copytree(old_dir, mixed)
    shutil.copy(new_dir / "w2.npy", mixed / "w2.npy")
    seen = probe(args, "weights", mixed)
    assert seen.startswith("refused ") and "not one complete save" in seen, seen
    (mixed / "nobias-manifest.txt").unlink()
    seen = probe(args, "weights", mixed)
    assert seen.startswith("ok ") and seen not in (old, new), seen
    counts = {"old": 0, "new": 0, "refused": 0}
    deadline = time.monotonic() + args.budget
    kills = 0
    while time.monotonic() < deadline or kills < MIN_KILLS:
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(old_dir, work)
        # Every other kill aims at the commit itself: a few renames, microseconds apart.
        aim_at_commit = kills % 2 == 1
        killed = kill_while_saving(args, [*base, "--seed", 2, "--weights-out", work], work,
                                   rng.uniform(0.0, commit_window if aim_at_commit else window),
                                   committing=aim_at_commit)
        kills += killed
        seen = probe(args, "weights", work)
        if seen == old:
            counts["old"] += 1
        elif seen == new:
            counts["new"] += 1
        elif seen.startswith("refused ") and "not one complete save" in seen:
            counts["refused"] += 1
        else:
            sys.exit(f"kill_test: after a kill the weights load as neither set nor are refused "
                     f"as incomplete: {seen}")
        if kills >= 200:
            break
    # The next save repairs the directory and removes the killed runs' temporaries.
    train(args, *base, "--seed", 2, "--weights-out", work)
    assert probe(args, "weights", work) == new
    assert temporaries(work) == [], temporaries(work)
    print(f"kill_test: --weights-out killed {kills} times: loaded old {counts['old']}, "
          f"new {counts['new']}, refused as incomplete {counts['refused']}, mixed 0")


def checkpoint_test(args, tmp, rng):
    base = ["--layers", CHECKPOINT_LAYERS, "--rows", 64, "--batch-size", 16, "--seed", 3,
            "--init", "he", "--optimizer", "adam", "--loss", "mean"]
    pristine, ck = tmp / "ck-epoch-1", tmp / "ck"
    train(args, *base, "--epochs", 1, "--checkpoint", pristine)
    first = probe(args, "checkpoint", pristine)
    assert first.startswith("ok "), first
    uninterrupted = tmp / "ck-uninterrupted"
    shutil.copytree(pristine, uninterrupted)
    window = save_duration(args, [*base, "--epochs", 4, "--checkpoint", uninterrupted,
                                  "--checkpoint-every", 1, "--resume", uninterrupted], uninterrupted)
    deadline = time.monotonic() + args.budget
    kills = loads = 0
    while time.monotonic() < deadline or kills < MIN_KILLS:
        if ck.exists():
            shutil.rmtree(ck)
        shutil.copytree(pristine, ck)
        killed = kill_while_saving(args, [*base, "--epochs", 4, "--checkpoint", ck,
                                          "--checkpoint-every", 1, "--resume", ck], ck,
                                   rng.uniform(0.0, window))
        kills += killed
        seen = probe(args, "checkpoint", ck)
        if not seen.startswith("ok "):
            sys.exit(f"kill_test: after a kill the checkpoint does not load: {seen}")
        loads += 1
        if kills >= 200:
            break
    # It resumes, to the end, and the end is the uninterrupted run's, bit for bit. (A kill
    # after the last save, before the process ended, leaves nothing to resume.)
    if probe(args, "checkpoint", ck) != probe(args, "checkpoint", uninterrupted):
        train(args, *base, "--epochs", 4, "--checkpoint", ck, "--checkpoint-every", 1,
              "--resume", ck)
    assert probe(args, "checkpoint", ck) == probe(args, "checkpoint", uninterrupted)
    assert temporaries(ck) == [], temporaries(ck)
    print(f"kill_test: --checkpoint-every 1 killed {kills} times: the checkpoint loaded every "
          f"time ({loads}) and resumed to the uninterrupted run's weights")


def full_disk_test(args, tmp):
    mount = tmp / "small"
    mount.mkdir()
    mounted = run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", mount])
    if mounted.returncode != 0:
        print("kill_test: full-disk part skipped: cannot mount a tmpfs here "
              f"({mounted.stderr.strip() or 'mount failed'})")
        return
    try:
        weights = mount / "w"
        weights.mkdir()
        train(args, "--layers", "20,30,4", "--rows", 8, "--steps", 1, "--weights-out", weights)
        old = probe(args, "weights", weights)
        # A set of about 16 MB cannot fit in the 6 MB left.
        out = train(args, "--layers", LAYERS, "--rows", 8, "--steps", 1, "--seed", 5,
                    "--weights-out", weights, check=False)
        assert out.returncode == 2, (out.returncode, out.stderr)
        assert "No space left on device" in out.stderr, out.stderr
        assert probe(args, "weights", weights) == old
        assert temporaries(weights) == [], temporaries(weights)
        print("kill_test: full disk: exit 2, 'No space left on device', the old set intact, "
              "no temporary left")
    finally:
        run(["umount", mount])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nobias-train", required=True)
    parser.add_argument("--probe", required=True)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--budget", type=float, default=BUDGET_SECONDS,
                        help="seconds of kills in each loop (default %(default)s)")
    args = parser.parse_args()
    print(f"kill_test: random seed {args.seed} (rerun with --seed to repeat the kill times)")
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="nobias-kill-") as tmp:
        tmp = Path(tmp)
        weights_test(args, tmp, rng)
        checkpoint_test(args, tmp, rng)
        full_disk_test(args, tmp)


if __name__ == "__main__":
    main()
