"""accelsim vs SCALE-Sim 3.0.0 on the DCGAN-64 generator: compute cycles per layer (must be identical),
DRAM bytes side by side (accelsim must not exceed SCALE-Sim's os traffic), wall time.

SCALE-Sim is never installed by this script and never imported into accelsim's interpreter. It needs
numpy < 2.4, so give it its own virtual environment once:
    python3 -m venv peer-venv && peer-venv/bin/pip install scalesim==3.0.0 "numpy==2.3.5"
and pass ``--scalesim-python peer-venv/bin/python`` (default: $ACCELSIM_SCALESIM_PYTHON, then
/work/peer-venv/bin/python). Without it the script prints accelsim's side only.

The layers are SCALE-Sim's view of DCGAN-64 (it has no padding and no transposed convolution):
G1 (z -> 512x4x4) as a 1x1 conv with 8192 filters, G2-G5 as stride-1 convs over the zero-inserted,
padded inputs (H_in = 2H + 3) - identical GEMMs to accelsim's ``zero_insert`` lowering with the
dilated input in DRAM. Same array, dataflow and SRAM sizes (64 KiB ifmap/filter/ofmap, double
buffered, 1-byte words), SCALE-Sim in CALC bandwidth mode with traces off. SCALE-Sim prints the
zero-based index of the last compute cycle; ``accelsim_cycles`` uses the same convention (count - 1).
SCALE-Sim runs are slow (minutes per case); ``--cache-dir`` keeps their reports and walls for re-use.

usage: python benchmarks/vs_scalesim.py [--json PATH] [--arrays 8,32] [--dataflows os,ws,is]
                                         [--os-buffer-kib 16,256] [--scalesim-python PATH] [--cache-dir DIR]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from accelsim.api import simulate  # noqa: E402
from accelsim.arch import arch_from_dict  # noqa: E402
from accelsim.mapping import lower  # noqa: E402
from accelsim.workload import Layer, Workload, get_model  # noqa: E402
from accelsim.mapping.lowering import zero_inserted_hw  # noqa: E402

BUFFER_KIB = 64
CFG = """[general]
run_name = {name}

[architecture_presets]
ArrayHeight:    {rows}
ArrayWidth:     {cols}
IfmapSramSzkB:   {kib}
FilterSramSzkB:  {kib}
OfmapSramSzkB:   {kib}
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : {dataflow}
MemoryBanks:   1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 100
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 100
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""
LAYOUT_HEADER = ("Layer name, IFMAP Height Intraline Factor, IFMAP Width Intraline Factor, Filter Height Intraline "
                 "Factor, Filter Width Intraline Factor, Channel Intraline Factor, Num Filter Intraline Factor, IFMAP "
                 "Height Intraline Order, IFMAP Width Intraline Order, Channel Intraline Order, IFMAP Height Interline "
                 "Order, IFMAP Width Interline Order, Channel Interline Order, Num Filter Intraline Order, Channel "
                 "Intraline Order, Filter Height Intraline Order, Filter Width Intraline Order, Num Filter Interline "
                 "Order, Channel Interline Order, Filter Height Interline Order, Filter Width Interline Order,\n")
DRIVER = ("import sys, time\nfrom scalesim.scale_sim import scalesim\nt0 = time.time()\n"
          "s = scalesim(save_disk_space=True, verbose=False, config=sys.argv[1], topology=sys.argv[2], "
          "layout=sys.argv[3], input_type_gemm=False)\ns.run_scale(top_path=sys.argv[4])\n"
          "print('WALL', time.time() - t0)\n")


def scalesim_layers() -> list[Layer]:
    """DCGAN-64 as SCALE-Sim needs it (see module docstring)."""
    d = get_model("dcgan-64").layers
    layers = [Layer("G1", "conv2d", 100, 8192, (1, 1))]
    for l in d[1:]:
        h, w = zero_inserted_hw(l)
        layers.append(Layer(l.name, "conv2d", l.in_channels, l.out_channels, (h, w), kernel_hw=l.kernel_hw))
        assert lower(layers[-1]).gemms == lower(l, "zero_insert", zeros_in_dram=True).gemms
    return layers


def write_topology(layers, path):
    with open(path, "w") as f:
        f.write("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n")
        for l in layers:
            f.write(f"{l.name},{l.in_hw[0]},{l.in_hw[1]},{l.kernel_hw[0]},{l.kernel_hw[1]},"
                    f"{l.in_channels},{l.out_channels},1,\n")


