"""ReRAM crossbars: hand-computed 4x4 crossbars for every format, the functional model bit-exact
against the golden accumulators with a lossless ADC, the ADC's rounding and clipping, crossbar
counts of DCGAN-64 computed by hand, strict specs, the energy table and the API/CLI."""
import dataclasses
import itertools
import json
import math

import numpy as np
import pytest

from accelsim.api import simulate
from accelsim.arch import CrossbarSpec, arch_from_dict, load_arch
from accelsim.arch.loader import load_yaml
from accelsim.energy import energy_table, price
from accelsim.energy.xbar_tables import adc_energy_pj
from accelsim.formats import fixed
from accelsim.formats.conv import ConvSpec
from accelsim.mapping import lower
from accelsim.mapping.crossbar import conductance_levels, map_layer, weight_encoding
from accelsim.sim.crossbar_func import (CrossbarKernels, NonIdeal, adc_convert, crossbar_matmul, input_steps,
                                        operand_bits)
from accelsim.workload import get_format, get_model

X = np.array([[2, 1, 3, 1]])      # one input vector, 2-bit unsigned: bit 0 = [0,1,1,1], bit 1 = [1,0,1,0]


def spec(**kw) -> CrossbarSpec:
    base = dict(rows=4, cols=4, bits_per_cell=2, cell_levels=4, dac_bits=1, adc_bits=4, adc_mode="clipped",
                cols_per_adc=4, signed_encoding="differential")
    return CrossbarSpec(**{**base, **kw})


def run(w, s, x=X, bits=2, signed=False):
    """w = (kind, bits, one filter's weights)."""
    enc = weight_encoding(w[0], w[1], s)
    return crossbar_matmul(x, np.array(w[2]).reshape(-1, 1), enc, s, x_bits=bits, x_signed=signed)[0, 0]


# ---- hand-computed 4x4 crossbars ---------------------------------------------------------------
def test_int4_differential_by_hand():
    s = spec()
    enc = weight_encoding("fixed", 4, s)
    w = np.array([[5], [-3], [0], [7]])
    g, layout = conductance_levels(w, enc, s)
    # columns (+s0, +s1, -s0, -s1): 5 = 01|01, -3 -> |3| = 00|11 on the - side, 7 = 01|11
    assert g.tolist() == [[1, 1, 0, 0], [0, 0, 3, 0], [0, 0, 0, 0], [3, 1, 0, 0]]
    steps, weights = input_steps(X, 2, False, 1)
    assert steps[:, 0].tolist() == [[0, 1, 1, 1], [1, 0, 1, 0]] and weights.tolist() == [1, 2]
    # column sums: bit 0 -> rows 1+2+3 = [3,1,3,0]; bit 1 -> rows 0+2 = [1,1,0,0]
    assert (steps[0] @ g).tolist() == [[3, 1, 3, 0]] and (steps[1] @ g).tolist() == [[1, 1, 0, 0]]
    # shift-add [5,3,3,0]; (5 + 4*3) - (3 + 4*0) = 14 = 2*5 + 1*(-3) + 3*0 + 1*7
    assert crossbar_matmul(X, w, enc, s, x_bits=2, x_signed=False).tolist() == [[14]]
    # signed inputs x = [-2, 1, 0, -1] (2-bit two's complement): low bit [0,1,0,1], sign bit [1,0,0,1] x -2
    # sums [3,1,3,0] - 2*[4,2,0,0] = [-5,-3,3,0] -> (-5 - 12) - 3 = -20
    assert crossbar_matmul(np.array([[-2, 1, 0, -1]]), w, enc, s, x_bits=2, x_signed=True).tolist() == [[-20]]
    # scaled 2-bit ADC: full scale 4 rows x 3 = 12 -> 4 bits, lsb 4: [3,1,3,0] -> [4,0,4,0], [1,1,0,0] -> 0; y = 4 - 4
    assert run(("fixed", 4, [5, -3, 0, 7]), spec(adc_bits=2, adc_mode="scaled")) == 0


