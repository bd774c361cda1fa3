"""Cycle and action-count model of a layer on ReRAM crossbar tiles (``ArchSpec.crossbar``); prices
nothing (``accelsim.energy.price`` does, with the crossbar entries of the arch's energy table).

Per GEMM g of the lowered layer (count n, P pixels, K window, F filters), mapped to R row tiles x
T column tiles using M columns (``accelsim.mapping.crossbar``), with C input cycles per pixel
(``input_cycles``: bits / DAC bits, + the sign step):

    crossbar reads      n * P * C * R * T          one input step applied to one crossbar
    ADC conversions     n * P * C * R * M          every used column of every read
    shift-and-adds      = conversions              (register of adc_bits + input bits)
    column reads        = conversions              (column drivers / mux)
    cell reads          n * P * C * K * M          every used cell of every read
    DAC drives          n * P * C * K * T * S      S = 1 with sample-and-hold, else cols_per_adc reads
    partial-sum adds    n * P * F * (R - 1 + columns per weight - 1 + reference columns)
                        (+ n * P * F overlap-adds for scatter)

Time: the GEMMs (phases, groups) run in parallel on their own crossbars, pixels one after another:
compute = max_g P_g * C * read_cycle_ns (``CrossbarSpec.read_cycle_ns``). Activations stream
through the tile buffers (input vectors read once per pixel, outputs written once; scatter
read-modify-writes partial sums) and DRAM, overlapped with compute when the buffers are double
buffered (``engine.timeline``). With ``pipelined`` the layers form a pipeline and a layer's output
stays on chip for the next layer when it fits in the tiles' buffers; otherwise every layer reads its
input from DRAM and writes its output there.

Weights are stationary. If the whole network's crossbars fit on chip they are programmed once
(``programming_actions``: reported separately, never per image); with ``replicate_weights`` the
spare crossbars hold copies of the slowest layers (greedy, ISAAC-style pipeline balancing), each
copy computing ceil(P / copies) pixels. Otherwise every layer is
reprogrammed for every batch in ceil(crossbars / chip crossbars) rounds: its weights are read from
DRAM and its cells written (("xbar_write_cell",) per image), one row per write pulse with all
crossbars of a round in parallel, serialized before its compute; a layer larger than the chip
repeats its compute once per round.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from accelsim.arch.spec import ArchSpec
from accelsim.mapping.crossbar import format_encoding, format_input, input_cycles, map_layer
from accelsim.mapping.lowering import LOWERINGS, Lowered, lower
from accelsim.sim.dram import service
from accelsim.sim.engine import LayerActivity, _common_actions, _split_cycles, timeline
from accelsim.workload.graph import LayerPlan


@dataclass(frozen=True)
class XbarLayerStats:
    """Crossbar facts of one layer (what ``Report`` aggregates into its crossbar fields)."""
    crossbars: int
    cells_used: int
    cells_total: int
    input_cycles: int
    adc_conversions: float
    resident: bool                 # the whole network's weights stay programmed
    reload_rounds: int             # programming rounds per batch (0 when resident)
    cells_written_per_batch: int
    programming_actions: dict      # one-time programming of this layer (priced separately)
    programming_ns: float
    reload_ns: float               # per batch (0 when resident)
    chip_crossbars: int
    chip_cells: int
    endurance_cycles: float
    pipelined: bool

    @property
    def utilization(self) -> float:
        return self.cells_used / self.cells_total if self.cells_total else 0.0


@dataclass(frozen=True)
class XbarNetwork:
    """Network-level placement: do all weights fit on chip, how many copies of each layer's weights
    (``replicate_weights``), which activations stay on chip."""
    resident: bool
    crossbars: int                      # one copy of every layer
    output_on_chip: tuple[bool, ...]    # layer i's output stays on chip for layer i + 1
    replicas: tuple[int, ...]
    lowerings: tuple[str, ...]          # each layer's lowering (``best`` resolved at placement)

    def input_on_chip(self, index: int) -> bool:
        return index > 0 and self.output_on_chip[index - 1]


def _layer_crossbars(plan: LayerPlan, arch: ArchSpec, lowering: str) -> tuple[int, float, int, str]:
    """(crossbars, compute ns, largest GEMM's pixels, lowering) of a layer's mapping. ``best`` picks
    here, at placement (the layers' weights must fit together): the fewest ADC conversions (they
    dominate a crossbar's energy and set its time), then the fewest crossbars."""
    if not plan.layer.is_conv:
        return 0, 0.0, 1, lowering
    xs = arch.crossbar
    methods = LOWERINGS if lowering == "best" and plan.layer.op == "conv_transpose2d" else (lowering,)
    enc = format_encoding(plan.fmt, xs)
    cyc = input_cycles(*format_input(plan.fmt), xs.dac_bits)
    best = None
    for m in methods:
        m = m if m != "best" else "phase"
        lc = map_layer(lower(plan.layer, m), enc, xs)
        pixels = max(g.gemm.pixels for g in lc.gemms)
        conversions = sum(g.gemm.count * g.gemm.pixels * g.row_tiles * g.columns_used for g in lc.gemms)
        cand = ((conversions, lc.crossbars), (lc.crossbars, pixels * cyc * xs.read_cycle_ns, pixels, m))
        best = cand if best is None or cand[0] < best[0] else best
    return best[1]


def _replicate(costs: list, spare: int) -> list[int]:
    """Greedy: give a copy to the slowest layer whose copy fits the spare crossbars (and still has
    pixels to share), until none does."""
    reps = [1] * len(costs)
    heap = [(-t, i) for i, (x, t, _, _) in enumerate(costs) if x and t]
    heapq.heapify(heap)
    while heap:
        _, i = heapq.heappop(heap)
        x, t, pixels, _ = costs[i]
        if x <= spare and reps[i] < pixels:
            reps[i] += 1
            spare -= x
            heapq.heappush(heap, (-t / reps[i], i))
    return reps


def crossbar_network(plans, arch: ArchSpec, lowering: str) -> XbarNetwork:
    """Placement of a planned workload on ``arch``'s crossbars (``best`` is resolved here, per layer)."""
    xs = arch.crossbar
    costs = [_layer_crossbars(p, arch, lowering) for p in plans]
    total = sum(c[0] for c in costs)
    resident = total <= xs.chip_crossbars
    reps = _replicate(costs, xs.chip_crossbars - total) if resident and xs.replicate_weights else [1] * len(plans)
    capacity_bits = xs.tiles * sum(b.size_bytes for b in arch.buffers) * 8
    on_chip = []
    for i, p in enumerate(plans):
        nxt = plans[i + 1] if i + 1 < len(plans) else None
        bits = p.compression.act_storage_bits(p.layer.output_elems, p.fmt)
        on_chip.append(bool(xs.pipelined and nxt is not None and p.layer.is_conv and nxt.layer.is_conv
                            and bits <= capacity_bits))
    return XbarNetwork(resident, total, tuple(on_chip), tuple(reps), tuple(c[3] for c in costs))


def _stream(arch: ArchSpec, compute: int, in_bytes: int, out_bytes: int):
    """Latency of streaming the input in and the output out around ``compute`` cycles, in chunks of
    a quarter of a tile buffer (double buffered: transfers overlap compute)."""
    chunk = max(1, arch.buffers[0].usable_bits // 16)
    n = max(1, math.ceil(max(in_bytes, out_bytes) / chunk))
    per_in, per_out = math.ceil(in_bytes / n), math.ceil(out_bytes / n)
    steps = np.arange(n)
    starts = np.r_[steps * per_in, (1 << 30) + steps * per_out]
    sizes = np.r_[np.clip(in_bytes - steps * per_in, 0, per_in), np.clip(out_bytes - steps * per_out, 0, per_out)]
    res = service(arch.dram, starts, sizes, np.r_[steps, n + steps], 2 * n)
    cyc = arch.cycles(res.transfer_ns)
    double = all(b.double_buffered for b in arch.buffers)
    latency = max(timeline(_split_cycles(compute, np.ones(n)), cyc[:n], cyc[n:], double), compute)
    return latency, res


def simulate_crossbar(lowered: Lowered, plan: LayerPlan, arch: ArchSpec, net: XbarNetwork, index: int) -> LayerActivity:
    xs, layer, fmt, comp = arch.crossbar, plan.layer, plan.fmt, plan.compression
    enc = format_encoding(fmt, xs)
    lc = map_layer(lowered, enc, xs)
    n_bits, signed = format_input(fmt)
    cyc = input_cycles(n_bits, signed, xs.dac_bits)
    act_bits = comp.act_bits_per_elem(fmt)
    drives_per_read = 1 if xs.sample_and_hold else xs.cols_per_adc
    copies = net.replicas[index]
    conv = cells = dac = adds = in_reads = 0
    compute_ns = 0.0
    for gc in lc.gemms:
        g = gc.gemm
        steps = g.count * g.pixels * cyc
        conv += steps * gc.row_tiles * gc.columns_used
        cells += steps * g.window * gc.columns_used
        dac += steps * g.window * gc.col_tiles * drives_per_read
        adds += g.count * g.pixels * g.filters * (gc.row_tiles - 1 + enc.columns_per_weight - 1 + enc.reference_columns)
        in_reads += g.count * g.pixels * g.window * act_bits
        compute_ns = max(compute_ns, -(-g.pixels // copies) * cyc * xs.read_cycle_ns)
    products = sum(g.count * g.pixels * g.filters for g in lowered.gemms)
    scatter = lowered.method == "scatter"
    if scatter:
        adds += products

    # weights: programmed once (resident) or every batch in rounds of the whole chip
    w_bits = comp.weight_storage_bits(layer.weight_elems, layer.out_channels, fmt) + layer.bias_elems * fmt.acc_bits
    w_bytes = math.ceil(w_bits / 8)
    rounds = math.ceil(lc.crossbars * copies / xs.chip_crossbars)
    w_res = service(arch.dram, np.array([1 << 31]), np.array([w_bytes]), np.array([0]), 1)
    program_ns = max(rounds * xs.rows * xs.write_latency_ns, float(w_res.transfer_ns.sum()))
    reload = 0 if net.resident else rounds
    compute = math.ceil(arch.cycles(compute_ns * max(1, reload)))
    reload_cycles = math.ceil(arch.cycles(program_ns)) if reload else 0

    # activations: DRAM unless they stay on chip (pipelined); buffers in between
    in_elems = layer.batch * layer.in_channels * lowered.stored_input_hw[0] * lowered.stored_input_hw[1]
    in_bits = 0 if net.input_on_chip(index) else comp.act_storage_bits(in_elems, fmt)
    out_bits = 0 if net.output_on_chip[index] else comp.act_storage_bits(layer.output_elems, fmt)
    latency, res = _stream(arch, compute, math.ceil(in_bits / 8), math.ceil(out_bits / 8))
    latency += reload_cycles
    final_bits = comp.act_storage_bits(layer.output_elems, fmt)
    buffer_bits = {"ifmap.write": in_bits, "ifmap.read": in_reads,
                   "ofmap.write": final_bits + (products * fmt.acc_bits if scatter else 0),
                   "ofmap.read": out_bits + (products * fmt.acc_bits if scatter else 0)}
    read_bits = in_bits + (w_bits if reload else 0)
    actions = _common_actions(arch, latency, read_bits, out_bits, res.activates + (w_res.activates if reload else 0),
                              buffer_bits)
    actions.update({("adc_convert", xs.adc_bits): conv, ("shift_add", min(64, xs.adc_bits + n_bits)): conv,
                    ("xbar_col_read",): conv, ("xbar_read_cell",): cells, ("dac_drive",): dac,
                    ("add", "int", fmt.acc_bits): adds})
    if reload:
        actions[("xbar_write_cell",)] = lc.cells_used
    stats = XbarLayerStats(
        lc.crossbars * copies, lc.cells_used * copies, lc.cells_total * copies, cyc, float(conv), net.resident,
        reload, lc.cells_used if reload else 0,
        {("xbar_write_cell",): lc.cells_used * copies, ("dram_read_bit",): w_bits},
        program_ns, program_ns if reload else 0.0, xs.chip_crossbars, xs.chip_crossbars * xs.cells_per_crossbar,
        xs.endurance_cycles, xs.pipelined)
    tiles = "+".join(f"{g.gemm.count}x{g.row_tiles}x{g.col_tiles}" for g in lc.gemms)
    note = (f"{lc.crossbars} crossbars ({tiles}), {cyc} input cycles, {enc.columns_per_weight} cols/weight"
            + (f", {copies} copies" if copies > 1 else "") + (f", reloaded in {reload} round(s)" if reload else ""))
    return LayerActivity(
        layer.name, layer.op, lowered.method, fmt.name, lowered.macs_total, lowered.macs_effectual, w_bytes,
        compute, latency - compute, latency, lc.utilization,
        {"ifmap": math.ceil(in_bits / 8), "weight": w_bytes if reload else 0, "psum": 0},
        {"ofmap": math.ceil(out_bits / 8), "psum": 0},
        res.activates, res.row_hits, buffer_bits, actions, note, None, stats)
