"""Simulator: systolic fold timing against SCALE-Sim 3.0.0 golden numbers, SRAM traffic by hand, the
DRAM bank/row model on hand-computed cases, the double-buffer timeline, and the engine's invariants."""
import numpy as np
import pytest

from accelsim.arch import arch_from_dict, load_arch
from accelsim.sim.dram import service_reference
from accelsim.mapping import Gemm, lower, search
from accelsim.sim import (compute_cycles, fold_cycles, scalesim_reported_cycles, service, simulate_conv,
                          simulate_elementwise, sram_traffic, timeline)
from accelsim.workload import Layer, get_model, plan
from accelsim.workload.graph import LayerPlan
from accelsim.workload.precision import get_format

# Golden numbers: SCALE-Sim 3.0.0 (pip, numpy 2.3.5, CALC bandwidth mode) COMPUTE_REPORT "Total Cycles"
# for four small layers on a 4x4 and a 5x3 array, run on this machine. Layer b has a 4x4 filter at stride 2
# over 11x9: SCALE-Sim sizes its output with ceil((H - R) / s) + 1 = 5 x 4 = 20 pixels (torch would
# give 4 x 3), so its GEMM is given directly.
SCALESIM_GEMMS = {"a": Gemm(25, 45, 11), "b": Gemm(20, 48, 7), "c": Gemm(1, 37, 13), "d": Gemm(9, 36, 20)}
SCALESIM_CYCLES = {
    ((4, 4), "os"): (1070, 539, 171, 629), ((4, 4), "ws"): (1259, 719, 439, 854),
    ((4, 4), "is"): (1763, 1019, 229, 809), ((5, 3), "os"): (1019, 647, 214, 587),
    ((5, 3), "ws"): (1295, 929, 479, 1119), ((5, 3), "is"): (1781, 1259, 191, 743),
}
# SCALE-Sim 3.0.0 on the DCGAN-64 topology at 32x32 (shared/peers/README.md, measured there)
DCGAN_32 = {"os": (41_471, 132_063, 133_055, 135_039, 139_007),
            "ws": (97_279, 323_583, 179_199, 143_103, 134_079),
            "is": (33_143, 179_199, 227_327, 323_583, 397_311)}


@pytest.mark.parametrize("array,dataflow", sorted(SCALESIM_CYCLES))
def test_compute_cycles_equal_scalesim_small_layers(array, dataflow):
    got = tuple(scalesim_reported_cycles(g, *array, dataflow) for g in SCALESIM_GEMMS.values())
    assert got == SCALESIM_CYCLES[(array, dataflow)]


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_compute_cycles_equal_scalesim_dcgan_32x32(dataflow):
    # the topology SCALE-Sim needs: G1 as a 1x1 conv with 8192 filters, G2-G5 as stride-1 convs over the
    # zero-inserted inputs, i.e. accelsim's zero_insert lowering of the DCGAN transposed convolutions
    g1 = lower(Layer("G1", "linear", 100, 8192, (1, 1))).gemms[0]
    rest = [lower(l, "zero_insert", zeros_in_dram=True).gemms[0] for l in get_model("dcgan-64").layers[1:]]
    got = tuple(scalesim_reported_cycles(g, 32, 32, dataflow) for g in [g1] + rest)
    assert got == DCGAN_32[dataflow]


def test_fold_cycles_by_hand():
    g = Gemm(pixels=10, window=7, filters=5)
    # os on 4x4: ceil(10/4) * ceil(5/4) = 6 folds of 7 + 4 + 4 - 2 = 13 cycles
    assert fold_cycles(g, 4, 4, "os") == 13 and compute_cycles(g, 4, 4, "os") == 78
    # ws: ceil(7/4) * ceil(5/4) = 4 folds of 2*4 + 4 + 10 - 2 = 20
    assert compute_cycles(g, 4, 4, "ws") == 80
    # is: ceil(7/4) * ceil(10/4) = 6 folds of 2*4 + 4 + 5 - 2 = 15
    assert compute_cycles(g, 4, 4, "is") == 90
    assert compute_cycles(Gemm(10, 7, 5, count=3), 4, 4, "is") == 270
    with pytest.raises(ValueError, match="dataflow"):
        compute_cycles(g, 4, 4, "rs")


def test_control_cycles_by_hand():
    """The reference RTL's control work (docs/rtl.md): every output through the one requantization
    unit (P x F), plus, for ws/is, one partial-sum tail per row fold of each column fold."""
    from accelsim.sim import control_cycles
    g = Gemm(pixels=10, window=7, filters=5)
    assert control_cycles(g, 4, 4, "os") == 50
    assert control_cycles(g, 4, 4, "ws") == 2 * 2 + 50        # ceil(5/4) column folds x ceil(7/4) row folds
    assert control_cycles(g, 4, 4, "is") == 3 * 2 + 50        # ceil(10/4) x ceil(7/4)
    assert control_cycles(Gemm(pixels=10, window=7, filters=5, count=3), 4, 4, "ws") == 3 * 54