def test_int4_offset_by_hand():
    s = spec(signed_encoding="offset")
    enc = weight_encoding("fixed", 4, s)
    g, _ = conductance_levels(np.array([[5], [-3], [0], [7]]), enc, s)
    # u = w + 8 = 13, 5, 8, 15 = 11|01, 01|01, 10|00, 11|11; columns (s0, s1, reference)
    assert g.tolist() == [[1, 3, 1], [1, 1, 1], [0, 2, 1], [3, 3, 1]]
    # sums: bit 0 [4,6,3], bit 1 [1,5,2]; lossless acc [6,16,7]: (6 + 4*16) - 8*7 = 14
    assert run(("fixed", 4, [5, -3, 0, 7]), s) == 14
    # clipped 2-bit ADC (codes <= 3): [3,3,3], [1,3,2] -> acc [5,9,7] -> (5 + 36) - 56 = -15
    assert run(("fixed", 4, [5, -3, 0, 7]), spec(signed_encoding="offset", adc_bits=2)) == -15
    # scaled 2-bit ADC (lsb 4): [4,6,3] -> [4,8,4], [1,5,2] -> [0,4,4]; acc [4,16,12] -> (4 + 64) - 96 = -28
    assert run(("fixed", 4, [5, -3, 0, 7]), spec(signed_encoding="offset", adc_bits=2, adc_mode="scaled")) == -28


def test_ternary_binary_by_hand():
    s = spec()
    tern = weight_encoding("ternary", 2, s)
    assert conductance_levels(np.array([[1], [-1], [0], [1]]), tern, s)[0].tolist() == [[1, 0], [0, 1], [0, 0], [1, 0]]
    assert run(("ternary", 2, [1, -1, 0, 1]), s) == 2                         # [3,1] -> 3 - 1
    # ternary is a differential pair even when the spec asks for offset encoding
    assert weight_encoding("ternary", 2, spec(signed_encoding="offset")).differential
    b = np.array([[1], [-1], [-1], [1]])
    assert conductance_levels(b, weight_encoding("binary", 1, s), s)[0].tolist() == [[1, 0], [0, 1], [0, 1], [1, 0]]
    assert run(("binary", 1, [1, -1, -1, 1]), s) == -1                        # [3,4] -> 3 - 4
    off = spec(signed_encoding="offset")                                       # one cell: u = (w+1)/2, + reference
    assert conductance_levels(b, weight_encoding("binary", 1, off), off)[0].tolist() == [[1, 1], [0, 1], [0, 1], [1, 1]]
    assert run(("binary", 1, [1, -1, -1, 1]), off) == -1                      # [3,7] -> 2*3 - 7


def test_flex16_and_capacity_errors():
    with pytest.raises(ValueError, match="crossbar.cols: 4 columns cannot hold one fixed weight"):
        run(("fixed", 8, [1, 2, 3, 4]), spec())              # int8 differential needs 8 columns
    s = spec(cols=16)                                         # flex16: 15-bit magnitudes, 8 slices x 2 columns
    enc = weight_encoding("flex", 16, s)
    w = np.array([[300], [-2], [0], [32767]])
    g, layout = conductance_levels(w, enc, s)
    assert g.shape == (4, 16) and enc.slices == 8
    mag = (g[:, layout.pos[0]] * 4 ** np.arange(8)).sum(1) - (g[:, layout.neg[0]] * 4 ** np.arange(8)).sum(1)
    assert mag.tolist() == [300, -2, 0, 32767]
    assert run(("flex", 16, [300, -2, 0, 32767]), s) == 2 * 300 - 2 + 32767
    with pytest.raises(ValueError, match="weight codes must lie in"):
        run(("fixed", 4, [-8, 0, 0, 0]), spec())              # -8 has no 3-bit magnitude


# ---- the functional model against the golden accumulators ---------------------------------------
def _random_case(rng):
    transposed = rng.random() < 0.75
    k, st, p = int(rng.integers(1, 5)), int(rng.integers(1, 3)), int(rng.integers(0, 2))
    cin, cout, h = int(rng.integers(1, 12)), int(rng.integers(1, 6)), int(rng.integers(1, 5))
    sp = ConvSpec.make(stride=st, padding=min(p, k - 1), transposed=transposed)
    wshape = (cin, cout, k, k) if transposed else (cout, cin, k, k)
    return sp, wshape, (int(rng.integers(1, 3)), cin, h, h)


