"""Mapping: lowering MAC counts, tile geometry by hand, traffic conservation (the replayed transfer list
moves exactly the analytic bits), compulsory minimum, monotonicity, partial sums, compression."""
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from accelsim.arch import arch_from_dict
from accelsim.mapping import (OperandSizes, axis_tiling, compulsory_bytes, lower, search, tile_candidates,
                              tile_sizes, zero_inserted_hw)
from accelsim.mapping.schedule import build_schedule
from accelsim.workload import Compression, Layer, get_model, plan
from accelsim.workload.graph import LayerPlan
from accelsim.workload.precision import get_format


def make_arch(ifmap_kib=64, weight_kib=64, ofmap_kib=64, double=True, shared_kib=None, dataflow="os", rows=8, cols=8):
    if shared_kib is not None:
        buffers = {"global": {"size_kib": shared_kib, "word_bits": 64, "banks": 1, "double_buffered": double}}
    else:
        buffers = {r: {"size_kib": k, "word_bits": 64, "banks": 1, "double_buffered": double}
                   for r, k in (("ifmap", ifmap_kib), ("weight", weight_kib), ("ofmap", ofmap_kib))}
    return arch_from_dict({"name": "t", "clock_mhz": 1000, "tech_node_nm": 45,
                           "array": {"rows": rows, "cols": cols, "dataflow": dataflow},
                           "buffers": buffers, "dram": "ddr4-2400"})


def g3(bias=False):
    return Layer("G3", "conv_transpose2d", 256, 128, (8, 8), kernel_hw=4, stride_hw=2, padding_hw=1,
                 bias_folded=bias)


def lp(layer, fmt="int8", comp=Compression()):
    return LayerPlan(layer, get_format(fmt), comp)


# ---- lowering ----------------------------------------------------------------------------------
def test_lowering_macs_dcgan_g3():
    l = g3()
    zi, ph, sc = lower(l, "zero_insert"), lower(l, "phase"), lower(l, "scatter")
    assert zi.macs_total == 16 * 16 * 16 * 256 * 128 == 134_217_728
    assert ph.macs_total == sc.macs_total == 8 * 8 * 16 * 256 * 128 == 33_554_432
    assert zi.macs_effectual == ph.macs_effectual == sc.macs_effectual == 30 * 30 * 256 * 128
    assert [(g.pixels, g.window, g.filters) for g in ph.gemms] == [(64, 1024, 128)] * 4
    assert [(g.pixels, g.window, g.filters) for g in sc.gemms] == [(64, 256, 2048)]
    assert zero_inserted_hw(l) == (19, 19)           # SCALE-Sim's 2H + 3


def test_phase_decomposition_uneven_kernel():
    # k3 s2 p1 op1 (CycleGAN upsampling): phases get 1 or 2 taps per axis, 9 taps in total
    l = Layer("u", "conv_transpose2d", 4, 2, (4, 4), kernel_hw=3, stride_hw=2, padding_hw=1, output_padding_hw=1)
    ph = lower(l, "phase")
    assert sorted(g.window for g in ph.gemms) == [4 * 1, 4 * 2, 4 * 2, 4 * 4]
    assert ph.macs_total == l.macs_direct - (0)   # no padding crop along the kept axis here
    assert sum(g.pixels for g in ph.gemms) == 64


def test_conv_lowers_direct_and_bad_method():
    c = Layer("c", "conv2d", 3, 4, (8, 8), kernel_hw=3, padding_hw=1)
    assert lower(c, "scatter").method == "direct"
    with pytest.raises(ValueError, match="lowering must be one of"):
        lower(g3(), "im2col")


