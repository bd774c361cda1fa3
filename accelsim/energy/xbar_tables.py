"""Energy reference entries of a ReRAM crossbar arch (``ArchSpec.crossbar``); ``tables.energy_table``
adds them to the arch's table. Every pJ comes from a generated CSV (tools/gen_energy_tables.py):

- ``data/adc_survey.csv`` (hwcomponents-adc survey model): ("adc_convert", bits), the model's
  energy per conversion (power / sample rate) at the arch's node, bits and sample rate; log-log
  interpolation in the sample rate between rows. The model is defined from 4 bits: a 1..3-bit ADC
  is priced as a 4-bit one (an upper bound).
- ``data/crossbar_neurosim.csv`` (NeuroSim V1.3): exact row for (node, cell, rows, cols,
  cols_per_adc): ("dac_drive",) one row driven for one read (row drivers), ("xbar_col_read",) one
  column read (column drivers / mux), ("xbar_read_cell",) one cell read, scaled from NeuroSim's
  10 ns pulse to ``read_latency_ns`` (NeuroSim's cell read energy is V*I*t), ("xbar_write_cell",)
  one cell programmed: the cell, its column driver and its share (1/cols) of the row driver.
- ``data/shift_add_neurosim.csv`` (NeuroSim V1.3): ("shift_add", bits) for a bits-wide register,
  linear in bits between rows (exact at 4, 8, 12, 16, 24, 32, 48, 64).
- Partial-sum adders ("add", "int", bits) are the digital arithmetic of ``tables.arith_energy_pj``.
``cell_read_energy_pj`` / ``cell_write_energy_pj`` in the spec replace the cell's own NeuroSim energy.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from accelsim.arch.spec import ArchSpec
from accelsim.energy.arith import _read_csv, arith_energy_pj
from accelsim.errors import ConfigError

ADC_MIN_BITS = 4           # hwcomponents-adc asserts n_bits >= 4
NEUROSIM_PULSE_NS = 10.0   # the pulse of the crossbar_neurosim.csv cell reads (NeuroSim V1.3 default)
ACC_BITS = (16, 32, 64)    # accumulator widths of the formats (binary, int<=8, int>8 / flex16)


@lru_cache(maxsize=None)
def _adc_table() -> dict:
    out: dict = {}
    for r in _read_csv("adc_survey.csv"):
        out.setdefault((int(r["node_nm"]), int(r["bits"])), []).append((float(r["sample_rate_msps"]),
                                                                         float(r["energy_pj"])))
    return {k: np.array(sorted(v)) for k, v in out.items()}


def adc_energy_pj(node_nm: int, bits: int, sample_rate_msps: float) -> float:
    """Energy of one conversion of one ADC (survey model), see the module docstring."""
    table = _adc_table()
    nodes = sorted({n for n, _ in table})
    if node_nm not in nodes:
        raise ConfigError(f"no ADC survey data for tech_node_nm={node_nm}; available: {', '.join(map(str, nodes))} "
                          "(regenerate with tools/gen_energy_tables.py)")
    top = max(b for n, b in table if n == node_nm)
    if bits > top:
        raise ConfigError(f"crossbar.adc_bits: no ADC survey data above {top} bits, got {bits}")
    t = table[(node_nm, max(bits, ADC_MIN_BITS))]
    lx, ly = np.log(t[:, 0]), np.log(t[:, 1])
    x = math.log(sample_rate_msps)
    if x <= lx[0] or x >= lx[-1]:   # extend the edge segment
        i = 0 if x <= lx[0] else len(lx) - 2
        return float(np.exp(ly[i] + (ly[i + 1] - ly[i]) / (lx[i + 1] - lx[i]) * (x - lx[i])))
    return float(np.exp(np.interp(x, lx, ly)))


@lru_cache(maxsize=None)
def _neurosim_table() -> dict:
    return {(int(r["node_nm"]), r["cell"], int(r["rows"]), int(r["cols"]), int(r["cols_per_adc"])):
            {k: float(v) for k, v in r.items() if k.endswith("_pj")}
            for r in _read_csv("crossbar_neurosim.csv")}


def neurosim_crossbar(node_nm: int, cell: str, rows: int, cols: int, cols_per_adc: int) -> dict:
    """NeuroSim row/column-driver and cell energies (pJ) of one crossbar geometry."""
    table = _neurosim_table()
    key = (node_nm, cell, rows, cols, cols_per_adc)
    if key not in table:
        have = sorted({k[2:] for k in table if k[:2] == (node_nm, cell)})
        raise ConfigError(f"no NeuroSim data for crossbar {rows}x{cols}, {cols_per_adc} columns per ADC, cell {cell}, "
                          f"{node_nm} nm (rows, cols, cols_per_adc available: "
                          f"{sorted({(r, c) for r, c, _ in have}) or 'none for this node/cell'}; cols_per_adc a power "
                          "of two; regenerate with tools/gen_energy_tables.py)")
    return table[key]


@lru_cache(maxsize=None)
def _shift_add_table() -> dict:
    out: dict = {}
    for r in _read_csv("shift_add_neurosim.csv"):
        out.setdefault(int(r["node_nm"]), []).append((int(r["bits"]), float(r["energy_pj"])))
    return {k: np.array(sorted(v)) for k, v in out.items()}


def shift_add_energy_pj(node_nm: int, bits: int) -> float:
    table = _shift_add_table()
    if node_nm not in table:
        raise ConfigError(f"no NeuroSim shift-add data for tech_node_nm={node_nm}; available: "
                          f"{', '.join(map(str, sorted(table)))}")
    t = table[node_nm]
    i = min(max(np.searchsorted(t[:, 0], bits) - 1, 0), len(t) - 2)
    return float(t[i, 1] + (t[i + 1, 1] - t[i, 1]) * (bits - t[i, 0]) / (t[i + 1, 0] - t[i, 0]))


def crossbar_entries(arch: ArchSpec) -> tuple[dict, dict]:
    """(entries, sources) of the crossbar actions, in the ``EnergyTable`` convention."""
    xs, node = arch.crossbar, arch.tech_node_nm
    ns = neurosim_crossbar(node, xs.cell_model, xs.rows, xs.cols, xs.cols_per_adc)
    cell_read = (xs.cell_read_energy_pj if xs.cell_read_energy_pj is not None
                 else ns["cell_read_pj"] * xs.read_latency_ns / NEUROSIM_PULSE_NS)
    cell_write = xs.cell_write_energy_pj if xs.cell_write_energy_pj is not None else ns["cell_write_pj"]
    geom = f"{xs.rows}x{xs.cols} {xs.cell_model}, {xs.cols_per_adc} cols/ADC, {node} nm"
    neuro = f"NeuroSim V1.3 (hwcomponents-neurosim, data/crossbar_neurosim.csv), {geom}"
    entries = {
        ("adc_convert", xs.adc_bits): (("adc", adc_energy_pj(node, xs.adc_bits, xs.adc_sample_rate_msps)),),
        ("dac_drive",): (("crossbar", ns["row_read_pj"]),),
        ("xbar_col_read",): (("crossbar", ns["col_read_pj"]),),
        ("xbar_read_cell",): (("crossbar", cell_read),),
        ("xbar_write_cell",): (("xbar_write", cell_write + ns["col_write_pj"] + ns["row_write_pj"] / xs.cols),),
    }
    note = " (priced as 4-bit: the survey model starts at 4 bits)" if xs.adc_bits < ADC_MIN_BITS else ""
    sources = {
        ("adc_convert", xs.adc_bits): f"hwcomponents-adc survey model (data/adc_survey.csv), {xs.adc_bits} bits, "
                                      f"{xs.adc_sample_rate_msps:g} MS/s, {node} nm{note}",
        ("dac_drive",): neuro + ": row drivers, one row per read",
        ("xbar_col_read",): neuro + ": column drivers, one column per read",
        ("xbar_read_cell",): ("arch YAML crossbar.cell_read_energy_pj" if xs.cell_read_energy_pj is not None else
                              neuro + f": one cell read, x {xs.read_latency_ns:g}/{NEUROSIM_PULSE_NS:g} ns pulse"),
        ("xbar_write_cell",): (("arch YAML crossbar.cell_write_energy_pj + " if xs.cell_write_energy_pj is not None
                                else "") + neuro + ": one cell written + its column driver + 1/cols row driver"),
    }
    for bits in range(2, 65):
        entries[("shift_add", bits)] = (("shift_add", shift_add_energy_pj(node, bits)),)
        sources[("shift_add", bits)] = (f"NeuroSim V1.3 shift-and-add (data/shift_add_neurosim.csv), {bits} bits, "
                                        f"{node} nm")
    for bits in ACC_BITS:
        entries[("add", "int", bits)] = (("mac", arith_energy_pj("add", "int", bits, node)),)
        sources[("add", "int", bits)] = f"Horowitz ISSCC 2014 45 nm, bit-width power law, x {node}/45 node scaling"
    return entries, sources
