"""accelsim vs SCALE-Sim 3.0.0, both measured in this run: compute cycles, DRAM bytes, wall time.

SCALE-Sim is never installed by this script and never imported into accelsim's interpreter: it runs in its
own venv (numpy < 2.4) through benchmarks/peers/scalesim_run.py (Python API, traces off, CALC mode):
    python3 -m venv /work/bench-venvs/scalesim
    /work/bench-venvs/scalesim/bin/pip install scalesim==3.0.0 "numpy==2.3.5"
Pass ``--scalesim-python`` (default: $ACCELSIM_SCALESIM_PYTHON, then /work/bench-venvs/scalesim/bin/python).
Without it the script prints accelsim's side only and claims nothing.

Part 1, DCGAN-64 as SCALE-Sim needs it (no padding, no transposed conv): G1 (z -> 512x4x4) as a 1x1 conv
with 8192 filters, G2-G5 as stride-1 convs over the zero-inserted, padded inputs (H_in = 2H + 3): the
GEMMs of accelsim's ``zero_insert`` lowering with the dilated input in DRAM. For each array and dataflow,
64 KiB ifmap/filter/ofmap SRAM (double buffered, 1-byte words: int8): compute cycles per layer (must be
identical; SCALE-Sim prints the zero-based index of the last cycle, accelsim's count - 1 is printed next
to it), DRAM bytes side by side, and wall time of both tools, like against like:
  cold: a fresh interpreter per tool, start-up, imports and one run (accelsim: this script re-run as a
        child making one ``simulate`` call; SCALE-Sim: scalesim_run's driver), wall of the subprocess;
  warm: SCALE-Sim's own in-process wall of that run (imports excluded; it keeps no state between runs,
        so a second run costs the same) against accelsim's best of ``--repeat`` ``simulate`` calls, its
        memos cleared before each (``accelsim.api.clear_memos``: nothing of the workload remembered).
Part 2, the output-stationary configurations of tests/data/scalesim/goldens.csv (small layers, 1-64 KiB
SRAMs, where SCALE-Sim's sliding-window traffic is close to compulsory): SCALE-Sim re-run here, its
numbers checked equal to the committed goldens, and accelsim's DRAM bytes <= SCALE-Sim's on every one.
This check fails when it is false: the tiler before issue 14 moved more than SCALE-Sim on 5 of them
(e.g. Conv2d 3->8 k7 70x70 on a 16x8 array, 8/64/64 KiB: 54,008 B against 53,714 B).

The load average is recorded at start and end. Exit 1 when any check fails: cycles not identical,
accelsim os DRAM above SCALE-Sim's, SCALE-Sim's live numbers not equal to the goldens, or accelsim
cold less than --target-speedup times faster than SCALE-Sim cold (DCGAN-64, summed over runs).

``--tables-from PATH`` runs nothing: it prints the markdown tables of docs/simulator.md's SCALE-Sim
section from a result JSON of this script (the doc's numbers are generated, never typed; a test checks
that the doc holds the tables of the newest committed JSON).

usage: python benchmarks/vs_scalesim.py [--json PATH] [--arrays 32] [--dataflows os,ws,is] [--repeat 3]
                                         [--scalesim-python PATH] [--work DIR] [--skip-goldens | --goldens-only]
       python benchmarks/vs_scalesim.py --tables-from benchmarks/results/vs_scalesim-DATE.json
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "peers"))

import scalesim_goldens  # noqa: E402
from result_files import load_result  # noqa: E402
import scalesim_run  # noqa: E402

from accelsim.api import clear_memos, simulate  # noqa: E402
from accelsim.arch import ArraySpec, load_arch  # noqa: E402
from accelsim.mapping import compulsory_bytes, lower  # noqa: E402
from accelsim.mapping.lowering import zero_inserted_hw  # noqa: E402
from accelsim.workload import Layer, Workload, get_model  # noqa: E402

BUFFER_KIB = 64
TARGET_SPEEDUP = 100.0
GOLDENS = os.path.join(HERE, "..", "tests", "data", "scalesim", "goldens.csv")
ROLE_FIELD = {"ifmap": "ifmap_sram_kib", "weight": "filter_sram_kib", "ofmap": "ofmap_sram_kib"}


def scalesim_layers() -> list[Layer]:
    """DCGAN-64 as SCALE-Sim needs it (see module docstring)."""
    d = get_model("dcgan-64").layers
    layers = [Layer("G1", "conv2d", 100, 8192, (1, 1))]
    for l in d[1:]:
        h, w = zero_inserted_hw(l)
        layers.append(Layer(l.name, "conv2d", l.in_channels, l.out_channels, (h, w), kernel_hw=l.kernel_hw))
        assert lower(layers[-1]).gemms == lower(l, "zero_insert", zeros_in_dram=True).gemms
    return layers


def as_topology(l: Layer) -> dict:
    return {"name": l.name, "ifmap_h": l.in_hw[0], "ifmap_w": l.in_hw[1], "filter_h": l.kernel_hw[0],
            "filter_w": l.kernel_hw[1], "channels": l.in_channels, "num_filters": l.out_channels,
            "stride": l.stride_hw[0]}


def accelsim_arch(rows, cols, dataflow, ifmap_kib=BUFFER_KIB, filter_kib=BUFFER_KIB, ofmap_kib=BUFFER_KIB):
    """The scalesim-32x32 preset (SCALE-Sim's default config) with this array and these SRAM sizes."""
    base = load_arch("scalesim-32x32")
    kib = {"ifmap": ifmap_kib, "weight": filter_kib, "ofmap": ofmap_kib}
    return replace(base, name=f"scalesim-{rows}x{cols}-{dataflow}", array=ArraySpec(rows, cols, dataflow),
                   buffers=tuple(replace(b, size_kib=kib[b.role]) for b in base.buffers))


def dcgan_workload() -> Workload:
    return Workload("dcgan-64-scalesim", tuple(scalesim_layers()), (100, 1, 1), "SCALE-Sim view of DCGAN-64")


def child_simulate(rows: int, cols: int, dataflow: str) -> None:
    """--child: one cold simulate call in a fresh interpreter (imports above included in the parent's wall)."""
    rep = simulate(dcgan_workload(), accelsim_arch(rows, cols, dataflow), "int8", zeros_in_dram=True)
    print(json.dumps({"dram_bytes": rep.dram_bytes}))


def accelsim_cold(rows, cols, dataflow) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, os.path.abspath(__file__), "--child", f"{rows},{cols},{dataflow}"],
                   check=True, capture_output=True, text=True)
    return time.perf_counter() - t0


