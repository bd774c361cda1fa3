"""Two builds side by side on the quantized runtime's vector-unit kernels (instance_norm_codes,
instance_norm_add, pad_codes), called with the arguments a whole generator's run passes them, and on
that whole run: an A/B of a vector-kernel change, old build against new.

usage: python benchmarks/bench_vector_ops.py OLD_TREE NEW_TREE [--model cyclegan] [--batch 1]
                                             [--rounds 5] [--reps 5] [--runs 3] [--isas amx,avx2]
                                             [--workdir DIR] [--json PATH]

A tree is a directory holding an importable ``accelsim`` package with its built extension (a worktree
after ``python setup.py build_ext --inplace``, or a copy of one made before rebuilding). First a child
in NEW_TREE runs the model once (w8a8, C++ runtime, ``bench_runtime.Prepared`` with ``--workdir``'s
calibration cache) with those three kernels wrapped to record every call's arguments (pickled into the
workdir, removed at the end; a sum the run wrote into its residual is replayed into a new array, so
replays stay repeatable and older builds can run them). Then per round and ISA (``ACCELSIM_ISA``),
each tree in a fresh interpreter (checked: the child reports the ``accelsim`` it imported) replays
every recorded call of each kernel, ``--reps`` passes (the median pass is the kernel's time for one model run), then times ``--runs`` whole runs of
the model (median); the trees alternate, which goes first alternating by round, so load from other
processes falls on both. Every replayed output and the model's output are hashed: the two trees must
agree byte for byte (exit 1 if not). The table gives, per ISA, kernel and tree, the median over
rounds and the old/new ratio (> 1: the new build is faster), the fastest pass or run of all rounds
and its ratio (the steadier figure under load from other processes), and the 1-minute load average
range.
JSON rows: {"isa", "kernel" ("all" for the whole run), "tree", "median_s", "min_s", "calls", "rounds",
"load_min", "load_max"}.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
KERNELS = ("instance_norm_codes", "instance_norm_add", "pad_codes")

CAPTURE = r"""
import os, pickle, sys
sys.path.insert(0, sys.argv[4])
import numpy as np
import accelsim
from accelsim import kernels
import bench_runtime as br
model, batch, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
kernels.set_num_threads(2)
prep = br.Prepared("gen:" + model, os.path.dirname(path), 4, 32)
qg = prep.quantized("w8a8")
x = prep.inputs(batch, br.BENCH_SEED)
calls = {k: [] for k in KERNELS}
saved = {k: getattr(kernels, k) for k in KERNELS}
def rec(name, fn):
    def w(*a, **kw):
        calls[name].append(([np.array(v, copy=True) if isinstance(v, np.ndarray) else v for v in a],
                            {k: (np.array(v, copy=True) if isinstance(v, np.ndarray) else v) for k, v in kw.items()
                             if k != "into_residual"}))   # replayed into new arrays (the inputs stay as recorded)
        return fn(*a, **kw)
    return w
for k, f in saved.items():
    setattr(kernels, k, rec(k, f))
qg.run(x)
for k, f in saved.items():
    setattr(kernels, k, f)
with open(path + ".tmp", "wb") as fh:
    pickle.dump(calls, fh)
os.replace(path + ".tmp", path)
print({k: len(v) for k, v in calls.items()})
"""

CHILD = r"""
import hashlib, json, os, pickle, statistics, sys, time
sys.path.insert(0, sys.argv[6])
import numpy as np
import accelsim
from accelsim import kernels
import bench_runtime as br
model, batch, path, reps, runs = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
kernels.set_num_threads(2)
with open(path, "rb") as fh:
    calls = pickle.load(fh)
def canon(v):   # unpickled dtypes are equal to, not the same objects as, numpy's (builds before 2026-12-07 refuse them)
    return v.astype(v.dtype.type) if isinstance(v, np.ndarray) else v
calls = {k: [([canon(v) for v in a], {n: canon(v) for n, v in kw.items()}) for a, kw in cl] for k, cl in calls.items()}
out = {"accelsim": accelsim.__file__, "isa": kernels.active_isa(), "kernels": {}}
for name, cl in calls.items():
    fn = getattr(kernels, name)
    h = hashlib.sha256()
    for a, kw in cl:                                # warm-up pass, and the outputs' hash
        res = fn(*a, **kw)
        for r in (res if isinstance(res, tuple) else (res,)):
            h.update(b"none" if r is None else np.ascontiguousarray(r).tobytes())
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for a, kw in cl:
            fn(*a, **kw)
        ts.append(time.perf_counter() - t0)
    out["kernels"][name] = {"median_s": statistics.median(ts), "min_s": min(ts), "calls": len(cl),
                            "sha256": h.hexdigest()}
prep = br.Prepared("gen:" + model, os.path.dirname(path), 4, 32)
qg = prep.quantized("w8a8")
x = prep.inputs(batch, br.BENCH_SEED)
y = qg.run(x)
ts = []
for _ in range(runs):
    t0 = time.perf_counter()
    qg.run(x)
    ts.append(time.perf_counter() - t0)
