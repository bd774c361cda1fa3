"""Energy: data files carry provenance, the arithmetic rule, CACTI interpolation, pricing equals
counts x table, reports add up, formats and lowerings order as they must, pinned regressions."""
import json
import math
import pathlib
from importlib import resources

import pytest

from accelsim.api import simulate
from accelsim.arch import load_arch
from accelsim.energy import COMPONENTS, arith_energy_pj, buffer_energy, energy_table, price, sram_energy
from accelsim.energy.tables import sram_rows

PINS = pathlib.Path(__file__).parent / "data" / "energy_pins.json"


def test_data_files_have_provenance():
    for name in ("mac_horowitz45.csv", "sram_cacti.csv"):
        text = (resources.files("accelsim.energy") / "data" / name).read_text()
        lines = text.splitlines()
        assert lines[0].startswith("#")
        header = next(l for l in lines if not l.startswith("#"))
        assert header.split(",")[-1] == "source"
        rows = [l for l in lines if not l.startswith("#")][1:]
        assert rows and all(l.rsplit(",", 1)[-1].strip() for l in rows)
    assert "CACTI" in (resources.files("accelsim.energy") / "data" / "sram_cacti.csv").read_text().splitlines()[0]


def test_arithmetic_energy_rule():
    # the Horowitz 45 nm points themselves
    assert arith_energy_pj("mult", "int", 8) == 0.2 and arith_energy_pj("add", "int", 32) == 0.1
    assert arith_energy_pj("mult", "fp", 16) == 1.1 and arith_energy_pj("add", "fp", 32) == 0.9
    # power law through the two points: int mult ~quadratic, int add ~linear
    alpha = math.log(3.1 / 0.2) / math.log(4)
    assert arith_energy_pj("mult", "int", 16) == pytest.approx(0.2 * 2 ** alpha)
    assert arith_energy_pj("mult", "int", 4) == pytest.approx(0.2 * 0.5 ** alpha)
    assert 0.75 < arith_energy_pj("mult", "int", 16) < 0.8
    assert arith_energy_pj("add", "int", 64) == pytest.approx(0.1 * 2 ** (math.log(0.1 / 0.03) / math.log(4)))
    # node scaling: linear in feature size
    assert arith_energy_pj("mult", "int", 8, 22) == pytest.approx(0.2 * 22 / 45)
    # fewer bits never cost more
    for op in ("add", "mult"):
        e = [arith_energy_pj(op, "int", b) for b in (1, 2, 4, 8, 16, 32, 64)]
        assert e == sorted(e)


def test_sram_table_interpolation():
    rows = sram_rows()
    assert {22, 28, 45, 65} <= set(rows)
    for node, t in rows.items():
        size, width, read = t[0, 0], t[0, 1], t[0, 2]
        assert sram_energy(node, size, width)[0] == pytest.approx(read)   # a grid point is exact
        for w in sorted(set(t[:, 1])):
            sub = t[t[:, 1] == w]
            assert list(sub[:, 0]) == sorted(sub[:, 0])
            leak = sub[:, 4]
            assert all(b >= a for a, b in zip(leak, leak[1:])), (node, w)   # more SRAM, more leakage
        # between two grid sizes the interpolated value lies between them
        mid = sram_energy(node, 32, 128)[0]
        lo, hi = sram_energy(node, 16, 128)[0], sram_energy(node, 64, 128)[0]
        assert min(lo, hi) <= mid <= max(lo, hi)
    with pytest.raises(ValueError, match="no CACTI SRAM data for tech_node_nm=7"):
        sram_energy(7, 64, 128)


def test_banked_buffer_energy():
    arch = load_arch("eyeriss-like")
    buf = arch.buffers[0]
    r, w, leak = buffer_energy(buf, arch.tech_node_nm)
    one_r, _, one_leak = sram_energy(arch.tech_node_nm, buf.size_kib / buf.banks, buf.word_bits)
    assert r == pytest.approx(one_r / buf.word_bits) and leak == pytest.approx(one_leak * buf.banks)


def test_price_is_counts_times_table():
    arch = load_arch("edge-npu")
    table = energy_table(arch, {("mult", "int", 8), ("add", "int", 32)})
    actions = {("mult", "int", 8): 1000, ("add", "int", 32): 1000, ("dram_read_bit",): 8000,
               ("dram_write_bit",): 800, ("dram_activate",): 3, ("sram_read_bit", "ifmap"): 4096,
               ("sram_write_bit", "weight"): 512, ("cycle",): 10_000}
    e = price(actions, table)
    assert set(e) == set(COMPONENTS)
    assert e["mac"] == pytest.approx(1000 * (0.2 + 0.1) * 22 / 45)
    d = arch.dram
    assert e["dram"] == pytest.approx(8000 * d.read_energy_pj_per_bit + 800 * d.write_energy_pj_per_bit)
    assert e["dram_act"] == pytest.approx(3 * d.activate_energy_pj)
    assert e["dram_bg"] == pytest.approx(10_000 / arch.clock_hz * d.channels * d.background_power_mw * 1e-3 * 1e12)
    r_if = buffer_energy(arch.buffer("ifmap"), 22)[0]
    w_w = buffer_energy(arch.buffer("weight"), 22)[1]
    assert e["buffer"] == pytest.approx(4096 * r_if + 512 * w_w)
    leak = sum(buffer_energy(b, 22)[2] for b in arch.buffers)
    assert e["leakage"] == pytest.approx(10_000 / arch.clock_hz * leak * 1e-3 * 1e12)
    with pytest.raises(ValueError, match="no energy for action"):
        price({("mult", "fp", 8): 1}, table)