def test_sram_traffic_by_hand():
    g = Gemm(pixels=10, window=7, filters=5)
    os_ = sram_traffic(g, 4, 4, "os")     # 2 col folds x 10 x 7; 3 row folds x 7 x 5; 50 outputs
    assert (os_.ifmap_reads, os_.weight_reads, os_.ofmap_writes, os_.ofmap_reads) == (140, 105, 50, 0)
    ws = sram_traffic(g, 4, 4, "ws")      # 2 row folds over K: partial sums written twice, read back once
    assert (ws.ifmap_reads, ws.weight_reads, ws.ofmap_writes, ws.ofmap_reads) == (140, 35, 100, 50)
    is_ = sram_traffic(g, 4, 4, "is")     # 3 col folds over P
    assert (is_.ifmap_reads, is_.weight_reads, is_.ofmap_writes, is_.ofmap_reads) == (70, 105, 100, 50)


# ---- DRAM ------------------------------------------------------------------------------------------
def ddr4(channels=1, refresh=False):
    """DDR4-2400; without refresh unless asked, so the by-hand timings below stay readable."""
    extra = {} if refresh else {"t_refi_ns": 0.0, "t_rfc_ns": 0.0, "refresh_energy_pj": 0.0}
    return arch_from_dict({"name": "t", "clock_mhz": 1000, "tech_node_nm": 45,
                           "array": {"rows": 4, "cols": 4, "dataflow": "os"},
                           "buffers": {"global": {"size_kib": 64, "word_bits": 64, "banks": 1}},
                           "dram": {"preset": "ddr4-2400", "channels": channels, **extra}}).dram


def test_dram_refresh_stretches_every_transfer():
    """All-bank refresh blocks the channel t_RFC of every t_REFI: each transfer takes t_REFI/(t_REFI-t_RFC)
    times its refresh-free time (DDR4-2400: 3898.44 / (3898.44 - 260.729) = 1.0717), in both DRAM kernels."""
    free, ref = ddr4(), ddr4(refresh=True)
    assert free.refresh_stretch == 1.0
    assert ref.refresh_stretch == pytest.approx(3898.44 / (3898.44 - 260.729))
    starts, sizes, owner = [0, 8192, 1 << 20, 64], [8192, 100, 5000, 64], [0, 1, 1, 2]
    for fn in (service, service_reference):
        a, b = fn(free, starts, sizes, owner, 3), fn(ref, starts, sizes, owner, 3)
        assert (a.activates, a.row_hits, a.bursts) == (b.activates, b.row_hits, b.bursts)
        np.testing.assert_allclose(b.transfer_ns, a.transfer_ns * ref.refresh_stretch, rtol=1e-12)


def test_dram_one_row_by_hand():
    d = ddr4()
    # 8 KiB row, 64-byte bursts of 8 x 0.4167 ns: one full row = 128 bursts, one ACTIVATE
    r = service(d, [0], [8192], [0], 1)
    assert (r.activates, r.row_hits, r.bursts) == (1, 0, 128)
    assert r.transfer_ns[0] == pytest.approx(d.t_cl_ns + d.t_rcd_ns + 128 * d.t_burst_ns)


def test_dram_hits_conflicts_and_banks():
    d = ddr4()
    # same row twice: the second access hits the open row
    r = service(d, [0, 64], [64, 64], [0, 1], 2)
    assert (r.activates, r.row_hits) == (1, 1)
    assert r.transfer_ns[1] == pytest.approx(d.t_cl_ns + d.t_burst_ns)
    # two rows of the same bank (16 banks x 8 KiB apart): second is a conflict -> precharge + activate
    stride = d.row_bytes * d.banks
    r = service(d, [0, stride], [64, 64], [0, 1], 2)
    assert (r.activates, r.row_hits) == (2, 0)
    assert r.transfer_ns[1] == pytest.approx(d.t_cl_ns + d.t_rcd_ns + d.t_rp_ns + d.t_rc_ns)
    # 16 rows in one transfer, all in one bank: bound by t_RC per activate
    r = service(d, np.arange(16) * stride, np.full(16, 64), np.zeros(16, int), 1)
    assert r.activates == 16
    assert r.transfer_ns[0] == pytest.approx(d.t_cl_ns + d.t_rcd_ns + 16 * d.t_rc_ns)
    # the same 16 small pieces spread over 16 banks: bound by the activate rate, not t_RC
    r = service(d, np.arange(16) * d.row_bytes, np.full(16, 64), np.zeros(16, int), 1)
    act_rate = max(d.t_rrd_ns, d.t_faw_ns / 4)
    assert r.transfer_ns[0] == pytest.approx(d.t_cl_ns + d.t_rcd_ns + max(16 * act_rate, d.t_rc_ns, 16 * d.t_burst_ns))


def test_dram_channels_work_in_parallel():
    one, two = ddr4(1), ddr4(2)
    n = 1 << 20
    t1 = service(one, [0], [n], [0], 1).transfer_ns[0]
    t2 = service(two, [0], [n], [0], 1).transfer_ns[0]
    assert t2 == pytest.approx(t1 / 2, rel=0.01)
    # streaming is bandwidth bound: within 1 % of bytes / peak bandwidth
    assert t1 == pytest.approx(n / one.peak_bytes_per_ns, rel=0.01)


