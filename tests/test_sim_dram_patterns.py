"""The fused DRAM kernel (``service_pattern``: byte runs generated from strided patterns inside the
DRAM loop, never stored) equals the numpy references bit for bit: ``service_reference`` on the runs
that ``RunPattern.materialize`` writes out, which for tile boxes equal ``_boxes_reference``. On random
boxes of several tensors (whole and fractional bits, boxes in any order, transfers owning runs in
any order), on DRAM geometries the presets cannot express (channels, banks, rows and bursts that are
not powers of two: the kernel's division path), and on the tile schedules of real layers."""
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from accelsim.arch import arch_from_dict, load_arch
from accelsim.mapping import LOWERINGS, lower, search
from accelsim.mapping.schedule import RunPattern, _boxes, _boxes_reference, build_schedule
from accelsim.sim.dram import service, service_pattern, service_reference
from accelsim.workload import Compression, Layer
from accelsim.workload.graph import LayerPlan
from accelsim.workload.precision import get_format


def _same(a, b):
    assert np.array_equal(a.transfer_ns, b.transfer_ns) and a.transfer_ns.dtype == b.transfer_ns.dtype
    assert (a.bursts, a.activates, a.row_hits, a.chunks) == (b.bursts, b.activates, b.row_hits, b.chunks)


def _odd_dram(row_bytes, channels, banks, burst_bytes):
    """A DRAM geometry DramSpec would refuse (non-power-of-two rows, banks, bursts): duck-typed."""
    return SimpleNamespace(row_bytes=row_bytes, channels=channels, banks=banks, burst_bytes=burst_bytes,
                           t_burst_ns=1.7, t_rrd_ns=3.3, t_faw_ns=21.0, t_rc_ns=45.5, t_cl_ns=13.3,
                           t_rcd_ns=13.1, t_rp_ns=12.9, refresh_stretch=1.03)


DRAMS = [load_arch(n).dram for n in ("edge-npu", "tpu-like", "eyeriss-like")] + [
    _odd_dram(300, 3, 5, 24), _odd_dram(256, 3, 4, 32), _odd_dram(1000, 1, 1, 7)]


def _random_boxes(rng, n_boxes):
    C, H, W = (int(v) for v in rng.integers(1, 12, 3))
    n = n_boxes
    c0 = rng.integers(0, C, n)
    c1 = np.minimum(C, c0 + rng.integers(0, C + 1, n))            # some empty boxes
    r0 = rng.integers(0, H, n)
    r1 = np.where(rng.random(n) < 0.3, H, np.minimum(H, r0 + rng.integers(1, H + 1, n)))
    r0 = np.where(r1 == H, np.where(rng.random(n) < 0.5, 0, r0), r0)
    q0 = np.where(rng.random(n) < 0.4, 0, rng.integers(0, W, n))
    q1 = np.where(q0 == 0, np.where(rng.random(n) < 0.6, W, np.minimum(W, q0 + 1)), np.minimum(W, q0 + 1))
    n0 = rng.integers(0, 3, n)
    base = float(rng.integers(0, 1 << 22)) * (1 if rng.random() < 0.5 else 1.37)
    bits = float(rng.choice([1, 2, 3, 4, 8, 16, 32, 4.6, 9.25, 0.3]))
    return base, (C, H, W), bits, n0, c0, c1, r0, r1, q0, q1


@pytest.mark.parametrize("dram", DRAMS, ids=lambda d: f"{d.row_bytes}x{d.channels}x{d.banks}x{d.burst_bytes}")
def test_fused_kernel_equals_reference_on_random_boxes(dram):
    rng = np.random.default_rng(11)
    for _ in range(80):
        pieces, ref_runs = [], []
        for _ in range(int(rng.integers(1, 5))):      # boxes of a few tensors with different bases and bits
            args = _random_boxes(rng, int(rng.integers(1, 25)))
            pieces.append(_boxes(*args)[1])
            ref_runs.append(_boxes_reference(*args)[1:3])
        pat = RunPattern.concat(pieces)
        n_t = int(rng.integers(1, 10))
        order = rng.permutation(pat.elem0.size)
        pat = pat.take(order)
        pat = replace(pat, owner=rng.integers(0, n_t, pat.elem0.size))   # runs of a transfer need not be adjacent
        start, nbytes, owner = pat.materialize()
        # the materialized runs are the reference boxes' runs, pattern (= box) by pattern
        ref_start = np.concatenate([r[0] for r in ref_runs])
        ref_bytes = np.concatenate([r[1] for r in ref_runs])
        box_counts = np.concatenate([p.n_outer * p.n_inner for p in pieces])
        box_first = np.cumsum(box_counts) - box_counts
        idx = np.concatenate([np.arange(box_first[b], box_first[b] + box_counts[b], dtype=np.int64) for b in order])
        assert np.array_equal(start, ref_start[idx]) and np.array_equal(nbytes, ref_bytes[idx])
        _same(service_pattern(dram, pat, n_t, kernel=True), service_reference(dram, start, nbytes, owner, n_t))


