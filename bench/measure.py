#!/usr/bin/python3
"""Measure nobias, its GEMM floors and the peers in rotating rounds; write results.json.

Usage: measure.py --bench build/release/bench/nobias-bench [--rounds 5] [--min-time 0.05]
                  [--out results.json] [--no-busy]

Each round runs every system of SYSTEMS once over all batch sizes, as a subprocess, in an
order that rotates from round to round, so that drift in the machine's load falls on all
of them alike: nobias (train_step and its GEMM floors with all threads and one, f32 and
f64), nobias on one thread, the floors on the kernel nobias's policy would choose when it
differs from the one in use, numpy and PyTorch as they run with no OPENBLAS_* or OMP_*
set and again with the settings a knowledgeable user would choose (best core, one BLAS
thread or passive OpenMP waiting), and, unless --no-busy, nobias and nobias on one thread
while one `yes > /dev/null` competes for a core. results.json keeps every sample; report.py
turns it into RESULTS.md and the plot. Batch sizes and widths come from shapes.json.
Run it with Debian's /usr/bin/python3 (numpy, torch, threadpoolctl).
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import run_facts

HERE = Path(__file__).resolve().parent
SHAPES = json.loads((HERE / "shapes.json").read_text())
SEED_WIDTHS = SHAPES["widths"]["seed"]
BATCH_SIZES = SHAPES["batch_sizes"]
DTYPES = ["f32", "f64"]
PEERS = {"numpy": HERE / "peers" / "numpy_peer.py", "torch": HERE / "peers" / "torch_peer.py"}
# Bench families, as named in the binary, and the column each feeds (before a suffix).
FAMILIES = {"train_step": "nobias", "gemm_floor": "floor", "gemm_floor_1t": "floor_1t",
            "gemm_floor_onednn": "floor_onednn", "gemm_floor_onednn_1t": "floor_onednn_1t",
            "gemm_floor_eigen_1t": "floor_eigen_1t"}
UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
BUSY_MIN_TIME = 0.5  # seconds per measurement beside the competing process
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS")


def best_core():
    """The OpenBLAS core nobias's policy picks for this CPU (lib/blas_kernel.cpp)."""
    flags = set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags:
        return "SkylakeX"
    return "Haswell" if {"avx2", "fma"} <= flags else None


