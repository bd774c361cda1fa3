"""The tile transfer list: the contract between a mapping and the simulator.

``build_schedule(mapping)`` enumerates the tile steps of the loop nest (outer -> inner) and, per
step, the DRAM transfers: tile loads needed before the step (ifmap, weight, partial sums coming
back) and stores after it (final outputs, partial sums going out), each as contiguous byte runs of
the tensors' DRAM layout (activations C x H x W per image, weights Cout x (Cin/groups * k * k)).
Payload bits summed over the list equal the mapping's analytic traffic exactly. A transfer's runs
(one tile box: a run per row, per channel plane or one for the box) are kept as one strided
``RunPattern`` row, not written out: the DRAM kernel generates them as it services them
(``Schedule.run_start`` etc. materialize them on demand, for tests and inspection).
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import cached_property

import numpy as np

from accelsim.mapping.tiling import Mapping

OPERANDS = ("ifmap", "weight", "ofmap", "psum")
_ALIGN_BYTES = 1 << 24   # tensors start 16 MiB apart, so they never share a DRAM row


@dataclass(frozen=True)
class RunPattern:
    """Byte runs as strided patterns, one row per pattern: pattern p is ``n_outer[p] x n_inner[p]``
    runs; run (o, i) covers elements ``s .. s + run_elems[p]`` with
    ``s = elem0[p] + o * outer_stride[p] + i * inner_stride[p]``, element e occupying bits
    ``[base_bit[p] + e * bits[p], + bits[p])``, rounded out to whole bytes. Runs come pattern by
    pattern, o outer, i inner; every run of pattern p belongs to transfer ``owner[p]``. ``exact[p]``:
    base_bit and bits are whole, so the arithmetic is done in int64 (else in float64, floor/ceil)."""
    base_bit: np.ndarray       # float64
    bits: np.ndarray           # float64
    exact: np.ndarray          # bool
    elem0: np.ndarray          # int64 (and the rest)
    n_outer: np.ndarray
    outer_stride: np.ndarray
    n_inner: np.ndarray
    inner_stride: np.ndarray
    run_elems: np.ndarray
    owner: np.ndarray

    def materialize(self):
        """(run start bytes, run lengths, run owner) of every run, vectorized numpy: the reference
        for the DRAM kernel that generates the runs itself (``accelsim.sim.dram.service_pattern``)."""
        counts = self.n_outer * self.n_inner
        pat = np.repeat(np.arange(counts.size), counts)
        local = np.arange(pat.size) - np.repeat(np.cumsum(counts) - counts, counts)
        o, i = local // self.n_inner[pat], local % self.n_inner[pat]
        s_elem = self.elem0[pat] + o * self.outer_stride[pat] + i * self.inner_stride[pat]
        n_elem = self.run_elems[pat]
        start = np.empty(pat.size, np.int64)
        end = np.empty(pat.size, np.int64)
        ex = self.exact[pat]
        ib, ibase = self.bits[pat][ex].astype(np.int64), self.base_bit[pat][ex].astype(np.int64)
        s_bit = ibase + s_elem[ex] * ib
        start[ex] = s_bit >> 3
        end[ex] = (s_bit + n_elem[ex] * ib + 7) >> 3
        fx = ~ex
        fs = self.base_bit[pat][fx] + s_elem[fx] * self.bits[pat][fx]
        fe = fs + n_elem[fx] * self.bits[pat][fx]
        start[fx] = np.floor(fs / 8).astype(np.int64)
        end[fx] = np.ceil(fe / 8).astype(np.int64)
        return start, end - start, self.owner[pat]

    @staticmethod
    def concat(patterns) -> RunPattern:
        return RunPattern(*(np.concatenate([getattr(p, f.name) for p in patterns]) for f in fields(RunPattern)))

    def take(self, order) -> RunPattern:
        return RunPattern(*(getattr(self, f.name)[order] for f in fields(self)))


@dataclass(frozen=True)
class Schedule:
    n_steps: int
    step_macs: np.ndarray        # relative work per step (sums to the lowered MACs)
    t_step: np.ndarray           # per transfer: step it belongs to
    t_write: np.ndarray          # per transfer: True for stores (issued after the step)
    t_operand: np.ndarray        # per transfer: index into OPERANDS
    t_bits: np.ndarray           # per transfer: payload bits
    runs: RunPattern             # byte runs in issue order: pattern j belongs to transfer j

    def bits_by(self, write: bool) -> dict:
        sel = self.t_write == write
        return {op: float(self.t_bits[sel & (self.t_operand == i)].sum()) for i, op in enumerate(OPERANDS)}

    @cached_property
    def _materialized(self):
        return self.runs.materialize()

    @property
    def run_start(self) -> np.ndarray:      # per run: byte address (materialized on demand)
        return self._materialized[0]

    @property
    def run_bytes(self) -> np.ndarray:      # per run: bytes
        return self._materialized[1]

    @property
    def run_transfer(self) -> np.ndarray:   # per run: owning transfer
        return self._materialized[2]


def _boxes(base_bit, shape, bits, n0, c0, c1, r0, r1, q0, q1):
    """Boxes [c0,c1) x [r0,r1) x [q0,q1) of image n0 in a C x H x W tensor: (payload bits per box,
    their byte runs as a RunPattern, one pattern per box, owner = box index). Rows merge into one
    run when the box spans the full width, channels too when it spans the full height. Materialized,
    the runs equal ``_boxes_reference``."""
    C, H, W = shape
    c0, c1, r0, r1, q0, q1, n0 = (np.asarray(a, dtype=np.int64) for a in (c0, c1, r0, r1, q0, q1, n0))
    nc, nr, nq = c1 - c0, r1 - r0, q1 - q0
    full_w = nq == W
    full_hw = full_w & (nr == H)
    k = c0.size
    exact = float(bits).is_integer() and float(base_bit).is_integer()
    runs = RunPattern(np.full(k, float(base_bit)), np.full(k, float(bits)), np.full(k, exact),
                      ((n0 * C + c0) * H + r0) * W + q0,
                      np.where(full_hw, 1, nc), np.full(k, H * W, dtype=np.int64),
                      np.where(full_w, 1, nr), np.full(k, W, dtype=np.int64),
                      np.where(full_hw, nc * H * W, np.where(full_w, nr * W, nq)), np.arange(k))
    return (nc * nr * nq) * bits, runs


def _boxes_reference(base_bit, shape, bits, n0, c0, c1, r0, r1, q0, q1):
    """``_boxes`` vectorized over boxes with numpy (the reference the numba pass is tested against)."""
    C, H, W = shape
    nc, nr, nq = c1 - c0, r1 - r0, q1 - q0
    full_w = nq == W
    full_hw = full_w & (nr == H)
    n_outer = np.where(full_hw, 1, nc)
    n_inner = np.where(full_w, 1, nr)
    run_elems = np.where(full_hw, nc * H * W, np.where(full_w, nr * W, nq))
    start_elem = ((n0 * C + c0) * H + r0) * W + q0
    counts = n_outer * n_inner
    box = np.repeat(np.arange(c0.size), counts)
    local = np.arange(box.size) - np.repeat(np.cumsum(counts) - counts, counts)
    o, i = local // n_inner[box], local % n_inner[box]
    s_elem = start_elem[box] + o * (H * W) + i * W
    if float(bits).is_integer() and float(base_bit).is_integer():   # exact in int64: the usual case
        ib = int(bits)
        s_bit = int(base_bit) + s_elem * ib
        start = s_bit >> 3
        end = (s_bit + run_elems[box] * ib + 7) >> 3
        return (nc * nr * nq) * bits, start, end - start, box
    s_bit = base_bit + s_elem * bits
    e_bit = s_bit + run_elems[box] * bits
    start = np.floor(s_bit / 8).astype(np.int64)
    end = np.ceil(e_bit / 8).astype(np.int64)
    return (nc * nr * nq) * bits, start, end - start, box


def _ranges(axis, n_tiles, idx):
    arr = np.array(axis, dtype=np.int64).reshape(n_tiles, 2)
    return arr[idx, 0], arr[idx, 1]


def build_schedule(m: Mapping) -> Schedule:
    lowered, layer, sizes = m.lowered, m.lowered.layer, m.sizes
    grouped = layer.groups > 1
    nh, nw = m.tiles_h.n, m.tiles_w.n
    n = {"p": m.n_p, "c": m.n_c, "f": m.n_f}
    grid = np.indices([n[o] for o in m.loop_order]).reshape(3, -1)
    idx = {o: grid[i] for i, o in enumerate(m.loop_order)}
    ip, ic, jf = idx["p"], idx["c"], idx["f"]
    steps = ip.size
    b, rem = ip // (nh * nw), ip % (nh * nw)
    ih, iw = rem // nw, rem % nw
    cin_g, cout_g = layer.in_channels // layer.groups, layer.out_channels // layer.groups
    c0 = ic * m.tile_c
    c1 = np.minimum(c0 + m.tile_c, layer.in_channels)
    if grouped:
        f0, f1 = c0 // cin_g * cout_g, c1 // cin_g * cout_g
    else:
        f0 = jf * m.tile_f
        f1 = np.minimum(f0 + m.tile_f, layer.out_channels)
    hin0, hin1 = _ranges(m.tiles_h.in_ranges, nh, ih)
    win0, win1 = _ranges(m.tiles_w.in_ranges, nw, iw)
    hout0, hout1 = _ranges(m.tiles_h.out_ranges, nh, ih)
    wout0, wout1 = _ranges(m.tiles_w.out_ranges, nw, iw)
    scatter = lowered.method == "scatter"
    tiled_h = hin1 - hin0 if scatter else hout1 - hout0
    tiled_w = win1 - win0 if scatter else wout1 - wout0
    step_macs = (tiled_h * tiled_w * (c1 - c0) * (f1 - f0)).astype(np.float64)
    if scatter:   # each tile owns the output rows up to where the next footprint starts
        own_h = _owned(m.tiles_h.out_ranges, layer.out_hw[0])
        own_w = _owned(m.tiles_w.out_ranges, layer.out_hw[1])
        hout0, hout1 = _ranges(own_h, nh, ih)
        wout0, wout1 = _ranges(own_w, nw, iw)

    first = np.ones(steps, dtype=bool)
    new_i = first.copy()
    new_i[1:] = (ip[1:] != ip[:-1]) | (ic[1:] != ic[:-1])
    w_id = ic if grouped else ic * n["f"] + jf
    new_w = first.copy()
    new_w[1:] = w_id[1:] != w_id[:-1]
    o_id = ip * n["c"] + ic if grouped else ip * n["f"] + jf
    seg_start = np.flatnonzero(np.r_[True, o_id[1:] != o_id[:-1]])
    seg_end = np.r_[seg_start[1:] - 1, steps - 1]
    if grouped:
        final = np.ones(seg_start.size, dtype=bool)
        revisit = np.zeros(seg_start.size, dtype=bool)
    else:
        final = ic[seg_end] == n["c"] - 1
        revisit = ic[seg_start] > 0

    in_hw = lowered.stored_input_hw
    out_hw = layer.out_hw
    w_cols = cin_g * layer.kernel_taps
    w_bits = sizes.weight_pass_bits / max(1, layer.weight_elems)
    bases = np.cumsum([0, layer.batch * layer.in_channels * in_hw[0] * in_hw[1] * sizes.in_bits,
                       sizes.weight_pass_bits, layer.output_elems * sizes.out_bits])
    bases = [((int(x) // 8) // _ALIGN_BYTES + k) * _ALIGN_BYTES * 8 for k, x in enumerate(bases)]
    pieces = []   # (step, write, operand, bits, runs)

    def add(sel, write, operand, result, step_of):
        bits, runs = result
        pieces.append((step_of, np.full(step_of.size, write), np.full(step_of.size, operand), bits, runs))

    s = np.flatnonzero(new_i)
    r0, q0 = hin0[s], win0[s]
    if m.halo_reuse and s.size > 1:   # the previous ifmap tile's overlap stays on chip: load the rest
        prev = np.r_[0, s[:-1]]
        same = np.r_[False, (b[s[1:]] == b[prev[1:]]) & (ic[s[1:]] == ic[prev[1:]])]
        if nw > 1:    # along w, within a row of tiles
            nxt = same & (ih[s] == ih[prev]) & (iw[s] == iw[prev] + 1)
            q0 = np.where(nxt, np.minimum(win1[s], np.maximum(win0[s], win1[prev])), q0)
        else:         # whole-width tiles: along h
            nxt = same & (ih[s] == ih[prev] + 1)
            r0 = np.where(nxt, np.minimum(hin1[s], np.maximum(hin0[s], hin1[prev])), r0)
    add(s, False, 0, _boxes(bases[0], (layer.in_channels,) + in_hw, sizes.in_bits, b[s], c0[s], c1[s],
                            r0, hin1[s], q0, win1[s]), s)
    s = np.flatnonzero(new_w)
    if grouped:
        wr = (f0[s], f1[s], np.zeros_like(s), np.ones_like(s), np.zeros_like(s), np.full(s.size, w_cols))
    else:
        wr = (f0[s], f1[s], np.zeros_like(s), np.ones_like(s), c0[s] * layer.kernel_taps,
              c1[s] * layer.kernel_taps)
    add(s, False, 1, _boxes(bases[1], (layer.out_channels, 1, w_cols), w_bits, np.zeros_like(s), *wr), s)
    for sel, step_idx, write, operand, base, bits in (
            (revisit, seg_start, False, 3, bases[3], sizes.acc_bits),
            (~final, seg_end, True, 3, bases[3], sizes.acc_bits),
            (final, seg_end, True, 2, bases[2], sizes.out_bits)):
        s = step_idx[sel]
        add(s, write, operand, _boxes(base, (layer.out_channels,) + out_hw, bits, b[s], f0[s], f1[s],
                                      hout0[s], hout1[s], wout0[s], wout1[s]), s)
    if scatter:   # overlap-add partial sums, spread evenly over the final visits: out after, back in before
        overlap_bits = (layer.batch * (m.tiles_h.out_sum * m.tiles_w.out_sum - m.tiles_h.out_union * m.tiles_w.out_union)
                        * layer.out_channels * sizes.acc_bits)
        s = seg_end[final]
        if overlap_bits > 0 and s.size:
            share = overlap_bits / s.size
            one = np.ones(s.size, dtype=np.int64)   # one run per transfer: whole bytes from a byte address
            runs = RunPattern(np.zeros(s.size), np.full(s.size, 8.0), np.ones(s.size, dtype=bool),
                              np.full(s.size, bases[3] // 8 + (1 << 23), dtype=np.int64), one, one, one, one,
                              np.full(s.size, int(np.ceil(share / 8)), dtype=np.int64), np.arange(s.size))
            res = (np.full(s.size, share), runs)
            add(s, True, 3, res, s)
            add(seg_start[final], False, 3, res, seg_start[final])

    t_step = np.concatenate([p[0] for p in pieces])
    t_write = np.concatenate([p[1] for p in pieces]).astype(bool)
    t_operand = np.concatenate([p[2] for p in pieces]).astype(np.int64)
    t_bits = np.concatenate([p[3] for p in pieces]).astype(np.float64)
    # issue order: loads for step s go out during step s-1, stores of step s during step s+1
    key = np.where(t_write, t_step + 1.5, t_step - 1.0)
    order = np.lexsort((np.arange(key.size), key))
    # one pattern per transfer, each a whole transfer's runs: in issue order, pattern j is transfer j's
    runs = replace(RunPattern.concat([p[4] for p in pieces]).take(order), owner=np.arange(order.size))
    return Schedule(steps, step_macs, t_step[order], t_write[order], t_operand[order], t_bits[order], runs)


def _owned(out_ranges, n_out):
    lows = [min(lo, n_out) for lo, _ in out_ranges]
    lows[0] = 0
    highs = lows[1:] + [n_out]
    return tuple((lo, max(lo, hi)) for lo, hi in zip(lows, highs))
