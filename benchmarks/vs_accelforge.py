"""accelsim vs AccelForge (the Timeloop/Accelergy successor) on one shared architecture, layer by layer:
energy by component, DRAM bytes, cycles, the mapping each found, and the wall time of both.

AccelForge is never installed by this script and never imported into accelsim's interpreter: it runs
as a subprocess (benchmarks/peers/accelforge_worker.py) in its own venv, made by
    bash benchmarks/peers/setup_accelforge.sh        (-> /work/bench-venvs/accelforge)
Pass ``--accelforge-python`` (default: $ACCELSIM_ACCELFORGE_PYTHON, then
/work/bench-venvs/accelforge/bin/python). Without it the script prints accelsim's side only.

The architecture is the preset ``ws16-45nm`` (accelsim/arch/presets/ws16-45nm.yaml): DDR4-2400 ->
64 KiB ifmap / weight / ofmap SRAM (double buffered: 32 KiB usable each) -> 16 x 16 weight-stationary
array -> int8 MAC. The per-action energies AccelForge gets are accelsim's own energy table for that
preset (``accelsim.energy.energy_table``), each written into the JSON with its source: MAC = int8
multiply + int32 add (Horowitz, 45 nm), SRAM read/write pJ/bit and leakage (CACTI 7, 45 nm), DRAM
read/write pJ/bit, background and refresh power (ddr4-2400 preset, Micron IDD values); AccelForge's
DRAM bandwidth is the peak over accelsim's refresh stretch (the channel is blocked t_RFC of every t_REFI). What AccelForge cannot
express is left out of its side and reported apart: DRAM activates (it has no rows or banks).

Workload: every conv layer of DCGAN-64 and the distinct conv layers of CycleGAN (ResNet-9, 256 x 256):
c7s1-64, d128, d256, one residual conv (the 18 residual convs have one shape; totals count it 18
times), u128, u64, c7s1-3 (``--cyclegan none|distinct``). Each layer is one AccelForge Einsum, mapped
on its own (no fusion: every layer's tensors go through DRAM, as in accelsim). No padding or offset
in a projection (AccelForge drops the DRAM traffic of a tensor whose projection has a constant offset):
a conv reads its input padded, a transposed conv is the scatter form ``O[f, s*h + r, s*w + u] +=
I[c, h, w] * W[c, f, r, u]`` over the uncropped output footprint. accelsim runs the same
computation: int8 (w8a8), ``lowering="scatter"`` for transposed convs (input pixels x Cin x Cout*k*k,
the GEMM of that Einsum), conv2d direct, ``objective="energy"``. Its default lowering (phase) is run
too and shown in the totals.

AccelForge's mapper (FFM) is capped (``--time-limit`` per layer, ``explore_loop_orders=False``,
``max_fused_loops=1``); the caps are printed and kept in the JSON.

Wall times, measured in this run, cold against cold: accelsim = a fresh interpreter that imports
accelsim and simulates the same layers (subprocess wall), and its first in-process ``simulate`` call;
AccelForge = the worker subprocess (interpreter, import, every layer's mapping) and the mapper's own
time per layer. Load average at start and end.

``--tables-from PATH`` runs nothing: it prints the markdown tables of docs/vs_accelforge.md (per-layer
tables of both models, the two totals, the mappings, the wall times) from a result JSON of this script,
so that the doc's numbers are generated, never typed (tests/test_vs_accelforge.py checks that the doc
holds the tables of the newest committed JSON).

usage: python benchmarks/vs_accelforge.py [--json PATH] [--cyclegan distinct|none] [--time-limit S]
                                          [--layers G1,G2] [--accelforge-python PATH]
       python benchmarks/vs_accelforge.py --tables-from benchmarks/results/vs_accelforge-DATE.json
       python benchmarks/vs_accelforge.py --fusion-stack G4,G5 [--time-limit S] [--json PATH]
(--fusion-stack: the layers as one multi-Einsum AccelForge workload, mapped with every tensor through DRAM,
with intermediates allowed on chip and with them forced on chip, against accelsim fusion="none" / "auto";
docs/vs_accelforge.md.)
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))

from result_files import load_result  # noqa: E402

from accelsim.api import simulate  # noqa: E402
from accelsim.arch import load_arch  # noqa: E402
from accelsim.energy import energy_table  # noqa: E402
from accelsim.energy.tables import buffer_energy  # noqa: E402
from accelsim.mapping import lower  # noqa: E402
from accelsim.workload import Workload, get_format, get_model  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "peers", "accelforge_worker.py")
ARCH = "ws16-45nm"
FMT = "int8"
DEFAULT_AF_PYTHON = os.environ.get("ACCELSIM_ACCELFORGE_PYTHON", "/work/bench-venvs/accelforge/bin/python")
CYCLEGAN_DISTINCT = ("c7s1-64", "d128", "d256", "R1a", "u128", "u64", "c7s1-3")
RESIDUAL_CONVS = 18      # R1a..R9b share one shape
TOL = 0.10               # differences above this are flagged and must be explained (docs/vs_accelforge.md)


# ---- the shared architecture -------------------------------------------------------------------
def shared_arch(arch, fmt) -> dict:
    """The arch as the AccelForge worker takes it, from accelsim's own energy table (same pJ per action
    in both tools), each number with its source."""
    t = energy_table(arch, fmt.mac_ops)
    src = t.sources
    mac_pj = sum(t.pj(op) for op in fmt.mac_ops)
    d = arch.dram
    # refresh blocks the channel t_rfc of every t_refi: AccelForge gets the bandwidth left over
    dram_bytes_per_s = d.peak_bytes_per_ns * 1e9 / d.refresh_stretch
    out = {"name": arch.name, "rows": arch.array.rows, "cols": arch.array.cols, "clock_hz": arch.clock_hz,
           "mac_pj": mac_pj,
           "dram": {"read_pj": 8 * t.pj(("dram_read_bit",)), "write_pj": 8 * t.pj(("dram_write_bit",)),
                    "bits_per_action": 8, "throughput_actions_per_s": dram_bytes_per_s,
                    "leak_power_w": d.channels * (d.background_power_mw + d.refresh_power_mw) * 1e-3},
           "buffers": {}, "sources": {}}
    for role in ("ifmap", "weight", "ofmap"):
        buf = arch.buffer(role)
        _, _, leak_mw = buffer_energy(buf, arch.tech_node_nm)
        out["buffers"][role] = {
            "read_pj": 8 * t.pj(("sram_read_bit", role)), "write_pj": 8 * t.pj(("sram_write_bit", role)),
            "bits_per_action": 8, "throughput_actions_per_s": "inf", "size_bits": buf.usable_bits,
            "leak_power_w": leak_mw * 1e-3,
            # accelsim keeps ws partial sums in the ofmap buffer at accumulator width
            "bits_per_value": fmt.acc_bits if role == "ofmap" else (fmt.weight_bits if role == "weight" else fmt.act_bits)}
        out["sources"][f"{role} buffer read/write pJ per bit, leakage"] = src[("sram_read_bit", role)]
    out["sources"]["MAC pJ (" + " + ".join(f"{o} {k}{b}" for o, k, b in fmt.mac_ops) + ")"] = src[fmt.mac_ops[0]]
    out["sources"]["DRAM read/write pJ per bit, background + refresh power, peak bandwidth / refresh stretch"] = \
        src[("dram_read_bit",)]
    out["sources"]["buffer size"] = "usable half of each double-buffered buffer (accelsim's tile capacity)"
    return out


# ---- layers as Einsums ---------------------------------------------------------------------------
def einsum(layer, fmt) -> dict:
    """One layer as an AccelForge Einsum without offsets, plus the sizes of its tensors there."""
    if layer.groups != 1 or layer.dilation_hw != (1, 1) or layer.batch != 1:
        raise ValueError(f"{layer.name}: only groups=1, dilation 1, batch 1 are written as Einsums here")
    (kh, kw), (sh, sw) = layer.kernel_hw, layer.stride_hw
    w = {"name": "Wt", "projection": {"C": "c", "F": "f", "R": "r", "S": "u"}}
    if layer.op == "conv2d":
        ho, wo = layer.out_hw
        space = {"c": layer.in_channels, "f": layer.out_channels, "p": ho, "q": wo, "r": kh, "u": kw}
        i = {"name": "I", "projection": {"C": "c", "H": f"{sh}*p + r", "W": f"{sw}*q + u"}}
        o = {"name": "O", "projection": {"F": "f", "P": "p", "Q": "q"}, "output": True}
        in_elems = layer.in_channels * (sh * (ho - 1) + kh) * (sw * (wo - 1) + kw)     # padded input
        out_elems = layer.out_channels * ho * wo
    elif layer.op == "conv_transpose2d":
        hi, wi = layer.in_hw
        space = {"c": layer.in_channels, "f": layer.out_channels, "h": hi, "w": wi, "r": kh, "u": kw}
        i = {"name": "I", "projection": {"C": "c", "H": "h", "W": "w"}}
        o = {"name": "O", "projection": {"F": "f", "P": f"{sh}*h + r", "Q": f"{sw}*w + u"}, "output": True}
        in_elems = layer.in_channels * hi * wi
        out_elems = layer.out_channels * (sh * (hi - 1) + kh) * (sw * (wi - 1) + kw)   # uncropped footprint
    else:
        raise ValueError(f"{layer.name}: {layer.op} is not a conv")
    return {"name": layer.name.replace("-", "_"), "tensors": [i, w, o], "space": space,
            "bits_per_value": {"All": fmt.act_bits},
            "tensor_elems": {"input": in_elems, "weight": layer.weight_elems, "output": out_elems},
            "macs": math.prod(space.values())}


def layer_sets(cyclegan: str):
    """(model, layers to compare, weight of each layer in the model total)."""
    sets = [("dcgan-64", [l for l in get_model("dcgan-64").layers if l.is_conv], {})]
    if cyclegan == "distinct":
        cg = get_model("cyclegan-resnet9").layers
        by = {l.name: l for l in cg}
        sets.append(("cyclegan-resnet9", [by[n] for n in CYCLEGAN_DISTINCT], {"R1a": RESIDUAL_CONVS}))
    return sets


# ---- accelsim side --------------------------------------------------------------------------------
def accelsim_layers(model: str, layers, arch, lowering: str) -> tuple[dict, float]:
    wl = Workload(f"{model}-convs", tuple(layers), (1, 1, 1), "conv layers compared with AccelForge")
    t0 = time.perf_counter()
    rep = simulate(wl, arch, FMT, lowering=lowering, objective="energy")
    wall = time.perf_counter() - t0
    out = {}
    for r in rep.layers:
        a = r.activity
        e = r.energy_pj
        out[r.name] = {
            "lowering": a.method, "macs": a.macs_total, "dram_read_bytes": sum(a.dram_read_bytes.values()),
            "dram_write_bytes": sum(a.dram_write_bytes.values()), "dram_bytes": a.dram_bytes,
            "dram_by_operand": {"read": dict(a.dram_read_bytes), "write": dict(a.dram_write_bytes)},
            "buffer_bits": dict(a.buffer_access_bits), "cycles": a.latency_cycles, "compute_cycles": a.compute_cycles,
            "energy_pj": {"dram": e["dram"], "dram_act": e["dram_act"], "dram_bg": e["dram_bg"] + e.get("dram_ref", 0.0),
                          "buffer": e["buffer"], "leakage": e["leakage"], "mac": e["mac"]},
            "energy_total_pj": r.total_energy_pj, "mapping": a.mapping_note}
    return out, wall


def accelsim_cold_subprocess(sets, lowering: str) -> float:
    """Wall of a fresh interpreter importing accelsim and simulating every compared layer (cold)."""
    names = {m: [l.name for l in ls] for m, ls, _ in sets}
    code = (f"import sys; sys.path.insert(0, {os.path.join(HERE, '..')!r})\n"
            "from accelsim.api import simulate\nfrom accelsim.workload import Workload, get_model\n"
            f"for m, names in {names!r}.items():\n"
            "    by = {l.name: l for l in get_model(m).layers}\n"
            "    wl = Workload(m, tuple(by[n] for n in names), (1, 1, 1))\n"
            f"    simulate(wl, {ARCH!r}, {FMT!r}, lowering={lowering!r}, objective='energy')\n")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


# ---- AccelForge side ------------------------------------------------------------------------------
def run_accelforge(python: str, arch: dict, einsums: list, caps: dict) -> dict:
    with tempfile.TemporaryDirectory(prefix="vs-accelforge-") as td:
        job, out = os.path.join(td, "job.json"), os.path.join(td, "out.json")
        with open(job, "w") as f:
            json.dump({"arch": arch, "layers": einsums, "mapper": caps}, f)
        t0 = time.perf_counter()
        res = subprocess.run([python, WORKER, job, out], stdout=subprocess.PIPE, stderr=None, text=True)
        wall = time.perf_counter() - t0
        if res.returncode != 0:
            raise RuntimeError(f"AccelForge worker failed (exit {res.returncode})")
        with open(out) as f:
            data = json.load(f)
    data["subprocess_wall_s"] = wall
    return data


def af_summary(r: dict, arch: dict) -> dict:
    """A worker layer result in accelsim's terms (bytes, bits, cycles, components)."""
    act, dyn, leak = r["actions"], r["dynamic_pj_by_component"], r["leak_pj_by_component"]
    bpa = 8
    buf_names = {"ifmap": "InputBuffer", "weight": "WeightBuffer", "ofmap": "OutputBuffer"}
    return {
        "macs": act.get("MAC.compute", 0.0),
        "dram_read_bytes": act.get("MainMemory.read", 0.0) * bpa / 8,
        "dram_write_bytes": act.get("MainMemory.write", 0.0) * bpa / 8,
        "dram_bytes": (act.get("MainMemory.read", 0.0) + act.get("MainMemory.write", 0.0)) * bpa / 8,
        "dram_by_tensor": {k.split(".", 1)[1]: v * bpa / 8 for k, v in act.items()
                           if k.startswith("MainMemory.") and k.count(".") == 2},
        "buffer_bits": {f"{role}.{rw}": act.get(f"{n}.{rw}", 0.0) * bpa
                        for role, n in buf_names.items() for rw in ("read", "write")},
        "cycles": r["latency_s"] * arch["clock_hz"],
        "compute_cycles": r["latency_s_by_component"].get("MAC", 0.0) * arch["clock_hz"],
        "energy_pj": {"dram": dyn.get("MainMemory", 0.0), "dram_act": None, "dram_bg": leak.get("MainMemory", 0.0),
                      "buffer": sum(dyn.get(n, 0.0) for n in buf_names.values()),
                      "leakage": sum(leak.get(n, 0.0) for n in buf_names.values()),
                      "mac": dyn.get("MAC", 0.0)},
        "energy_total_pj": r["energy_pj"], "mapping": r["mapping"], "wall_s": r["wall_s"]}