def test_axis_tiling_by_hand():
    l = g3()
    # gather from the original input: output rows [0,8) of a k4 s2 p1 transposed conv need input rows
    # i with 2i - 1 + t in [0, 8), t in 0..3 -> i in [0, 4] -> [0, 5)
    t = axis_tiling(lower(l, "phase"), 0, 8)
    assert t.in_ranges == ((0, 5), (3, 8)) and t.out_ranges == ((0, 8), (8, 16))
    z = axis_tiling(lower(l, "zero_insert", zeros_in_dram=True), 0, 8)
    assert z.in_ranges == ((0, 11), (8, 19))
    s = axis_tiling(lower(l, "scatter"), 0, 4)
    # input rows [0,4) scatter to o = 2i - 1 + t in [-1, 8] -> [0, 9); rows [4,8) to [7, 16)
    assert s.in_ranges == ((0, 4), (4, 8)) and s.out_ranges == ((0, 9), (7, 16))
    assert tile_candidates(10) == [10, 5, 3, 2, 1]
    assert tile_sizes(10) == [10, 5, 4, 3, 2, 1] and tile_sizes(64)[:4] == [64, 32, 22, 16]
    assert set(tile_candidates(1000)) <= set(tile_sizes(1000))
    # a k7 s1 conv over 70 inputs, 64 outputs in tiles of 22: each tile's input range and the part the
    # previous tile does not cover (what a sweep loads when the overlap stays on chip)
    c = axis_tiling(lower(Layer("c", "conv2d", 3, 8, (70, 70), kernel_hw=7)), 1, 22)
    assert c.in_ranges == ((0, 28), (22, 50), (44, 70)) and c.in_new_ranges == ((0, 28), (28, 50), (50, 70))
    assert (c.in_sum, c.in_new_sum) == (82, 70)


def test_issue14_layer_reaches_compulsory_with_the_halo_kept():
    # issue 14: Conv2d 3->8 k7 70x70 on SCALE-Sim's 16x8 os array with 8/64/64 KiB: the halving-only
    # tiler moved 54,008 B (SCALE-Sim 53,714 B); tiles of any size that keep their overlap reach the
    # compulsory 3*70*70 + 8*3*49 + 8*64*64 = 48,644 B
    l = Layer("c", "conv2d", 3, 8, (70, 70), kernel_hw=7)
    m = search(lower(l), lp(l), make_arch(8, 64, 64, rows=16, cols=8))
    assert m.dram_bytes == 48_644 == compulsory_bytes(m.lowered, m.sizes)
    assert m.halo_reuse and "halo kept" in m.describe()
    _check_conservation(m)
    sched = build_schedule(m)
    assert sched.bits_by(False)["ifmap"] == 3 * 70 * 70 * 8


@pytest.mark.parametrize("kib", [0.5, 1, 2, 4])
def test_halo_reuse_never_more_than_reloading(kib):
    # the same tiling without keeping the overlap moves at least as much; the schedule agrees
    for layer in LAYERS[1:4] + [Layer("k5", "conv2d", 6, 10, (30, 33), kernel_hw=5, padding_hw=2)]:
        for method in ("zero_insert", "phase", "scatter"):
            try:
                m = search(lower(layer, method), lp(layer), make_arch(kib, kib, kib))
            except ValueError:
                continue
            _check_conservation(m)
            if m.halo_reuse:
                th, tw = m.tiles_h, m.tiles_w
                full = th.in_sum * tw.in_sum
                kept = th.in_sum * tw.in_new_sum if tw.n > 1 else th.in_new_sum * tw.in_sum
                assert kept < full


# ---- the G3 targets ----------------------------------------------------------------------------
def test_g3_compulsory_traffic_targets():
    big = make_arch(4096, 4096, 4096)
    zi = search(lower(g3(), "zero_insert", zeros_in_dram=True), lp(g3()), big)
    assert zi.dram_bytes == 649_472 == 19 * 19 * 256 + 16 * 256 * 128 + 16 * 16 * 128
    for method in ("zero_insert", "phase", "scatter"):
        m = search(lower(g3(), method), lp(g3()), big)
        assert m.dram_bytes == 573_440 == 8 * 8 * 256 + 16 * 256 * 128 + 16 * 16 * 128
    # a folded BatchNorm adds its int32 bias
    assert search(lower(g3(True), "phase"), lp(g3(True)), big).dram_bytes == 573_440 + 128 * 4


