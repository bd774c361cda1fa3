"""Layer fusion: keep inter-layer activations on chip, whole when they fit, else in row bands
through a stack of consecutive layers (depth-first, the scheme of DeFiNES and Stream).

A *stack* is a run of consecutive layers executed together. Its schedule: per image, the output
rows of its last layer are cut into ``n_bands`` bands; per band, every layer of the stack runs in
order on just the rows the band needs, worked out backwards from the last layer through each
layer's receptive field (``input_rows``: strided and transposed convolutions, upsampling, residual
adds). ``n_bands = 1`` is the whole-tensor case: every intermediate tensor stays on chip whole.

A tensor made inside a stack whose every reader is in the stack never goes to DRAM (its write and
all its reads are saved); any other tensor is written once (a reader outside the stack, a network
output, or a reader the workload does not name). The stack's inputs are read from DRAM band by band.

Consecutive bands overlap (the *halo*: rows of a tensor that two bands need). Per stack, one of:
- ``recompute``: every band computes all the rows it needs (extra MACs, cycles and energy; the
  halo of the stack's input is read from DRAM again);
- ``cache``: each row is computed once, the halo rows wait in an on-chip line buffer per tensor
  (extra buffer);
- ``refetch``: each row is computed once, the halo rows are written to DRAM and read back (extra
  DRAM bytes).
A tensor read by more than one layer of the stack (the skip of a residual block) is either kept
on chip from its producer to its last reader (``skip keep``: extra buffer) or written to DRAM and
read back by the later readers (``skip refetch``: extra DRAM).

Capacity: the on-chip *activation pool* is the ifmap plus the ofmap buffer (usable bits, the same
halving for double buffering as the tiler), or the global buffer less the weights when shared.
At every layer of the stack, the rows live in a band (its inputs, its output at accumulator width
unless the array is output stationary, every tensor kept for a later reader) plus the halo line
buffers must fit in the pool. Weights are read once when the stack's weights fit the weight
buffer together, else once per band. Inside a stack a layer reduces over all its input channels
per band (no partial-sum traffic).

``plan_fusion`` picks the stacks by dynamic programming over the layer order, per stack the band
count, halo and skip handling that is best on the objective, and keeps a stack only when neither its
DRAM bytes nor its estimated energy (DRAM, MACs, cycles) exceed those of its layers run one by one:
fusion never adds DRAM traffic. It needs
the layer-by-layer results (``LayerBase``) and the compute cycles of a band (``cycles_of``) from
the caller; ``accelsim.sim.engine.fused_activity`` turns a ``LayerFusion`` into the layer's activity.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from accelsim.arch.spec import ArchSpec
from accelsim.errors import ConfigError
from accelsim.mapping.lowering import Lowered
from accelsim.workload.graph import LayerPlan, Workload

FUSION_MODES = ("none", "auto")
HALO_MODES = ("recompute", "cache", "refetch")
SKIP_MODES = ("keep", "refetch")
ROW_OPS = ("add", "sub", "mul", "elementwise", "upsample_nearest", "pixel_shuffle")   # fusable data layers
MAX_STACK = 12          # layers per stack considered by the search


def check_fusion(fusion) -> str:
    if not isinstance(fusion, str) or fusion not in FUSION_MODES:
        raise ConfigError(f"fusion must be one of {', '.join(FUSION_MODES)}, got {fusion!r}")
    return fusion


@dataclass(frozen=True)
class LayerBase:
    """One layer as the layer-by-layer simulation ran it: the planner's baseline."""
    read_bits: dict                # ifmap, weight, psum
    write_bits: dict               # ofmap, psum
    macs_total: int
    compute_cycles: int
    stall_cycles: int
    weight_tile_bits: float = 0.0  # a weight tile of its mapping (the working set when weights stream)

    @property
    def dram_bits(self) -> float:
        return sum(self.read_bits.values()) + sum(self.write_bits.values())

    @property
    def dram_bytes(self) -> int:
        """As the layer's activity reports them: whole bytes per operand."""
        return sum(math.ceil(v / 8) for d in (self.read_bits, self.write_bits) for v in d.values())


@dataclass(frozen=True)
class FusionCosts:
    """Prices for choosing between configurations (from the caller's energy table)."""
    read_pj_per_bit: float = 1.0
    write_pj_per_bit: float = 1.0
    mac_pj: tuple = ()              # per layer: one executed MAC
    cycle_pj: float = 0.0