def systems(best, busy, onednn):
    """What one round runs: (name, kind, what, environment changes, column suffix, busy)."""
    no_env = {k: None for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") + THREAD_VARS}
    best_env = {"OPENBLAS_CORETYPE": best} if best else {}
    out = [
        ("nobias", "bench", list(FAMILIES), {}, "", False),
        ("nobias_1t", "bench", ["train_step"], {"NOBIAS_THREADS": "1"}, "_1t_setting", False),
    ]
    if best and os.environ.get("OPENBLAS_CORETYPE") not in (None, best):
        out.append(("floor_policy_core", "bench", ["gemm_floor", "gemm_floor_1t"], best_env,
                    "_" + best, False))
    for peer in PEERS:
        out.append((peer + "_no_env", "peer", peer, no_env, "", False))
        out.append((peer + "_best_1t", "peer", peer,
                    dict(best_env, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1"), "", False))
        out.append((peer + "_best_all", "peer", peer,
                    dict(best_env, OMP_WAIT_POLICY="passive"), "", False))
    if onednn:  # oneDNN's own ISA choice; OpenMP threads, best of one and all
        out.append(("onednn_1t", "native", onednn, {"OMP_NUM_THREADS": "1"}, "", False))
        out.append(("onednn_all", "native", onednn,
                    {"OMP_NUM_THREADS": str(len(os.sched_getaffinity(0)))}, "", False))
    if busy:
        out.append(("nobias_busy", "bench", ["train_step"], {}, "_busy", True))
        out.append(("nobias_1t_busy", "bench", ["train_step"], {"NOBIAS_THREADS": "1"},
                    "_1t_busy", True))
    return out


def environment(changes):
    env = dict(os.environ)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


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


def run_peer(python, system, dtype, ns, min_time, env=None, timeout=None):
    cmd = [python, str(PEERS[system]), "--widths", ",".join(map(str, SEED_WIDTHS)),
           "--dtype", dtype, "--n", ",".join(map(str, ns)), "--min-time", str(min_time)]
    out = run(cmd, env=env, timeout=timeout)
    records = [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]
    return {"command": shlex.join(cmd), "records": records}


def core_name(blas_description):
    """'OpenBLAS ... Prescott MAX_THREADS=64, core Haswell' -> 'Haswell'."""
    m = re.search(r"core\s+(\S+)", blas_description or "")
    return m.group(1) if m else "(unknown)"


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


def torch_info(python, env=None):
    """torch's version and threads, from a subprocess with the peers' environment."""
    code = ("import json, torch, threadpoolctl; print(json.dumps({'version': torch.__version__,"
            " 'threads': torch.get_num_threads(), 'interop_threads':"
            " torch.get_num_interop_threads(), 'threadpools': threadpoolctl.threadpool_info()}))")
    try:
        return json.loads(run([python, "-c", code], env=env,
                              timeout=120).strip().splitlines()[-1])
    except (RuntimeError, ValueError, IndexError, subprocess.TimeoutExpired) as e:
        return {"version": "(unavailable)", "error": str(e)}


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


# ---------------------------------------------------------------- main

def int_list(text):
    return [int(v) for v in text.split(",") if v]


def run_system(system, args, ns):
    name, kind, what, changes, suffix, busy = system
    env = environment(changes)
    competitor = None
    if busy:  # one CPU-bound process competing for a core, ours to stop by its pid
        competitor = subprocess.Popen(["yes"], stdout=subprocess.DEVNULL)
    try:
        if kind == "bench":
            # A busy run measures steady training: a new network's team learns from its first
            # stalls that the machine is busy (lib/parallel.hpp), a cost 0.05 s would inflate.
            min_time = max(args.min_time, BUSY_MIN_TIME) if busy else args.min_time
            res = run_bench(args.bench, what, ns, min_time, env=env, timeout=args.timeout)
        elif kind == "native":
            cmd = [str(what), "--widths", ",".join(map(str, SEED_WIDTHS)),
                   "--n", ",".join(map(str, ns)), "--min-time", str(args.min_time)]
            out = run(cmd, env=env, timeout=args.timeout)
            res = {"command": shlex.join(cmd),
                   "records": [json.loads(line) for line in out.splitlines()
                               if line.strip().startswith("{")]}
        else:
            res = {"records": []}
            for dtype in DTYPES:
                part = run_peer(args.python, what, dtype, ns, args.min_time, env=env,
                                timeout=args.timeout)
                res["records"] += part["records"]
                res.setdefault("commands", []).append(part["command"])
    finally:
        if competitor is not None:
            competitor.kill()
            competitor.wait()
    for rec in res["records"]:
        base = FAMILIES.get(rec.get("family"), None) if kind == "bench" else name
        rec["column"] = (base + suffix) if kind == "bench" else name
    res.update(system=name, environment_changes=changes, busy=busy)
    return res


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bench", required=True, help="path of the nobias-bench binary")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.05,
                        help="seconds per measurement, for the bench and the peers alike")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument("--n", type=int_list, default=BATCH_SIZES,
                        help="batch sizes (default: all of %(default)s, from shapes.json)")
    parser.add_argument("--no-busy", action="store_true",
                        help="skip the runs beside a competing `yes` process")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the peers")
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds before one subprocess is given up")
    args = parser.parse_args(argv)
    if not os.access(args.bench, os.X_OK):
        parser.error(f"--bench {args.bench}: not an executable file")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    ns = sorted(set(args.n))
    best = best_core()
    onednn = Path(args.bench).resolve().parent / "nobias-onednn-peer"
    plan = systems(best, not args.no_busy, onednn if os.access(onednn, os.X_OK) else None)

    def log(msg):
        print(f"[measure {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    rounds, errors = [], []
    for r in range(args.rounds):
        order = plan[r % len(plan):] + plan[:r % len(plan)]
        runs = []
        for system in order:
            log(f"round {r + 1}/{args.rounds}: {system[0]}")
            t0 = time.time()
            try:
                res = run_system(system, args, ns)
            except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired) as e:
                errors.append(f"round {r + 1} {system[0]}: {e}")
                log("FAILED: " + str(e))
                res = {"system": system[0], "error": str(e), "records": []}
            res.update(started=t0, seconds=time.time() - t0)
            runs.append(res)
        rounds.append({"round": r + 1, "order": [s[0] for s in order], "runs": runs})

    bench_context = next((run_["context"] for rnd in rounds for run_ in rnd["runs"]
                          if run_.get("system") == "nobias" and run_.get("context")), {})
    policy_context = next((run_["context"] for rnd in rounds for run_ in rnd["runs"]
                           if run_.get("system") == "floor_policy_core" and run_.get("context")),
                          {})
    meta = {"cpu": cpu_model(), "cpus": len(os.sched_getaffinity(0)), "os": os_name(),
            "bench": str(args.bench), "build_type": run_facts.build_of(args.bench)["build_type"],
            "bench_context": bench_context, "policy_core": best,
            "policy_context": policy_context, "numpy": numpy_info(),
            "torch": torch_info(args.python),
            "systems": [{"name": s[0], "kind": s[1], "environment_changes": s[3],
                         "busy": s[5]} for s in plan],
            "environment": {k: os.environ.get(k) for k in
                            ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "NOBIAS_THREADS")
                            + THREAD_VARS},
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": shlex.join([sys.executable, *(sys.argv if argv is None
                                                     else [sys.argv[0], *argv])]),
            "rounds": args.rounds, "min_time": args.min_time, "n": ns,
            "widths": SEED_WIDTHS, "load_average_at_end": os.getloadavg()}
    args.out.write_text(json.dumps({"meta": meta, "rounds": rounds, "errors": errors},
                                   indent=1) + "\n")
    log(f"wrote {args.out}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
