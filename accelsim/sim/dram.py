"""DRAM timing: address mapping, open-page row-buffer hits and misses, bank parallelism, bus bandwidth.

Address mapping (row : bank : channel : column, low bits last): consecutive ``row_bytes`` pieces of
the address space go to successive channels, then successive banks, so a sequential stream spreads
over every channel and bank. A transfer is a list of contiguous byte runs; each run is cut into
row chunks (pieces inside one DRAM row). Open-page policy: a chunk hits if its bank's open row is
the chunk's row (given every earlier chunk, in issue order), else it needs an ACTIVATE (and a
PRECHARGE first if another row was open).

Time of one transfer, per channel, in ns (channels work in parallel; the transfer ends with the
slowest):
    t_CL (+ t_RP + t_RCD if its first chunk misses)
    + max(bursts * t_burst,                 bus occupancy
          activates * max(t_RRD, t_FAW/4),  activate-rate limit across banks
          max over banks of activates * t_RC)  same-bank row cycling
Refresh (all-bank, every t_REFI for t_RFC) stretches every transfer by
``DramSpec.refresh_stretch`` = t_REFI / (t_REFI - t_RFC), the average-case share of time the channel
is blocked; its energy is priced per cycle with the background power (accelsim.energy.tables).
One numba pass over the chunks in issue order, no per-burst loop (``service_reference``: the same
model vectorized with numpy). Runs come as a list (``service``) or as strided patterns
(``service_pattern``) that the kernel expands itself, so a tile schedule's runs are never stored.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from accelsim.arch.spec import DramSpec
from accelsim.errors import ConfigError
from accelsim.jit import lazy_kernel

if TYPE_CHECKING:
    from accelsim.mapping.schedule import RunPattern


@dataclass(frozen=True)
class DramResult:
    transfer_ns: np.ndarray     # per transfer
    bursts: int
    activates: int
    row_hits: int
    chunks: int


def service(dram: DramSpec, run_start: np.ndarray, run_bytes: np.ndarray, run_transfer: np.ndarray,
            n_transfers: int, kernel: bool | None = None) -> DramResult:
    """Service byte runs (start address, length, owning transfer id; in issue order): the kernel of
    ``service_pattern`` with one single-run pattern per run, the same result bit for bit as
    ``service_reference`` (the vectorized numpy form, tests/test_sim.py compares the two); ``kernel``
    as ``service_pattern``'s."""
    run_start = np.ascontiguousarray(run_start, dtype=np.int64)
    run_bytes = np.ascontiguousarray(run_bytes, dtype=np.int64)
    run_transfer = np.ascontiguousarray(run_transfer, dtype=np.int64)
    if run_start.size == 0 or not (run_bytes > 0).any():
        return DramResult(np.zeros(n_transfers), 0, 0, 0, 0)
    if not _use_kernel(run_start.size, kernel):
        return service_reference(dram, run_start, run_bytes, run_transfer, n_transfers)
    n = run_start.size
    one = np.ones(n, dtype=np.int64)
    # a run of b bytes from byte s: b elements of 8 bits from element s, base 0 (the int64 path;
    # addresses below 2^60)
    return _service(dram, np.zeros(n), np.full(n, 8.0), np.ones(n, dtype=np.bool_), run_start, one, one, one, one,
                    run_bytes, run_transfer, n_transfers)


SMALL_RUNS = 20_000   # up to this many runs, the numpy form until the numba kernel is loaded anyway


def _use_kernel(n_runs: int, kernel: bool | None) -> bool:
    """The numba kernel, or (False) the numpy form, which gives the same result bit for bit: a small
    replay in a process that has not loaded the kernel yet is faster in numpy than importing numba
    and loading the compiled kernel (about 0.5 s: most of a cold ``accelsim energy`` on DCGAN-64)."""
    if kernel is not None:
        return kernel
    return n_runs > SMALL_RUNS or _kernel.cache_info().currsize > 0


