"""Speed of the simulator at scale (issue 14 item 7), against a baseline commit measured in the same run.

1. CycleGAN ResNet-9 (256x256) on edge-npu, one ``simulate`` per format, each in a fresh process:
   the module imported and the numba kernels loaded from their disk cache by a warm-up simulate of
   DCGAN-64 first (not timed; no CycleGAN layer is remembered by it), then CycleGAN timed.
   Target: <= 0.5 s per format.
2. 10,000 sweep points of DCGAN-64 on edge-npu (4 formats x 2,500 buffer sizes log-spaced 16 KiB -
   4 MiB), ``accelsim sweep --jobs 2`` as a subprocess into a fresh store, interpreter start-up,
   workers, store writes and the summary included. Target: <= 30 s on 2 cores.

The baseline (``--base``, default the last commit before this work) is extracted with ``git archive``
into a temp dir and measured by the same code, interleaved run by run (min of ``--repeat``), so the
ratios come from one run on one machine state; the load average is recorded. The new engine must
give the same numbers as the baseline: every CycleGAN report (JSON, all layers) and every sweep
point's report (JSON, all layers) are compared, and any difference fails the script.

usage: python benchmarks/bench_simulate.py [--base REV] [--repeat 3] [--points 10000] [--json PATH]
exit 1 when a target is missed or a number differs from the baseline.
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
BASE = "2202f3e"          # main before the issue-14 item-7 speed work
FORMATS = ("w8a8", "w4a8", "w4a4", "w2a8", "w1a8", "w1a1", "flex16+5", "fp16", "fp32")
SIMULATE_TARGET_S = 0.5
SWEEP_TARGET_S = 30.0
SWEEP_FORMATS = "int8,int4,ternary,binary"

CHILD = r"""
import json, sys, time
from accelsim.api import simulate
simulate("dcgan-64", "edge-npu", sys.argv[1])          # warm-up: imports, numba cache load
t0 = time.perf_counter()
rep = simulate("cyclegan-resnet9", "edge-npu", sys.argv[1])
dt = time.perf_counter() - t0
print(json.dumps({"s": dt, "report": rep.to_json()}, sort_keys=True))
"""


def _env(tree: str) -> dict:
    return dict(os.environ, PYTHONPATH=tree, PYTHONDONTWRITEBYTECODE="")


def extract(rev: str, into: str) -> str:
    """The accelsim package of ``rev`` (git archive), importable from ``into``."""
    archive = subprocess.run(["git", "-C", ROOT, "archive", rev, "accelsim"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "xf", "-", "-C", into], input=archive, check=True)
    return into


def simulate_once(tree: str, fmt: str) -> tuple[float, dict]:
    out = subprocess.run([sys.executable, "-c", CHILD, fmt], env=_env(tree), cwd=tree, check=True,
                         capture_output=True, text=True).stdout
    rec = json.loads(out.strip().splitlines()[-1])
    return rec["s"], rec["report"]


def sweep_once(tree: str, points: int, db: str) -> float:
    if os.path.exists(db):
        os.remove(db)
    per_format = points // 4
    cmd = [sys.executable, "-m", "accelsim", "sweep", "--model", "dcgan-64", "--arch", "edge-npu",
           "--format", SWEEP_FORMATS, "--buffer", f"16KiB:4MiB:{per_format}", "--jobs", "2", "--no-progress",
           "--out", db]
    t0 = time.perf_counter()
    subprocess.run(cmd, env=_env(tree), cwd=tree, check=True, capture_output=True, text=True)
    return time.perf_counter() - t0


def sweep_rows(db: str) -> dict:
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT fmt, buffer_kib, status, report_json FROM points")
        return {(r[0], round(r[1], 6)): r[2:] for r in rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default=BASE, help=f"baseline git revision (default {BASE})")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--points", type=int, default=10_000, help="sweep points (multiple of 4; default 10000)")
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    if args.points < 4 or args.points % 4:
        ap.error("--points: give a positive multiple of 4 (4 formats x buffer sizes)")
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "base"))
        trees = {"base": extract(args.base, os.path.join(tmp, "base")), "new": ROOT}
        for tree in trees.values():            # numba compiles into each tree's cache once, untimed
            simulate_once(tree, "w8a8")
        sim = {f: {"base": [], "new": []} for f in FORMATS}
        for fmt in FORMATS:
            reports = {}
            for _ in range(args.repeat):
                for name, tree in trees.items():
                    s, reports[name] = simulate_once(tree, fmt)
                    sim[fmt][name].append(s)
            if reports["base"] != reports["new"]:
                failures.append(f"CycleGAN {fmt}: the report differs from the baseline's")
        sweep = {"base": [], "new": []}
        rows = {}
        for _ in range(args.repeat):
            for name, tree in trees.items():
                db = os.path.join(tmp, f"{name}.db")
                sweep[name].append(sweep_once(tree, args.points, db))
                rows[name] = sweep_rows(db)
        if rows["base"] != rows["new"]:
            diff = sum(rows["base"].get(k) != v for k, v in rows["new"].items())
            failures.append(f"sweep: {diff} of {len(rows['new'])} points differ from the baseline's")
    load = os.getloadavg()

    print(f"simulate, CycleGAN ResNet-9 on edge-npu, fresh process per run, min of {args.repeat} "
          f"(base = {args.base}, new = this tree)")
    print(f"{'format':10s} {'base s':>8s} {'new s':>8s} {'speed-up':>9s}  target <= {SIMULATE_TARGET_S} s")
    table = []
    for fmt in FORMATS:
        b, n = min(sim[fmt]["base"]), min(sim[fmt]["new"])
        met = n <= SIMULATE_TARGET_S
        table.append({"format": fmt, "base_s": b, "new_s": n, "speedup": b / n, "met": met,
                      "base_runs_s": sim[fmt]["base"], "new_runs_s": sim[fmt]["new"]})
        print(f"{fmt:10s} {b:8.3f} {n:8.3f} {b / n:8.1f}x  {'met' if met else 'MISSED'}")
        if not met:
            failures.append(f"CycleGAN {fmt}: {n:.3f} s > {SIMULATE_TARGET_S} s")
    sb, sn = min(sweep["base"]), min(sweep["new"])
    print(f"\nsweep, DCGAN-64 on edge-npu, {args.points} points, 2 jobs, cold start included, min of {args.repeat}")
    print(f"base {sb:.2f} s, new {sn:.2f} s, speed-up {sb / sn:.1f}x; target <= {SWEEP_TARGET_S:.0f} s: "
          f"{'met' if sn <= SWEEP_TARGET_S else 'MISSED'}")
    if sn > SWEEP_TARGET_S:
        failures.append(f"sweep: {sn:.2f} s > {SWEEP_TARGET_S} s")
    print(f"results equal to the baseline: {'yes' if not any('differ' in f for f in failures) else 'NO'}; "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    for f in failures:
        print("FAIL:", f)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"base": args.base, "repeat": args.repeat, "simulate": table,
                       "sweep": {"points": args.points, "base_runs_s": sweep["base"], "new_runs_s": sweep["new"],
                                 "base_s": sb, "new_s": sn, "speedup": sb / sn, "target_s": SWEEP_TARGET_S},
                       "load_average": load, "failures": failures}, f, indent=1)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