def run_scalesim(python, rows, cols, dataflow, topo, layout, cache_dir, kib=BUFFER_KIB):
    name = f"dcgan_{rows}x{cols}_{dataflow}" + ("" if kib == BUFFER_KIB else f"_{kib}kib")
    out = os.path.join(cache_dir, name)
    meta = os.path.join(out, "accelsim_wall.json")
    report = os.path.join(out, name, "COMPUTE_REPORT.csv")
    if not (os.path.exists(meta) and os.path.exists(report)):
        os.makedirs(out, exist_ok=True)
        cfg = os.path.join(out, "scale.cfg")
        with open(cfg, "w") as f:
            f.write(CFG.format(name=name, rows=rows, cols=cols, kib=kib, dataflow=dataflow))
        load0, r0, t0 = os.getloadavg(), resource.getrusage(resource.RUSAGE_CHILDREN), time.time()
        res = subprocess.run([python, "-c", DRIVER, cfg, topo, layout, out], capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"SCALE-Sim failed for {name}:\n{res.stderr[-2000:]}")
        wall, r1 = time.time() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(meta, "w") as f:
            json.dump({"wall_s": wall, "cpu_s": r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime,
                       "load_average_start": load0, "load_average_end": os.getloadavg()}, f)
    with open(meta) as f:
        wall = json.load(f)["wall_s"]

    def table(fname):
        with open(os.path.join(out, name, fname)) as f:
            return [[c.strip() for c in r] for r in csv.reader(f)][1:]
    cycles = [int(r[2]) for r in table("COMPUTE_REPORT.csv")]
    dram = [int(float(r[12])) + int(float(r[15])) + int(float(r[18])) for r in table("DETAILED_ACCESS_REPORT.csv")]
    return cycles, dram, wall