def test_double_buffering_halves_capacity():
    # G3 int8 weights are 512 KiB: one tile of all of them fits 768 KiB single-buffered, not double
    l = g3()
    single = search(lower(l, "phase"), lp(l), make_arch(64, 768, 64, double=False))
    double = search(lower(l, "phase"), lp(l), make_arch(64, 768, 64, double=True))
    assert single.tile_bits["weight"] == 512 * 1024 * 8
    assert double.tile_bits["weight"] <= 512 * 1024 * 8 / 2


# ---- conservation, compulsory, monotonicity ----------------------------------------------------
LAYERS = [
    g3(True),
    Layer("c", "conv2d", 16, 24, (9, 9), kernel_hw=3, stride_hw=2, padding_hw=1, bias=True),
    Layer("dw", "conv2d", 16, 16, (8, 8), kernel_hw=3, padding_hw=1, groups=16, bias=True),
    Layer("u", "conv_transpose2d", 12, 6, (5, 5), kernel_hw=3, stride_hw=2, padding_hw=1, output_padding_hw=1),
    Layer("fc", "linear", 64, 200, (1, 1), batch=3),
]


def _check_conservation(m):
    s = build_schedule(m)
    rd, wr = s.bits_by(False), s.bits_by(True)
    for k in ("ifmap", "weight", "psum"):
        assert rd[k] == pytest.approx(m.dram_read_bits[k], rel=1e-12, abs=1e-6), k
    for k in ("ofmap", "psum"):
        assert wr[k] == pytest.approx(m.dram_write_bits[k], rel=1e-12, abs=1e-6), k
    # byte runs cover at least the payload
    assert s.run_bytes.sum() * 8 >= s.t_bits.sum() - 1e-6


@pytest.mark.parametrize("layer", LAYERS, ids=lambda l: l.name)
@pytest.mark.parametrize("method", ["zero_insert", "phase", "scatter"])
@pytest.mark.parametrize("kib", [1, 4, 64, 4096])
def test_traffic_conservation_and_compulsory(layer, method, kib):
    arch = make_arch(kib, kib, kib)
    for fmt in ("int8", "int4", "binary", "fp32"):
        p = lp(layer, fmt)
        lowered = lower(layer, method)
        try:
            m = search(lowered, p, arch)
        except ValueError as exc:
            assert "no tiling fits" in str(exc) and kib == 1
            continue
        _check_conservation(m)
        comp = compulsory_bytes(lowered, OperandSizes.of(p))
        assert m.dram_bytes >= comp
        if kib == 4096:
            assert m.dram_bytes == comp and m.dram_read_bytes["psum"] == 0


@settings(max_examples=40, deadline=None)
@given(cin=st.integers(1, 24), cout=st.integers(1, 24), hw=st.integers(1, 12), k=st.integers(1, 4),
       s=st.integers(1, 3), p=st.integers(0, 2), transposed=st.booleans(), kib=st.sampled_from([0.5, 2, 8, 64]),
       method=st.sampled_from(["zero_insert", "phase", "scatter"]), fmt=st.sampled_from(["int8", "int4", "binary"]),
       shared=st.booleans(), density=st.sampled_from([1.0, 0.3]))
# found by hypothesis (05:41 UTC, a full suite run): a spatial tile without outputs (transposed k=1 s=2
# p=1 on 2x2) made largest_f divide by zero
@example(cin=1, cout=1, hw=2, k=1, s=2, p=1, transposed=True, kib=0.5, method="scatter", fmt="int8", shared=False,
         density=1.0)