def test_timeline_by_hand():
    c, l, s = np.array([10., 10, 10]), np.array([4., 12, 3]), np.array([2., 2, 5])
    # serial: all loads, computes and stores
    assert timeline(c, l, s, False) == 58
    # double buffered: L0 + max(10, 12+0) + max(10, 3+2) + max(10, 0+2) + S_last = 4+12+10+10+5
    assert timeline(c, l, s, True) == 41


# ---- engine --------------------------------------------------------------------------------------
@pytest.mark.parametrize("arch_name", ["edge-npu", "eyeriss-like", "scalesim-32x32"])
@pytest.mark.parametrize("method", ["zero_insert", "phase", "scatter"])
def test_engine_invariants(arch_name, method):
    arch = load_arch(arch_name)
    for p in plan(get_model("dcgan-digits"), "int8"):
        lowered = lower(p.layer, method)
        m = search(lowered, p, arch)
        act = simulate_conv(m, p, arch)
        a = arch.array
        assert act.compute_cycles == sum(compute_cycles(g, a.rows, a.cols, a.dataflow) for g in lowered.gemms)
        assert act.latency_cycles == act.compute_cycles + act.stall_cycles and act.stall_cycles >= 0
        assert act.dram_bytes == m.dram_bytes
        assert act.macs_total == lowered.macs_total and act.macs_effectual == p.layer.macs_effectual
        assert 0 < act.utilization <= 1
        assert act.actions[("mult", "int", 8)] == act.macs_total
        assert act.actions[("dram_read_bit",)] == pytest.approx(
            sum(m.dram_read_bits.values()))


def test_engine_stalls_when_dram_is_slow():
    from dataclasses import replace
    fast = load_arch("edge-npu")
    slow = replace(fast, dram=replace(fast.dram, data_rate_mtps=200, channels=1))
    p = plan(get_model("dcgan-64"), "int8")[2]
    m_fast = search(lower(p.layer, "phase"), p, fast)
    m_slow = search(lower(p.layer, "phase"), p, slow)
    a_fast, a_slow = simulate_conv(m_fast, p, fast), simulate_conv(m_slow, p, slow)
    assert a_slow.compute_cycles == a_fast.compute_cycles
    assert a_slow.stall_cycles > 10 * max(1, a_fast.stall_cycles)


def test_no_double_buffering_is_slower():
    from dataclasses import replace
    arch = load_arch("edge-npu")
    single = replace(arch, buffers=tuple(replace(b, double_buffered=False) for b in arch.buffers))
    p = plan(get_model("dcgan-64"), "int8")[3]
    a_db = simulate_conv(search(lower(p.layer, "phase"), p, arch), p, arch)
    a_sb = simulate_conv(search(lower(p.layer, "phase"), p, single), p, single)
    assert a_sb.dram_bytes <= a_db.dram_bytes            # bigger tiles allowed
    assert a_sb.latency_cycles >= a_sb.compute_cycles + 1


def test_elementwise_layers():
    arch = load_arch("edge-npu")
    add = LayerPlan(Layer("r", "add", 64, 64, (16, 16)), get_format("int8"))
    act = simulate_elementwise(add, arch)
    assert act.dram_read_bytes["ifmap"] == 2 * 64 * 256 and act.dram_write_bytes["ofmap"] == 64 * 256
    assert act.compute_cycles == 64 * 256 // arch.array.cols
    assert act.actions[("add", "int", 8)] == 64 * 256
    up = LayerPlan(Layer("u", "upsample_nearest", 8, 8, (4, 4), scale_factor=2), get_format("fp16"))
    act = simulate_elementwise(up, arch)
    assert act.dram_write_bytes["ofmap"] == 8 * 64 * 2 and ("add", "fp", 16) not in act.actions


def test_dram_kernel_equals_vectorized_reference():
    """The numba DRAM kernel and the numpy reference give the same result bit for bit: random runs,
    transfers in any order, empty runs, runs crossing rows, channels and banks."""
    from accelsim.sim.dram import service, service_reference
    rng = np.random.default_rng(5)
    for name in ("edge-npu", "tpu-like", "eyeriss-like"):
        d = load_arch(name).dram
        for _ in range(60):
            n, nt = int(rng.integers(1, 200)), int(rng.integers(1, 12))
            start = rng.integers(0, 1 << 24, n)
            size = rng.integers(0, 3 * d.row_bytes * d.channels * d.banks, n) * (rng.random(n) > 0.1)
            tr = rng.integers(0, nt, n)
            a, b = service(d, start, size, tr, nt, kernel=True), service_reference(d, start, size, tr, nt)
            assert np.array_equal(a.transfer_ns, b.transfer_ns)
            assert (a.bursts, a.activates, a.row_hits, a.chunks) == (b.bursts, b.activates, b.row_hits, b.chunks)