def accelsim_arch(rows, cols, dataflow, kib=BUFFER_KIB):
    buf = {"size_kib": kib, "word_bits": 8 * max(rows, cols), "banks": 1, "double_buffered": True}
    return arch_from_dict({"name": f"scalesim-{rows}x{cols}-{dataflow}", "clock_mhz": 1000, "tech_node_nm": 45,
                           "array": {"rows": rows, "cols": cols, "dataflow": dataflow},
                           "buffers": {"ifmap": buf, "weight": buf, "ofmap": buf}, "dram": "ddr4-2400"})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--arrays", default="8,32")
    ap.add_argument("--dataflows", default="os,ws,is")
    ap.add_argument("--scalesim-python", default=os.environ.get("ACCELSIM_SCALESIM_PYTHON", "/work/peer-venv/bin/python"))
    ap.add_argument("--os-buffer-kib", default="",
                    help="extra SRAM sizes (KiB per buffer) for os DRAM-traffic cases, e.g. 16,256")
    ap.add_argument("--cache-dir", default=os.path.join(tempfile.gettempdir(), "accelsim-vs-scalesim"))
    args = ap.parse_args()
    arrays = [int(a) for a in args.arrays.split(",")]
    dataflows = args.dataflows.split(",")
    extra_kib = [int(k) for k in args.os_buffer_kib.split(",") if k]
    layers = scalesim_layers()
    workload = Workload("dcgan-64-scalesim", tuple(layers), (100, 1, 1), "SCALE-Sim view of DCGAN-64")
    have_peer = os.path.exists(args.scalesim_python)
    if not have_peer:
        print(f"SCALE-Sim interpreter {args.scalesim_python} not found: accelsim side only (see the docstring)")
    tmp = tempfile.mkdtemp(prefix="vs-scalesim-")
    topo, layout = os.path.join(tmp, "topo.csv"), os.path.join(tmp, "layout.csv")
    write_topology(layers, topo)
    with open(layout, "w") as f:
        f.write(LAYOUT_HEADER)

    cases, runs, scalesim_wall, accelsim_wall = [], [], 0.0, 0.0
    load_start = os.getloadavg()
    print(f"{'array':>6} {'df':>3} {'KiB':>4} {'layer':>5} {'SCALE-Sim cyc':>14} {'accelsim cyc':>13} {'eq':>3} "
          f"{'SCALE-Sim DRAM B':>17} {'accelsim DRAM B':>16}")
    all_equal = True
    for n, df, kib in [(n, df, BUFFER_KIB) for n in arrays for df in dataflows] + \
            [(n, "os", k) for n in arrays for k in extra_kib]:
            t0 = time.perf_counter()
            rep = simulate(workload, accelsim_arch(n, n, df, kib), "int8", zeros_in_dram=True)
            mine_wall = time.perf_counter() - t0
            accelsim_wall += mine_wall
            if have_peer:
                ss_cycles, ss_dram, wall = run_scalesim(args.scalesim_python, n, n, df, topo, layout,
                                                       args.cache_dir, kib)
                scalesim_wall += wall
            else:
                ss_cycles, ss_dram, wall = [None] * len(layers), [None] * len(layers), None
            runs.append({"array": f"{n}x{n}", "dataflow": df, "buffer_kib": kib, "scalesim_wall_s": wall,
                         "accelsim_wall_s": mine_wall, "ratio": wall / mine_wall if wall else None})
            for l, sc, sd in zip(rep.layers, ss_cycles, ss_dram):
                mine = l.activity.compute_cycles - 1
                eq = sc is not None and sc == mine
                all_equal &= eq or sc is None
                cases.append({"layer": l.name, "dataflow": df, "array": f"{n}x{n}", "buffer_kib": kib, "scalesim_cycles": sc,
                              "accelsim_cycles": mine, "accelsim_compute_cycles_count": l.activity.compute_cycles,
                              "accelsim_total_cycles": l.activity.latency_cycles,
                              "scalesim_dram_bytes": sd, "accelsim_dram_bytes": l.activity.dram_bytes})
                print(f"{f'{n}x{n}':>6} {df:>3} {kib:>4} {l.name:>5} {sc if sc is not None else '-':>14} {mine:>13} "
                      f"{('yes' if eq else 'NO') if sc is not None else '-':>3} "
                      f"{sd if sd is not None else '-':>17} {l.activity.dram_bytes:>16}")
    os_ok = all(c["accelsim_dram_bytes"] <= c["scalesim_dram_bytes"] for c in cases
                if c["dataflow"] == "os" and c["scalesim_dram_bytes"] is not None)
    g3 = replace(get_model("dcgan-64").layers[2], bias_folded=False, norm_params=0)
    g3_wl = Workload("g3", (g3,), (256, 8, 8))
    big = accelsim_arch(32, 32, "os")
    big = replace(big, buffers=tuple(replace(b, size_kib=2048) for b in big.buffers))
    g3_dram = {z: simulate(g3_wl, big, "int8", lowering="zero_insert", zeros_in_dram=z).dram_bytes
               for z in (True, False)}
    print(f"\nG3 (256x8x8 -> 128x16x16, int8, no bias) with 2 MiB per buffer: {g3_dram[True]:,} B with the "
          f"zero-inserted input in DRAM, {g3_dram[False]:,} B with zeros inserted on chip")
    print(f"\n{'array':>6} {'df':>3} {'KiB':>5} {'SCALE-Sim wall s':>17} {'accelsim simulate s':>20} {'ratio':>8}")
    for r in runs:
        print(f"{r['array']:>6} {r['dataflow']:>3} {r['buffer_kib']:>5} "
              f"{r['scalesim_wall_s'] if r['scalesim_wall_s'] is not None else float('nan'):>17.1f} "
              f"{r['accelsim_wall_s']:>20.4f} {r['ratio'] if r['ratio'] else float('nan'):>7.0f}x")
    print(f"compute cycles identical on every case: {all_equal if have_peer else 'n/a'}")
    print(f"accelsim DRAM bytes <= SCALE-Sim os DRAM bytes on every os case: {os_ok if have_peer else 'n/a'}")
    print(f"wall: SCALE-Sim {scalesim_wall:.1f} s (sum of its runs), accelsim {accelsim_wall:.3f} s"
          + (f", ratio {scalesim_wall / accelsim_wall:.0f}x" if have_peer and accelsim_wall else "")
          + f" (target >= 100x); load average {load_start[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end, on "
            f"{os.cpu_count()} cores (cached SCALE-Sim walls keep the load of the run that made them)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cases": cases, "runs": runs, "scalesim_wall_s": scalesim_wall if have_peer else None,
                       "accelsim_wall_s": accelsim_wall, "g3_dram_bytes_2mib": {"zeros_in_dram": g3_dram[True],
                                                                                 "zeros_on_chip": g3_dram[False]},
                       "cycles_identical": all_equal if have_peer else None,
                       "os_dram_not_above_scalesim": os_ok if have_peer else None,
                       "load_average_start": load_start, "load_average_end": os.getloadavg()}, f, indent=1)
    return 0 if (all_equal and os_ok) or not have_peer else 1


if __name__ == "__main__":
    sys.exit(main())