def test_lossless_adc_is_exact_on_random_layers():
    rng = np.random.default_rng(7)
    kinds = [("fixed", 8), ("fixed", 4), ("fixed", 2), ("fixed", 16), ("ternary", 2), ("binary", 2)]
    n = 0
    for trial in range(48):
        sp, wshape, xshape = _random_case(rng)
        w_kind, w_bits = kinds[trial % len(kinds)]
        xs = CrossbarSpec(rows=int(rng.choice([3, 8, 16])), cols=int(rng.choice([16, 32, 40])),
                          bits_per_cell=int(rng.integers(1, 5)), cell_levels=16, dac_bits=int(rng.integers(1, 4)),
                          signed_encoding=str(rng.choice(["differential", "offset"])), cols_per_adc=8)
        xs = dataclasses.replace(xs, adc_bits=xs.lossless_adc_bits)
        try:
            sp.check_shapes(xshape, wshape)
        except ValueError:
            continue
        enc = weight_encoding(w_kind, w_bits, xs)
        if enc.columns_per_weight + enc.reference_columns > xs.cols:
            continue
        w = rng.integers(enc.code_min, enc.code_max + 1, wshape).astype(np.int16 if w_bits > 8 else np.int8)
        if w_kind == "binary":
            w = np.where(w >= 0, 1, -1).astype(np.int8)
        x_bits, x_signed = int(rng.integers(2, 9)), bool(rng.random() < 0.5)
        fmt = fixed.IntFormat(x_bits, x_signed)
        x = rng.integers(fmt.qmin, fmt.qmax + 1, xshape)
        zp = int(rng.integers(fmt.qmin, fmt.qmax + 1))
        bias = rng.integers(-100, 100, wshape[1] if sp.transposed else wshape[0])
        for lowering in ("zero_insert", "phase", "scatter") if sp.transposed else ("phase",):
            kern = CrossbarKernels(xs, lowering)
            acc = kern.conv_int(x, w, x_bits=x_bits, x_signed=x_signed, x_zero_point=zp, w_kind=w_kind, w_bits=w_bits,
                                bias=bias, spec=sp)
            np.testing.assert_array_equal(acc, fixed.conv_accumulate(x, zp, w, bias, sp))
            assert kern.errors[-1].exact and kern.errors[-1].clipped == 0
            n += 1
    assert n >= 60


def test_binary_activations_and_flexpoint_are_exact():
    rng = np.random.default_rng(3)
    xs = load_arch("isaac-like").crossbar
    xs = dataclasses.replace(xs, adc_bits=xs.lossless_adc_bits)
    sp = ConvSpec.make(stride=2, padding=1, transposed=True)
    x = np.where(rng.random((2, 6, 3, 3)) < 0.5, -1, 1).astype(np.int8)
    w = np.where(rng.random((6, 4, 4, 4)) < 0.5, -1, 1).astype(np.int8)
    from accelsim.formats import binary, flexpoint
    np.testing.assert_array_equal(CrossbarKernels(xs).conv_xnor(x, w, bias=None, spec=sp),
                                  binary.conv_xnor(x, w, None, sp))
    xm, xe = flexpoint.to_flex(rng.standard_normal((1, 6, 3, 3)))
    wm, we = flexpoint.to_flex(rng.standard_normal((6, 4, 4, 4)))
    got = CrossbarKernels(xs, "scatter").conv_flex(xm, xe, wm, we, bias=None, spec=sp)
    want = flexpoint.conv_flex(xm, xe, wm, we, None, sp)
    np.testing.assert_array_equal(got[0], want[0])
    assert got[1:] == want[1:]


# ---- the ADC --------------------------------------------------------------------------------------
def test_adc_rounding_and_clipping():
    s = spec(rows=128, cols=128, adc_bits=8)
    assert s.max_column_sum == 384 and s.lossless_adc_bits == 9 and s.adc_lsb == 1
    cur = np.arange(0, 385)
    np.testing.assert_array_equal(adc_convert(cur, s), np.minimum(cur, 255))             # clipped: unit step
    sc = dataclasses.replace(s, adc_mode="scaled")
    assert sc.adc_lsb == 2
    np.testing.assert_array_equal(adc_convert(cur, sc), np.minimum(np.floor(cur / 2 + 0.5), 255) * 2)
    assert adc_convert([1, 3, 507, 508, 600], sc).tolist() == [2, 4, 508, 508, 510]     # half rounds up; saturates
    assert adc_convert([2.4, 2.5, 1e9, -1], s).tolist() == [2, 3, 255, 0]
    # the numba kernel applies exactly adc_convert to every column sum of every step
    rng = np.random.default_rng(1)
    for mode, bits in itertools.product(("clipped", "scaled"), (1, 3, 5)):
        xs = spec(rows=8, cols=16, adc_bits=bits, adc_mode=mode, signed_encoding="offset")
        enc = weight_encoding("fixed", 4, xs)
        w, x = rng.integers(-8, 8, (20, 3)), rng.integers(-8, 8, (5, 20))
        g, layout = conductance_levels(w, enc, xs)
        steps, wts = input_steps(x, 4, True, 1)
        acc = sum(wts[c] * adc_convert(steps[c][:, r0:r0 + 8] @ g[r0:r0 + 8], xs)
                  for c in range(len(wts)) for r0 in range(0, 20, 8))
        from accelsim.mapping.crossbar import combine_columns
        np.testing.assert_array_equal(crossbar_matmul(x, w, enc, xs, x_bits=4, x_signed=True),
                                      combine_columns(acc, layout, enc))


