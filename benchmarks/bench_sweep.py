"""Timing of ``accelsim sweep``: 1,000 design points (DCGAN-64 on edge-npu, 4 formats x 250 buffer
sizes log-spaced from 16 KiB to 4 MiB), the whole command as a subprocess (interpreter start-up,
worker start-up, store writes and the summary included), into a fresh store each repeat.

Target (issue: design-space exploration): 1,000 points <= 30 s on 2 cores; the script exits 1 when it
is missed. Speed against SCALE-Sim is measured side by side by benchmarks/vs_scalesim.py (no peer
figure is typed in here).

usage: python benchmarks/bench_sweep.py [--jobs 2] [--repeat 1] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TARGET_S = 30.0
FORMATS = "int8,int4,ternary,binary"
BUFFER = "16KiB:4MiB:250"


def one_run(jobs: int) -> tuple[float, str]:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "accelsim", "sweep", "--model", "dcgan-64", "--arch", "edge-npu",
               "--format", FORMATS, "--buffer", BUFFER, "--jobs", str(jobs), "--no-progress",
               "--out", os.path.join(tmp, "bench.db")]
        t0 = time.perf_counter()
        out = subprocess.run(cmd, check=True, env=env, capture_output=True, text=True).stdout
        return time.perf_counter() - t0, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    walls, out = [], ""
    for _ in range(args.repeat):
        wall, out = one_run(args.jobs)
        walls.append(wall)
    points = 4 * 250
    best = min(walls)
    per_point = best / points
    load = os.getloadavg()[0]
    print(out.strip().splitlines()[1])
    print(f"{points} points, {args.jobs} jobs, cold start included: {best:.2f} s (min of {len(walls)}; "
          f"median {statistics.median(walls):.2f} s; load average at the end {load:.1f})")
    print(f"{points / best:.1f} points/s, {per_point * 1e3:.1f} ms per point; target <= {TARGET_S:.0f} s: "
          f"{'met' if best <= TARGET_S else 'MISSED'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"points": points, "jobs": args.jobs, "wall_s": walls, "wall_s_min": best,
                       "points_per_s": points / best, "s_per_point": per_point, "load_average_1min": load,
                       "target_s": TARGET_S, "met": best <= TARGET_S}, f, indent=1)
    return 0 if best <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
