"""Tiling search: tile sizes and loop order per layer that fit the buffers, ranked by DRAM traffic
(exact), or by estimates of energy, latency or their product (edp) that price DRAM bytes, one
activate per byte run, t_CL per tile step and the per-cycle static energy (``MapperCosts``).
``shortlist`` returns the k best; the api simulates them for the estimated objectives.

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
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from accelsim.arch.spec import ArchSpec
from accelsim.errors import ConfigError, InfeasibleError
from accelsim.mapping.geometry import (AxisTiling, axis_tiling, tile_candidates, tile_sizes, tiled_extent,
                                       used_inputs)
from accelsim.mapping.lowering import Lowered
from accelsim.workload.graph import LayerPlan
from accelsim.workload.layer import unnamed

OBJECTIVES = ("dram", "energy", "latency", "edp")
ORDERS = tuple("".join(p) for p in itertools.permutations("pcf"))
# orders whose consecutive ifmap tiles are neighbouring spatial tiles (same c tile)
C_ABOVE_P = np.array([o.index("c") < o.index("p") for o in ORDERS])


@dataclass(frozen=True)
class MapperCosts:
    """What the ``energy``, ``latency`` and ``edp`` estimates price, supplied by the caller (the api,
    from the arch's energy table and DRAM timing), so the mapper needs no energy tables:
    per-byte DRAM energies, the energy of one DRAM activate (a byte run is counted as one), the
    energy every cycle costs whatever happens in it (DRAM background and refresh, SRAM leakage),
    the compute cycles of the layer, and the fixed cycles every tile transfer waits before its
    first burst (t_CL). These are estimates for ranking candidates; the api simulates a shortlist
    (``shortlist``) and keeps the one the simulator prices best."""
    read_pj_per_byte: float = 1.0
    write_pj_per_byte: float = 1.0
    compute_cycles: int = 0
    activate_pj: float = 0.0
    cycle_pj: float = 0.0
    transfer_cycles: float = 0.0


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
    halo_reuse: bool = False              # each ifmap load keeps the previous tile's overlap on chip

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
                f"c{self.tile_c} f{self.tile_f} fetch I{self.fetch_ifmap} W{self.fetch_weight} O{self.fetch_psum}"
                + (" halo kept" if self.halo_reuse else ""))


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


@lru_cache(maxsize=512)
def _space(lowered: Lowered, sizes: OperandSizes, rd: float, wr: float) -> tuple:
    """What the search needs that no buffer capacity changes (a buffer sweep asks for the same layer
    at many capacities): the tile candidates per axis, and per spatial tiling its extents, trips,
    traffic of one pass and lower bound. Cached; the arrays are read only (made unwriteable)."""
    layer = lowered.layer
    grouped = layer.groups > 1
    cin_g, cout_g = layer.in_channels // layer.groups, layer.out_channels // layer.groups
    scatter = lowered.method == "scatter"
    f64 = lambda xs: np.array(xs, dtype=np.float64)  # noqa: E731

    ext_h, ext_w = tiled_extent(lowered, 0), tiled_extent(lowered, 1)
    ax_h = [axis_tiling(lowered, 0, t) for t in tile_sizes(ext_h)]
    ax_w = [axis_tiling(lowered, 1, t) for t in tile_sizes(ext_w)]
    if grouped:   # tile over whole groups; c and f move together
        c_cands = [g * cin_g for g in tile_sizes(layer.groups)]
        c_coarse = [g * cin_g for g in tile_candidates(layer.groups)]
        f_cands = [layer.out_channels]
    else:
        c_cands = tile_sizes(layer.in_channels)
        c_coarse = tile_candidates(layer.in_channels)
        f_cands = tile_sizes(layer.out_channels)[::-1]     # ascending: the largest that fits is searched
    c_arr, f_arr = f64(c_cands), f64(f_cands)
    w_pass = float(sizes.weight_pass_bits)
    o_final = float(layer.output_elems) * sizes.out_bits
    o_psum = float(layer.output_elems) * sizes.acc_bits

    # per spatial tiling (h size x w size, flattened): extents, trips, traffic of one pass, bound
    sp = lambda attr: np.outer(f64([getattr(a, attr) for a in ax_h]), f64([getattr(a, attr) for a in ax_w])).ravel()  # noqa: E731
    s_out_max, s_in_max, s_n = sp("out_max"), sp("in_max"), layer.batch * sp("n")
    s_in_pass = layer.batch * sp("in_sum") * layer.in_channels * sizes.in_bits
    # a sweep over the spatial tiles in order keeps each tile's overlap with the previous one: along w
    # within a row of tiles, or along h when a tile spans the whole width
    one_w = np.array([a.n == 1 for a in ax_w])
    s_in_stream = layer.batch * layer.in_channels * sizes.in_bits * np.where(
        np.tile(one_w, len(ax_h)),
        np.outer(f64([a.in_new_sum for a in ax_h]), f64([a.in_sum for a in ax_w])).ravel(),
        np.outer(f64([a.in_sum for a in ax_h]), f64([a.in_new_sum for a in ax_w])).ravel())
    s_overlap = (layer.batch * (sp("out_sum") - sp("out_union")) * layer.out_channels * sizes.acc_bits
                 if scatter else np.zeros(s_n.size))
    # byte runs of one tile (C x H x W layout, ``schedule._boxes``): one when it spans the whole image,
    # one per channel when it spans the width, else one per channel and row
    one_hw = np.outer([a.n == 1 for a in ax_h], [a.n == 1 for a in ax_w]).ravel()
    s_one_w = np.tile(one_w, len(ax_h))
    s_in_rows = np.repeat(f64([a.in_max for a in ax_h]), len(ax_w))
    s_out_rows = np.repeat(f64([a.out_max for a in ax_h]), len(ax_w))
    s_bound = ((s_in_stream + w_pass + s_overlap) * rd + (o_final + s_overlap) * wr) / 8

    coarse_s = np.flatnonzero(np.outer(np.isin([a.tile for a in ax_h], tile_candidates(ext_h)),
                                       np.isin([a.tile for a in ax_w], tile_candidates(ext_w))).ravel())
    coarse_c = np.flatnonzero(np.isin(c_cands, c_coarse))
    all_s, all_c = np.arange(s_n.size), np.arange(len(c_cands))
    # every value a tile of each operand can take, by the arithmetic of ``search.tiles`` operation for
    # operation (so equal floats): with separate buffers, a capacity reaches the search only through
    # which of these fit (the ``search`` memo's key)
    tf_all = c_arr / cin_g * cout_g if grouped else f_arr
    v_i = np.multiply.outer(s_in_max, c_arr) * sizes.in_bits
    v_w = w_pass * c_arr / layer.in_channels if grouped else \
        np.multiply.outer(w_pass * (c_arr / layer.in_channels), f_arr / layer.out_channels)
    v_o = np.multiply.outer(s_out_max, tf_all)
    v_o = np.concatenate([(v_o * sizes.acc_bits).ravel(), (v_o * sizes.out_bits).ravel()])
    tile_values = tuple(np.unique(v.ravel()) for v in (v_i, v_w, v_o))
    out = (layer, grouped, cin_g, cout_g, scatter, ext_h, ext_w, ax_h, ax_w, c_cands, c_coarse, f_cands, c_arr, f_arr,
           w_pass, o_final, o_psum, s_out_max, s_in_max, s_n, s_in_pass, s_in_stream, s_overlap, one_hw,
           s_one_w, s_in_rows, s_out_rows, s_bound, coarse_s, coarse_c, all_s, all_c, tile_values)
    for a in out[:-1] + tile_values:
        if isinstance(a, np.ndarray):
            a.flags.writeable = False
    return out


_SEARCHED: dict = {}
_SEARCHED_MAX = 8192


def search(lowered: Lowered, plan: LayerPlan, arch: ArchSpec, objective: str = "dram",
           costs: MapperCosts | None = None) -> Mapping:
    """The best tiling and loop order of ``lowered`` for ``objective`` by the mapper's own estimate
    (``shortlist``'s first)."""
    return shortlist(lowered, plan, arch, objective, costs, 1)[0]


def shortlist(lowered: Lowered, plan: LayerPlan, arch: ArchSpec, objective: str = "dram",
              costs: MapperCosts | None = None, k: int = 1) -> tuple:
    """The ``k`` best tilings of ``lowered`` for ``objective`` (distinct tile sizes, each with its best
    loop order, best first; fewer when fewer fit) by ``_search``'s estimate, remembered: with
    separate ifmap / weight / ofmap buffers the result depends on their capacities only through
    which tile sizes fit, i.e. through each capacity's rank among the tile values the operand can
    take (``_space``), so a buffer sweep searches a layer once per distinct rank triple. A shared
    buffer (fit = the sum of three tiles) is searched every time. tests/test_sim_speed.py checks the
    remembered result against a fresh search on random capacities."""
    if objective not in OBJECTIVES:
        raise ConfigError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    costs = costs or MapperCosts()
    cap, shared = _capacity(arch)
    if shared is not None:
        return _search(lowered, plan, arch, objective, costs, k)
    sizes, anon = OperandSizes.of(plan), _anonymous(lowered)
    rd, wr = (costs.read_pj_per_byte, costs.write_pj_per_byte) if objective == "energy" else (1.0, 1.0)
    tile_values = _space(anon, sizes, rd, wr)[-1]
    ranks = tuple(int(np.searchsorted(v, cap[r], side="right")) for v, r in zip(tile_values, ("ifmap", "weight", "ofmap")))
    key = (anon, sizes, objective, costs, arch.dram_bytes_per_cycle, ranks, k)
    hit = _SEARCHED.get(key)
    if hit is None:
        hit = _search(lowered, plan, arch, objective, costs, k)
        if len(_SEARCHED) >= _SEARCHED_MAX:
            _SEARCHED.pop(next(iter(_SEARCHED)))
        _SEARCHED[key] = hit
    return tuple(m if m.lowered == lowered else replace(m, lowered=lowered) for m in hit)


def forget() -> None:
    """Drop the search memo and the cached search spaces (``accelsim.api.clear_memos``)."""
    _SEARCHED.clear()
    _space.cache_clear()
    _anonymous.cache_clear()


@lru_cache(maxsize=4096)
def _anonymous(lowered: Lowered) -> Lowered:
    """``lowered`` without its layer's name (the memo and ``_space`` key: repeated blocks share them)."""
    return replace(lowered, layer=unnamed(lowered.layer))


def _search(lowered: Lowered, plan: LayerPlan, arch: ArchSpec, objective: str, costs: MapperCosts,
            k: int = 1) -> tuple:
    """The ``k`` best tilings (distinct tile sizes, each with its best loop order) of ``lowered`` for
    ``objective``, best first.

    Tile sizes: one per tile count along h, w, c and f (``tile_sizes``: every count, not only
    halvings). Traffic never grows when one tile size grows at fixed others (fewer trips, never more
    refetches), so each (h, w, c) tile is taken with the largest f tile that fits; for dram and
    energy the smaller f tiles are dominated. Latency and edp also weigh the first tile load, which
    grows with the tiles: they get the full mesh of the coarse sizes (``tile_candidates``) as well.
    For dram and energy, spatial tilings whose lower bound (every operand moved once, halos and
    overlap included) exceeds the best coarse candidate are dropped before the mesh is built: they
    can neither win nor tie. Ties on the objective go to fewer DRAM byte runs (fewer activates), then
    to the smaller first load (ifmap + weight tile: the load no compute hides)."""
    layer, sizes = lowered.layer, OperandSizes.of(plan)
    rd, wr = (costs.read_pj_per_byte, costs.write_pj_per_byte) if objective == "energy" else (1.0, 1.0)
    (layer, grouped, cin_g, cout_g, scatter, ext_h, ext_w, ax_h, ax_w, c_cands, c_coarse, f_cands, c_arr,
     f_arr, w_pass, o_final, o_psum, s_out_max, s_in_max, s_n, s_in_pass, s_in_stream, s_overlap, one_hw,
     s_one_w, s_in_rows, s_out_rows, s_bound, coarse_s, coarse_c, all_s, all_c, _) = _space(_anonymous(lowered), sizes, rd, wr)
    cap, shared = _capacity(arch)

    def tiles(si, ic, jf):
        """Buffer bits of each operand's tile and whether they fit, per candidate."""
        tc = c_arr[ic]
        tf = tc / cin_g * cout_g if grouped else f_arr[jf]
        spill_possible = (tc < layer.in_channels) & (not grouped)
        w_tile = w_pass * tc / layer.in_channels if grouped else \
            w_pass * (tc / layer.in_channels) * (tf / layer.out_channels)
        o_tile = s_out_max[si] * tf * np.where(spill_possible | scatter, sizes.acc_bits, sizes.out_bits)
        i_tile = s_in_max[si] * tc * sizes.in_bits
        if shared is None:
            fits = (i_tile <= cap["ifmap"]) & (w_tile <= cap["weight"]) & (o_tile <= cap["ofmap"])
        else:
            fits = i_tile + w_tile + o_tile <= shared
        return i_tile, w_tile, o_tile, fits

    def largest_f(si, ic):
        """Index of the largest f tile that fits with spatial tiling si and c tile ic (0 if none)."""
        if grouped:
            return np.zeros_like(si)
        tc = c_arr[ic]
        o_per_f = s_out_max[si] * np.where((tc < layer.in_channels) | scatter, sizes.acc_bits, sizes.out_bits)
        w_per_f = w_pass * tc / layer.in_channels / layer.out_channels
        if shared is None:
            bound = np.minimum(cap["ofmap"] / np.maximum(o_per_f, 1e-300), cap["weight"] / np.maximum(w_per_f, 1e-300))
        else:
            bound = (shared - s_in_max[si] * tc * sizes.in_bits) / (o_per_f + w_per_f)
        jf = np.searchsorted(f_arr, bound * (1 + 1e-9), side="right") - 1
        for _ in range(2):   # step down where rounding put the bound one size too high
            jf = np.where((jf >= 0) & ~tiles(si, ic, np.maximum(jf, 0))[3], jf - 1, jf)
        return np.maximum(jf, 0)

    def mesh(spatial, c_idx, prune):
        """Every spatial tiling x c tile with its largest f tile. prune (dram, energy): drop the rows
        another row of the same spatial tiling dominates (a c tile and an f tile at least as large)."""
        si, ic = (a.ravel() for a in np.meshgrid(spatial, c_idx, indexing="ij"))
        jf = largest_f(si, ic)
        if prune and not grouped and si.size:
            rank = np.where(tiles(si, ic, jf)[3], jf, -1).reshape(spatial.size, c_idx.size)   # c descending
            seen = np.maximum.accumulate(np.c_[np.full(spatial.size, -1), rank[:, :-1]], axis=1)
            keep = ((rank > seen) & (rank >= 0)).ravel()
            si, ic, jf = si[keep], ic[keep], jf[keep]
        return si, ic, jf

    def evaluate(si, ic, jf):
        """Objective value, steps and traffic of candidates (rows) under every loop order (columns)."""
        i_tile, w_tile = tiles(si, ic, jf)[:2]
        tc = c_arr[ic]
        n_c = np.ceil(layer.in_channels / tc)
        n_f = np.ones(si.size) if grouped else np.ceil(layer.out_channels / f_arr[jf])
        n = {"p": s_n[si], "c": n_c, "f": n_f}
        f_i = np.stack([_refetch(o, "f", "pc", n) for o in ORDERS], axis=1)
        f_w = np.stack([_refetch(o, "p", "cf", n) for o in ORDERS], axis=1)
        f_o = np.ones_like(f_i) if grouped else np.stack([_refetch(o, "c", "pf", n) for o in ORDERS], axis=1)
        psum_bits = (f_o - 1) * o_psum + s_overlap[si][:, None]
        reuse = C_ABOVE_P[None, :] | (n_c == 1)[:, None]
        read_i = np.where(reuse, s_in_stream[si][:, None], s_in_pass[si][:, None]) * f_i
        read_w = w_pass * f_w
        total_bits = read_i + read_w + 2 * psum_bits + o_final
        steps = np.broadcast_to((n["p"] * n_c * n_f)[:, None], total_bits.shape)
        # DRAM byte runs (a tie-break: among equal values, fewer and longer runs mean fewer activates)
        tf = tc / cin_g * cout_g if grouped else f_arr[jf]
        run_i = np.where(one_hw[si], 1.0, np.where(s_one_w[si], tc, tc * s_in_rows[si]))
        run_w = np.where(tc >= layer.in_channels, 1.0, tf)
        run_o = np.where(one_hw[si], 1.0, np.where(s_one_w[si], tf, tf * s_out_rows[si]))
        runs = ((n["p"] * n_c * run_i)[:, None] * f_i + (n_c * n_f * run_w)[:, None] * f_w
                + (n["p"] * n_f * run_o)[:, None] * (2 * f_o - 1))
        if objective == "dram":
            value = total_bits / 8
        else:
            bw = arch.dram_bytes_per_cycle
            first_load = ((i_tile + w_tile) / 8 / bw)[:, None]
            latency = np.maximum(costs.compute_cycles, total_bits / 8 / bw + steps * costs.transfer_cycles) + first_load
            energy = (((read_i + read_w + psum_bits) * costs.read_pj_per_byte
                       + (o_final + psum_bits) * costs.write_pj_per_byte) / 8
                      + runs * costs.activate_pj + latency * costs.cycle_pj)
            value = {"energy": energy, "latency": latency, "edp": energy * latency}[objective]
        return value, steps, runs, (f_i, f_w, f_o, psum_bits, read_i, read_w, reuse, n_c, n_f)

    if objective in ("latency", "edp"):
        si, ic, jf = mesh(all_s, all_c, False)
        c_mesh = np.meshgrid(coarse_s, coarse_c, np.arange(1) if grouped else
                             np.flatnonzero(np.isin(f_cands, tile_candidates(layer.out_channels))), indexing="ij")
        si, ic, jf = (np.concatenate([a, m.ravel()]) for a, m in zip((si, ic, jf), c_mesh))
    else:
        si, ic, jf = mesh(coarse_s, coarse_c, True)
        first = tiles(si, ic, jf)[3]
        spatial = all_s
        if first.any():
            incumbent = evaluate(si[first], ic[first], jf[first])[0].min()
            spatial = all_s[s_bound <= incumbent * (1 + 1e-12)]
        si, ic, jf = mesh(spatial, all_c, True)
    fits = tiles(si, ic, jf)[3]
    if not fits.any():
        smallest = (np.array([s_n.size - 1]), np.array([len(c_cands) - 1]), np.array([0]))
        i_tile, w_tile, o_tile = tiles(*smallest)[:3]
        raise InfeasibleError(f"layer {lowered.layer.name!r}: no tiling fits the buffers of arch {arch.name!r} "
                              f"(smallest tiles need ifmap {int(i_tile.min())} b, weight {int(w_tile.min())} b, "
                              f"ofmap {int(o_tile.min())} b)")
    keep = np.flatnonzero(fits)
    si, ic, jf = si[keep], ic[keep], jf[keep]
    value, steps, runs, traffic = evaluate(si, ic, jf)
    i_tile, w_tile = tiles(si, ic, jf)[:2]
    first = np.broadcast_to((i_tile + w_tile)[:, None], value.shape)
    order = np.lexsort((np.arange(value.size), first.ravel(), runs.ravel(), value.ravel()))
    picked, seen_tilings = [], set()
    for flat in order:
        row, col = divmod(int(flat), len(ORDERS))
        tiling = (si[row], ic[row], jf[row])     # latency and edp meshes may hold a tiling twice
        if tiling not in seen_tilings:
            seen_tilings.add(tiling)
            picked.append((row, col))
            if len(picked) == k:
                break

    def build(row, col):
        f_i, f_w, f_o, psum_bits, read_i, read_w = (float(a[row, col]) for a in traffic[:6])
        reuse = bool(traffic[6][row, col])
        n_c, n_f = (int(a[row]) for a in traffic[7:])
        b = slice(row, row + 1)
        i_tile, w_tile, o_tile = (float(a[0]) for a in tiles(si[b], ic[b], jf[b])[:3])
        tc = int(c_cands[ic[row]])
        tf = tc // cin_g * cout_g if grouped else int(f_cands[jf[row]])
        h, w = divmod(int(si[row]), len(ax_w))
        return Mapping(lowered, sizes, ORDERS[col], ax_h[h], ax_w[w], tc, tf, n_c, n_f,
                       int(f_i), int(f_w), int(f_o), {"ifmap": read_i, "weight": read_w, "psum": psum_bits},
                       {"ofmap": o_final, "psum": psum_bits}, {"ifmap": i_tile, "weight": w_tile, "ofmap": o_tile},
                       objective, float(value[row, col]), reuse and s_in_stream[si[row]] < s_in_pass[si[row]])
    return tuple(build(row, col) for row, col in picked)