def test_conservation_property(cin, cout, hw, k, s, p, transposed, kib, method, fmt, shared, density):
    op = "conv_transpose2d" if transposed else "conv2d"
    try:
        layer = Layer("x", op, cin, cout, (hw, hw), kernel_hw=k, stride_hw=s, padding_hw=p)
    except ValueError:
        return
    arch = make_arch(shared_kib=kib) if shared else make_arch(kib, kib, kib)
    comp = Compression(weight_density=density, weight_storage="bitmap" if density < 1 else "dense")
    try:
        m = search(lower(layer, method), lp(layer, fmt, comp), arch)
    except ValueError as exc:
        assert "no tiling fits" in str(exc)
        return
    _check_conservation(m)
    assert m.dram_bytes >= compulsory_bytes(m.lowered, m.sizes)


@pytest.mark.parametrize("method", ["zero_insert", "phase", "scatter"])
def test_more_buffer_never_more_dram(method):
    for layer in get_model("dcgan-64").layers[1:4] + tuple(LAYERS[1:3]):
        previous = math.inf
        for kib in (4, 8, 16, 32, 64, 128, 256, 1024):
            try:
                m = search(lower(layer, method), lp(layer), make_arch(kib, kib, kib))
            except ValueError:
                continue
            assert m.dram_bytes <= previous, (layer.name, kib)
            previous = m.dram_bytes


def test_partial_sums_spill_only_when_they_must():
    l = g3()
    tiny = search(lower(l, "phase"), lp(l), make_arch(2, 2, 2))
    assert tiny.n_c > 1 and tiny.fetch_psum >= 1
    roomy = search(lower(l, "phase"), lp(l), make_arch(64, 64, 64))
    assert roomy.dram_read_bytes["psum"] == 0 and roomy.dram_write_bytes["psum"] == 0
    # spilled partial sums travel at accumulator width (int32) and come back: writes == reads
    if tiny.dram_read_bytes["psum"]:
        assert tiny.dram_write_bytes["psum"] == tiny.dram_read_bytes["psum"]


def test_scatter_overlap_add_traffic():
    l = g3()
    m = search(lower(l, "scatter"), lp(l), make_arch(2, 64, 2))
    assert m.tiles_h.n * m.tiles_w.n > 1
    overlap_elems = (m.tiles_h.out_sum * m.tiles_w.out_sum - m.tiles_h.out_union * m.tiles_w.out_union) * 128
    assert overlap_elems > 0
    assert m.dram_write_bits["psum"] >= overlap_elems * 32


def test_compressed_weights_move_at_compressed_size():
    l = g3()
    big = make_arch(4096, 4096, 4096)
    dense8 = search(lower(l, "phase"), lp(l, "int8"), big).dram_read_bytes["weight"]
    dense4 = search(lower(l, "phase"), lp(l, "int4"), big).dram_read_bytes["weight"]
    tern = search(lower(l, "phase"), lp(l, "ternary"), big).dram_read_bytes["weight"]
    binw = search(lower(l, "phase"), lp(l, "binary"), big).dram_read_bytes["weight"]
    assert (dense8, dense4, tern, binw) == (524_288, 262_144, 131_072, 65_536)
    sparse = search(lower(l, "phase"), lp(l, "int8", Compression(weight_density=0.1, weight_storage="csr")), big)
    # 10 % of 524,288 values x (8 value + 12 column-index bits) + 129 row pointers of 16 bits
    assert sparse.dram_read_bytes["weight"] == math.ceil((52_429 * 20 + 129 * 16) / 8)


def test_fewer_bits_never_more_dram_bytes():
    for layer in get_model("dcgan-digits").layers:
        sizes = [search(lower(layer, "phase"), lp(layer, f), make_arch(16, 16, 16)).dram_bytes
                 for f in ("fp32", "fp16", "int8", "int4", "binary")]
        assert sizes == sorted(sizes, reverse=True)