def test_operand_bits_and_nonidealities():
    assert operand_bits(0, 255) == (8, False) and operand_bits(-127, 127) == (8, True)
    assert operand_bits(-1, 1) == (2, True) and operand_bits(-128, 255) == (9, True)
    rng = np.random.default_rng(0)
    xs = spec(rows=8, cols=32)
    enc = weight_encoding("fixed", 4, xs)
    w, x = rng.integers(-7, 8, (16, 4)), rng.integers(0, 16, (3, 16))
    ideal = crossbar_matmul(x, w, enc, xs, x_bits=4, x_signed=False, nonideal=NonIdeal())
    assert np.array_equal(ideal, x @ w)
    noisy = [crossbar_matmul(x, w, enc, xs, x_bits=4, x_signed=False, nonideal=NonIdeal(0.2),
                             rng=np.random.default_rng(5)) for _ in range(2)]
    assert np.array_equal(noisy[0], noisy[1]) and not np.array_equal(noisy[0], ideal)     # seeded, and it matters
    dead = crossbar_matmul(x, w, enc, xs, x_bits=4, x_signed=False, nonideal=NonIdeal(stuck_off_fraction=1.0))
    assert not dead.any()                                                                  # every cell off: 0
    with pytest.raises(ValueError, match="stuck_off_fraction"):
        NonIdeal(stuck_off_fraction=1.5)


# ---- crossbar counts of DCGAN-64, by hand ----------------------------------------------------------
def test_dcgan64_crossbar_counts():
    xs = load_arch("isaac-like").crossbar                  # 128x128, 2-bit cells, offset encoding
    layers = {l.name: l for l in get_model("dcgan-64").layers}
    int8 = weight_encoding("fixed", 8, xs)                 # u = w + 128: 8 bits -> 4 slices, + 1 reference column
    assert (int8.columns_per_weight, int8.reference_columns) == (4, 1)    # (128 - 1) // 4 = 31 filters / crossbar

    def count(name, method, enc=int8, s=xs):
        return map_layer(lower(layers[name], method), enc, s)
    # G1 100->512, 1x1 -> 4x4 (k4 s1 p0): one phase, K = 100*16 = 1600 -> 13 row tiles; 512/31 -> 17 column tiles
    assert count("G1", "phase").crossbars == 13 * 17 == count("G1", "zero_insert").crossbars
    # scatter: K = 100 -> 1 row tile, F = 512*16 = 8192 -> ceil(8192/31) = 265
    assert count("G1", "scatter").crossbars == 265
    # G2 512->256, 4x4 -> 8x8: 4 phases of K = 512*4 = 2048 (16 row tiles) x 9 column tiles
    g2 = count("G2", "phase")
    assert g2.crossbars == 4 * 16 * 9 == count("G2", "zero_insert").crossbars      # zero_insert: 64 x 9
    assert count("G2", "scatter").crossbars == 4 * 133                             # K 512, F 4096 -> 133
    assert g2.cells_used == 4 * 2048 * (256 * 4 + 9) and g2.cells_total == 576 * 128 * 128
    assert g2.utilization == pytest.approx(8_462_336 / 9_437_184)
    # G5 64->3: 4 phases of K = 256 (2 row tiles) x 1 column tile
    assert count("G5", "phase").crossbars == 8
    # differential int8: |w| in 7 bits -> 4 slices x 2 = 8 columns, 16 filters per crossbar
    diff = dataclasses.replace(xs, signed_encoding="differential")
    assert count("G2", "phase", weight_encoding("fixed", 8, diff), diff).crossbars == 4 * 16 * 16
    # binary differential: 2 columns -> 64 filters per crossbar: 4 phases x 16 x 4
    assert count("G2", "phase", weight_encoding("binary", 1, diff), diff).crossbars == 4 * 16 * 4
    with pytest.raises(ValueError, match="cannot be stored in ReRAM cells"):
        from accelsim.mapping.crossbar import format_encoding
        format_encoding(get_format("fp16"), xs)