def service_pattern(dram: DramSpec, runs: RunPattern, n_transfers: int, kernel: bool | None = None) -> DramResult:
    """Service byte runs given as strided patterns (``accelsim.mapping.schedule.RunPattern``: runs
    pattern by pattern in issue order, each pattern's runs owned by one transfer): the runs are
    generated inside the DRAM kernel, never stored. Equals ``service_reference`` on
    ``runs.materialize()`` bit for bit (tests/test_sim_dram_patterns.py). ``kernel``: True / False
    force the numba kernel / the numpy form; None picks (``_use_kernel``)."""
    if not _use_kernel(int((runs.n_outer * runs.n_inner).sum()), kernel):
        return service_reference(dram, *runs.materialize(), n_transfers)
    return _service(dram, *(getattr(runs, f) for f in _PATTERN_FIELDS), n_transfers)


_PATTERN_FIELDS = ("base_bit", "bits", "exact", "elem0", "n_outer", "outer_stride", "n_inner", "inner_stride",
                   "run_elems", "owner")


def _shift(x: int) -> int:
    """log2(x) if x is a power of two, else -1 (the kernel then divides)."""
    return x.bit_length() - 1 if x > 0 and x & (x - 1) == 0 else -1


def _service(dram: DramSpec, base_bit, bits, exact, elem0, n_outer, outer_stride, n_inner, inner_stride,
             run_elems, owner, n_transfers: int) -> DramResult:
    base_bit, bits = (np.ascontiguousarray(a, dtype=np.float64) for a in (base_bit, bits))
    exact = np.ascontiguousarray(exact, dtype=np.bool_)
    elem0, n_outer, outer_stride, n_inner, inner_stride, run_elems, owner = (
        np.ascontiguousarray(a, dtype=np.int64)
        for a in (elem0, n_outer, outer_stride, n_inner, inner_stride, run_elems, owner))
    if owner.size and (owner.min() < 0 or owner.max() >= n_transfers):
        raise ConfigError(f"run_transfer ids must lie in [0, {n_transfers})")
    t = np.array([dram.t_burst_ns, max(dram.t_rrd_ns, dram.t_faw_ns / 4.0), dram.t_rc_ns, dram.t_cl_ns,
                  dram.t_rcd_ns, dram.t_rp_ns], dtype=np.float64)
    geo = np.array([dram.row_bytes, dram.channels, dram.banks, dram.burst_bytes, _shift(dram.row_bytes),
                    _shift(dram.channels), _shift(dram.banks), _shift(dram.burst_bytes)], dtype=np.int64)
    out, counts = _kernel()(base_bit, bits, exact, elem0, n_outer, outer_stride, n_inner, inner_stride, run_elems,
                            owner, int(n_transfers), geo, t)
    return DramResult(out * dram.refresh_stretch, int(counts[0]), int(counts[1]), int(counts[2]), int(counts[3]))


_MAX_PERIOD = 64   # longest outer-iteration period the DRAM kernel fast-forwards


