"""Cycle engine: replays a layer's tile schedule against the DRAM model and the systolic array.

Per step s: C[s] compute cycles (the layer's array cycles shared out in proportion to the step's
MACs), L[s] cycles of the loads it needs, S[s] cycles of the stores it produces. With double
buffering, loads for s+1 and stores of s-1 proceed while s computes:
    latency = L[0] + sum_s max(C[s], L[s+1] + S[s-1]) + S[last]
without it every step waits: latency = sum_s (L[s] + C[s] + S[s]). Stall cycles = latency - sum C.
The engine emits action counts (``LayerActivity.actions``); it prices nothing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from accelsim.arch.spec import ArchSpec
from accelsim.mapping.schedule import OPERANDS, Schedule, build_schedule
from accelsim.mapping.tiling import Mapping
from accelsim.sim.array import compute_cycles, control_cycles, sram_traffic
from accelsim.sim.dram import service, service_pattern
from accelsim.workload.graph import LayerPlan
from accelsim.workload.layer import unnamed


@dataclass(frozen=True)
class LayerActivity:
    """What happened in one layer: cycles, bytes, and action counts keyed by (action, *args)."""
    name: str
    op: str
    method: str
    fmt: str
    macs_total: int
    macs_effectual: int
    weight_bytes: int
    compute_cycles: int
    stall_cycles: int
    latency_cycles: int
    utilization: float
    dram_read_bytes: dict
    dram_write_bytes: dict
    dram_activates: int
    dram_row_hits: int
    buffer_access_bits: dict       # "<role>.read" / "<role>.write" -> bits
    actions: dict                  # (action, *args) -> count
    mapping_note: str = ""
    mapping: Mapping | None = field(default=None, compare=False, repr=False)
    crossbar: "XbarLayerStats | None" = None   # noqa: F821 (accelsim.sim.crossbar; crossbar archs only)
    control_cycles: int = 0        # the reference RTL controller's drain/tail/finish cycles (sim.array.control_cycles)

    @property
    def dram_bytes(self) -> int:
        return sum(self.dram_read_bytes.values()) + sum(self.dram_write_bytes.values())


def _split_cycles(total: int, weights: np.ndarray) -> np.ndarray:
    """Integer cycles per step proportional to weights, summing exactly to total."""
    if weights.sum() <= 0:
        out = np.zeros(weights.size, dtype=np.int64)
        out[-1] = total
        return out
    cum = np.round(np.cumsum(weights) / weights.sum() * total).astype(np.int64)
    return np.diff(np.r_[0, cum])


def timeline(compute: np.ndarray, loads: np.ndarray, stores: np.ndarray, double_buffered: bool) -> int:
    if not double_buffered:
        return int(np.ceil(loads.sum() + compute.sum() + stores.sum()))
    nxt = np.r_[loads[1:], 0.0]
    prev = np.r_[0.0, stores[:-1]]
    return int(np.ceil(loads[0] + np.maximum(compute, nxt + prev).sum() + stores[-1]))


def _replay(sched: Schedule, arch: ArchSpec, compute_total: int, double_buffered: bool):
    n_t = sched.t_step.size
    res = service_pattern(arch.dram, sched.runs, n_t)
    cyc = arch.cycles(res.transfer_ns)
    loads = np.bincount(sched.t_step[~sched.t_write], weights=cyc[~sched.t_write], minlength=sched.n_steps)
    stores = np.bincount(sched.t_step[sched.t_write], weights=cyc[sched.t_write], minlength=sched.n_steps)
    compute = _split_cycles(compute_total, sched.step_macs)
    latency = max(timeline(compute, loads, stores, double_buffered), compute_total)
    return latency, res


def _mac_actions(plan: LayerPlan, macs: int) -> dict:
    return {(op, kind, bits): macs for op, kind, bits in plan.fmt.mac_ops}


def _common_actions(arch: ArchSpec, latency: int, read_bits: float, write_bits: float, activates: int,
                    buffer_bits: dict) -> dict:
    actions = {("dram_read_bit",): read_bits, ("dram_write_bit",): write_bits,
               ("dram_activate",): activates, ("cycle",): latency}
    for key, bits in buffer_bits.items():
        role, rw = key.split(".")
        actions[(f"sram_{rw}_bit", arch.buffer(role).role)] = actions.get(
            (f"sram_{rw}_bit", arch.buffer(role).role), 0.0) + bits
    return actions


_SAME_MAPPING: dict = {}
_SAME_MAPPING_MAX = 4096


def _mapping_key(mapping: Mapping, plan: LayerPlan, arch: ArchSpec) -> tuple:
    """Everything ``simulate_conv`` reads: the plan (not the layer's name), the mapping's tiles and traffic (not what the
    mapper scored it by), and the arch's array, DRAM, clock and buffer roles / double buffering (not
    the buffer capacities, which only the mapper reads)."""
    m, low = mapping, mapping.lowered
    return (unnamed(plan.layer), unnamed(low.layer), plan.fmt, plan.compression, low.method, low.gemms,
            low.zeros_in_dram, m.sizes, m.loop_order, m.tiles_h, m.tiles_w, m.tile_c, m.tile_f, m.n_c, m.n_f,
            m.fetch_ifmap, m.fetch_weight, m.fetch_psum, m.halo_reuse,
            *(tuple(sorted(d.items())) for d in (m.dram_read_bits, m.dram_write_bits, m.tile_bits)),
            arch.array, arch.dram, arch.clock_mhz, tuple((b.role, b.double_buffered) for b in arch.buffers))


def forget() -> None:
    """Drop the replay memo (``accelsim.api.clear_memos``)."""
    _SAME_MAPPING.clear()


def simulate_conv(mapping: Mapping, plan: LayerPlan, arch: ArchSpec) -> LayerActivity:
    """The activity of ``plan`` tiled by ``mapping`` on ``arch`` (``_simulate_conv``), remembered per
    ``_mapping_key``: a buffer sweep meets the same mapping at many capacities, a generator the same
    layer in every repeated block. The remembered result is the one computed for an equal key, so it
    is the same result bit for bit (tests/test_sim_speed.py checks against a fresh computation)."""
    key = _mapping_key(mapping, plan, arch)
    hit = _SAME_MAPPING.get(key)
    if hit is None:
        hit = _simulate_conv(mapping, plan, arch)
        if len(_SAME_MAPPING) >= _SAME_MAPPING_MAX:
            _SAME_MAPPING.pop(next(iter(_SAME_MAPPING)))
        _SAME_MAPPING[key] = hit
    if hit.mapping is mapping and hit.name == plan.layer.name:
        return hit
    return replace(hit, name=plan.layer.name, mapping=mapping, mapping_note=mapping.describe())


def _simulate_conv(mapping: Mapping, plan: LayerPlan, arch: ArchSpec) -> LayerActivity:
    lowered, layer, sizes = mapping.lowered, plan.layer, mapping.sizes
    a = arch.array
    compute_total = sum(compute_cycles(g, a.rows, a.cols, a.dataflow) for g in lowered.gemms)
    sched = build_schedule(mapping)
    double = all(b.double_buffered for b in arch.buffers)
    latency, res = _replay(sched, arch, compute_total, double)
    rd, wr = sched.bits_by(False), sched.bits_by(True)

    sram = [sram_traffic(g, a.rows, a.cols, a.dataflow) for g in lowered.gemms]
    w_elem_bits = sizes.weight_pass_bits / max(1, layer.weight_elems)
    out_bits = sizes.acc_bits if lowered.method == "scatter" or a.dataflow != "os" else sizes.out_bits
    buffer_bits = {
        "ifmap.read": sum(t.ifmap_reads for t in sram) * sizes.in_bits,
        "ifmap.write": rd["ifmap"],
        "weight.read": sum(t.weight_reads for t in sram) * w_elem_bits,
        "weight.write": rd["weight"],
        "ofmap.write": sum(t.ofmap_writes for t in sram) * out_bits + rd["psum"],
        "ofmap.read": sum(t.ofmap_reads for t in sram) * sizes.acc_bits + wr["ofmap"] + wr["psum"],
    }
    if lowered.method == "scatter":
        # overlap-add: every partial product the array writes is a read-modify-write, so the array
        # side reads what it writes; the ws/is fold accumulation reads are among those (not extra)
        buffer_bits["ofmap.read"] += sum(t.ofmap_writes - t.ofmap_reads for t in sram) * sizes.acc_bits
    read_bits = rd["ifmap"] + rd["weight"] + rd["psum"]
    write_bits = wr["ofmap"] + wr["psum"]
    actions = _common_actions(arch, latency, read_bits, write_bits, res.activates, buffer_bits)
    actions.update(_mac_actions(plan, lowered.macs_total))
    util = lowered.macs_total / (a.rows * a.cols * compute_total) if compute_total else 0.0
    return LayerActivity(
        layer.name, layer.op, lowered.method, plan.fmt.name, lowered.macs_total, lowered.macs_effectual,
        math.ceil(sizes.weight_pass_bits / 8), compute_total, latency - compute_total, latency, util,
        {"ifmap": math.ceil(rd["ifmap"] / 8), "weight": math.ceil(rd["weight"] / 8), "psum": math.ceil(rd["psum"] / 8)},
        {"ofmap": math.ceil(wr["ofmap"] / 8), "psum": math.ceil(wr["psum"] / 8)},
        res.activates, res.row_hits, buffer_bits, actions, mapping.describe(), mapping,
        control_cycles=1 + sum(control_cycles(g, a.rows, a.cols, a.dataflow) for g in lowered.gemms))


def simulate_elementwise(plan: LayerPlan, arch: ArchSpec) -> LayerActivity:
    """Residual add / upsample / pixel shuffle on a vector unit as wide as the array's columns,
    streamed through the ifmap buffer in chunks: inputs read once, output written once."""
    layer, fmt, comp = plan.layer, plan.fmt, plan.compression
    in_bits = comp.act_storage_bits(layer.input_elems, fmt)
    out_bits = comp.act_storage_bits(layer.output_elems, fmt)
    chunk_bits = max(8, arch.buffer("ifmap").usable_bits // 2)
    n_steps = max(1, math.ceil(max(in_bits, out_bits) / chunk_bits))
    in_bytes, out_bytes = math.ceil(in_bits / 8), math.ceil(out_bits / 8)
    per_in, per_out = math.ceil(in_bytes / n_steps), math.ceil(out_bytes / n_steps)
    steps = np.arange(n_steps)
    run_start = np.r_[steps * per_in, (1 << 30) + steps * per_out]
    run_bytes = np.r_[np.minimum(per_in, in_bytes - steps * per_in), np.minimum(per_out, out_bytes - steps * per_out)]
    res = service(arch.dram, run_start, run_bytes, np.r_[steps, n_steps + steps], 2 * n_steps)
    cyc = arch.cycles(res.transfer_ns)
    compute_total = math.ceil(layer.output_elems / arch.vector_lanes)
    compute = _split_cycles(compute_total, np.ones(n_steps))
    double = all(b.double_buffered for b in arch.buffers)
    latency = max(timeline(compute, cyc[:n_steps], cyc[n_steps:], double), compute_total)
    buffer_bits = {"ifmap.write": in_bits, "ifmap.read": in_bits, "ofmap.write": out_bits, "ofmap.read": out_bits}
    actions = _common_actions(arch, latency, in_bits, out_bits, res.activates, buffer_bits)
    if layer.elementwise_ops:
        kind = "fp" if fmt.act_kind == "float" else "int"
        actions[("add", kind, max(fmt.act_bits, 8))] = layer.elementwise_ops
    return LayerActivity(
        layer.name, layer.op, "elementwise", fmt.name, 0, 0, 0, compute_total, latency - compute_total, latency,
        0.0, {"ifmap": in_bytes, "weight": 0, "psum": 0}, {"ofmap": out_bytes, "psum": 0},
        res.activates, res.row_hits, buffer_bits, actions, "streamed")


def dram_bits(activity: LayerActivity) -> tuple[dict, dict]:
    """(read bits by operand, write bits by operand) a layer moved: its mapping's exact traffic, or
    what an elementwise layer streams."""
    if activity.mapping is not None:
        return dict(activity.mapping.dram_read_bits), dict(activity.mapping.dram_write_bits)
    bb = activity.buffer_access_bits
    return {"ifmap": bb["ifmap.write"], "weight": 0.0, "psum": 0.0}, {"ofmap": bb["ofmap.read"], "psum": 0.0}


def fused_activity(base: LayerActivity, fused, plan: LayerPlan, arch: ArchSpec) -> LayerActivity:
    """The layer's activity inside a fused stack (``accelsim.mapping.fusion.LayerFusion``): its new DRAM
    traffic, executed MACs and cycles; the array-side buffer accesses scale with the executed MACs (or
    rows), the buffer fills and drains follow the new DRAM traffic, DRAM activates and row hits scale
    with the DRAM bytes, stall cycles as the planner estimated them."""
    rd0, wr0 = dram_bits(base)
    rd, wr = fused.read_bits, fused.write_bits
    if base.macs_total:
        r = fused.macs_total / base.macs_total
    else:
        r = fused.compute_cycles / base.compute_cycles if base.compute_cycles else 1.0
    bb = dict(base.buffer_access_bits)
    if base.mapping is not None:
        array_ofmap_write = bb["ofmap.write"] - rd0["psum"]
        array_ofmap_read = bb["ofmap.read"] - wr0["ofmap"] - wr0["psum"]
        bb = {"ifmap.read": bb["ifmap.read"] * r, "ifmap.write": rd["ifmap"],
              "weight.read": bb["weight.read"] * r, "weight.write": rd["weight"],
              "ofmap.write": array_ofmap_write * r + rd["psum"],
              "ofmap.read": array_ofmap_read * r + wr["ofmap"] + wr["psum"]}
    else:
        bb = {"ifmap.write": rd["ifmap"], "ifmap.read": bb["ifmap.read"] * r,
              "ofmap.write": bb["ofmap.write"] * r, "ofmap.read": wr["ofmap"]}
    old = sum(rd0.values()) + sum(wr0.values())
    new = sum(rd.values()) + sum(wr.values())
    scale = new / old if old else 0.0
    activates, hits = int(round(base.dram_activates * scale)), int(round(base.dram_row_hits * scale))
    compute = int(fused.compute_cycles)
    latency = compute + int(fused.stall_cycles)
    actions = _common_actions(arch, latency, rd["ifmap"] + rd["weight"] + rd["psum"], wr["ofmap"] + wr["psum"],
                              activates, bb)
    if base.mapping is not None:
        actions.update(_mac_actions(plan, fused.macs_total))
    else:
        for key, count in base.actions.items():
            if key[0] == "add":
                actions[key] = count * r
    a = arch.array
    util = fused.macs_total / (a.rows * a.cols * compute) if compute and base.mapping is not None else 0.0
    return replace(base, macs_total=int(fused.macs_total), compute_cycles=compute, stall_cycles=latency - compute,
                   latency_cycles=latency, utilization=util,
                   dram_read_bytes={k: math.ceil(v / 8) for k, v in rd.items()},
                   dram_write_bytes={k: math.ceil(v / 8) for k, v in wr.items()},
                   dram_activates=activates, dram_row_hits=hits, buffer_access_bits=bb, actions=actions,
                   mapping_note=f"{base.mapping_note}; {fused.note}" if base.mapping_note else fused.note)


__all__ = ["OPERANDS", "LayerActivity", "dram_bits", "fused_activity", "simulate_conv", "simulate_elementwise",
           "timeline"]
