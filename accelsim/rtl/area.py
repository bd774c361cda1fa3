"""``accelsim rtl area``: Yosys synthesis of one processing element and of the R x C array per format.

Per format and design (``accelsim_pe``, ``accelsim_array``), two runs of the same Yosys:
``synth -flatten`` (generic gates: the total cell count of the flattened top) and
``synth_xilinx -family xc7 -flatten`` (Xilinx 7-series: LUT1..LUT6, flip-flops FD*, DSP48E1, CARRY4).
The accumulator is the registry's width (``NumericFormat.acc_bits``: 32, 64 above 8 bits, 16 for w1a1),
the width the simulator's energy model assumes; ``rtl check`` builds with the exact width of a model.
Beside them: the simulator's energy per MAC for the same format and arch (``accelsim.energy``
tables: Horowitz 45 nm scaled to the arch's node), so a count and a pJ figure sit in one row.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile

from accelsim.arch import ArchSpec, load_arch
from accelsim.errors import ConfigError
from accelsim.formats import registry
from accelsim.rtl import sv, tools
from accelsim.rtl.config import make_config

FPGA_FAMILY = "xc7"


def _yosys(exe: str, script: str, cwd: str) -> dict:
    out = os.path.join(cwd, "stat.json")
    if os.path.exists(out):
        os.remove(out)
    r = subprocess.run([exe, "-q", "-p", f"{script}; tee -q -o stat.json stat -json"], cwd=cwd,
                       capture_output=True, text=True, check=False)
    if r.returncode != 0 or not os.path.isfile(out):
        msg = (r.stderr or r.stdout).strip().splitlines()
        raise ConfigError(f"yosys failed on {script!r}: {msg[-1] if msg else 'no output'}")
    with open(out) as f:
        return json.load(f)


def _top_cells(stat: dict, top: str) -> dict:
    mods = stat.get("modules", {})
    for name, m in mods.items():
        if name.lstrip("\\") == top or name.endswith(top):
            return m.get("num_cells_by_type", {}) | {"_total": m.get("num_cells", 0)}
    raise ConfigError(f"yosys stat has no module {top} (have {', '.join(mods)})")


def yosys_version(exe: str) -> str:
    r = subprocess.run([exe, "-V"], capture_output=True, text=True, check=False)
    return (r.stdout or r.stderr).strip()


def synth_counts(exe: str, src_dir: str, top: str) -> dict:
    files = "accelsim_pe.sv" + (" accelsim_array.sv" if top == "accelsim_array" else "")
    gen = _top_cells(_yosys(exe, f"read_verilog -sv {files}; synth -flatten -top {top}", src_dir), top)
    xil = _top_cells(_yosys(exe, f"read_verilog -sv {files}; synth_xilinx -flatten -family {FPGA_FAMILY} -top {top}",
                            src_dir), top)
    luts = sum(n for k, n in xil.items() if k.startswith("LUT"))
    ffs = sum(n for k, n in xil.items() if k.startswith("FD"))
    dsps = sum(n for k, n in xil.items() if k.startswith("DSP"))
    carry = sum(n for k, n in xil.items() if k.startswith("CARRY"))
    return {"cells": gen["_total"], "lut": luts, "ff": ffs, "dsp": dsps, "carry4": carry}


def mac_energy_pj(arch: ArchSpec, fmt: str) -> float:
    from accelsim.energy import energy_table
    from accelsim.workload.precision import get_format
    f = get_format(registry.resolve(fmt))
    table = energy_table(arch, f.mac_ops)
    return sum(table.pj(op) for op in f.mac_ops)


def area_table(arch: ArchSpec | str, formats: str) -> dict:
    exe = tools.require_yosys()
    arch = arch if isinstance(arch, ArchSpec) else load_arch(arch)
    names = [f.strip() for f in formats.split(",") if f.strip()]
    if not names:
        raise ConfigError("format: give one or more comma-separated formats")
    cfgs = [make_config(arch, n) for n in names]     # validates every format first
    rows = []
    with tempfile.TemporaryDirectory(prefix="accelsim-area-") as d:
        for cfg in cfgs:
            src = sv.sources(cfg)
            for name in ("accelsim_pe.sv", "accelsim_array.sv"):
                with open(os.path.join(d, name), "w") as f:
                    f.write(src[name])
            pe = synth_counts(exe, d, "accelsim_pe")
            arr = synth_counts(exe, d, "accelsim_array")
            rows.append({"format": cfg.fmt, "family": cfg.family, "acc_bits": cfg.acc_bits,
                         "pe": pe, "array": arr, "mac_pj": mac_energy_pj(arch, cfg.fmt)})
    return {"arch": arch.name, "rows_x_cols": f"{cfg.rows}x{cfg.cols}", "dataflow": cfg.dataflow,
            "fpga_family": FPGA_FAMILY, "yosys": yosys_version(exe), "tech_node_nm": arch.tech_node_nm,
            "formats": rows}


def format_table(res: dict) -> list[str]:
    out = [f"accelsim rtl area: {res['arch']} ({res['rows_x_cols']} {res['dataflow']}); {res['yosys']}",
           "  generic = Yosys 'synth -flatten' cells; LUT/FF/DSP = 'synth_xilinx -family xc7 -flatten'; "
           f"pJ/MAC = the simulator's energy per MAC ({res['tech_node_nm']} nm)",
           f"  {'format':<8} {'PE':<8} {'acc':>4} | {'PE cells':>8} {'LUT':>5} {'FF':>5} {'DSP':>4} | "
           f"{'array cells':>11} {'LUT':>6} {'FF':>6} {'DSP':>4} | {'pJ/MAC':>7}"]
    for r in res["formats"]:
        p, a = r["pe"], r["array"]
        out.append(f"  {r['format']:<8} {r['family']:<8} {r['acc_bits']:>4} | {p['cells']:>8} {p['lut']:>5} "
                   f"{p['ff']:>5} {p['dsp']:>4} | {a['cells']:>11} {a['lut']:>6} {a['ff']:>6} {a['dsp']:>4} | "
                   f"{r['mac_pj']:>7.4f}")
    return out