def test_objectives_and_errors():
    l = g3()
    arch = make_arch(8, 8, 8)
    by_dram = search(lower(l, "phase"), lp(l), arch, "dram")
    for objective in ("energy", "latency"):
        m = search(lower(l, "phase"), lp(l), arch, objective)
        assert m.dram_bytes >= by_dram.dram_bytes
    with pytest.raises(ValueError, match="objective must be one of"):
        search(lower(l, "phase"), lp(l), arch, "area")
    with pytest.raises(ValueError, match="no tiling fits"):
        big_kernel = Layer("k9", "conv2d", 1, 1, (9, 9), kernel_hw=9)   # one fp32 tap tile: 81 x 32 bits
        search(lower(big_kernel, "phase"), lp(big_kernel, "fp32"), make_arch(shared_kib=0.25))


def test_plan_helper_roundtrip():
    p = plan(get_model("dcgan-digits"), "int4")[2]
    assert OperandSizes.of(p).weight_pass_bits == 64 * 32 * 16 * 4 + 32 * 32


def test_edp_objective_minimizes_energy_times_latency():
    from accelsim.mapping import MapperCosts
    l, arch = g3(), make_arch(8, 8, 8)
    costs = MapperCosts(read_pj_per_byte=70.0, write_pj_per_byte=60.0, compute_cycles=200_000)
    bw = arch.dram_bytes_per_cycle

    def energy(m):   # the mapper's DRAM energy, recomputed from the chosen mapping
        return (sum(m.dram_read_bits.values()) * 70.0 + sum(m.dram_write_bits.values()) * 60.0) / 8

    def latency(m):  # the mapper's latency estimate: max(compute, DRAM time) + first tile load
        total = sum(m.dram_read_bits.values()) + sum(m.dram_write_bits.values())
        return max(costs.compute_cycles, total / 8 / bw) + (m.tile_bits["ifmap"] + m.tile_bits["weight"]) / 8 / bw

    by = {o: search(lower(l, "phase"), lp(l), arch, o, costs) for o in ("dram", "energy", "latency", "edp")}
    assert by["energy"].objective_value == pytest.approx(energy(by["energy"]))
    assert by["latency"].objective_value == pytest.approx(latency(by["latency"]))
    assert by["edp"].objective_value == pytest.approx(energy(by["edp"]) * latency(by["edp"]))
    for m in by.values():
        assert energy(m) * latency(m) >= by["edp"].objective_value * (1 - 1e-12)


def test_box_run_patterns_equal_numpy_reference():
    """A tile's byte runs as strided patterns (one per box), materialized, equal the vectorized numpy
    form, for whole and fractional bits per element (compressed activations) and boxes that span rows,
    planes or neither."""
    from accelsim.mapping.schedule import _boxes, _boxes_reference
    rng = np.random.default_rng(3)
    for _ in range(200):
        C, H, W = (int(v) for v in rng.integers(1, 9, 3))
        n = int(rng.integers(1, 30))
        c0 = rng.integers(0, C, n); c1 = np.minimum(C, c0 + rng.integers(1, C + 1, n))
        r0 = rng.integers(0, H, n); r1 = np.where(rng.random(n) < 0.3, H, np.minimum(H, r0 + rng.integers(1, H + 1, n)))
        r0 = np.where(r1 == H, np.where(rng.random(n) < 0.5, 0, r0), r0)
        q0 = np.where(rng.random(n) < 0.4, 0, rng.integers(0, W, n))
        q1 = np.where(q0 == 0, np.where(rng.random(n) < 0.6, W, np.minimum(W, q0 + 1)), np.minimum(W, q0 + 1))
        n0 = rng.integers(0, 3, n)
        base = float(rng.integers(0, 1 << 20)) * (1 if rng.random() < 0.5 else 1.37)
        bits = float(rng.choice([1, 2, 4, 8, 16, 32, 4.6, 9.25]))
        bits_a, pattern = _boxes(base, (C, H, W), bits, n0, c0, c1, r0, r1, q0, q1)
        b = _boxes_reference(base, (C, H, W), bits, n0, c0, c1, r0, r1, q0, q1)
        for x, y in zip((bits_a,) + pattern.materialize(), b):
            assert np.array_equal(x, y) and x.dtype == y.dtype