def part_dcgan(args, have_peer):
    layers = scalesim_layers()
    workload = dcgan_workload()
    cases, runs = [], []
    print(f"{'array':>6} {'df':>3} {'layer':>5} {'SCALE-Sim cyc':>14} {'accelsim cyc-1':>15} {'eq':>3} "
          f"{'SCALE-Sim DRAM B':>17} {'accelsim DRAM B':>16}")
    for n in [int(a) for a in args.arrays.split(",")]:
        for df in args.dataflows.split(","):
            arch = accelsim_arch(n, n, df)
            walls = []
            for _ in range(args.repeat + 1):
                clear_memos()   # warm interpreter, nothing of this workload remembered
                t0 = time.perf_counter()
                rep = simulate(workload, arch, "int8", zeros_in_dram=True)
                walls.append(time.perf_counter() - t0)
            cold = accelsim_cold(n, n, df)
            if have_peer:
                name = f"dcgan_{n}x{n}_{df}"
                ss, meta = scalesim_run.run(args.scalesim_python, os.path.join(args.work, name), name,
                                            [as_topology(l) for l in layers], n, n, df, BUFFER_KIB, BUFFER_KIB,
                                            BUFFER_KIB)
            else:
                ss, meta = [None] * len(layers), None
            runs.append({"array": f"{n}x{n}", "dataflow": df, "accelsim_cold_s": cold,
                         "accelsim_first_call_s": walls[0], "accelsim_warm_s": min(walls[1:]),
                         "scalesim_cold_s": meta and meta["wall_s"], "scalesim_warm_s": meta and meta["inner_wall_s"],
                         "scalesim_cpu_s": meta and meta["cpu_s"],
                         "load_average": meta and [meta["load_average_start"], meta["load_average_end"]]})
            for l, s in zip(rep.layers, ss):
                a = l.activity
                sd = s and s["dram_ifmap_reads"] + s["dram_filter_reads"] + s["dram_ofmap_writes"]
                eq = s is not None and s["compute_cycles"] == a.compute_cycles - 1
                cases.append({"layer": l.name, "dataflow": df, "array": f"{n}x{n}",
                              "scalesim_cycles": s and s["compute_cycles"], "accelsim_cycles_count": a.compute_cycles,
                              "cycles_identical": eq if s else None, "accelsim_total_cycles": a.latency_cycles,
                              "scalesim_dram_bytes": sd, "accelsim_dram_bytes": a.dram_bytes,
                              "accelsim_mapping": a.mapping_note})
                print(f"{f'{n}x{n}':>6} {df:>3} {l.name:>5} {s['compute_cycles'] if s else '-':>14} "
                      f"{a.compute_cycles - 1:>15} {('yes' if eq else 'NO') if s else '-':>3} "
                      f"{sd if s else '-':>17} {a.dram_bytes:>16}", flush=True)
    return cases, runs