# ---- specs ------------------------------------------------------------------------------------------
def _isaac_text():
    from importlib import resources
    return (resources.files("accelsim.arch") / "presets" / "isaac-like.yaml").read_text()


@pytest.mark.parametrize("old,new,msg", [
    ("  rows: 128\n", "  rows: 1\n", r"crossbar.rows: 1 is out of range; allowed \[2, 1024\]"),
    ("  adc_bits: 8\n", "  adc_bits: 20\n", r"crossbar.adc_bits: 20 is out of range; allowed \[1, 16\]"),
    ("  adc_bits: 8\n", "  adc_bitz: 8\n", "crossbar.adc_bitz: unknown key"),
    ("  adc_bits: 8\n", "  adc_bits: 8\n  adc_bits: 9\n", "duplicate key 'adc_bits'"),
    ("signed_encoding: offset", "signed_encoding: twos", "crossbar.signed_encoding: 'twos' is not allowed"),
    ("  cell_levels: 4\n", "  cell_levels: 3\n", "crossbar.cell_levels: 3 levels cannot hold 2 bits"),
    ("  cols_per_adc: 128\n", "  cols_per_adc: 256\n", "crossbar.cols_per_adc: 256 is out of range"),
    ("endurance_cycles: 1.0e+6", "endurance_cycles: lots", "crossbar.endurance_cycles: expected a number"),
    ("  pipelined: true\n", "  pipelined: 1\n", "crossbar.pipelined: expected true or false"),
    ("crossbar:\n", "array: {rows: 8, cols: 8, dataflow: ws}\ncrossbar:\n", "give exactly one of array"),
])
def test_bad_crossbar_specs(old, new, msg):
    text = _isaac_text()
    assert old in text
    with pytest.raises(ValueError, match=msg):
        arch_from_dict(load_yaml(text.replace(old, new, 1), "x"))


def test_presets():
    isaac, ns = load_arch("isaac-like"), load_arch("neurosim-like")
    assert isaac.kind == "crossbar" and isaac.array is None and load_arch("edge-npu").kind == "digital"
    assert CrossbarSpec() == isaac.crossbar                                  # the defaults are ISAAC's
    x = isaac.crossbar
    assert (x.rows, x.cols, x.bits_per_cell, x.dac_bits, x.adc_bits, x.read_latency_ns) == (128, 128, 2, 1, 8, 100.0)
    assert x.chip_crossbars == 168 * 96 and x.read_cycle_ns == 100.0        # 128 columns at 1.28 GS/s in 100 ns
    y = ns.crossbar
    assert (isaac.tech_node_nm, ns.tech_node_nm, y.cols_per_adc, y.adc_bits, y.sample_and_hold) == (32, 22, 8, 5, False)
    assert y.read_cycle_ns == pytest.approx(8 * (10 + 1))                    # 8 column groups read one by one
    assert "Shafiee" in _isaac_text() and "Huang" in _isaac_text()


# ---- energy, API, CLI -----------------------------------------------------------------------------------
def test_crossbar_data_files_have_provenance():
    from importlib import resources
    for name, package in (("adc_survey.csv", "hwcomponents-adc"), ("crossbar_neurosim.csv", "hwcomponents-neurosim"),
                          ("shift_add_neurosim.csv", "hwcomponents-neurosim")):
        lines = (resources.files("accelsim.energy") / "data" / name).read_text().splitlines()
        assert lines[0].startswith("#") and package in "".join(l for l in lines if l.startswith("#"))
        rows = [l for l in lines if not l.startswith("#")]
        assert rows[0].split(",")[-1] == "source" and len(rows) > 30
        assert all(r.rsplit(",", 1)[-1].strip() for r in rows[1:])