@dataclass(frozen=True)
class LayerFusion:
    """A layer's share of its fused stack: its new DRAM traffic (bits), executed MACs and cycles."""
    stack: tuple[int, int]          # first and last layer index of the stack
    n_bands: int
    halo: str
    skip: str
    read_bits: dict
    write_bits: dict
    macs_total: int
    compute_cycles: int
    stall_cycles: int
    pool_bits: float                # peak on-chip activation bits of the stack
    halo_rows: int = 0              # rows of this layer's output recomputed / cached / refetched
    note: str = ""

    def describe(self, names=None) -> str:
        a, b = self.stack
        what = f"{names[a]}..{names[b]}" if names else f"{a}..{b}"
        how = "whole tensors" if self.n_bands == 1 else f"{self.n_bands} bands, halo {self.halo}"
        return f"fused {what}: {how}, skip {self.skip}"


@dataclass(frozen=True)
class FusionPlan:
    stacks: tuple[tuple[int, int], ...]
    layers: tuple[LayerFusion | None, ...]    # None: the layer runs as it did unfused
    base_dram_bytes: int
    fused_dram_bytes: int


# ---- receptive fields -------------------------------------------------------------------------------
def input_rows(lowered: Lowered, lo, hi):
    """Rows [a, b) of the input a layer reads to make output rows [lo, hi) (arrays, vectorized)."""
    layer = lowered.layer
    lo, hi = np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)
    n_in = layer.in_hw[0]
    if layer.is_conv:
        k, s, p, d = layer.kernel_hw[0], layer.stride_hw[0], layer.padding_hw[0], layer.dilation_hw[0]
        if layer.op == "conv_transpose2d":   # output o gets input i when o = i*s - p + t*d, 0 <= t < k
            a = -((-(lo + p - (k - 1) * d)) // s)
            b = (hi - 1 + p) // s + 1
        else:                                # output o reads inputs o*s - p + t*d
            a = lo * s - p
            b = (hi - 1) * s - p + (k - 1) * d + 1
    elif layer.op in ("upsample_nearest", "pixel_shuffle"):
        f = layer.scale_factor
        a, b = lo // f, (hi - 1) // f + 1
    else:
        a, b = lo, hi
    a, b = np.minimum(np.maximum(a, 0), n_in), np.minimum(b, n_in)
    return a, np.maximum(a, b)


def _tiled_rows(lowered: Lowered, lo, hi):
    """Rows of the index the array tiles (output rows; input rows for scatter) to make [lo, hi)."""
    if lowered.method == "scatter":
        a, b = input_rows(lowered, lo, hi)
        return b - a
    return np.asarray(hi) - np.asarray(lo)


def _tiled_total(lowered: Lowered) -> int:
    layer = lowered.layer
    return layer.in_hw[0] if lowered.method == "scatter" else layer.out_hw[0]


def fusable(lowered: Lowered) -> bool:
    layer = lowered.layer
    if layer.is_conv:
        return not (lowered.method == "zero_insert" and lowered.zeros_in_dram)
    return layer.op in ROW_OPS and layer.output_hw is None


def band_edges(n_rows: int, n_bands: int) -> tuple[np.ndarray, np.ndarray]:
    """[lo, hi) of ``n_bands`` near-equal bands of ``n_rows`` rows (the first ones one row taller)."""
    edges = np.array([(k * n_rows) // n_bands for k in range(n_bands + 1)], dtype=np.int64)
    edges = n_rows - edges[::-1]            # taller bands first
    return edges[:-1], edges[1:]


# ---- the planner -----------------------------------------------------------------------------------
class _Net:
    """Per-layer facts the stack evaluation needs, computed once."""

    def __init__(self, workload: Workload, plans, lowered, arch: ArchSpec, base, costs: FusionCosts,
                 cycles_of: Callable[[int, int], int]):
        self.plans, self.lowered, self.arch, self.base, self.costs = plans, lowered, arch, base, costs
        self.cycles_of = cycles_of
        self.rows_memo: dict = {}
        self.n = len(plans)
        self.batch = plans[0].layer.batch
        self.prod = list(workload.producers())
        outputs = set(workload.output_layers())
        # last reader of every tensor (inf: leaves the network or may be read by an unnamed reader)
        self.last_use = [-1] * self.n
        self.readers: list[list[int]] = [[] for _ in range(self.n)]
        unknown_last = -1           # a layer whose inputs are not named may read any earlier tensor
        for c, src in enumerate(self.prod):
            if src is None:
                unknown_last = c
                continue
            for p in src:
                if p >= 0:
                    self.readers[p].append(c)
                    self.last_use[p] = max(self.last_use[p], c)
        self.escapes_always = [j in outputs or j < unknown_last for j in range(self.n)]
        self.ok = [fusable(lw) and src is not None for lw, src in zip(lowered, self.prod)]
        # storage bits per element of each layer's output; accumulator width while it is being made
        self.out_bits, self.acc_bits, self.in_bits = [], [], []
        os_array = arch.array.dataflow == "os"
        for p, lw in zip(plans, lowered):
            eb = p.compression.act_bits_per_elem(p.fmt)
            self.out_bits.append(eb)
            self.in_bits.append(eb)
            wide = lw.layer.is_conv and (lw.method == "scatter" or not os_array)
            self.acc_bits.append(p.fmt.acc_bits if wide else eb)
        self.weight_bits = [p.compression.weight_storage_bits(p.layer.weight_elems, p.layer.out_channels, p.fmt)
                            + p.layer.bias_elems * p.fmt.acc_bits if p.layer.is_conv else 0 for p in plans]
        if arch.shared_buffer:
            self.pool, self.weight_cap = arch.buffers[0].usable_bits, None
        else:
            self.pool = arch.buffer("ifmap").usable_bits + arch.buffer("ofmap").usable_bits
            self.weight_cap = arch.buffer("weight").usable_bits

    def aligned(self, c: int) -> bool:
        """Rows of layer c's input tensors are rows of its input (same height and width): bands work."""
        layer = self.plans[c].layer
        for p in self.prod[c]:
            hw = self.plans[p].layer.out_hw if p >= 0 else None
            if hw is not None and tuple(hw) != tuple(layer.in_hw):
                return False
        if layer.op == "embedding":
            return False
        return True

    def row_bits(self, t: int, reader: int) -> float:
        """Bits of one row of tensor t (-1: the network input, as ``reader`` sees it), batch excluded."""
        if t >= 0:
            l = self.plans[t].layer
            return l.out_channels * l.out_hw[1] * self.out_bits[t]
        l = self.plans[reader].layer
        return l.in_channels * l.in_hw[1] * self.in_bits[reader]

    def rows_of(self, t: int, reader: int) -> int:
        return self.plans[t].layer.out_hw[0] if t >= 0 else self.plans[reader].layer.in_hw[0]

    def base_bytes(self, a: int, b: int) -> int:
        return sum(self.base[j].dram_bytes for j in range(a, b + 1))


@dataclass
class _Eval:
    """One stack configuration's outcome."""
    dram_bytes: int
    energy: float
    latency: float
    layers: list
    pool_bits: float


def stack_rows(lowered, producers, a: int, b: int, n_bands: int, halo: str = "recompute", skip: str = "keep",
               escapes: dict | None = None, memo: dict | None = None):
    """Rows per band of every tensor of stack [a, b] (layers ``lowered[a..b]``, ``producers`` as
    ``Workload.producers()``), worked backwards from the last layer's output bands through each
    reader's receptive field. Returns (readers, need, made, loads): tensor -> its readers in the
    stack; tensor -> (lo, hi) arrays over bands of the rows its readers need; internal tensor ->
    rows its layer makes per band (recompute: all it needs, halo again; cache/refetch: new rows
    only); stack input -> rows loaded per band (cache: new rows only). ``escapes``: internal tensors
    written to DRAM (every row made); default: the last layer's and those without a reader here.
    ``memo``: rows of internal tensors already worked out for the same last layer, band count, halo
    and skip handling (they do not depend on where the stack starts)."""
    readers: dict = {}
    for c in range(a, b + 1):
        for t in producers[c]:
            readers.setdefault(t, []).append(c)
    if escapes is None:
        escapes = {j: j == b or j not in readers for j in range(a, b + 1)}
    need: dict = {}
    comp: dict = {}

    def new_rows(lo, hi):
        prev_hi = np.concatenate(([0], hi[:-1]))
        return np.maximum(lo, prev_hi), hi

    def needed(t, rs):
        los, his = zip(*(input_rows(lowered[c], *comp[c]) for c in rs))
        lo, hi = np.minimum.reduce(los), np.maximum.accumulate(np.maximum.reduce(his))
        return np.minimum(lo, hi), hi

    memo = {} if memo is None else memo
    for j in range(b, a - 1, -1):
        if j in memo:
            need[j], comp[j] = memo[j]
            continue
        h = lowered[j].layer.out_hw[0]
        if j in readers:
            lo, hi = needed(j, readers[j])
        else:       # read by no layer of the stack (the last one): made in bands of its own, written out
            lo, hi = band_edges(h, n_bands)
        if escapes[j]:   # written to DRAM whole: every row is made
            lo, hi = lo.copy(), hi.copy()
            lo[0], hi[-1] = 0, h
        need[j] = (lo, hi)
        comp[j] = (lo, hi) if halo == "recompute" else new_rows(lo, hi)
        memo[j] = (need[j], comp[j])
    loads = {}
    for t, rs in readers.items():
        if a <= t <= b:
            continue
        need[t] = needed(t, rs[:1] if skip == "refetch" else rs)
        loads[t] = new_rows(*need[t]) if halo == "cache" else need[t]
    return readers, need, comp, loads


def _evaluate(net: _Net, a: int, b: int, n_bands: int, halo: str, skip: str) -> _Eval | None:
    """DRAM bits, estimated energy and per-layer LayerFusion of stack [a, b] in one configuration,
    or None when its working set does not fit on chip."""
    P, L = net.plans, net.lowered
    batch = net.batch
    members = range(a, b + 1)
    inside = lambda t: a <= t <= b  # noqa: E731
    if n_bands > P[b].layer.out_hw[0]:
        return None
    n_readers = {}
    for c in members:
        for t in net.prod[c]:
            n_readers[t] = n_readers.get(t, 0) + 1
    escapes = {j: (net.escapes_always[j] or net.last_use[j] > b or not net.readers[j]
                   or (skip == "refetch" and n_readers.get(j, 0) > 1)) for j in members}
    memo = net.rows_memo.setdefault((b, n_bands, halo, skip), {})
    readers, need, comp, loads = stack_rows(L, net.prod, a, b, n_bands, halo, skip, escapes, memo)

    def rows(r):
        return np.maximum(0, r[1] - r[0])

    # ---- on-chip working set -------------------------------------------------------------------------
    # live span of each tensor in a band: from its maker (or first reader) to its last reader (skip keep)
    # or its first reader (skip refetch: later readers read it back from DRAM)
    span = {}
    refetched = {}   # tensor -> readers that read it back from DRAM
    for t, rs in readers.items():
        start = t if inside(t) else rs[0]
        end = rs[-1] if (skip == "keep" or len(rs) == 1) else rs[0]
        span[t] = (start, end)
        if skip == "refetch" and len(rs) > 1:
            refetched[t] = rs[1:]
    for j in members:
        span.setdefault(j, (j, j))
    max_rows = {t: int(rows(need[t]).max()) for t in need}
    line = 0.0
    if halo == "cache" and n_bands > 1:
        for t in need:
            lo, hi = need[t]
            h = np.maximum(0, np.concatenate(([0], hi[:-1])) - lo)
            reader = readers[t][0] if t in readers else t
            line += float(h.max()) * net.row_bits(t, reader)
    peak = 0.0
    for c in members:
        live = 0.0
        for t, (s, e) in span.items():
            if s <= c <= e:
                reader = readers[t][0] if t in readers else t
                bits = net.acc_bits[t] if t == c else None
                rb = net.row_bits(t, reader)
                if bits is not None:
                    rb = rb / net.out_bits[t] * bits
                live += max_rows.get(t, 0) * rb
        peak = max(peak, live)
    peak += line
    # weights: resident across bands and images when the stack's weights fit the weight buffer (the
    # pool, beside the activations, when the buffer is shared), else streamed: once per band and image
    weights = sum(net.weight_bits[j] for j in members)
    if net.weight_cap is not None:
        resident = weights <= net.weight_cap
    else:
        resident = peak + weights <= net.pool
        peak += weights if resident else max(net.base[j].weight_tile_bits for j in members)
    if peak > net.pool:
        return None
    # ---- DRAM traffic per layer ----------------------------------------------------------------------
    out = []
    w_fetch = 1 if resident else n_bands * batch
    total = 0.0
    energy = 0.0
    latency = 0.0
    for c in members:
        base = net.base[c]
        rd_i = 0.0
        for t in net.prod[c]:
            rb = net.row_bits(t, c)
            if not inside(t) and readers[t][0] == c:     # the stack's input, band by band (cache: new rows)
                rd_i += float(rows(loads[t]).sum()) * rb
            if t in refetched and c in refetched[t]:
                rd_i += float(rows(input_rows(L[c], *comp[c])).sum()) * rb
            if inside(t) and halo == "refetch" and n_bands > 1 and readers[t][0] == c:
                rd_i += float((rows(need[t]) - rows(comp[t])).sum()) * rb
        wr_o = 0.0
        rb_out = net.row_bits(c, c)
        if escapes[c] or c in refetched:
            wr_o += P[c].layer.out_hw[0] * rb_out
        if halo == "refetch" and n_bands > 1 and not (escapes[c] or c in refetched):
            wr_o += float((rows(need[c]) - rows(comp[c])).sum()) * rb_out   # halo rows out, read back later
        read = {"ifmap": rd_i * batch, "weight": float(net.weight_bits[c]) * w_fetch, "psum": 0.0}
        write = {"ofmap": wr_o * batch, "psum": 0.0}
        # compute: the rows each band makes (recompute: with the halo again)
        made_lo, made_hi = comp[c]
        t_rows = _tiled_rows(L[c], made_lo, made_hi)
        t_total = _tiled_total(L[c])
        frac = float(t_rows.sum()) / t_total if t_total else 1.0
        macs = int(round(base.macs_total * frac))
        if L[c].layer.is_conv:
            cycles = batch * sum(net.cycles_of(c, int(r)) for r in t_rows if r > 0)
        else:
            cycles = int(math.ceil(base.compute_cycles * frac))
        bits = sum(read.values()) + sum(write.values())
        stall = int(round(base.stall_cycles * bits / base.dram_bits)) if base.dram_bits else 0
        halo_rows = int((rows(comp[c]).sum() - P[c].layer.out_hw[0])) if halo == "recompute" else \
            int((rows(need[c]) - rows(comp[c])).sum())
        out.append(LayerFusion((a, b), n_bands, halo if n_bands > 1 else "none",
                               skip if any(len(r) > 1 for r in readers.values()) else "none",
                               read, write, macs, cycles, stall, peak, max(0, halo_rows)))
        total += sum(math.ceil(v / 8) for v in read.values()) + sum(math.ceil(v / 8) for v in write.values())
        lat = cycles + stall
        latency += lat
        mac_pj = net.costs.mac_pj[c] if net.costs.mac_pj else 0.0
        energy += (sum(read.values()) * net.costs.read_pj_per_bit + sum(write.values()) * net.costs.write_pj_per_bit
                   + macs * mac_pj + lat * net.costs.cycle_pj)
    return _Eval(total, energy, latency, out, peak)


def evaluate_stack(workload: Workload, plans, lowered, arch: ArchSpec, base, costs: FusionCosts, cycles_of,
                   a: int, b: int, n_bands: int, halo: str = "recompute", skip: str = "keep"):
    """Stack [a, b] in one configuration: its layers' ``LayerFusion`` (None when it does not fit on
    chip). For checking one configuration by hand; ``plan_fusion`` searches them."""
    if halo not in HALO_MODES or skip not in SKIP_MODES:
        raise ConfigError(f"halo must be one of {HALO_MODES} and skip one of {SKIP_MODES}, got {halo!r}, {skip!r}")
    net = _Net(workload, plans, lowered, arch, base, costs, cycles_of)
    ev = _evaluate(net, a, b, n_bands, halo, skip)
    return None if ev is None else ev.layers


def _base_energy(net: _Net, j: int) -> tuple[float, float]:
    b = net.base[j]
    mac_pj = net.costs.mac_pj[j] if net.costs.mac_pj else 0.0
    lat = b.compute_cycles + b.stall_cycles
    e = (sum(b.read_bits.values()) * net.costs.read_pj_per_bit + sum(b.write_bits.values()) * net.costs.write_pj_per_bit
         + b.macs_total * mac_pj + lat * net.costs.cycle_pj)
    return e, lat


def _key(objective: str, dram: float, energy: float, latency: float) -> tuple:
    if objective == "dram":
        return (dram, energy)
    if objective == "latency":
        return (latency, energy)
    return (energy, dram)           # energy, and edp (energy of the stacks; latency follows it closely)


def _band_counts(h: int) -> list[int]:
    out, n = [], 1
    while n < h:
        out.append(n)
        n *= 2
    return out + [h]


def stack_options(net: _Net, a: int, b: int):
    """Every configuration of stack [a, b] that fits, as (n_bands, halo, skip, _Eval)."""
    banded = all(net.aligned(c) for c in range(a, b + 1))
    multi = any(sum(1 for c in range(a, b + 1) if t in net.prod[c]) > 1
                for t in {t for c in range(a, b + 1) for t in net.prod[c]})
    skips = SKIP_MODES if multi else ("keep",)
    counts = _band_counts(net.plans[b].layer.out_hw[0]) if banded else [1]
    fitted = 0
    for n in counts:
        fits = False
        for halo in (HALO_MODES if n > 1 else ("recompute",)):
            for skip in skips:
                ev = _evaluate(net, a, b, n, halo, skip)
                if ev is not None:
                    fits = True
                    yield n, halo, skip, ev
        # more bands only add halo rows and weight re-reads: whole tensors, when they fit, win; else the
        # fewest bands that fit and the next count are enough
        fitted += fits
        if (fits and n == 1) or fitted == 2:
            return


def plan_fusion(workload: Workload, plans: tuple[LayerPlan, ...], lowered: list[Lowered], arch: ArchSpec,
                base: list[LayerBase], costs: FusionCosts, cycles_of: Callable[[int, int], int],
                objective: str = "dram") -> FusionPlan:
    """The stacks, and per stack the configuration, best on ``objective`` among those that move no
    more DRAM bytes than running the stack's layers one by one (dynamic programming over the order)."""
    net = _Net(workload, plans, lowered, arch, base, costs, cycles_of)
    n = net.n
    INF = (math.inf, math.inf)
    best = [(0.0, 0.0)] + [INF] * n
    choice: list = [None] * (n + 1)
    single = [_base_energy(net, j) for j in range(n)]
    for i in range(1, n + 1):
        j = i - 1
        e, lat = single[j]
        k = _key(objective, net.base[j].dram_bytes, e, lat)
        best[i] = (best[j][0] + k[0], best[j][1] + k[1])
        choice[i] = (j, None)
        if not net.ok[j]:
            continue
        for a in range(j - 1, max(-1, j - MAX_STACK), -1):
            if not net.ok[a]:
                break
            base_bytes = net.base_bytes(a, j)
            found = False
            base_energy = sum(single[k][0] for k in range(a, j + 1))
            for nb, halo, skip, ev in stack_options(net, a, j):
                found = True
                if ev.dram_bytes > base_bytes or ev.energy > base_energy:
                    continue
                k = _key(objective, ev.dram_bytes, ev.energy, ev.latency)
                cand = (best[a][0] + k[0], best[a][1] + k[1])
                if cand < best[i]:
                    best[i], choice[i] = cand, (a, ev)
            if not found:
                break
    stacks, layers = [], [None] * n
    names = [p.layer.name for p in plans]
    i = n
    while i > 0:
        a, ev = choice[i]
        if ev is not None:
            stacks.append((a, i - 1))
            for off, lf in enumerate(ev.layers):
                layers[a + off] = replace(lf, note=lf.describe(names))
        i = a
    fused = sum(base[j].dram_bytes if lf is None else
                sum(math.ceil(v / 8) for d in (lf.read_bits, lf.write_bits) for v in d.values())
                for j, lf in enumerate(layers))
    return FusionPlan(tuple(sorted(stacks)), tuple(layers), sum(b.dram_bytes for b in base), fused)


__all__ = ["FUSION_MODES", "HALO_MODES", "SKIP_MODES", "FusionCosts", "FusionPlan", "LayerBase", "LayerFusion",
           "band_edges", "check_fusion", "evaluate_stack", "fusable", "input_rows", "plan_fusion", "stack_rows"]
