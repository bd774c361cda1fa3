"""Weights on ReRAM crossbars: how each format is stored in cells, and how a lowered layer's GEMMs
(K x F weight matrices) tile onto ``rows`` x ``cols`` crossbars.

Encodings (``bits_per_cell`` = b, a stored non-negative value v is cut into ceil(bits / b) slices,
least significant first, slice s = (v >> s*b) & (2^b - 1), one cell each):

=============  =====================================  ==============================================
format         differential (two columns per slice)   offset (one column per slice + reference)
=============  =====================================  ==============================================
intN (fixed)   |w| in N-1 bits on the + or - column   u = w + 2^(N-1) in N bits; w = u - 2^(N-1)
flex16         int16 mantissa as int16 fixed point    (the shared exponent is applied digitally)
ternary        (1,0) / (0,0) / (0,1) for +1 / 0 / -1 always differential
binary         (1,0) / (0,1) for +1 / -1              u = (w + 1) / 2 in 1 bit; w = 2u - 1
=============  =====================================  ==============================================

With offset encoding each crossbar spends one column on a reference of unit cells: its column sum
is sum(x) over the crossbar's rows, and the digital side computes w.x = a * u.x - b * sum(x).

Tiling: a crossbar holds ``filters_per_crossbar = (cols - reference) // columns_per_weight`` whole
filters (a filter's slices stay in one crossbar); a K x F GEMM needs ceil(K / rows) row tiles x
ceil(F / filters_per_crossbar) column tiles, times the GEMM's count (groups, phases). Partial sums
of the row tiles are added digitally.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.arch.crossbar import CrossbarSpec
from accelsim.errors import FormatError, InfeasibleError
from accelsim.mapping.lowering import Gemm, Lowered
from accelsim.workload.precision import Format

W_KINDS = ("fixed", "ternary", "binary", "flex")


@dataclass(frozen=True)
class WeightEncoding:
    """How one weight is stored: w = offset_scale * u - offset (offset encoding) or
    w = u+ - u- (differential), u split into ``slices`` cells of ``bits_per_cell`` bits."""
    kind: str
    code_min: int
    code_max: int
    differential: bool
    value_bits: int
    bits_per_cell: int
    offset_scale: int = 1
    offset: int = 0

    @property
    def slices(self) -> int:
        return -(-self.value_bits // self.bits_per_cell)

    @property
    def columns_per_weight(self) -> int:
        return self.slices * (2 if self.differential else 1)

    @property
    def reference_columns(self) -> int:
        """Reference columns per crossbar (offset encoding only)."""
        return 0 if self.differential else 1


def weight_encoding(w_kind: str, w_bits: int, spec: CrossbarSpec) -> WeightEncoding:
    """Encoding of ``w_kind`` weights (fixed/ternary/binary/flex, as the kernels name them; ``xnor``
    is binary) of ``w_bits`` bits under ``spec.signed_encoding``."""
    b, diff = spec.bits_per_cell, spec.signed_encoding == "differential"
    if w_kind == "xnor":
        w_kind = "binary"
    if w_kind == "flex":
        w_kind, w_bits = "fixed", 16
    if w_kind == "ternary":
        return WeightEncoding("ternary", -1, 1, True, 1, b)
    if w_kind == "binary":
        if diff:
            return WeightEncoding("binary", -1, 1, True, 1, b)
        return WeightEncoding("binary", -1, 1, False, 1, b, 2, 1)
    if w_kind != "fixed":
        raise FormatError(f"crossbar weights: w_kind must be one of {', '.join(W_KINDS)}, got {w_kind!r}")
    if not 2 <= w_bits <= 16:
        raise FormatError(f"crossbar weights: w_bits must be in [2, 16], got {w_bits}")
    half = 1 << (w_bits - 1)
    if diff:   # symmetric codes: magnitudes up to 2^(N-1) - 1 in N-1 bits
        return WeightEncoding("fixed", -(half - 1), half - 1, True, w_bits - 1, b)
    return WeightEncoding("fixed", -half, half - 1, False, w_bits, b, 1, half)


def format_encoding(fmt: Format, spec: CrossbarSpec) -> WeightEncoding:
    """Encoding of a workload ``Format``'s weights; float weights cannot be stored in cells."""
    kinds = {"int": "fixed", "ternary": "ternary", "binary": "binary", "flex": "flex"}
    if fmt.weight_kind not in kinds:
        raise InfeasibleError(f"format {fmt.name!r}: {fmt.weight_kind} weights cannot be stored in ReRAM cells; "
                              "crossbar archs take intN, ternary, binary, binary_w_int8_a or flex16")
    return weight_encoding(kinds[fmt.weight_kind], fmt.weight_bits, spec)


