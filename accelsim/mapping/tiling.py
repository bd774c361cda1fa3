"""Tiling search: tile sizes and loop order per layer that fit the buffers, chosen by DRAM traffic,
DRAM energy, latency or their energy-delay product (edp = DRAM energy x latency estimate, per layer).

The loop nest has three tile loops: p (spatial tiles, batch included), c (input-channel tiles; group
tiles for grouped convs) and f (output-channel tiles). Each buffer holds one tile of its operand
(ifmap I(p,c), weight W(c,f), ofmap O(p,f)); a tile is fetched again whenever its index changes.
So an operand is re-read n_x times, x being its irrelevant loop, when x lies above a relevant loop
with more than one trip; otherwise once. Output partial sums spill to DRAM (at accumulator width)
exactly when c lies above an output-relevant loop with more than one trip; otherwise they stay on
chip. Double buffering halves the capacity a tile may use. Scatter adds the partial-sum traffic of
overlap-adding neighbouring tiles' footprints. Everything is counted in bits and converted to
bytes once per operand (sub-byte values are packed).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from accelsim.arch.spec import ArchSpec
from accelsim.errors import ConfigError, InfeasibleError
from accelsim.mapping.geometry import AxisTiling, axis_tiling, tile_candidates, tiled_extent, used_inputs
from accelsim.mapping.lowering import Lowered
from accelsim.workload.graph import LayerPlan

OBJECTIVES = ("dram", "energy", "latency", "edp")
ORDERS = tuple("".join(p) for p in itertools.permutations("pcf"))


@dataclass(frozen=True)
class MapperCosts:
    """Per-byte DRAM energies for the ``energy`` objective and the compute time for ``latency``;
    supplied by the caller (the api), so the mapper needs no energy tables."""
    read_pj_per_byte: float = 1.0
    write_pj_per_byte: float = 1.0
    compute_cycles: int = 0


@dataclass(frozen=True)
class OperandSizes:
    """Bits per element as stored, for one layer plan."""
    in_bits: float
    out_bits: float
    weight_pass_bits: int          # all weights (compressed) + bias
    acc_bits: int

    @classmethod
    def of(cls, plan: LayerPlan) -> "OperandSizes":
        layer, fmt, comp = plan.layer, plan.fmt, plan.compression
        wbits = comp.weight_storage_bits(layer.weight_elems, layer.out_channels, fmt)
        return cls(comp.act_bits_per_elem(fmt), comp.act_bits_per_elem(fmt),
                   wbits + layer.bias_elems * fmt.acc_bits, fmt.acc_bits)


@dataclass(frozen=True)
class Mapping:
    lowered: Lowered
    sizes: OperandSizes
    loop_order: str                       # outer -> inner, e.g. "pfc"
    tiles_h: AxisTiling
    tiles_w: AxisTiling
    tile_c: int                           # input channels per tile (groups x cin/group when grouped)
    tile_f: int                           # output channels per tile
    n_c: int
    n_f: int
    fetch_ifmap: int
    fetch_weight: int
    fetch_psum: int                       # visits of each output tile (1: no partial-sum spill)
    dram_read_bits: dict                  # ifmap, weight, psum
    dram_write_bits: dict                 # ofmap, psum
    tile_bits: dict                       # ifmap, weight, ofmap (what one buffer holds)
    objective: str
    objective_value: float

    @property
    def n_p(self) -> int:
        return self.lowered.layer.batch * self.tiles_h.n * self.tiles_w.n

    @property
    def steps(self) -> int:
        return self.n_p * self.n_c * self.n_f

    @property
    def dram_read_bytes(self) -> dict:
        return {k: math.ceil(v / 8) for k, v in self.dram_read_bits.items()}

    @property
    def dram_write_bytes(self) -> dict:
        return {k: math.ceil(v / 8) for k, v in self.dram_write_bits.items()}

    @property
    def dram_bytes(self) -> int:
        return sum(self.dram_read_bytes.values()) + sum(self.dram_write_bytes.values())

    def describe(self) -> str:
        return (f"order {self.loop_order} tile h{self.tiles_h.tile} w{self.tiles_w.tile} "
                f"c{self.tile_c} f{self.tile_f} fetch I{self.fetch_ifmap} W{self.fetch_weight} O{self.fetch_psum}")


def compulsory_bits(lowered: Lowered, sizes: OperandSizes) -> dict:
    """Every input element the layer uses read once, weights once, outputs written once."""
    layer = lowered.layer
    h, w = used_inputs(lowered, 0), used_inputs(lowered, 1)
    return {"ifmap": layer.batch * layer.in_channels * h * w * sizes.in_bits,
            "weight": sizes.weight_pass_bits,
            "ofmap": layer.output_elems * sizes.out_bits}


def compulsory_bytes(lowered: Lowered, sizes: OperandSizes) -> int:
    return sum(math.ceil(v / 8) for v in compulsory_bits(lowered, sizes).values())


def _capacity(arch: ArchSpec):
    if arch.shared_buffer:
        return None, arch.buffers[0].usable_bits
    return {r: arch.buffer(r).usable_bits for r in ("ifmap", "weight", "ofmap")}, None


def _refetch(order: str, irrelevant: str, relevant: str, n: dict) -> np.ndarray:
    """Vectorized: n[irrelevant] where it lies above a relevant loop with more than one trip, else 1."""
    below = order[order.index(irrelevant) + 1:]
    deeper = np.zeros(n["p"].shape, dtype=bool)
    for loop in below:
        if loop in relevant:
            deeper |= n[loop] > 1
    return np.where(deeper, n[irrelevant], 1)


def search(lowered: Lowered, plan: LayerPlan, arch: ArchSpec, objective: str = "dram",
           costs: MapperCosts | None = None) -> Mapping:
    if objective not in OBJECTIVES:
        raise ConfigError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    costs = costs or MapperCosts()
    layer, sizes = lowered.layer, OperandSizes.of(plan)
    grouped = layer.groups > 1
    cin_g, cout_g = layer.in_channels // layer.groups, layer.out_channels // layer.groups
    scatter = lowered.method == "scatter"

    ax_h = [axis_tiling(lowered, 0, t) for t in tile_candidates(tiled_extent(lowered, 0))]
    ax_w = [axis_tiling(lowered, 1, t) for t in tile_candidates(tiled_extent(lowered, 1))]
    if grouped:   # tile over whole groups; c and f move together
        c_cands = [g * cin_g for g in tile_candidates(layer.groups)]
        f_cands = [layer.out_channels]
    else:
        c_cands = tile_candidates(layer.in_channels)
        f_cands = tile_candidates(layer.out_channels)

    # every combination of tile sizes (order-independent quantities), infeasible ones dropped early
    ih, iw, ic, jf = (a.ravel() for a in np.meshgrid(np.arange(len(ax_h)), np.arange(len(ax_w)),
                                                      np.arange(len(c_cands)), np.arange(len(f_cands)),
                                                      indexing="ij"))
    f64 = lambda xs: np.array(xs, dtype=np.float64)  # noqa: E731
    tc, tf = f64(c_cands)[ic], f64(f_cands)[jf]
    if grouped:
        tf = tc / cin_g * cout_g
    n_c = np.ceil(layer.in_channels / tc)
    out_max = f64([a.out_max for a in ax_h])[ih] * f64([a.out_max for a in ax_w])[iw]
    in_max = f64([a.in_max for a in ax_h])[ih] * f64([a.in_max for a in ax_w])[iw]
    w_pass = float(sizes.weight_pass_bits)
    w_tile = w_pass * (tc / layer.in_channels) * (tf / layer.out_channels) if not grouped \
        else w_pass * tc / layer.in_channels
    spill_possible = (n_c > 1) & (not grouped)
    o_tile = out_max * tf * np.where(spill_possible | scatter, sizes.acc_bits, sizes.out_bits)
    i_tile = in_max * tc * sizes.in_bits
    cap, shared = _capacity(arch)
    if shared is None:
        fits = (i_tile <= cap["ifmap"]) & (w_tile <= cap["weight"]) & (o_tile <= cap["ofmap"])
    else:
        fits = i_tile + w_tile + o_tile <= shared
    if not fits.any():
        raise InfeasibleError(f"layer {layer.name!r}: no tiling fits the buffers of arch {arch.name!r} "
                              f"(smallest tiles need ifmap {int(i_tile.min())} b, weight {int(w_tile.min())} b, "
                              f"ofmap {int(o_tile.min())} b)")
    keep = np.flatnonzero(fits)
    ih, iw, ic, jf, tc, tf, n_c, w_tile, o_tile, i_tile = (a[keep] for a in (ih, iw, ic, jf, tc, tf, n_c, w_tile,
                                                                             o_tile, i_tile))
    nh, nw = f64([a.n for a in ax_h])[ih], f64([a.n for a in ax_w])[iw]
    n_f = np.ceil(layer.out_channels / tf) if not grouped else np.ones_like(tc)
    n = {"p": layer.batch * nh * nw, "c": n_c, "f": n_f}
    in_sum = f64([a.in_sum for a in ax_h])[ih] * f64([a.in_sum for a in ax_w])[iw]
    out_sum = f64([a.out_sum for a in ax_h])[ih] * f64([a.out_sum for a in ax_w])[iw]
    out_union = f64([a.out_union for a in ax_h])[ih] * f64([a.out_union for a in ax_w])[iw]

    # bits one pass over every tile moves; refetch factors per loop order (columns)
    in_pass = layer.batch * in_sum * layer.in_channels * sizes.in_bits
    o_final = float(layer.output_elems) * sizes.out_bits
    o_psum = float(layer.output_elems) * sizes.acc_bits
    f_i = np.stack([_refetch(o, "f", "pc", n) for o in ORDERS], axis=1)
    f_w = np.stack([_refetch(o, "p", "cf", n) for o in ORDERS], axis=1)
    f_o = np.ones_like(f_i) if grouped else np.stack([_refetch(o, "c", "pf", n) for o in ORDERS], axis=1)
    psum_bits = (f_o - 1) * o_psum
    if scatter:  # overlap-add: each footprint element beyond the first copy is a partial sum out and back
        overlap = layer.batch * (out_sum - out_union) * layer.out_channels * sizes.acc_bits
        psum_bits = psum_bits + overlap[:, None]
    read_i, read_w = in_pass[:, None] * f_i, w_pass * f_w
    write_o = np.full_like(read_i, o_final)
    total_bits = read_i + read_w + 2 * psum_bits + write_o
    steps = np.broadcast_to((n["p"] * n_c * n_f)[:, None], total_bits.shape)
    if objective == "dram":
        value = total_bits / 8
    else:
        energy = ((read_i + read_w + psum_bits) * costs.read_pj_per_byte
                  + (write_o + psum_bits) * costs.write_pj_per_byte) / 8
        bw = arch.dram_bytes_per_cycle
        first_load = ((i_tile + w_tile) / 8 / bw)[:, None]
        latency = np.maximum(costs.compute_cycles, total_bits / 8 / bw) + first_load
        value = {"energy": energy, "latency": latency, "edp": energy * latency}[objective]
    flat = np.lexsort((np.arange(value.size), steps.ravel(), value.ravel()))[0]
    row, col = divmod(int(flat), len(ORDERS))
    best = (row, col)
    order_name = ORDERS[col]
    f_i, f_w, f_o, psum_bits, read_i, read_w, write_o, value = (
        a[best] for a in (f_i, f_w, f_o, psum_bits, read_i, read_w, write_o, value))
    best = row
    rb = {"ifmap": float(read_i), "weight": float(read_w), "psum": float(psum_bits)}
    wb = {"ofmap": float(write_o), "psum": float(psum_bits)}
    return Mapping(lowered, sizes, order_name, ax_h[ih[best]], ax_w[iw[best]],
                   int(tc[best]), int(tf[best]), int(n_c[best]), int(n_f[best]),
                   int(f_i), int(f_w), int(f_o), rb, wb,
                   {"ifmap": float(i_tile[best]), "weight": float(w_tile[best]), "ofmap": float(o_tile[best])},
                   objective, float(value))