def part_goldens(args, have_peer):
    with open(GOLDENS) as f:
        committed = {(r["name"], r["array_rows"], r["array_cols"], r["ifmap_sram_kib"], r["filter_sram_kib"],
                      r["ofmap_sram_kib"]): r for r in csv.DictReader(f) if r["dataflow"] == "os"}
    cases = [(l, c) for l, c in scalesim_goldens.all_cases() if c["dataflow"] == "os"]
    groups: dict[tuple, list] = {}
    for l, c in cases:
        groups.setdefault(tuple(c[k] for k in scalesim_goldens.CONFIG_FIELDS), []).append(l)
    rows, scalesim_wall, accelsim_wall = [], 0.0, 0.0
    print(f"\n{'layer':>20} {'array':>6} {'SRAM KiB':>9} {'SCALE-Sim DRAM B':>17} {'= golden':>8} "
          f"{'accelsim DRAM B':>16} {'<=':>3} {'compulsory B':>13}  accelsim mapping")
    for key, layers in sorted(groups.items()):
        c = dict(zip(scalesim_goldens.CONFIG_FIELDS, key))
        live = [None] * len(layers)
        if have_peer:
            name = "os_{array_rows}x{array_cols}_{ifmap_sram_kib}_{filter_sram_kib}_{ofmap_sram_kib}".format(**c)
            live, meta = scalesim_run.run(args.scalesim_python, os.path.join(args.work, name), name,
                                          [dict(l, name=f"L{j}_{l['name']}") for j, l in enumerate(layers)],
                                          c["array_rows"], c["array_cols"], "os", c["ifmap_sram_kib"],
                                          c["filter_sram_kib"], c["ofmap_sram_kib"])
            scalesim_wall += meta["wall_s"]
        arch = accelsim_arch(c["array_rows"], c["array_cols"], "os", c["ifmap_sram_kib"], c["filter_sram_kib"],
                             c["ofmap_sram_kib"])
        for l, s in zip(layers, live):
            layer = Layer(l["name"], "conv2d", l["channels"], l["num_filters"], (l["ifmap_h"], l["ifmap_w"]),
                          kernel_hw=(l["filter_h"], l["filter_w"]), stride_hw=l["stride"])
            t0 = time.perf_counter()
            rep = simulate(Workload(layer.name, (layer,), (layer.in_channels,) + layer.in_hw), arch, "int8")
            accelsim_wall += time.perf_counter() - t0
            a = rep.layers[0].activity
            compulsory = compulsory_bytes(a.mapping.lowered, a.mapping.sizes)
            g = committed.get((l["name"],) + tuple(str(c[k]) for k in scalesim_goldens.CONFIG_FIELDS[:5]))
            sd = s and s["dram_ifmap_reads"] + s["dram_filter_reads"] + s["dram_ofmap_writes"]
            same = s is not None and g is not None and all(str(s[k]) == g[k] for k in scalesim_goldens.RESULT_FIELDS)
            ok = s is None or a.dram_bytes <= sd
            rows.append({"layer": l["name"], "array": f"{c['array_rows']}x{c['array_cols']}",
                         "sram_kib": [c["ifmap_sram_kib"], c["filter_sram_kib"], c["ofmap_sram_kib"]],
                         "scalesim_dram_bytes": sd, "scalesim_equals_golden": same if s else None,
                         "accelsim_dram_bytes": a.dram_bytes, "accelsim_not_above": ok if s else None,
                         "accelsim_compulsory_bytes": compulsory,
                         "accelsim_mapping": a.mapping_note})
            sram = "/".join(str(c[k]) for k in ("ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib"))
            print(f"{l['name'][:20]:>20} {rows[-1]['array']:>6} {sram:>9} {sd if s else '-':>17} "
                  f"{('yes' if same else 'NO') if s else '-':>8} {a.dram_bytes:>16} "
                  f"{('yes' if ok else 'NO') if s else '-':>3} "
                  f"{compulsory:>13}  "
                  f"{a.mapping_note}", flush=True)
    return rows, scalesim_wall, accelsim_wall