# ---- comparison -------------------------------------------------------------------------------------
METRICS = (("energy uJ", lambda d: d["energy_total_pj"] / 1e6), ("DRAM uJ", lambda d: d["energy_pj"]["dram"] / 1e6),
           ("DRAM bg+ref uJ", lambda d: d["energy_pj"]["dram_bg"] / 1e6),
           ("buffer uJ", lambda d: d["energy_pj"]["buffer"] / 1e6), ("MAC uJ", lambda d: d["energy_pj"]["mac"] / 1e6),
           ("DRAM bytes", lambda d: d["dram_bytes"]), ("cycles", lambda d: d["cycles"]),
           ("compute cyc", lambda d: d["compute_cycles"]), ("MACs", lambda d: d["macs"]))
# accelsim only (AccelForge has no DRAM rows): activate/precharge energy, shown apart
ACT = ("DRAM act uJ", lambda d: d["energy_pj"]["dram_act"] / 1e6)


def rel(a: float, b: float) -> float:
    """(a - b) / b, 0 when both are 0."""
    return 0.0 if a == b else (a - b) / b if b else math.inf


def checks(rows: list, shared: dict) -> list:
    """The claims docs/vs_accelforge.md makes about every compared layer, as checks on one run's rows:
    (name, passed, detail). Run by main (exit 1 on a failure) and by tests/test_vs_accelforge.py on the
    committed JSON."""
    out = []
    R, C = shared["rows"], shared["cols"]
    for r in rows:
        a, f, name = r["accelsim"], r["accelforge"], r["layer"]
        if not f:
            continue
        out.append((f"{name}: MACs equal", f["macs"] == a["macs"], f"{f['macs']:,.0f} vs {a['macs']:,}"))
        out.append((f"{name}: MAC energy equal", math.isclose(f["energy_pj"]["mac"], a["energy_pj"]["mac"], rel_tol=1e-9),
                    f"{f['energy_pj']['mac']:.1f} vs {a['energy_pj']['mac']:.1f} pJ"))
        # DRAM background + refresh is one power times each tool's latency
        d_bg, d_cyc = rel(f["energy_pj"]["dram_bg"], a["energy_pj"]["dram_bg"]), rel(f["cycles"], a["cycles"])
        out.append((f"{name}: DRAM bg+ref difference = cycle difference", abs(d_bg - d_cyc) < 1e-3,
                    f"{d_bg:+.4f} vs {d_cyc:+.4f}"))
        # AccelForge's compute time is MACs over the PEs its mapping uses, never more than the array
        pes = a["macs"] / max(f["compute_cycles"], 1e-9)
        out.append((f"{name}: AccelForge compute = MACs / PEs used (<= {R * C})", pes <= R * C * (1 + 1e-6),
                    f"{pes:.1f} PEs"))
        # where both fill the array, the ratio is the systolic fold overhead (2R + C + T - 2) / T
        g = r.get("gemm")
        if g and abs(pes - R * C) < 1e-3 * R * C and g["window"] % R == 0 and g["filters"] % C == 0:
            want = (2 * R + C + g["pixels"] - 2) / g["pixels"]
            got = a["compute_cycles"] / f["compute_cycles"]
            out.append((f"{name}: compute-cycle ratio = (2R+C+T-2)/T", math.isclose(got, want, rel_tol=1e-6),
                        f"{got:.4f} vs {want:.4f} (T = {g['pixels']})"))
    return out