out["kernels"]["all"] = {"median_s": statistics.median(ts), "min_s": min(ts), "calls": 1,
                         "sha256": hashlib.sha256(np.ascontiguousarray(y).tobytes()).hexdigest()}
print("RESULT " + json.dumps(out))
"""


def _env(tree: str, isa: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree), ACCELSIM_ISA=isa, ACCELSIM_NUM_THREADS="2")
    return env


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--model", default="cyclegan")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=5, help="replay passes per child (median)")
    ap.add_argument("--runs", type=int, default=3, help="whole-model runs per child (median)")
    ap.add_argument("--isas", default="amx", help="comma-separated ACCELSIM_ISA values")
    ap.add_argument("--workdir", default=None,
                    help="bench_runtime.py's workdir (calibrations; default a temporary directory, removed at the end)")
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args(argv)
    trees = {"old": os.path.abspath(args.old), "new": os.path.abspath(args.new)}
    made_tmp = args.workdir is None
    if made_tmp:
        import tempfile
        args.workdir = tempfile.mkdtemp(prefix="bench_vector_ops.")
    os.makedirs(args.workdir, exist_ok=True)
    path = os.path.join(os.path.abspath(args.workdir), f"vector_calls_{args.model}_b{args.batch}.pkl")
    cap = subprocess.run([sys.executable, "-c", "KERNELS = " + repr(KERNELS) + "\n" + CAPTURE, args.model,
                          str(args.batch), path, HERE], env=_env(trees["new"], "amx" if "amx" in args.isas else
                                                                 args.isas.split(",")[0]),
                         capture_output=True, text=True, cwd=trees["new"])
    if cap.returncode:
        sys.stderr.write(cap.stderr)
        return 1
    print(f"captured {cap.stdout.strip()} calls of one {args.model} b{args.batch} run")
    res: dict = {}
    loads = []
    try:
        for rnd in range(args.rounds):
            for isa in args.isas.split(","):
                order = list(trees) if rnd % 2 == 0 else list(trees)[::-1]
                for name in order:
                    loads.append(os.getloadavg()[0])
                    p = subprocess.run([sys.executable, "-c", CHILD, args.model, str(args.batch), path,
                                        str(args.reps), str(args.runs), HERE], env=_env(trees[name], isa),
                                       capture_output=True, text=True, cwd=trees[name])
                    line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
                    if p.returncode or not line:
                        sys.stderr.write(p.stderr)
                        return 1
                    out = json.loads(line[0][7:])
                    if not out["accelsim"].startswith(trees[name]) or out["isa"] != isa:
                        raise SystemExit(f"{name}: imported {out['accelsim']} on {out['isa']}, expected {trees[name]} "
                                         f"on {isa}")
                    for k, v in out["kernels"].items():
                        res.setdefault((isa, k, name), []).append(v)
    finally:
        os.remove(path)   # the recorded calls (160 MB for CycleGAN b1): made anew by every invocation
        if made_tmp:
            import shutil
            shutil.rmtree(args.workdir, ignore_errors=True)
    rows, bad = [], []
    print(f"\n{args.model} batch {args.batch}, {args.rounds} rounds, load average {min(loads):.2f}-{max(loads):.2f}")
    print(f"{'isa':8s} {'kernel':22s} {'calls':>5s} {'old ms':>9s} {'new ms':>9s} {'old/new':>8s} "
          f"{'old min':>9s} {'new min':>9s} {'old/new':>8s}  outputs")
    for isa in args.isas.split(","):
        for k in KERNELS + ("all",):
            med, mins = {}, {}
            for name in trees:
                v = res[(isa, k, name)]
                med[name] = statistics.median(r["median_s"] for r in v)
                mins[name] = min(r["min_s"] for r in v)
                rows.append({"isa": isa, "kernel": k, "tree": name, "median_s": med[name],
                             "min_s": min(r["min_s"] for r in v), "calls": v[0]["calls"], "rounds": len(v),
                             "load_min": min(loads), "load_max": max(loads)})
            hashes = {r["sha256"] for name in trees for r in res[(isa, k, name)]}
            same = len(hashes) == 1
            if not same:
                bad.append((isa, k))
            print(f"{isa:8s} {k:22s} {res[(isa, k, 'old')][0]['calls']:5d} {med['old'] * 1e3:9.2f} "
                  f"{med['new'] * 1e3:9.2f} {med['old'] / med['new']:8.2f}x {mins['old'] * 1e3:9.2f} "
                  f"{mins['new'] * 1e3:9.2f} {mins['old'] / mins['new']:8.2f}x  {'equal' if same else 'DIFFER'}")
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            json.dump({"model": args.model, "batch": args.batch, "trees": trees, "rows": rows}, f, indent=1)
        os.replace(args.json + ".tmp", args.json)
    if bad:
        print(f"outputs differ between the builds: {bad}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
