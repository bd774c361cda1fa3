"""Run SCALE-Sim 3.0.0 on conv layers, in its own interpreter, and read its reports.

Shared by benchmarks/vs_scalesim.py and benchmarks/peers/scalesim_goldens.py. SCALE-Sim is never
imported here: ``run`` writes a config, a topology and a layout CSV, starts SCALE-Sim's Python API
(traces off: ``save_disk_space=True``) in the given interpreter and parses COMPUTE_REPORT.csv and
DETAILED_ACCESS_REPORT.csv. Set up that interpreter once (numpy 2.4 breaks SCALE-Sim 3.0.0):

    python3 -m venv /work/bench-venvs/scalesim
    /work/bench-venvs/scalesim/bin/pip install scalesim==3.0.0 numpy==2.3.5

SCALE-Sim's conv has no padding, no dilation, one stride for both axes, and sizes its output
ceil((H - R + s) / s); a layer only means the same as torch's when (H - R) % s == 0 on both axes.
Word size is 1 byte (``single_layer_sim.py``: ``word_size = 1``), double-buffered SRAMs with half of
each buffer active (``active_buf_frac = 0.5``); CALC bandwidth mode (no DRAM stalls).
"""
from __future__ import annotations

import csv
import json
import os
import resource
import subprocess
import time

DEFAULT_PYTHON = "/work/bench-venvs/scalesim/bin/python"

CFG = """[general]
run_name = {name}

[architecture_presets]
ArrayHeight:    {rows}
ArrayWidth:     {cols}
IfmapSramSzkB:   {ifmap_kib}
FilterSramSzkB:  {filter_kib}
OfmapSramSzkB:   {ofmap_kib}
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
TOPOLOGY_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
DRIVER = ("import sys, time\nfrom scalesim.scale_sim import scalesim\nt0 = time.time()\n"
          "s = scalesim(save_disk_space=True, verbose=False, config=sys.argv[1], topology=sys.argv[2], "
          "layout=sys.argv[3], input_type_gemm=False)\ns.run_scale(top_path=sys.argv[4])\n"
          "print('WALL', time.time() - t0)\n")
VERSION_PROBE = ("import importlib.metadata as m, sys\n"
                 "print(m.version('scalesim'), m.version('numpy'), sys.version.split()[0])\n")

# DETAILED_ACCESS_REPORT.csv columns (after LayerID) -> our names
ACCESS_COLUMNS = {3: "sram_ifmap_reads", 6: "sram_filter_reads", 9: "sram_ofmap_writes",
                  12: "dram_ifmap_reads", 15: "dram_filter_reads", 18: "dram_ofmap_writes"}


def versions(python: str) -> dict:
    """SCALE-Sim, numpy and Python versions of the interpreter ``python``."""
    out = subprocess.run([python, "-c", VERSION_PROBE], capture_output=True, text=True, check=True).stdout.split()
    return {"scalesim": out[0], "numpy": out[1], "python": out[2]}


def write_topology(path: str, layers) -> None:
    """layers: dicts with name, ifmap_h, ifmap_w, filter_h, filter_w, channels, num_filters, stride."""
    with open(path, "w") as f:
        f.write(TOPOLOGY_HEADER)
        for l in layers:
            f.write(f"{l['name']},{l['ifmap_h']},{l['ifmap_w']},{l['filter_h']},{l['filter_w']},"
                    f"{l['channels']},{l['num_filters']},{l['stride']},\n")


def run(python: str, out_dir: str, name: str, layers, rows: int, cols: int, dataflow: str,
        ifmap_kib: int, filter_kib: int, ofmap_kib: int) -> tuple[list[dict], dict]:
    """Run SCALE-Sim on ``layers`` with one array/SRAM/dataflow config. Returns (one dict of report
    numbers per layer, {"wall_s": the subprocess (fresh interpreter), "inner_wall_s": SCALE-Sim's own
    API calls (imports excluded), "cpu_s", "load_average_start", "load_average_end"})."""
    os.makedirs(out_dir, exist_ok=True)
    cfg, topo, layout = (os.path.join(out_dir, f) for f in ("scale.cfg", "topology.csv", "layout.csv"))
    with open(cfg, "w") as f:
        f.write(CFG.format(name=name, rows=rows, cols=cols, dataflow=dataflow, ifmap_kib=ifmap_kib,
                           filter_kib=filter_kib, ofmap_kib=ofmap_kib))
    write_topology(topo, layers)
    with open(layout, "w") as f:
        f.write(LAYOUT_HEADER)
    load0, r0, t0 = os.getloadavg(), resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    res = subprocess.run([python, "-c", DRIVER, cfg, topo, layout, out_dir], capture_output=True, text=True)
    wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        raise RuntimeError(f"SCALE-Sim failed for {name}:\n{res.stderr[-2000:]}")
    inner = [float(line.split()[1]) for line in res.stdout.splitlines() if line.startswith("WALL ")]
    meta = {"wall_s": wall, "inner_wall_s": inner[-1] if inner else None,
            "cpu_s": r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime,
            "load_average_start": load0, "load_average_end": os.getloadavg()}
    with open(os.path.join(out_dir, "accelsim_wall.json"), "w") as f:
        json.dump(meta, f)
    return read_reports(os.path.join(out_dir, name)), meta


def read_reports(report_dir: str) -> list[dict]:
    def table(fname):
        with open(os.path.join(report_dir, fname)) as f:
            return [[c.strip() for c in r] for r in csv.reader(f)][1:]
    rows = []
    for comp, acc in zip(table("COMPUTE_REPORT.csv"), table("DETAILED_ACCESS_REPORT.csv")):
        r = {"total_cycles_incl_prefetch": int(comp[1]), "compute_cycles": int(comp[2]), "stall_cycles": int(comp[3])}
        r.update({k: int(float(acc[i])) for i, k in ACCESS_COLUMNS.items()})
        rows.append(r)
    return rows
