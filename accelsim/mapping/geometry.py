"""Which part of the stored input a tile of the output needs, along one spatial axis.

A tile is a half-open range of the tiled index: output rows for the gather forms (direct,
zero_insert, phase) and input rows for scatter. ``AxisTiling`` collects, for one tile size, the
per-tile input extents and output extents the traffic model needs.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from accelsim.mapping.lowering import Lowered, zero_inserted_hw


@dataclass(frozen=True)
class AxisTiling:
    tile: int                              # tile size along the tiled index
    in_ranges: tuple[tuple[int, int], ...]   # stored-input [lo, hi) per tile
    out_ranges: tuple[tuple[int, int], ...]  # output [lo, hi) per tile (footprint for scatter)

    @property
    def n(self) -> int:
        return len(self.in_ranges)

    @property
    def in_sum(self) -> int:
        return sum(hi - lo for lo, hi in self.in_ranges)

    @property
    def in_new_ranges(self) -> tuple[tuple[int, int], ...]:
        """Per tile, the part of its input range its predecessor's does not cover: what a sweep over
        the tiles in order loads when each tile keeps its overlap with the previous one on chip."""
        out, prev_hi = [], None
        for lo, hi in self.in_ranges:
            start = lo if prev_hi is None else min(hi, max(lo, prev_hi))
            out.append((start, hi))
            prev_hi = hi
        return tuple(out)

    @property
    def in_new_sum(self) -> int:
        return sum(hi - lo for lo, hi in self.in_new_ranges)

    @property
    def in_max(self) -> int:
        return max(hi - lo for lo, hi in self.in_ranges)

    @property
    def out_sum(self) -> int:
        return sum(hi - lo for lo, hi in self.out_ranges)

    @property
    def out_union(self) -> int:
        """Output indices covered by at least one tile (scatter footprints may leave gaps)."""
        covered = set()
        for lo, hi in self.out_ranges:
            covered.update(range(lo, hi))
        return len(covered)

    @property
    def out_max(self) -> int:
        return max(hi - lo for lo, hi in self.out_ranges)


def _axis_params(lowered: Lowered, axis: int):
    layer = lowered.layer
    return (layer.in_hw[axis], layer.out_hw[axis], layer.kernel_hw[axis], layer.stride_hw[axis],
            layer.padding_hw[axis], layer.dilation_hw[axis])


def tiled_extent(lowered: Lowered, axis: int) -> int:
    """Length of the tiled index along ``axis``."""
    layer = lowered.layer
    return layer.in_hw[axis] if lowered.method == "scatter" else layer.out_hw[axis]


@lru_cache(maxsize=8192)
def axis_tiling(lowered: Lowered, axis: int, tile: int) -> AxisTiling:
    n_in, n_out, k, s, p, d = _axis_params(lowered, axis)
    method = lowered.method
    extent = tiled_extent(lowered, axis)
    ins, outs = [], []
    for lo in range(0, extent, tile):
        hi = min(lo + tile, extent)
        if method == "direct":
            a, b = max(0, lo * s - p), min(n_in, (hi - 1) * s - p + (k - 1) * d + 1)
            ins.append((a, max(a, b)))
            outs.append((lo, hi))
        elif method == "zero_insert" and lowered.zeros_in_dram:
            n_zi = zero_inserted_hw(lowered.layer)[axis]
            ins.append((lo, min(n_zi, hi - 1 + (k - 1) * d + 1)))
            outs.append((lo, hi))
        elif method == "scatter":
            ins.append((lo, hi))
            a, b = max(0, lo * s - p), min(n_out, (hi - 1) * s - p + (k - 1) * d + 1)
            outs.append((a, max(a, b)))
        else:  # transposed conv gathered from the original input (zero_insert on chip, phase)
            a = max(0, -(-(lo + p - (k - 1) * d) // s))
            b = min(n_in, (hi - 1 + p) // s + 1)
            ins.append((a, max(a, b)))
            outs.append((lo, hi))
    return AxisTiling(tile, tuple(ins), tuple(outs))


def used_inputs(lowered: Lowered, axis: int) -> int:
    """How many stored-input indices along ``axis`` feed at least one output (the compulsory reads)."""
    n_in, n_out, k, s, p, d = _axis_params(lowered, axis)
    if lowered.method == "zero_insert" and lowered.zeros_in_dram:
        return zero_inserted_hw(lowered.layer)[axis]
    used = set()
    for t in range(k):
        for o in range(n_out) if lowered.method == "direct" else range(n_in):
            i = o * s - p + t * d
            if lowered.method == "direct" and 0 <= i < n_in:
                used.add(i)
            elif lowered.method != "direct" and 0 <= i < n_out:
                used.add(o)
    return len(used)


def tile_sizes(n: int) -> list[int]:
    """Every tile size worth trying along an extent of n, largest first: for each tile count m in
    1..n the smallest size giving m tiles, ceil(n/m) (a larger size with the same count holds more
    and moves the same or more). About 2 sqrt(n) sizes; ``tile_candidates`` is a subset."""
    return sorted({-(-n // m) for m in range(1, n + 1)}, reverse=True)


def tile_candidates(n: int) -> list[int]:
    """n, ceil(n/2), ceil(n/4), ... down to 1 (distinct): the coarse sizes."""
    out, t, j = [], n, 1
    while True:
        t = -(-n // j)
        if t not in out:
            out.append(t)
        if t == 1:
            return out
        j *= 2