@pytest.mark.parametrize("dram", DRAMS, ids=lambda d: f"{d.row_bytes}x{d.channels}x{d.banks}x{d.burst_bytes}")
def test_run_list_kernel_equals_reference(dram):
    """``service`` (a run list: one single-run pattern per run) on the geometries above too."""
    rng = np.random.default_rng(5)
    for _ in range(40):
        n, nt = int(rng.integers(1, 200)), int(rng.integers(1, 12))
        start = rng.integers(0, 1 << 24, n)
        size = rng.integers(-2, 3 * dram.row_bytes * dram.channels * dram.banks, n) * (rng.random(n) > 0.1)
        tr = rng.integers(0, nt, n)
        _same(service(dram, start, size, tr, nt, kernel=True), service_reference(dram, start, size, tr, nt))


def _arch(kib, dram, channels):
    buffers = {r: {"size_kib": kib, "word_bits": 64, "banks": 1, "double_buffered": True}
               for r in ("ifmap", "weight", "ofmap")}
    return arch_from_dict({"name": "t", "clock_mhz": 1000, "tech_node_nm": 45,
                           "array": {"rows": 8, "cols": 8, "dataflow": "os"},
                           "buffers": buffers, "dram": {"preset": dram, "channels": channels}})


LAYERS = [
    Layer("G3", "conv_transpose2d", 64, 32, (8, 8), kernel_hw=4, stride_hw=2, padding_hw=1),
    Layer("c", "conv2d", 16, 24, (9, 9), kernel_hw=3, stride_hw=2, padding_hw=1, bias=True),
    Layer("dw", "conv2d", 16, 16, (8, 8), kernel_hw=3, padding_hw=1, groups=16, bias=True),
    Layer("u", "conv_transpose2d", 12, 6, (5, 5), kernel_hw=3, stride_hw=2, padding_hw=1, output_padding_hw=1),
    Layer("fc", "linear", 64, 200, (1, 1), batch=3),
]


@pytest.mark.parametrize("layer", LAYERS, ids=lambda l: l.name)
def test_fused_kernel_equals_reference_on_tile_schedules(layer):
    """Real tile schedules (every lowering, tiny to large buffers, 1-3 channels, whole and fractional
    bits): the fused kernel on the schedule's patterns equals the reference on its materialized runs."""
    comps = (Compression(), Compression(weight_density=0.3, weight_storage="bitmap"),
             Compression(act_density=0.37, act_zero_compression=True))
    methods = LOWERINGS if layer.op == "conv_transpose2d" else ("zero_insert",)
    n_frac = 0
    for method in methods:
        for kib, dram, channels in ((1, "ddr4-2400", 1), (4, "lpddr4-3200", 3), (64, "ddr4-2400", 2)):
            arch = _arch(kib, dram, channels)
            for fmt in ("int8", "int4", "binary", "flex16+5"):
                for comp in comps:
                    try:
                        m = search(lower(layer, method), LayerPlan(layer, get_format(fmt), comp), arch)
                    except ValueError:   # no tiling fits
                        continue
                    s = build_schedule(m)
                    n_frac += int((~s.runs.exact).any())
                    n_t = s.t_step.size
                    _same(service_pattern(arch.dram, s.runs, n_t, kernel=True),
                          service_reference(arch.dram, s.run_start, s.run_bytes, s.run_transfer, n_t))
    assert n_frac > 0
