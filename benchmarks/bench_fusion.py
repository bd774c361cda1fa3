"""Layer fusion: DRAM bytes and energy saved per model on every shipped systolic-array preset.

For each model, preset and format: ``simulate(..., fusion="none")`` (every activation through DRAM)
and ``fusion="auto"`` (accelsim.mapping.fusion: stacks of consecutive layers keep their activations
on chip, whole or in row bands, halo recomputed / cached / refetched, residual skips kept or
refetched), both in this run. Reports DRAM bytes per image, the saving, energy per image (total and
its DRAM parts), executed MACs (recompute shows here), the stacks chosen, and the planning time.

Checks (exit 1 if one fails): fusion auto never moves more DRAM bytes than none on any row; it
saves DRAM on at least one preset for each model asked for; none is the unfused simulation (its
DRAM bytes equal a plain ``simulate`` call's).

usage: python benchmarks/bench_fusion.py [--models dcgan-64,cyclegan-resnet9] [--formats int8]
       [--archs edge-npu,tpu-like,...] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

DRAM_PARTS = ("dram", "dram_act", "dram_bg", "dram_ref")


def digital_presets() -> list[str]:
    from accelsim.arch import load_arch, preset_names
    return [n for n in preset_names() if load_arch(n).kind != "crossbar"]


def run_one(model: str, arch: str, fmt: str) -> dict:
    from accelsim.api import simulate
    from accelsim.workload.zoo import get_model
    workload = get_model(model)
    t0 = time.perf_counter()
    none = simulate(workload, arch, fmt, fusion="none")
    t1 = time.perf_counter()
    auto = simulate(workload, arch, fmt, fusion="auto")
    t2 = time.perf_counter()
    plain = simulate(workload, arch, fmt)
    e_none, e_auto = none.energy_pj, auto.energy_pj
    stacks = [[auto.layers[a].name, auto.layers[b].name, auto.layers[a].activity.mapping_note.split("; ")[-1]]
              for a, b in auto.stacks]
    return {
        "model": model, "arch": arch, "format": fmt,
        "dram_bytes_none": none.dram_bytes, "dram_bytes_auto": auto.dram_bytes,
        "dram_saved_bytes": none.dram_bytes - auto.dram_bytes,
        "dram_saved_pct": 100.0 * (none.dram_bytes - auto.dram_bytes) / none.dram_bytes if none.dram_bytes else 0.0,
        "energy_uj_none": none.energy_per_image_uj, "energy_uj_auto": auto.energy_per_image_uj,
        "energy_saved_pct": 100.0 * (1 - auto.total_energy_pj / none.total_energy_pj),
        "dram_energy_uj_none": sum(e_none.get(k, 0.0) for k in DRAM_PARTS) / 1e6,
        "dram_energy_uj_auto": sum(e_auto.get(k, 0.0) for k in DRAM_PARTS) / 1e6,
        "macs_none": none.macs_total, "macs_auto": auto.macs_total,
        "cycles_none": none.cycles, "cycles_auto": auto.cycles,
        "stacks": stacks, "plain_dram_bytes": plain.dram_bytes,
        "simulate_none_s": t1 - t0, "simulate_auto_s": t2 - t1,
    }


def table(rows: list[dict]) -> str:
    head = (f"{'model':<18} {'arch':<15} {'fmt':<6} {'DRAM none B':>13} {'DRAM auto B':>13} {'saved':>7} "
            f"{'E none uJ':>10} {'E auto uJ':>10} {'E saved':>8} {'MACs +':>7} {'stacks':>6} {'auto s':>7}")
    out = [head, "-" * len(head)]
    for r in rows:
        extra = 100.0 * (r["macs_auto"] - r["macs_none"]) / r["macs_none"] if r["macs_none"] else 0.0
        out.append(f"{r['model']:<18} {r['arch']:<15} {r['format']:<6} {r['dram_bytes_none']:>13,} "
                   f"{r['dram_bytes_auto']:>13,} {r['dram_saved_pct']:>6.1f}% {r['energy_uj_none']:>10.1f} "
                   f"{r['energy_uj_auto']:>10.1f} {r['energy_saved_pct']:>7.1f}% {extra:>6.1f}% "
                   f"{len(r['stacks']):>6} {r['simulate_auto_s']:>7.2f}")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="dcgan-64,cyclegan-resnet9")
    ap.add_argument("--formats", default="int8")
    ap.add_argument("--archs", default=None, help="default: every shipped systolic-array preset")
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args(argv)
    models = args.models.split(",")
    archs = args.archs.split(",") if args.archs else digital_presets()
    formats = args.formats.split(",")
    load = os.getloadavg()
    rows = [run_one(m, a, f) for m in models for a in archs for f in formats]
    print(f"layer fusion: DRAM and energy per image, fusion none vs auto (load average {load[0]:.1f})")
    print(table(rows))
    print()
    for r in rows:
        if r["stacks"]:
            print(f"{r['model']} on {r['arch']} ({r['format']}): " +
                  "; ".join(f"{a}..{b} ({how.split(': ', 1)[-1]})" for a, b, how in r["stacks"]))
    failures = []
    for r in rows:
        if r["dram_bytes_auto"] > r["dram_bytes_none"]:
            failures.append(f"{r['model']} {r['arch']} {r['format']}: fusion auto moves more DRAM bytes")
        if r["plain_dram_bytes"] != r["dram_bytes_none"]:
            failures.append(f"{r['model']} {r['arch']} {r['format']}: fusion none differs from the plain simulation")
    for m in models:
        if not any(r["dram_saved_bytes"] > 0 for r in rows if r["model"] == m):
            failures.append(f"{m}: fusion saves no DRAM on any preset")
    doc = {"rows": rows, "checks_failed": failures, "load_average": load, "machine": platform.platform(),
           "python": platform.python_version(), "command": " ".join(["python", "benchmarks/bench_fusion.py",
                                                                     *(argv if argv is not None else sys.argv[1:])])}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
    print()
    if failures:
        print("CHECKS FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("checks: auto never above none in DRAM bytes; every model saves DRAM on some preset; none == plain")
    return 0


if __name__ == "__main__":
    sys.exit(main())