def test_report_adds_up_and_energy_is_counts_times_table():
    rep = simulate("dcgan-digits", "edge-npu", "int8")
    assert rep.total_energy_pj == pytest.approx(sum(l.total_energy_pj for l in rep.layers))
    assert rep.dram_bytes == sum(l.activity.dram_bytes for l in rep.layers)
    assert rep.cycles == sum(l.activity.latency_cycles for l in rep.layers)
    assert rep.energy_per_image_uj == pytest.approx(rep.total_energy_pj / 1e6)
    table = energy_table(load_arch("edge-npu"), {("mult", "int", 8), ("add", "int", 32), ("add", "int", 8)})
    for l in rep.layers:
        manual = sum(c * table.pj(k) for k, c in l.activity.actions.items())
        assert l.total_energy_pj == pytest.approx(manual)
    both = rep + simulate("dcgan-digits", "edge-npu", "int4")
    assert both.total_energy_pj == pytest.approx(rep.total_energy_pj + simulate("dcgan-digits", "edge-npu",
                                                                                 "int4").total_energy_pj)
    assert len(both.layers) == 8
    # batch: per-image energy amortizes weights, never exceeds batch 1
    rep4 = simulate("dcgan-digits", "edge-npu", "int8", batch=4)
    assert rep4.energy_per_image_uj < rep.energy_per_image_uj


def test_formats_and_lowerings_order_as_they_must():
    e = {f: simulate("dcgan-64", "edge-npu", f) for f in ("fp32", "fp16", "int8", "int4", "binary")}
    uj = [e[f].energy_per_image_uj for f in ("fp32", "fp16", "int8", "int4", "binary")]
    assert uj == sorted(uj, reverse=True)
    dram = [e[f].dram_bytes for f in ("fp32", "fp16", "int8", "int4", "binary")]
    assert dram == sorted(dram, reverse=True)
    zi = simulate("dcgan-64", "edge-npu", "int8", lowering="zero_insert")
    ph = simulate("dcgan-64", "edge-npu", "int8", lowering="phase")
    # phase removes the inserted zeros but keeps border-padding taps: G1 (1x1 input, k4 s1 p0) is a
    # single phase that still gathers over 15/16 padding, so phase = direct + (13,107,200 - 819,200)
    assert zi.macs_total == 428_343_296 and ph.macs_total == 104_628_224 + 12_288_000
    sc = simulate("dcgan-64", "edge-npu", "int8", lowering="scatter")
    assert sc.macs_total == 104_628_224
    assert zi.macs_effectual == ph.macs_effectual == 90_538_752
    assert zi.energy_pj["mac"] > 3 * ph.energy_pj["mac"] and zi.cycles > ph.cycles
    with pytest.raises(ValueError, match="batch"):
        simulate("dcgan-digits", "edge-npu", "int8", batch=0)


def _pin_values():
    out = {}
    for model, arch, fmt, lowering in [("dcgan-digits", "edge-npu", "int8", "phase"),
                                       ("dcgan-digits", "edge-npu", "binary", "phase"),
                                       ("dcgan-64", "edge-npu", "int8", "zero_insert"),
                                       ("dcgan-64", "eyeriss-like", "fp16", "scatter"),
                                       ("dcgan-64", "tpu-like", "int8", "phase")]:
        r = simulate(model, arch, fmt, lowering=lowering)
        out[f"{model}/{arch}/{fmt}/{lowering}"] = {
            "dram_bytes": r.dram_bytes, "cycles": r.cycles, "stall_cycles": r.stall_cycles,
            "macs_total": r.macs_total, "energy_per_image_uj": round(r.energy_per_image_uj, 6)}
    return out


def test_pinned_regressions():
    """Pinned numbers; regenerate with ``python tools/regen_pins.py`` and review the diff."""
    pins = json.loads(PINS.read_text())
    got = _pin_values()
    assert set(got) == set(pins)
    for key, want in pins.items():
        for field, value in want.items():
            if field == "energy_per_image_uj":
                assert got[key][field] == pytest.approx(value, rel=1e-6), (key, field)
            else:
                assert got[key][field] == value, (key, field)


def test_best_lowering_wins_per_layer_on_the_objective():
    single = {m: simulate("dcgan-64", "edge-npu", "int8", lowering=m, objective="energy")
              for m in ("zero_insert", "phase", "scatter")}
    best = simulate("dcgan-64", "edge-npu", "int8", lowering="best", objective="energy")
    for i, layer in enumerate(best.layers):
        assert layer.total_energy_pj <= min(r.layers[i].total_energy_pj for r in single.values()) + 1e-6
    assert best.layers[0].activity.method == "scatter"      # G1: 1x1 input, phase keeps padding taps
    with pytest.raises(ValueError, match="lowering must be one of"):
        simulate("dcgan-64", "edge-npu", "int8", lowering="im2col")


def test_edp_objective_through_the_api():
    single = {m: simulate("dcgan-64", "edge-npu", "int8", lowering=m, objective="edp")
              for m in ("zero_insert", "phase", "scatter")}
    best = simulate("dcgan-64", "edge-npu", "int8", lowering="best", objective="edp")
    edp = lambda r: r.total_energy_pj * r.activity.latency_cycles  # noqa: E731
    for i, layer in enumerate(best.layers):
        assert edp(layer) <= min(edp(r.layers[i]) for r in single.values()) * (1 + 1e-12)