# ---- the doc's tables, from a result JSON -----------------------------------------------------------
# per-layer table columns: (header, metric label, decimals)
LAYER_COLUMNS = (("energy", "energy uJ", 1), ("DRAM rd/wr", "DRAM uJ", 1),
                 ("DRAM backgr.+refresh", "DRAM bg+ref uJ", 1), ("buffers", "buffer uJ", 1), ("MAC", "MAC uJ", 2),
                 ("DRAM bytes", "DRAM bytes", 0), ("cycles", "cycles", 0), ("MACs", "MACs", 0))


def _pair(vf: float, va: float, decimals: int) -> str:
    if decimals == 0 and round(vf) == round(va):
        return f"{va:,.0f} (equal)"
    return f"{vf:,.{decimals}f} / {va:,.{decimals}f} ({rel(vf, va):+.1%})"


def markdown_tables(doc: dict) -> dict:
    """docs/vs_accelforge.md's tables from one result JSON of this script: {section: markdown}, sections
    'layers <model>' and 'total <model>' for each model, 'mappings' and 'wall'."""
    metric = dict(METRICS)
    out = {}
    models = list(dict.fromkeys(r["model"] for r in doc["layers"]))
    for m in models:
        rows = [r for r in doc["layers"] if r["model"] == m]
        lines = ["| layer | " + " | ".join(h for h, _, _ in LAYER_COLUMNS) + " |",
                 "|---" * (len(LAYER_COLUMNS) + 1) + "|"]
        for r in rows:
            name = r["layer"] + (f" x{r['count']}" if r["count"] != 1 else "")
            cells = [_pair(metric[k](r["accelforge"]), metric[k](r["accelsim"]), dec) for _, k, dec in LAYER_COLUMNS]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        out[f"layers {m}"] = "\n".join(lines)
        t = doc["totals"][m]
        lines = ["| metric | AccelForge | accelsim (scatter) | diff | accelsim (phase, default) |",
                 "|---|---|---|---|---|"]
        for label, _ in METRICS:
            vf, va, vp = t["accelforge"][label], t["accelsim"][label], t["accelsim_phase"][label]
            lines.append(f"| {label} | {vf:,.1f} | {va:,.1f} | {rel(vf, va):+.1%} | {vp:,.1f} |")
        lines.append(f"| {ACT[0]} | - | {t['accelsim'][ACT[0]]:,.1f} |  | {t['accelsim_phase'][ACT[0]]:,.1f} |")
        out[f"total {m}"] = "\n".join(lines)
    lines = ["| layer | AccelForge (mapper s) | accelsim |", "|---|---|---|"]
    for r in doc["layers"]:
        f = r["accelforge"]
        lines.append(f"| {r['layer']} | `{f['mapping']}` ({f['wall_s']:.0f} s) | `{r['accelsim']['mapping']}` |")
    out["mappings"] = "\n".join(lines)
    w = doc["wall_s"]
    per_layer = [r["accelforge"]["wall_s"] for r in doc["layers"]]
    n = len(doc["layers"])
    la0, la1 = doc["load_average_start"], doc["load_average_end"]
    out["wall"] = "\n".join([
        "| | wall |", "|---|---|",
        f"| accelsim: fresh interpreter, import + `simulate` of the {n} compared layers | "
        f"{w['accelsim_cold_subprocess']:.1f} s |",
        f"| accelsim: first in-process `simulate` calls (scatter lowering) | {w['accelsim_first_calls']:.1f} s |",
        f"| AccelForge: worker subprocess (interpreter, import {w['accelforge_import']:.1f} s, {n} layers mapped) | "
        f"{w['accelforge_subprocess']:.1f} s |",
        f"| AccelForge: mapper alone, sum over the {n} layers ({min(per_layer):.0f}-{max(per_layer):.0f} s each) | "
        f"{w['accelforge_mapper']:.1f} s |",
        f"| ratio, cold: AccelForge subprocess / accelsim fresh interpreter | "
        f"{w['accelforge_subprocess'] / w['accelsim_cold_subprocess']:.0f}x |",
        f"| ratio: AccelForge mapper / accelsim in-process calls | "
        f"{w['accelforge_mapper'] / w['accelsim_first_calls']:.0f}x |",
        f"| load average (1, 5, 15 min) at start / at end, {doc['cpu_count']} cores | "
        f"{', '.join(f'{x:.2f}' for x in la0)} / {', '.join(f'{x:.2f}' for x in la1)} |"])
    return out