@lazy_kernel
def _kernel(numba):
    """The numba kernel behind ``service`` and ``service_pattern``: generates each pattern's runs
    (the arithmetic of ``RunPattern.materialize``), cuts them into row chunks and keeps each bank's
    open row, one pass in issue order."""

    @numba.njit(cache=True, nogil=True)
    def kernel(base_bit, bits, exact, elem0, n_outer, outer_stride, n_inner, inner_stride, run_elems, owner,
               n_transfers, geo, t):
        rb, ch, nb, bb = geo[0], geo[1], geo[2], geo[3]
        rb_sh, ch_sh, nb_sh, bb_sh = geo[4], geo[5], geo[6], geo[7]   # log2, or -1: not a power of two
        t_burst, t_act, t_rc, t_cl, t_rcd, t_rp = t[0], t[1], t[2], t[3], t[4], t[5]
        n_tc = n_transfers * ch
        bursts_tc = np.zeros(n_tc, np.int64)
        acts_tc = np.zeros(n_tc, np.int64)
        bank_acts = np.zeros(n_tc * nb, np.int64)
        used = np.zeros(n_tc, np.bool_)
        first_miss = np.zeros(n_tc, np.bool_)
        first_conflict = np.zeros(n_tc, np.bool_)
        open_row = np.full(ch * nb, -1, np.int64)
        total_bursts = 0
        misses = 0
        hits = 0
        chunks = 0
        last_grow = np.int64(-1)   # row piece of the previous chunk, and its channel / bank / row
        channel = np.int64(0)
        bank = np.int64(0)
        row = np.int64(0)
        s_bit = np.int64(0)
        g0 = np.int64(0)
        g1 = np.int64(0)
        tc = np.int64(0)
        bank_period = rb * ch * nb            # bytes after which the channel / bank sequence repeats
        n_counts = 4 + 2 * ch + ch * nb       # per outer iteration: bursts, misses, hits, chunks, per tc, per bank
        before = np.zeros(n_counts, np.int64)
        touched = np.zeros(ch * nb, np.bool_)
        sh_bits = np.int64(0)
        for p in range(elem0.size):
            tr = owner[p]
            ex = exact[p]
            ib, ibase = np.int64(bits[p]), np.int64(base_bit[p])
            fbits, fbase = bits[p], base_bit[p]
            n_el = run_elems[p]
            n_in = n_inner[p]
            i_stride = inner_stride[p]
            # runs that stay inside one row piece in a row (whole bits, runs going forward): after the
            # first, every one hits and their bursts are a floor sum (batched below, O(log) per row piece)
            can_batch = ex and ib > 0 and n_el > 0 and i_stride >= 0
            d_bits = i_stride * ib
            len_bits = n_el * ib
            n_out = n_outer[p]
            # outer iterations that are translates of each other by whole bank periods (same channel,
            # bank and burst offsets, rows shifted): iteration o + period repeats iteration o's counts
            # once o >= period, so iterations 0 .. 2 * period - 1 are simulated and the rest is added
            # from the counts of period .. 2 * period - 1 (and the open rows shifted): cost independent
            # of n_outer. period: the smallest P with P * shift a multiple of the bank period and burst.
            period = 0
            if ex and n_out >= 3:
                sh_bits = outer_stride[p] * ib
                if sh_bits % 8 == 0:
                    sh = abs(sh_bits // 8)
                    x, y = bank_period, bb
                    while y:
                        x, y = y, x % y
                    lcm_b = bank_period // x * bb
                    x, y = lcm_b, sh
                    while y:
                        x, y = y, x % y
                    period = lcm_b // x
                    if 2 * period >= n_out or period > _MAX_PERIOD:
                        period = 0
            if period > 0:
                deltas = np.zeros((period, n_counts), np.int64)
                snaps = np.zeros((period, ch * nb), np.int64)
            else:
                deltas = np.zeros((1, n_counts), np.int64)
                snaps = np.zeros((1, ch * nb), np.int64)
            touched[:] = False
            tc0 = tr * ch
            for o in range(n_out if period == 0 else 2 * period):
                if o >= period > 0:
                    before[0], before[1], before[2], before[3] = total_bursts, misses, hits, chunks
                    for c in range(ch):
                        before[4 + c] = bursts_tc[tc0 + c]
                        before[4 + ch + c] = acts_tc[tc0 + c]
                    for q in range(ch * nb):
                        before[4 + 2 * ch + q] = bank_acts[tc0 * nb + q]
                i = -1
                while i + 1 < n_in:
                    i += 1
                    s_elem = elem0[p] + o * outer_stride[p] + i * i_stride
                    if ex:
                        s_bit = ibase + s_elem * ib
                        start = s_bit >> 3
                        end = (s_bit + n_el * ib + 7) >> 3
                    else:   # the same float64 operations, in the same order, as the numpy form
                        fs = fbase + np.float64(s_elem) * fbits
                        fe = fs + np.float64(n_el) * fbits
                        start = np.int64(np.floor(fs / 8))
                        end = np.int64(np.ceil(fe / 8))
                    if end <= start:
                        continue
                    if rb_sh >= 0:
                        g0, g1 = start >> rb_sh, (end - 1) >> rb_sh
                    else:
                        g0, g1 = start // rb, (end - 1) // rb
                    for grow in range(g0, g1 + 1):
                        c_start = max(start, grow * rb)
                        c_end = min(end, (grow + 1) * rb)
                        if bb_sh >= 0:
                            b = ((c_end - 1) >> bb_sh) - (c_start >> bb_sh) + 1
                        else:
                            b = (c_end - 1) // bb - c_start // bb + 1
                        if grow != last_grow:
                            if ch_sh >= 0:
                                channel = grow & (ch - 1)
                                q = grow >> ch_sh
                            else:
                                channel = grow % ch
                                q = grow // ch
                            if nb_sh >= 0:
                                bank = q & (nb - 1)
                                row = q >> nb_sh
                            else:
                                bank = q % nb
                                row = q // nb
                            last_grow = grow
                        bank_key = channel * nb + bank
                        touched[bank_key] = True
                        prev = open_row[bank_key]
                        hit = prev == row
                        open_row[bank_key] = row
                        tc = tr * ch + channel
                        if not used[tc]:
                            used[tc] = True
                            first_miss[tc] = not hit
                            first_conflict[tc] = (not hit) and prev != -1
                        bursts_tc[tc] += b
                        total_bursts += b
                        chunks += 1
                        if hit:
                            hits += 1
                        else:
                            misses += 1
                            acts_tc[tc] += 1
                            bank_acts[tc * nb + bank] += 1
                    if can_batch and g0 == g1 and i + 1 < n_in:
                        # runs i+1 .. i+k all inside row piece g0 (so each one hits): run m starts at bit
                        # s0 + m * d_bits and fits while its end bit s0 + m * d_bits + len_bits <= 8 * (g0 + 1) * rb
                        s0 = s_bit + d_bits
                        room = 8 * (g0 + 1) * rb - len_bits - s0
                        if room >= 0:
                            k = n_in - 1 - i
                            if d_bits > 0:
                                k = min(k, room // d_bits + 1)
                            # bursts of a run from bit a: floor((a + len_bits - 1) / 8bb) - floor(a / 8bb) + 1,
                            # summed over a = s0 + m * d_bits, m < k: two floor sums, each in O(log bb)
                            # steps (sum over m of floor((x * m + y) / z) by Euclid-like reduction;
                            # inline: a jitted helper would be a closure, which numba cannot cache)
                            b = k
                            for which in range(2):
                                n_, z, x, y = k, 8 * bb, d_bits, (s0 + len_bits - 1) if which == 0 else s0
                                fsum = np.int64(0)
                                while n_ > 0:
                                    if x >= z:
                                        fsum += (n_ * (n_ - 1) // 2) * (x // z)
                                        x %= z
                                    if y >= z:
                                        fsum += n_ * (y // z)
                                        y %= z
                                    top = x * n_ + y
                                    if top < z:
                                        break
                                    n_, y = top // z, top % z
                                    z, x = x, z
                                b += fsum if which == 0 else -fsum
                            bursts_tc[tc] += b
                            total_bursts += b
                            chunks += k
                            hits += k
                            i += k
                if o >= period > 0:
                    slot = o - period
                    d = deltas[slot]
                    d[0], d[1], d[2], d[3] = (total_bursts - before[0], misses - before[1], hits - before[2],
                                              chunks - before[3])
                    for c in range(ch):
                        d[4 + c] = bursts_tc[tc0 + c] - before[4 + c]
                        d[4 + ch + c] = acts_tc[tc0 + c] - before[4 + ch + c]
                    for q in range(ch * nb):
                        d[4 + 2 * ch + q] = bank_acts[tc0 * nb + q] - before[4 + 2 * ch + q]
                        snaps[slot, q] = open_row[q]
            if period > 0:
                # iterations 2 * period .. n_out - 1 repeat the counts of slot (o - period) % period
                rest = n_out - 2 * period
                for slot in range(period):
                    mult = rest // period + (1 if slot < rest % period else 0)
                    d = deltas[slot]
                    total_bursts += mult * d[0]
                    misses += mult * d[1]
                    hits += mult * d[2]
                    chunks += mult * d[3]
                    for c in range(ch):
                        bursts_tc[tc0 + c] += mult * d[4 + c]
                        acts_tc[tc0 + c] += mult * d[4 + ch + c]
                    for q in range(ch * nb):
                        bank_acts[tc0 * nb + q] += mult * d[4 + 2 * ch + q]
                # open rows after the last iteration: those after its translate in the window, shifted
                last = n_out - 1
                twin = period + (last - period) % period
                shift_rows = (last - twin) // period * (period * (sh_bits // 8) // bank_period)
                for q in range(ch * nb):
                    open_row[q] = snaps[twin - period, q] + (shift_rows if touched[q] else 0)
                last_grow = -1
        out = np.zeros(n_transfers, np.float64)
        for tc in range(n_tc):
            if not used[tc]:
                continue
            lat = t_cl + (t_rcd if first_miss[tc] else 0.0) + (t_rp if first_conflict[tc] else 0.0)
            worst_bank = 0
            for k in range(nb):
                worst_bank = max(worst_bank, bank_acts[tc * nb + k])
            per = lat + max(max(bursts_tc[tc] * t_burst, acts_tc[tc] * t_act), worst_bank * t_rc)
            tr = tc // ch
            out[tr] = max(out[tr], per)
        return out, np.array([total_bursts, misses, hits, chunks], np.int64)

    return kernel


def service_reference(dram: DramSpec, run_start: np.ndarray, run_bytes: np.ndarray, run_transfer: np.ndarray,
                      n_transfers: int) -> DramResult:
    """Service byte runs (start address, length, owning transfer id; in issue order), vectorized numpy."""
    run_start = np.asarray(run_start, dtype=np.int64)
    run_bytes = np.asarray(run_bytes, dtype=np.int64)
    run_transfer = np.asarray(run_transfer, dtype=np.int64)
    keep = run_bytes > 0
    run_start, run_bytes, run_transfer = run_start[keep], run_bytes[keep], run_transfer[keep]
    if run_start.size == 0:
        return DramResult(np.zeros(n_transfers), 0, 0, 0, 0)
    rb, ch, nb, bb = dram.row_bytes, dram.channels, dram.banks, dram.burst_bytes

    first = run_start // rb
    last = (run_start + run_bytes - 1) // rb
    n_chunks = last - first + 1
    idx = np.repeat(np.arange(run_start.size), n_chunks)
    offs = np.arange(idx.size) - np.repeat(np.cumsum(n_chunks) - n_chunks, n_chunks)
    grow = first[idx] + offs                                       # global row-piece index
    c_start = np.maximum(run_start[idx], grow * rb)
    c_end = np.minimum(run_start[idx] + run_bytes[idx], (grow + 1) * rb)
    bursts = (c_end - 1) // bb - c_start // bb + 1
    transfer = run_transfer[idx]
    channel = grow % ch
    bank_key = channel * nb + (grow // ch) % nb
    row = grow // (ch * nb)

    # open-page state: previous chunk to the same bank, in issue order
    order = np.argsort(bank_key, kind="stable")
    same_bank = np.zeros(idx.size, dtype=bool)
    same_row = np.zeros(idx.size, dtype=bool)
    same_bank[order[1:]] = bank_key[order[1:]] == bank_key[order[:-1]]
    same_row[order[1:]] = same_bank[order[1:]] & (row[order[1:]] == row[order[:-1]])
    hit = same_row
    miss = ~hit

    # per (transfer, channel)
    tc_key = transfer * ch + channel
    n_tc = n_transfers * ch
    bus_ns = np.bincount(tc_key, weights=bursts, minlength=n_tc) * dram.t_burst_ns
    acts = np.bincount(tc_key, weights=miss, minlength=n_tc)
    act_ns = acts * max(dram.t_rrd_ns, dram.t_faw_ns / 4.0)
    tb_key = transfer * (ch * nb) + bank_key
    bank_acts = np.bincount(tb_key, weights=miss, minlength=n_transfers * ch * nb).reshape(n_tc, nb)
    bank_ns = bank_acts.max(axis=1) * dram.t_rc_ns
    used = np.bincount(tc_key, minlength=n_tc) > 0
    # first chunk of every (transfer, channel) in issue order decides the initial latency
    by_tc = np.argsort(tc_key, kind="stable")
    starts = np.flatnonzero(np.r_[True, tc_key[by_tc][1:] != tc_key[by_tc][:-1]])
    first_pos = by_tc[starts]
    uniq = tc_key[first_pos]
    first_miss = np.zeros(n_tc, dtype=bool)
    first_miss[uniq] = miss[first_pos]
    first_conflict = np.zeros(n_tc, dtype=bool)
    first_conflict[uniq] = miss[first_pos] & same_bank[first_pos]
    latency = np.where(used, dram.t_cl_ns + first_miss * dram.t_rcd_ns + first_conflict * dram.t_rp_ns, 0.0)
    per_tc = latency + np.maximum(np.maximum(bus_ns, act_ns), bank_ns)
    transfer_ns = per_tc.reshape(n_transfers, ch).max(axis=1) * dram.refresh_stretch
    return DramResult(transfer_ns, int(bursts.sum()), int(miss.sum()), int(hit.sum()), int(idx.size))