def input_cycles(n_bits: int, signed: bool, dac_bits: int) -> int:
    """Crossbar reads to apply one n-bit input: unsigned in ceil(n/d) d-bit DAC steps; two's
    complement as ceil((n-1)/d) steps of the low bits plus one step for the sign bit."""
    if signed:
        return -(-(n_bits - 1) // dac_bits) + 1
    return -(-n_bits // dac_bits)


def format_input(fmt: Format) -> tuple[int, bool]:
    """(bits, signed) of one input as applied to the rows: intN activations as N-bit two's
    complement; binary activations as {-1, 0, +1} (padding taps are 0), 2 bits; flexpoint mantissas
    as int16."""
    if fmt.act_kind == "binary":
        return 2, True
    if fmt.act_kind == "float":
        raise InfeasibleError(f"format {fmt.name!r}: float activations cannot drive crossbar DACs")
    return fmt.act_bits, True


@dataclass(frozen=True)
class GemmCrossbars:
    gemm: Gemm
    row_tiles: int
    col_tiles: int
    filters_per_crossbar: int
    columns_used: int          # over the column tiles of one instance, reference columns included

    @property
    def crossbars(self) -> int:
        return self.gemm.count * self.row_tiles * self.col_tiles

    @property
    def cells_used(self) -> int:
        return self.gemm.count * self.gemm.window * self.columns_used


@dataclass(frozen=True)
class LayerCrossbars:
    encoding: WeightEncoding
    gemms: tuple[GemmCrossbars, ...]
    cells_per_crossbar: int

    @property
    def crossbars(self) -> int:
        return sum(g.crossbars for g in self.gemms)

    @property
    def cells_used(self) -> int:
        return sum(g.cells_used for g in self.gemms)

    @property
    def cells_total(self) -> int:
        return self.crossbars * self.cells_per_crossbar

    @property
    def utilization(self) -> float:
        """Programmed cells / cells of the crossbars the layer occupies."""
        return self.cells_used / self.cells_total if self.cells_total else 0.0


def filters_per_crossbar(enc: WeightEncoding, spec: CrossbarSpec) -> int:
    n = (spec.cols - enc.reference_columns) // enc.columns_per_weight
    if n < 1:
        raise InfeasibleError(f"crossbar.cols: {spec.cols} columns cannot hold one {enc.kind} weight "
                              f"({enc.columns_per_weight} columns + {enc.reference_columns} reference)")
    return n


def map_gemm(gemm: Gemm, enc: WeightEncoding, spec: CrossbarSpec) -> GemmCrossbars:
    fpx = filters_per_crossbar(enc, spec)
    col_tiles = -(-gemm.filters // fpx)
    cols = gemm.filters * enc.columns_per_weight + col_tiles * enc.reference_columns
    return GemmCrossbars(gemm, -(-gemm.window // spec.rows), col_tiles, fpx, cols)


def map_layer(lowered: Lowered, enc: WeightEncoding, spec: CrossbarSpec) -> LayerCrossbars:
    """Crossbars, cells and utilization of every GEMM of a lowered layer."""
    return LayerCrossbars(enc, tuple(map_gemm(g, enc, spec) for g in lowered.gemms), spec.cells_per_crossbar)


@dataclass(frozen=True)
class ColumnLayout:
    """Where a K x F weight matrix's slices sit among the M used columns of its crossbars (column
    tiles side by side). ``pos``/``neg`` (F x slices) index the + / - columns (``neg`` is None for
    offset encoding), ``ref`` (F) the reference column of each filter's crossbar (None when
    differential), ``shift`` (slices) the slice weights' exponents (s * bits_per_cell)."""
    columns: int
    pos: np.ndarray
    neg: np.ndarray | None
    ref: np.ndarray | None
    shift: np.ndarray


def column_layout(filters: int, enc: WeightEncoding, spec: CrossbarSpec) -> ColumnLayout:
    fpx, s, cpw = filters_per_crossbar(enc, spec), enc.slices, enc.columns_per_weight
    f = np.arange(filters)
    tile, local = f // fpx, f % fpx
    per_tile = np.minimum(fpx, filters - np.arange(-(-filters // fpx)) * fpx) * cpw + enc.reference_columns
    base = np.concatenate([[0], np.cumsum(per_tile)[:-1]])[tile]
    first = base + local * cpw
    pos = first[:, None] + np.arange(s)[None, :]
    neg = pos + s if enc.differential else None
    ref = None if enc.differential else base + per_tile[tile] - 1
    return ColumnLayout(int(per_tile.sum()), pos, neg, ref, np.arange(s) * enc.bits_per_cell)


def conductance_levels(w: np.ndarray, enc: WeightEncoding, spec: CrossbarSpec) -> tuple[np.ndarray, ColumnLayout]:
    """Programmed level (0 .. 2^bits_per_cell - 1) of every used cell of the crossbars holding the
    K x F integer weight matrix ``w``: (K x M levels, layout). Reference columns hold level 1."""
    w = np.asarray(w, dtype=np.int64)
    if w.ndim != 2:
        raise FormatError(f"weight matrix must be 2-D (K x F), got shape {w.shape}")
    if w.size and (w.min() < enc.code_min or w.max() > enc.code_max):
        raise FormatError(f"{enc.kind} weight codes must lie in [{enc.code_min}, {enc.code_max}] for the "
                          f"{'differential' if enc.differential else 'offset'} encoding, got [{w.min()}, {w.max()}]")
    k, f = w.shape
    layout = column_layout(f, enc, spec)
    g = np.zeros((k, layout.columns), dtype=np.int8)
    mask = (1 << enc.bits_per_cell) - 1
    if enc.differential:
        for s, sh in enumerate(layout.shift):
            g[:, layout.pos[:, s]] = (np.maximum(w, 0) >> sh) & mask
            g[:, layout.neg[:, s]] = (np.maximum(-w, 0) >> sh) & mask
    else:
        u = (w + enc.offset) // enc.offset_scale
        for s, sh in enumerate(layout.shift):
            g[:, layout.pos[:, s]] = (u >> sh) & mask
        g[:, np.unique(layout.ref)] = 1
    return g, layout


def combine_columns(acc: np.ndarray, layout: ColumnLayout, enc: WeightEncoding) -> np.ndarray:
    """Digital side: per-column integer sums (P x M) -> per-filter dot products (P x F), exact int64:
    sum_s 2^shift_s (acc[+] - acc[-]), or offset_scale * sum_s 2^shift_s acc[u] - offset * acc[ref]."""
    acc = np.asarray(acc, dtype=np.int64)
    weights = (np.int64(1) << layout.shift.astype(np.int64))
    y = (acc[:, layout.pos] * weights).sum(axis=2)
    if enc.differential:
        return y - (acc[:, layout.neg] * weights).sum(axis=2)
    return enc.offset_scale * y - enc.offset * acc[:, layout.ref]