def print_tables(path: str) -> None:
    doc = load_result(path, lambda d: d.get("layers") and all(r.get("accelforge") is not None for r in d["layers"]),
                      "not a run with AccelForge's side on every layer")
    for name, md in markdown_tables(doc).items():
        print(f"<!-- {name}: python benchmarks/vs_accelforge.py --tables-from {os.path.relpath(path, os.path.join(HERE, '..'))} -->")
        print(md + "\n")


# ---- fusion of a stack of consecutive layers (--fusion-stack) ----------------------------------------
def chained_einsums(layers, fmt) -> list:
    """The stack's layers as AccelForge Einsums linked by tensor name: layer k's input tensor is layer
    k-1's output (same name, the producer's rank names), so FFM may fuse them. Rank variables and rank
    names carry the layer's name; tensors are T<in>, W<layer>, T<layer>. A transposed conv's output is
    its uncropped scatter footprint, and the next layer reads the first in_hw rows and columns of it
    (no offsets: AccelForge drops the DRAM traffic of an offset projection)."""
    import re
    out, prev = [], None
    for l in layers:
        e = einsum(l, fmt)
        sfx = l.name.lower().replace("-", "_")
        var = lambda expr: re.sub(r"\b([a-z])\b", lambda m: m.group(1) + sfx, str(expr))  # noqa: E731
        i, w, o = e["tensors"]
        if prev is None:
            ti = {"name": f"Tin_{sfx}", "projection": {f"{k}{sfx}": var(v) for k, v in i["projection"].items()}}
        else:
            if l.op != "conv_transpose2d":
                raise ValueError(f"{l.name}: --fusion-stack chains transposed convs only (a conv reads a padded input)")
            ranks = list(prev["projection"])
            ti = {"name": prev["name"], "projection": dict(zip(ranks, (var(v) for v in i["projection"].values())))}
        tw = {"name": f"W_{sfx}", "projection": {f"{k}{sfx}": var(v) for k, v in w["projection"].items()}}
        to = {"name": f"T_{sfx}", "projection": {f"{k}{sfx}": var(v) for k, v in o["projection"].items()}, "output": True}
        out.append({"name": e["name"], "tensors": [ti, tw, to], "space": {var(k): n for k, n in e["space"].items()},
                    "macs": e["macs"], "tensor_elems": e["tensor_elems"]})
        prev = to
    return out