def test_energy_table_and_pricing():
    isaac = load_arch("isaac-like")
    t = energy_table(isaac, set())
    # survey model, 8 bits at 1.28 GS/s, 32 nm; ISAAC's own ADC: 16 mW / (8 x 1.2 GS/s) = 1.67 pJ
    assert t.pj(("adc_convert", 8)) == pytest.approx(adc_energy_pj(32, 8, 1280))
    assert 1.2 < t.pj(("adc_convert", 8)) < 2.5
    e = [adc_energy_pj(32, b, 1280) for b in range(4, 13)]
    assert e == sorted(e) and adc_energy_pj(32, 3, 1280) == adc_energy_pj(32, 4, 1280)
    rep = simulate("dcgan-digits", isaac, "int8")
    for lr in rep.layers:
        manual = sum(c * t.pj(k) for k, c in lr.activity.actions.items())
        assert lr.total_energy_pj == pytest.approx(manual)
        assert price(lr.activity.actions, t) == lr.energy_pj
    assert rep.energy_pj["adc"] > rep.energy_pj["crossbar"] > 0 and 0 < rep.adc_share < 1
    conv = sum(lr.activity.crossbar.adc_conversions for lr in rep.layers)
    assert rep.energy_pj["adc"] == pytest.approx(conv * t.pj(("adc_convert", 8)))


def test_simulate_crossbar_report_and_reloads():
    digital = simulate("dcgan-digits", "edge-npu", "int8").to_json()
    rep = simulate("dcgan-digits", "isaac-like", "int8")
    j = rep.to_json()
    assert set(digital) <= set(j) and set(j) - set(digital) == {"crossbar"}
    assert set(j["energy_pj"]) - set(digital["energy_pj"]) == {"crossbar", "adc", "shift_add", "xbar_write"}
    c = j["crossbar"]
    assert c["weights_fit_on_chip"] and c["reload_rounds_per_batch"] == 0 and c["images_until_worn_out"] is None
    assert c["programming_energy_uj"] > 0 and rep.energy_pj["xbar_write"] == 0
    json.dumps(j)
    # a chip too small for the network: every batch reprograms every layer
    tiny = dataclasses.replace(load_arch("neurosim-like"),
                               crossbar=dataclasses.replace(load_arch("neurosim-like").crossbar, tiles=2))
    r1, r4 = simulate("dcgan-digits", tiny, "int8"), simulate("dcgan-digits", tiny, "int8", batch=4)
    s1 = r1.crossbar_summary()
    assert not s1["weights_fit_on_chip"] and s1["reload_rounds_per_batch"] >= 4
    assert r1.energy_pj["xbar_write"] > 0 and s1["images_until_worn_out"] == pytest.approx(
        1e6 / s1["writes_per_cell_per_image"])
    assert r4.crossbar_summary()["writes_per_cell_per_image"] == pytest.approx(s1["writes_per_cell_per_image"] / 4)
    with pytest.raises(ValueError, match="cannot be stored in ReRAM cells"):
        simulate("dcgan-digits", "isaac-like", "fp32")
    # lowerings: phase converts fewer columns than zero insertion
    zi, ph = (simulate("dcgan-64", "isaac-like", "int8", lowering=m) for m in ("zero_insert", "phase"))
    assert zi.crossbar_summary()["adc_conversions"] > 3 * ph.crossbar_summary()["adc_conversions"]
    assert math.isclose(zi.macs_effectual, ph.macs_effectual)


def test_cli(tmp_path, capsys):
    from accelsim.cli import main
    assert main(["energy", "--arch", "isaac-like", "--no-layers", "--json", str(tmp_path / "e.json")]) == 0
    out = capsys.readouterr().out
    assert "isaac-like" in out and "ADC %" in out and "crossbars" in out and "\nfp32 " not in out
    data = json.loads((tmp_path / "e.json").read_text())
    assert [r["format"] for r in data["results"]] == ["w8a8", "w4a8", "w4a4", "w2a8", "w1a8", "w1a1", "flex16+5"]
    assert all("crossbar" in r and "adc_share" in r["crossbar"] for r in data["results"])
    assert main(["adc-sweep", "--adc-bits", "6,9", "--images", "2", "--json", str(tmp_path / "s.json")]) == 0
    sweep = json.loads((tmp_path / "s.json").read_text())
    p6, p9 = sweep["points"]
    assert p9["lossless"] and p9["max_abs_error"] == 0 and p9["psnr_db"] == pytest.approx(sweep["psnr_golden_db"])
    assert p6["energy_per_image_uj"] < p9["energy_per_image_uj"]
    assert main(["adc-sweep", "--arch", "edge-npu"]) == 2
    assert "has no ReRAM crossbars" in capsys.readouterr().err