def markdown_tables(doc: dict) -> dict:
    """docs/simulator.md's tables from one result JSON of this script: {section: markdown}: 'runs' (per
    array and dataflow: cycles, DRAM, cold and warm walls, ratios, load), 'layers' (per layer: cycles and
    DRAM bytes of both), 'summary' (sums, checks, load at start and end; the os goldens when run)."""
    runs, cases, ch = doc["runs"], doc["cases"], doc["checks"]
    if not runs:
        return {"goldens": goldens_table(doc)}
    lines = ["| array | dataflow | compute cycles identical | SCALE-Sim DRAM B | accelsim DRAM B | accelsim / SCALE-Sim DRAM | "
             "SCALE-Sim cold s | accelsim cold s | cold ratio | SCALE-Sim warm s | accelsim warm s | warm ratio | "
             "load average (1 min) at SCALE-Sim's start / end |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in runs:
        mine = [c for c in cases if c["array"] == r["array"] and c["dataflow"] == r["dataflow"]]
        same = sum(bool(c["cycles_identical"]) for c in mine)
        sd = sum(c["scalesim_dram_bytes"] for c in mine)
        ad = sum(c["accelsim_dram_bytes"] for c in mine)
        la = r["load_average"]
        lines.append(f"| {r['array']} | {r['dataflow']} | {same} of {len(mine)} layers | {sd:,} | {ad:,} | {ad / sd:.3f} | "
                     f"{r['scalesim_cold_s']:.1f} | {r['accelsim_cold_s']:.2f} | "
                     f"{r['scalesim_cold_s'] / r['accelsim_cold_s']:.0f}x | {r['scalesim_warm_s']:.1f} | "
                     f"{r['accelsim_warm_s']:.4f} | {r['scalesim_warm_s'] / r['accelsim_warm_s']:,.0f}x | "
                     f"{la[0][0]:.2f} / {la[1][0]:.2f} |")
    out = {"runs": "\n".join(lines)}
    lines = ["| array | dataflow | layer | SCALE-Sim cycles (last index) | accelsim cycles - 1 | SCALE-Sim DRAM B | "
             "accelsim DRAM B | accelsim mapping |", "|---|---|---|---:|---:|---:|---:|---|"]
    for c in cases:
        lines.append(f"| {c['array']} | {c['dataflow']} | {c['layer']} | {c['scalesim_cycles']:,} | "
                     f"{c['accelsim_cycles_count'] - 1:,} | {c['scalesim_dram_bytes']:,} | {c['accelsim_dram_bytes']:,} | "
                     f"`{c['accelsim_mapping']}` |")
    out["layers"] = "\n".join(lines)
    cold_ss, cold_acc = sum(r["scalesim_cold_s"] for r in runs), sum(r["accelsim_cold_s"] for r in runs)
    warm_ss, warm_acc = sum(r["scalesim_warm_s"] for r in runs), sum(r["accelsim_warm_s"] for r in runs)
    target = doc.get("target_speedup", TARGET_SPEEDUP)
    la0, la1 = doc["load_average_start"], doc["load_average_end"]
    lines = ["| | |", "|---|---|",
             f"| compute cycles identical on every layer and run | {'yes' if ch['cycles_identical'] else 'NO'} |",
             f"| cold wall, sum over the {len(runs)} runs: SCALE-Sim / accelsim | {cold_ss:.1f} s / {cold_acc:.2f} s = "
             f"{ch['cold_speedup']:.0f}x (target >= {target:.0f}x: {'met' if ch['cold_speedup_met'] else 'NOT met'}) |",
             f"| warm wall, sum over the {len(runs)} runs: SCALE-Sim / accelsim | {warm_ss:.1f} s / {warm_acc:.3f} s = "
             f"{ch['warm_speedup']:,.0f}x |"]
    if "os_rows" in ch:
        lines.append(f"| os goldens re-run live: SCALE-Sim equals the committed goldens | "
                     f"{'yes' if ch['scalesim_equals_goldens'] else 'NO'} ({ch['os_rows']} rows) |")
        lines.append(f"| os goldens: accelsim DRAM <= SCALE-Sim on every row | "
                     f"{'yes' if ch['os_dram_not_above_scalesim'] else 'NO'} (strictly below on "
                     f"{ch['os_rows_accelsim_below']} of {ch['os_rows']}) |")
    else:
        lines.append("| os goldens re-run live | not in this run (`--skip-goldens`) |")
    lines.append(f"| load average (1, 5, 15 min) at start / at end, {doc['cores']} cores | "
                 f"{', '.join(f'{x:.2f}' for x in la0)} / {', '.join(f'{x:.2f}' for x in la1)} |")
    lines.append(f"| SCALE-Sim, run at (UTC) | {doc['scalesim']['scalesim']} (Python {doc['scalesim']['python']}, "
                 f"numpy {doc['scalesim']['numpy']}), {doc['date_utc']} |")
    out["summary"] = "\n".join(lines)
    if doc.get("os_goldens") and "os_rows" in ch:
        out["goldens"] = goldens_table(doc)
    return out


def goldens_table(doc: dict) -> str:
    """Part 2 of a run: every os golden configuration, SCALE-Sim re-run live against the committed
    golden and accelsim's DRAM bytes against SCALE-Sim's, with the checks, walls and load."""
    ch, rows = doc["checks"], doc["os_goldens"]
    lines = ["| layer | array | SRAM KiB (ifmap/filter/ofmap) | SCALE-Sim DRAM B (live) | = committed golden | "
             "accelsim DRAM B | accelsim <= SCALE-Sim | compulsory B | accelsim mapping |",
             "|---|---|---|---:|---|---:|---|---:|---|"]
    for r in rows:
        lines.append(f"| {r['layer']} | {r['array']} | {'/'.join(str(k) for k in r['sram_kib'])} | "
                     f"{r['scalesim_dram_bytes']:,} | {'yes' if r['scalesim_equals_golden'] else 'NO'} | "
                     f"{r['accelsim_dram_bytes']:,} | {'yes' if r['accelsim_not_above'] else 'NO'} | "
                     f"{r['accelsim_compulsory_bytes']:,} | `{r['accelsim_mapping']}` |")
    la0, la1 = doc["load_average_start"], doc["load_average_end"]
    wall = doc.get("os_goldens_wall_s", {})
    lines += ["", "| | |", "|---|---|",
              f"| SCALE-Sim re-run equals the committed goldens | {'yes' if ch['scalesim_equals_goldens'] else 'NO'} "
              f"({ch['os_rows']} rows) |",
              f"| accelsim DRAM <= SCALE-Sim on every row | {'yes' if ch['os_dram_not_above_scalesim'] else 'NO'} "
              f"(strictly below on {ch['os_rows_accelsim_below']} of {ch['os_rows']}) |",
              f"| wall: SCALE-Sim runs / accelsim `simulate` calls | {wall.get('scalesim', 0):.1f} s / "
              f"{wall.get('accelsim', 0):.2f} s |",
              f"| load average (1, 5, 15 min) at start / at end, {doc['cores']} cores | "
              f"{', '.join(f'{x:.2f}' for x in la0)} / {', '.join(f'{x:.2f}' for x in la1)} |",
              f"| SCALE-Sim, run at (UTC) | {doc['scalesim']['scalesim']} (Python {doc['scalesim']['python']}, "
              f"numpy {doc['scalesim']['numpy']}), {doc['date_utc']} |"]
    return "\n".join(lines)


def print_tables(path: str) -> None:
    doc = load_result(path, lambda d: d.get("checks") and (d.get("runs") or d.get("os_goldens")),
                      "not a run with SCALE-Sim's side (no checks)")
    rel = os.path.relpath(path, os.path.join(HERE, ".."))
    for name, md in markdown_tables(doc).items():
        print(f"<!-- generated: python benchmarks/vs_scalesim.py --tables-from {rel} ({name}) -->")
        print(md + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--arrays", default="32")
    ap.add_argument("--dataflows", default="os,ws,is")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--target-speedup", type=float, default=TARGET_SPEEDUP)
    ap.add_argument("--scalesim-python", default=os.environ.get("ACCELSIM_SCALESIM_PYTHON", scalesim_run.DEFAULT_PYTHON))
    ap.add_argument("--work", default=None, help="where SCALE-Sim's inputs and reports go (default: a fresh temp dir)")
    ap.add_argument("--skip-goldens", action="store_true", help="part 1 only")
    ap.add_argument("--goldens-only", action="store_true", help="part 2 only (the os goldens, re-run live)")
    ap.add_argument("--tables-from", metavar="PATH", help="print the doc's markdown tables from a result JSON; run nothing")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.tables_from:
        print_tables(args.tables_from)
        return 0
    if args.child:
        r, c, df = args.child.split(",")
        child_simulate(int(r), int(c), df)
        return 0
    args.work = args.work or tempfile.mkdtemp(prefix="vs-scalesim-")
    have_peer = os.path.exists(args.scalesim_python)
    versions = scalesim_run.versions(args.scalesim_python) if have_peer else None
    if not have_peer:
        print(f"SCALE-Sim interpreter {args.scalesim_python} not found: accelsim side only (see the docstring)")
    load_start, t_start = os.getloadavg(), time.time()
    print(f"SCALE-Sim {versions} at {args.scalesim_python}; load average {load_start} on {os.cpu_count()} cores")
    if args.skip_goldens and args.goldens_only:
        ap.error("--skip-goldens and --goldens-only exclude each other")
    cases, runs = ([], []) if args.goldens_only else part_dcgan(args, have_peer)
    golden_rows, g_ss_wall, g_acc_wall = ([], 0.0, 0.0) if args.skip_goldens else part_goldens(args, have_peer)
    load_end = os.getloadavg()

    print(f"\n{'array':>6} {'df':>3} {'SCALE-Sim cold s':>17} {'accelsim cold s':>16} {'ratio':>7} "
          f"{'SCALE-Sim warm s':>17} {'accelsim warm s':>16} {'ratio':>8}")
    for r in runs:
        sc, sw = r["scalesim_cold_s"], r["scalesim_warm_s"]
        print(f"{r['array']:>6} {r['dataflow']:>3} {sc or float('nan'):>17.1f} {r['accelsim_cold_s']:>16.2f} "
              f"{(sc or float('nan')) / r['accelsim_cold_s']:>6.0f}x {sw or float('nan'):>17.1f} "
              f"{r['accelsim_warm_s']:>16.4f} {(sw or float('nan')) / r['accelsim_warm_s']:>7.0f}x")
    checks = {}
    if have_peer and runs:
        cold_ss = sum(r["scalesim_cold_s"] for r in runs)
        cold_acc = sum(r["accelsim_cold_s"] for r in runs)
        warm_ss = sum(r["scalesim_warm_s"] for r in runs)
        warm_acc = sum(r["accelsim_warm_s"] for r in runs)
        checks = {"cycles_identical": all(c["cycles_identical"] for c in cases),
                  "cold_speedup": cold_ss / cold_acc, "warm_speedup": warm_ss / warm_acc,
                  "cold_speedup_met": cold_ss / cold_acc >= args.target_speedup}
    if have_peer and golden_rows:
        checks["os_dram_not_above_scalesim"] = all(r["accelsim_not_above"] for r in golden_rows)
        checks["scalesim_equals_goldens"] = all(r["scalesim_equals_golden"] for r in golden_rows)
        checks["os_rows"] = len(golden_rows)
        checks["os_rows_accelsim_below"] = sum(r["accelsim_dram_bytes"] < r["scalesim_dram_bytes"]
                                               for r in golden_rows)
    if have_peer and runs:
        print(f"\ncompute cycles identical on every DCGAN-64 layer and run: {checks['cycles_identical']}")
        print(f"DCGAN-64 wall, sum over runs: cold SCALE-Sim {cold_ss:.1f} s vs accelsim {cold_acc:.2f} s = "
              f"{checks['cold_speedup']:.0f}x (target >= {args.target_speedup:.0f}x: "
              f"{'met' if checks['cold_speedup_met'] else 'NOT met'}); warm {warm_ss:.1f} s vs {warm_acc:.3f} s = "
              f"{checks['warm_speedup']:.0f}x")
    if have_peer and golden_rows:
        print(f"os goldens: SCALE-Sim re-run equals the committed goldens on every row: "
              f"{checks['scalesim_equals_goldens']}; accelsim DRAM <= SCALE-Sim on every one of "
              f"{len(golden_rows)} rows: {checks['os_dram_not_above_scalesim']} (strictly below on "
              f"{checks['os_rows_accelsim_below']}); walls {g_ss_wall:.0f} s vs {g_acc_wall:.2f} s")
    print(f"load average {load_start[0]:.2f} at start, {load_end[0]:.2f} at end; {time.time() - t_start:.0f} s in all")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"scalesim": versions, "cases": cases, "runs": runs, "os_goldens": golden_rows,
                       "checks": checks, "os_goldens_wall_s": {"scalesim": g_ss_wall, "accelsim": g_acc_wall},
                       "load_average_start": load_start, "load_average_end": load_end,
                       "cores": os.cpu_count(), "target_speedup": args.target_speedup, "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime(t_start))},
                      f, indent=1)
    if not have_peer:
        return 0
    ok = checks.get("cycles_identical", True) and checks.get("cold_speedup_met", True) and \
        checks.get("os_dram_not_above_scalesim", True) and checks.get("scalesim_equals_goldens", True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