def accelsim_stack_configs(wl, arch, fmt_name) -> list:
    """Every fusion configuration of every sub-stack of ``wl`` (whole tensors or 2^k row bands, each halo
    mode): whether it fits on chip and its DRAM bytes against the same layers one by one. plan_fusion
    keeps a stack only when it fits and moves no more DRAM bytes and no more estimated energy."""
    from accelsim.api import fusion_inputs
    from accelsim.mapping.fusion import HALO_MODES, evaluate_stack
    kw = fusion_inputs(wl, arch, fmt_name, lowering="scatter", objective="energy")
    n = len(wl.layers)
    out = []
    for a in range(n):
        for b in range(a + 1, n):
            base = sum(kw["base"][j].dram_bytes for j in range(a, b + 1))
            h, counts, k = wl.layers[b].out_hw[0], [], 1
            while k < h:
                counts.append(k)
                k *= 2
            for nb in counts + [h]:
                for halo in HALO_MODES if nb > 1 else ("recompute",):
                    lfs = evaluate_stack(**kw, a=a, b=b, n_bands=nb, halo=halo)
                    dram = None if lfs is None else sum(math.ceil(v / 8) for lf in lfs
                                                        for d in (lf.read_bits, lf.write_bits) for v in d.values())
                    out.append({"stack": f"{wl.layers[a].name}..{wl.layers[b].name}", "n_bands": nb, "halo": halo,
                                "fits": lfs is not None, "dram_bytes": dram, "unfused_dram_bytes": base,
                                "pool_bits": None if lfs is None else max(lf.pool_bits for lf in lfs)})
    return out


