"""Systolic array compute timing and SRAM operand traffic, fold by fold.

The fold model is SCALE-Sim's (Samajdar et al., "A Systematic Methodology for Characterizing
Scalability of DNN Accelerators using SCALE-Sim", ISPASS 2020; scale-sim v3 ``systolic_compute_*``),
re-derived here from its demand-matrix shapes rather than copied: a layer is a GEMM of P output
pixels x K window x F filters, mapped onto an R x C array:

=========  ===========  ===========  ===========  =====================================
dataflow   array rows   array cols   streamed T   cycles of one fold
=========  ===========  ===========  ===========  =====================================
os         P            F            K            K + R + C - 2   (fill, stream, drain)
ws         K            F            P            2R + C + P - 2  (weight load R, skew)
is         K            P            F            2R + C + F - 2  (input load R, skew)
=========  ===========  ===========  ===========  =====================================

folds = ceil(rows_dim / R) * ceil(cols_dim / C). A fold's cycles do not depend on how full it is.
``compute_cycles`` is the number of cycles; SCALE-Sim's COMPUTE_REPORT prints the zero-based index
of the last one (``scalesim_reported_cycles`` = cycles - 1 for a layer simulated as one GEMM).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from accelsim.errors import ConfigError
from accelsim.mapping.lowering import Gemm


def _dims(gemm: Gemm, dataflow: str) -> tuple[int, int, int]:
    """(array-row dimension, array-column dimension, streamed length) of a GEMM under a dataflow."""
    if dataflow == "os":
        return gemm.pixels, gemm.filters, gemm.window
    if dataflow == "ws":
        return gemm.window, gemm.filters, gemm.pixels
    if dataflow == "is":
        return gemm.window, gemm.pixels, gemm.filters
    raise ConfigError(f"dataflow must be os, ws or is, got {dataflow!r}")


def folds(gemm: Gemm, rows: int, cols: int, dataflow: str) -> tuple[int, int]:
    d_row, d_col, _ = _dims(gemm, dataflow)
    return math.ceil(d_row / rows), math.ceil(d_col / cols)


def fold_cycles(gemm: Gemm, rows: int, cols: int, dataflow: str) -> int:
    _, _, t = _dims(gemm, dataflow)
    return t + rows + cols - 2 if dataflow == "os" else 2 * rows + cols + t - 2


def compute_cycles(gemm: Gemm, rows: int, cols: int, dataflow: str) -> int:
    """Cycles the array spends on ``gemm.count`` instances of the GEMM."""
    fr, fc = folds(gemm, rows, cols, dataflow)
    return gemm.count * fr * fc * fold_cycles(gemm, rows, cols, dataflow)


def control_cycles(gemm: Gemm, rows: int, cols: int, dataflow: str) -> int:
    """Cycles of the tile controller's control work for ``gemm.count`` instances, as the reference RTL
    spends them (accelsim.rtl.sv, docs/rtl.md) and outside the compute cycles: every output drains
    through the one requantization unit, one per cycle (P x F); the weight-stationary core (and
    the input-stationary one, by the same structure with pixels and filters swapped) adds one
    partial-sum tail cycle per row fold of every column fold. A layer adds one finish cycle
    (``LayerActivity.control_cycles``). The simulator reports them apart from the latency: a core
    whose requantization overlaps the next fold hides them."""
    p, k, f = gemm.pixels, gemm.window, gemm.filters
    drain = p * f
    if dataflow == "os":
        return gemm.count * drain
    across = f if dataflow == "ws" else p
    return gemm.count * (math.ceil(across / cols) * math.ceil(k / rows) + drain)


def scalesim_reported_cycles(gemm: Gemm, rows: int, cols: int, dataflow: str) -> int:
    """The number SCALE-Sim 3.0.0 prints as compute cycles for this GEMM as one layer (CALC mode,
    no stalls): the zero-based index of the last cycle."""
    return compute_cycles(gemm, rows, cols, dataflow) - 1


@dataclass(frozen=True)
class SramTraffic:
    """Operand elements moved between the buffers and the array edge (per GEMM set)."""
    ifmap_reads: int
    weight_reads: int
    ofmap_writes: int      # outputs or partial sums written into the ofmap buffer
    ofmap_reads: int       # partial sums read back for accumulation (ws/is across row folds)


def sram_traffic(gemm: Gemm, rows: int, cols: int, dataflow: str) -> SramTraffic:
    p, k, f, n = gemm.pixels, gemm.window, gemm.filters, gemm.count
    fr, fc = folds(gemm, rows, cols, dataflow)
    if dataflow == "os":       # each fold streams its K-long operand rows/cols; outputs leave once
        return SramTraffic(n * fc * p * k, n * fr * k * f, n * p * f, 0)
    if dataflow == "ws":       # weights loaded once; inputs streamed once per column fold
        return SramTraffic(n * fc * p * k, n * k * f, n * fr * p * f, n * (fr - 1) * p * f)
    return SramTraffic(n * p * k, n * fc * k * f, n * fr * p * f, n * (fr - 1) * p * f)  # is