def fusion_main(args) -> int:
    load0 = os.getloadavg()
    arch = load_arch(ARCH)
    fmt = get_format(FMT)
    shared = shared_arch(arch, fmt)
    by = {l.name: l for l in get_model("dcgan-64").layers}
    names = args.fusion_stack.split(",")
    bad = [n for n in names if n not in by]
    if bad or len(names) < 2:
        print(f"error: --fusion-stack takes two or more consecutive dcgan-64 layers ({', '.join(by)}), got {args.fusion_stack!r}",
              file=sys.stderr)
        return 2
    order = list(by)
    if [order.index(n) for n in names] != list(range(order.index(names[0]), order.index(names[0]) + len(names))):
        print(f"error: --fusion-stack layers must be consecutive in dcgan-64, got {args.fusion_stack!r}", file=sys.stderr)
        return 2
    layers = [by[n] for n in names]
    wl = Workload("dcgan-64-stack", tuple(layers), (layers[0].in_channels, *layers[0].in_hw),
                  "a stack of consecutive layers, fusion compared")
    ours = {}
    for fu in ("none", "auto"):
        t0 = time.perf_counter()
        rep = simulate(wl, arch, FMT, lowering="scatter", objective="energy", fusion=fu)
        wall = time.perf_counter() - t0
        ours[fu] = {"wall_s": wall, "stacks": [[wl.layers[a].name, wl.layers[b].name] for a, b in rep.stacks],
                    "energy_total_pj": rep.total_energy_pj,
                    "dram_bytes": sum(r.activity.dram_bytes for r in rep.layers),
                    "layers": {r.name: {"dram_read_bytes": dict(r.activity.dram_read_bytes),
                                        "dram_write_bytes": dict(r.activity.dram_write_bytes),
                                        "energy_pj": dict(r.energy_pj), "energy_total_pj": r.total_energy_pj,
                                        "mapping": r.activity.mapping_note} for r in rep.layers}}
    configs = accelsim_stack_configs(wl, arch, FMT)
    caps = {"time_limit": args.time_limit, "explore_loop_orders": False, "max_fused_loops": args.max_fused_loops,
            "tiling_coarseness": args.tiling_coarseness}
    af = None
    chain = chained_einsums(layers, fmt)
    if os.path.exists(args.accelforge_python):
        with tempfile.TemporaryDirectory(prefix="vs-accelforge-") as td:
            job, out = os.path.join(td, "job.json"), os.path.join(td, "out.json")
            with open(job, "w") as f:
                json.dump({"arch": shared, "stack": {"layers": chain, "bits_per_value": {"All": fmt.act_bits}},
                           "mapper": caps}, f)
            t0 = time.perf_counter()
            res = subprocess.run([args.accelforge_python, WORKER, job, out], stdout=subprocess.PIPE, text=True)
            if res.returncode != 0:
                raise RuntimeError(f"AccelForge worker failed (exit {res.returncode})")
            with open(out) as f:
                af = json.load(f)
            af["subprocess_wall_s"] = time.perf_counter() - t0
    else:
        print(f"AccelForge interpreter {args.accelforge_python} not found: accelsim side only\n")
    load1 = os.getloadavg()

    print(f"fusion stack {'+'.join(names)} of dcgan-64 on {ARCH}, {fmt.name}, scatter lowering, objective energy")
    if af:
        print(f"AccelForge {af['versions']['accelforge']}, mapper caps {caps}")
    print(f"{'tool':<12}{'variant':<10}{'energy uJ':>12}{'DRAM bytes':>12}{'DRAM uJ':>10}  DRAM bytes per tensor")
    tensor_of = {}          # accelsim operand names -> the chain's tensor names
    for k, l in enumerate(layers):
        e = chain[k]
        tensor_of[l.name] = {"ifmap": e["tensors"][0]["name"], "weight": e["tensors"][1]["name"],
                             "ofmap": e["tensors"][2]["name"]}
    summary = {}
    for fu in ("none", "auto"):
        o = ours[fu]
        per = {}
        for ln, r in o["layers"].items():
            for rw, d in (("read", r["dram_read_bytes"]), ("write", r["dram_write_bytes"])):
                for op, v in d.items():
                    if v:
                        t = tensor_of[ln].get(op, f"{ln}.{op}") if op != "psum" else f"{tensor_of[ln]['ofmap']}(psum)"
                        per[f"{t} {rw}"] = per.get(f"{t} {rw}", 0) + v
        dram_uj = sum(r["energy_pj"]["dram"] for r in o["layers"].values()) / 1e6
        summary[f"accelsim {fu}"] = {"energy_uj": o["energy_total_pj"] / 1e6, "dram_bytes": o["dram_bytes"],
                                     "dram_uj": dram_uj, "per_tensor": per, "stacks": o["stacks"]}
    if af:
        for v in ("unfused", "fused", "forced"):
            r = af["stack"][v]
            per = {}
            for key, n in r["actions"].items():
                einsum_name, comp, tensor, action = key.split(".")
                if comp == "MainMemory" and n:
                    per[f"{tensor} {action}"] = per.get(f"{tensor} {action}", 0) + n   # 8-bit actions = bytes
            summary[f"AccelForge {v}"] = {"energy_uj": r["energy_pj"] / 1e6, "dram_bytes": sum(per.values()),
                                          "dram_uj": r["dynamic_pj_by_component"].get("MainMemory", 0.0) / 1e6,
                                          "per_tensor": per, "wall_s": r["wall_s"],
                                          "on_chip": sorted({t for t in (x["tensors"][2]["name"] for x in chain[:-1])
                                                             if not per.get(f"{t} write")})}
    for k, v in summary.items():
        tool, variant = k.split(" ")
        print(f"{tool:<12}{variant:<10}{v['energy_uj']:>12,.1f}{v['dram_bytes']:>12,.0f}{v['dram_uj']:>10,.1f}  "
              + ", ".join(f"{t} {b:,.0f}" for t, b in sorted(v["per_tensor"].items())))
    print(f"\naccelsim fusion='auto' stacks: {ours['auto']['stacks'] or 'none'}")
    fit = [c for c in configs if c["fits"]]
    print(f"accelsim fusion configurations: {len(configs)} evaluated, {len(fit)} fit on chip"
          + "".join(f"\n  {c['stack']} {c['n_bands']} band(s) halo {c['halo']}: DRAM {c['dram_bytes']:,} B vs "
                    f"{c['unfused_dram_bytes']:,} B unfused, pool {c['pool_bits'] / 8192:,.1f} KiB" for c in fit))
    if af:
        for v in ("unfused", "fused", "forced"):
            print(f"\nAccelForge {v} mapping ({af['stack'][v]['wall_s']:.1f} s):\n  " + "\n  ".join(af["stack"][v]["mapping_tree"]))
        for v in ("fused", "forced"):
            print(f"AccelForge intermediates kept off DRAM ({v}): {summary['AccelForge ' + v]['on_chip'] or 'none'}")
        print(f"AccelForge worker {af['subprocess_wall_s']:.1f} s (import {af['import_s']:.1f} s)")
    print(f"load average at start {' '.join(f'{x:.2f}' for x in load0)}, at end {' '.join(f'{x:.2f}' for x in load1)} "
          f"on {os.cpu_count()} cores")
    if args.json:
        doc = {"date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "arch": ARCH, "format": fmt.name, "stack": names, "shared_arch": shared, "mapper_caps": caps,
               "accelforge_versions": af["versions"] if af else None, "summary": summary, "accelsim": ours,
               "accelsim_configs": configs, "einsums": chain, "accelforge": af,
               "load_average_start": load0, "load_average_end": load1, "cpu_count": os.cpu_count()}
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1, default=float)
        os.replace(tmp, args.json)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--cyclegan", choices=["distinct", "none"], default="distinct")
    ap.add_argument("--layers", help="comma-separated layer names to keep (default: all)")
    ap.add_argument("--time-limit", type=float, default=120.0, help="AccelForge mapper cap per layer, s (default 120)")
    ap.add_argument("--accelforge-python", default=DEFAULT_AF_PYTHON)
    ap.add_argument("--tables-from", metavar="PATH", help="print the doc's markdown tables from a result JSON; run nothing")
    ap.add_argument("--fusion-stack", metavar="G4,G5",
                    help="instead: consecutive dcgan-64 layers mapped as one multi-Einsum workload, unfused, with "
                         "fusion allowed and with fusion forced, against accelsim fusion='none' and 'auto'")
    ap.add_argument("--max-fused-loops", type=int, default=1, help="--fusion-stack: AccelForge cap (default 1)")
    ap.add_argument("--tiling-coarseness", type=float, default=2.0,
                    help="--fusion-stack: AccelForge tile-shape pruning (default 2; 1 = every tile shape)")
    args = ap.parse_args()
    if args.tables_from:
        print_tables(args.tables_from)
        return 0
    if args.fusion_stack:
        return fusion_main(args)

    load0 = os.getloadavg()
    arch = load_arch(ARCH)
    fmt = get_format(FMT)
    shared = shared_arch(arch, fmt)
    sets = layer_sets(args.cyclegan)
    if args.layers:
        keep = set(args.layers.split(","))
        sets = [(m, [l for l in ls if l.name in keep], w) for m, ls, w in sets]
        sets = [s for s in sets if s[1]]
    caps = {"time_limit": args.time_limit, "explore_loop_orders": False, "max_fused_loops": 1}

    # cold against cold: accelsim in a fresh interpreter first, then AccelForge's worker
    cold_s = accelsim_cold_subprocess(sets, "scatter")
    ours, ours_phase, first_call_s = {}, {}, 0.0
    for m, ls, _ in sets:
        res, wall = accelsim_layers(m, ls, arch, "scatter")
        first_call_s += wall
        ours.update(res)
        ours_phase.update(accelsim_layers(m, ls, arch, "phase")[0])
    have_af = os.path.exists(args.accelforge_python)
    af = None
    if have_af:
        einsums = [einsum(l, fmt) for _, ls, _ in sets for l in ls]
        af = run_accelforge(args.accelforge_python, shared, einsums, caps)
    else:
        print(f"AccelForge interpreter {args.accelforge_python} not found: accelsim side only "
              "(bash benchmarks/peers/setup_accelforge.sh)\n")
    load1 = os.getloadavg()

    print(f"arch {ARCH}: {arch.array.rows}x{arch.array.cols} {arch.array.dataflow}, {arch.clock_mhz:g} MHz, "
          f"{arch.tech_node_nm} nm, buffers {'/'.join(f'{b.size_kib:g}' for b in arch.buffers)} KiB "
          f"(double buffered), {arch.dram.name}; format {fmt.name}")
    print("per-action energies fed to both tools (pJ): "
          f"MAC {shared['mac_pj']:.3f}, SRAM read/write per 8 bits "
          f"{shared['buffers']['ifmap']['read_pj']:.3f}/{shared['buffers']['ifmap']['write_pj']:.3f}, "
          f"DRAM read/write per 8 bits {shared['dram']['read_pj']:.2f}/{shared['dram']['write_pj']:.2f}, "
          f"DRAM background + refresh {shared['dram']['leak_power_w'] * 1e3:.1f} mW")
    if af:
        print(f"AccelForge {af['versions']['accelforge']} (Python {af['python']}), mapper caps {caps}\n")

    rows, flags = [], []
    for m, ls, weights in sets:
        print(f"== {m} ({'all conv layers' if m == 'dcgan-64' else 'distinct conv layers'})")
        hdr = f"{'layer':<9}{'metric':<15}{'AccelForge':>18}{'accelsim':>18}{'diff':>9}"
        print(hdr)
        for l in ls:
            key = einsum(l, fmt)["name"]
            a = ours[l.name]
            f = af_summary(next(r for r in af["layers"] if r["layer"] == key), shared) if af else None
            g = lower(l, "scatter").gemms
            row = {"model": m, "layer": l.name, "count": weights.get(l.name, 1), "accelsim": a,
                   "gemm": {"pixels": g[0].pixels, "window": g[0].window, "filters": g[0].filters} if len(g) == 1 else None,
                   "accelsim_phase": ours_phase[l.name], "accelforge": f, "einsum": einsum(l, fmt)}
            rows.append(row)
            for label, fn in METRICS:
                va = fn(a)
                vf = fn(f) if f else None
                d = rel(vf, va) if f else None
                flag = f is not None and abs(d) > TOL
                if flag:
                    flags.append((m, l.name, label, d))
                print(f"{l.name:<9}{label:<15}{'-' if vf is None else f'{vf:,.1f}':>18}{va:>18,.1f}"
                      f"{'' if d is None else f'{d:+.1%}':>9}{' *' if flag else ''}")
            print(f"{l.name:<9}{ACT[0]:<15}{'-':>18}{ACT[1](a):>18,.1f}   (accelsim only: no rows in AccelForge)")
            print(f"{'':<9}mapping     accelsim: {a['mapping']}")
            if f:
                print(f"{'':<9}               AccelForge: {f['mapping']}  ({f['wall_s']:.1f} s)")
        print()

    totals = {}
    for m, ls, weights in sets:
        t = {"accelsim": {}, "accelsim_phase": {}, "accelforge": {}}
        for label, fn in METRICS:
            for side in t:
                vals = [(fn(r[side]) if r[side] else None, r["count"]) for r in rows if r["model"] == m]
                t[side][label] = None if any(v is None for v, _ in vals) else sum(v * c for v, c in vals)
        totals[m] = t
        print(f"== {m} total{' (the residual conv counted %d times)' % RESIDUAL_CONVS if weights else ''}")
        print(f"{'metric':<15}{'AccelForge':>18}{'accelsim':>18}{'diff':>9}{'accelsim phase':>18}")
        for label, _ in METRICS:
            va, vf, vp = t["accelsim"][label], t["accelforge"][label], t["accelsim_phase"][label]
            d = rel(vf, va) if vf is not None else None
            print(f"{label:<15}{'-' if vf is None else f'{vf:,.1f}':>18}{va:>18,.1f}"
                  f"{'' if d is None else f'{d:+.1%}':>9}{vp:>18,.1f}")
        t["accelsim"][ACT[0]] = sum(ACT[1](r["accelsim"]) * r["count"] for r in rows if r["model"] == m)
        t["accelsim_phase"][ACT[0]] = sum(ACT[1](r["accelsim_phase"]) * r["count"] for r in rows if r["model"] == m)
        print(f"{ACT[0]:<15}{'-':>18}{t['accelsim'][ACT[0]]:>18,.1f}{'':>9}{t['accelsim_phase'][ACT[0]]:>18,.1f}")
        print()

    print("wall time (this run, cold vs cold):")
    print(f"  accelsim: fresh interpreter, import + simulate every compared layer: {cold_s:.2f} s; "
          f"first in-process simulate calls: {first_call_s * 1e3:.0f} ms")
    if af:
        map_s = sum(r["wall_s"] for r in af["layers"])
        print(f"  AccelForge: worker subprocess {af['subprocess_wall_s']:.1f} s (import {af['import_s']:.1f} s, "
              f"mapper {map_s:.1f} s over {len(af['layers'])} layers); ratio {af['subprocess_wall_s'] / cold_s:,.0f}x "
              f"(subprocess), {map_s / max(first_call_s, 1e-9):,.0f}x (mapper vs in-process simulate)")
    print(f"  load average at start {' '.join(f'{x:.2f}' for x in load0)}, at end {' '.join(f'{x:.2f}' for x in load1)} "
          f"on {os.cpu_count()} cores")
    if flags:
        print(f"\ndifferences above {TOL:.0%} (explained in docs/vs_accelforge.md): "
              + "; ".join(f"{l} {k} {d:+.0%}" for _, l, k, d in flags))

    results = checks(rows, shared)
    failed = [c for c in results if not c[1]]
    if results:
        print(f"\nchecks of the claims in docs/vs_accelforge.md: {len(results) - len(failed)} of {len(results)} hold"
              + "".join(f"\n  FAILED {n}: {d}" for n, _, d in failed))
    if args.json:
        doc = {"date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "arch": ARCH, "format": fmt.name, "shared_arch": shared, "mapper_caps": caps,
               "accelforge_versions": af["versions"] if af else None, "layers": rows, "totals": totals,
               "wall_s": {"accelsim_cold_subprocess": cold_s, "accelsim_first_calls": first_call_s,
                          "accelforge_subprocess": af["subprocess_wall_s"] if af else None,
                          "accelforge_import": af["import_s"] if af else None,
                          "accelforge_mapper": sum(r["wall_s"] for r in af["layers"]) if af else None},
               "load_average_start": load0, "load_average_end": load1, "cpu_count": os.cpu_count(),
               "flagged_differences": [{"model": m, "layer": l, "metric": k, "rel": d} for m, l, k, d in flags],
               "checks": [{"check": n, "passed": ok, "detail": d} for n, ok, d in results],
               "accelforge_arch_yaml": af["arch_yaml"] if af else None}
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1, default=float)
        os.replace(tmp, args.json)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
