"""Layer fusion (accelsim.mapping.fusion, ``simulate(fusion=...)``): none is today's simulation
exactly, auto never adds DRAM bytes, a two-layer stack whose intermediate fits saves exactly its
write and its read, a stack that does not fit is cut into row bands whose halo rows are checked
by hand, receptive fields against brute force, and bad values."""
import json
import math
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accelsim import api
from accelsim.api import simulate
from accelsim.arch import load_arch
from accelsim.errors import ConfigError, ModelError
from accelsim.mapping import lower
from accelsim.mapping.fusion import band_edges, evaluate_stack, input_rows, plan_fusion, stack_rows
from accelsim.workload import Layer
from accelsim.workload.graph import Workload

DIGITAL = ("edge-npu", "tpu-like", "eyeriss-like", "scalesim-32x32")


def _two_convs(cin=8, mid=16, cout=8, hw=16):
    a = Layer("a", "conv2d", cin, mid, (hw, hw), kernel_hw=3, padding_hw=1)
    b = Layer("b", "conv2d", mid, cout, (hw, hw), kernel_hw=3, padding_hw=1)
    return Workload("two", (a, b), (cin, hw, hw), inputs=((-1,), (0,)), outputs=(1,))


def _small_buffers(kib: float = 4):
    arch = load_arch("edge-npu")
    bufs = tuple(replace(b, size_kib=kib) if b.role in ("ifmap", "ofmap") else b for b in arch.buffers)
    return replace(arch, name=f"edge-npu-{kib}k", buffers=bufs)


@pytest.mark.parametrize("model", ["dcgan-64", "cyclegan-resnet9"])
def test_fusion_none_is_today_exactly(model):
    today = simulate(model, "edge-npu", "int8")
    none = simulate(model, "edge-npu", "int8", fusion="none")
    assert json.dumps(none.to_json(), sort_keys=True) == json.dumps(today.to_json(), sort_keys=True)
    assert none.layers == today.layers and "fusion" not in none.to_json()


@pytest.mark.parametrize("arch", DIGITAL)
@pytest.mark.parametrize("fmt", ["int8", "w2a8", "fp16"])
def test_auto_never_adds_dram_dcgan(arch, fmt):
    none = simulate("dcgan-64", arch, fmt)
    auto = simulate("dcgan-64", arch, fmt, fusion="auto")
    assert auto.dram_bytes <= none.dram_bytes
    assert auto.macs_effectual == none.macs_effectual
    assert [l.name for l in auto.layers] == [l.name for l in none.layers]


@pytest.mark.parametrize("arch", ["edge-npu", "tpu-like"])
def test_auto_never_adds_dram_cyclegan_and_keeps_skips(arch):
    none = simulate("cyclegan-resnet9", arch, "int8")
    auto = simulate("cyclegan-resnet9", arch, "int8", fusion="auto")
    assert auto.dram_bytes <= none.dram_bytes
    if arch == "tpu-like":   # 24 MiB unified buffer: the residual blocks fuse, skips kept on chip
        assert auto.dram_bytes < 0.5 * none.dram_bytes
        adds = [l for l in auto.layers if l.activity.op == "add" and "skip keep" in l.activity.mapping_note]
        assert adds and any(l.activity.dram_read_bytes["ifmap"] == 0 for l in adds)


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("lowering", ["phase", "zero_insert", "scatter", "best"])
def test_auto_never_adds_dram_lowerings_and_batch(lowering, batch):
    none = simulate("dcgan-64", "tpu-like", "int8", lowering=lowering, batch=batch)
    auto = simulate("dcgan-64", "tpu-like", "int8", lowering=lowering, batch=batch, fusion="auto")
    assert auto.dram_bytes <= none.dram_bytes


def test_fits_on_chip_saves_twice_the_intermediate():
    """Two 3x3 convs, 8 -> 16 -> 8 channels at 16x16, int8 on edge-npu: the 4096-byte intermediate fits
    the ifmap + ofmap buffers, so fusion saves its write by the first layer and its read by the second."""
    w = _two_convs()
    none = simulate(w, "edge-npu", "int8")
    a, b = (l.activity.mapping for l in none.layers)
    # preconditions of the hand count: each operand moved once, no partial sums
    assert (a.fetch_ifmap, a.fetch_weight, b.fetch_ifmap, b.fetch_weight) == (1, 1, 1, 1)
    assert a.fetch_psum == b.fetch_psum == 1
    intermediate = 16 * 16 * 16   # bytes, int8
    assert none.layers[0].activity.dram_write_bytes["ofmap"] == intermediate
    assert none.layers[1].activity.dram_read_bytes["ifmap"] == intermediate
    auto = simulate(w, "edge-npu", "int8", fusion="auto")
    assert none.dram_bytes - auto.dram_bytes == 2 * intermediate
    assert auto.stacks == ((0, 1),)
    assert auto.layers[0].activity.dram_write_bytes["ofmap"] == 0
    assert auto.layers[1].activity.dram_read_bytes["ifmap"] == 0
    assert "whole tensors" in auto.layers[0].activity.mapping_note
    assert auto.macs_total == none.macs_total and auto.compute_cycles == none.compute_cycles
    assert auto.total_energy_pj < none.total_energy_pj
    assert auto.energy_pj["dram"] < none.energy_pj["dram"]
    assert auto.to_json()["fused_stacks"] == [["a", "b"]]


def test_band_rows_by_hand_stride1():
    """Two 3x3 stride-1 pad-1 convs, 8 output rows in 2 bands [0,4) [4,8)."""
    w = _two_convs(hw=8)
    low = [lower(l) for l in w.layers]
    readers, need, made, loads = stack_rows(low, w.producers(), 0, 1, 2, "recompute")
    assert [list(x) for x in made[1]] == [[0, 4], [4, 8]]
    assert [list(x) for x in need[0]] == [[0, 3], [5, 8]]          # rows [0,5) and [3,8): 2 halo rows
    assert [list(x) for x in made[0]] == [[0, 3], [5, 8]]          # recompute: all of them again
    assert [list(x) for x in loads[-1]] == [[0, 2], [6, 8]]        # input rows [0,6) and [2,8)
    _, need, made, loads = stack_rows(low, w.producers(), 0, 1, 2, "cache")
    assert [list(x) for x in made[0]] == [[0, 5], [5, 8]]          # each row once; halo [3,5) cached
    assert [list(x) for x in need[-1]] == [[0, 4], [6, 8]]         # input for rows [0,5) / [5,8): [0,6) / [4,8)
    assert [list(x) for x in loads[-1]] == [[0, 6], [6, 8]]        # cache: new input rows only


def test_band_rows_by_hand_transposed_and_strided():
    """ConvT k4 s2 p1 (4 -> 8 rows) then conv k3 s2 p1 (8 -> 4 rows), 2 bands of the last output."""
    t = Layer("t", "conv_transpose2d", 4, 4, (4, 4), kernel_hw=4, stride_hw=2, padding_hw=1)
    c = Layer("c", "conv2d", 4, 4, (8, 8), kernel_hw=3, stride_hw=2, padding_hw=1)
    w = Workload("tc", (t, c), (4, 4, 4), inputs=((-1,), (0,)))
    low = [lower(l, "phase") for l in w.layers]
    _, need, made, loads = stack_rows(low, w.producers(), 0, 1, 2, "recompute")
    assert [list(x) for x in made[1]] == [[0, 2], [2, 4]]
    # output rows o of c read rows 2o-1 .. 2o+1 of t: [0,2) -> [0,4), [2,4) -> [3,8)
    assert [list(x) for x in need[0]] == [[0, 3], [4, 8]]
    # t's rows [0,4) come from input rows i with 2i-1+k = o, k in 0..3: i in [0,3); rows [3,8): i in [1,4)
    assert [list(x) for x in loads[-1]] == [[0, 1], [3, 4]]


@given(st.integers(1, 12), st.integers(1, 5), st.integers(1, 3), st.integers(0, 3), st.integers(1, 2),
       st.booleans(), st.data())
def test_input_rows_matches_brute_force(n_in, k, s, p, d, transposed, data):
    if transposed:
        p = min(p, d * (k - 1))
        op = data.draw(st.integers(0, max(s, d) - 1))
        if (n_in - 1) * s - 2 * p + d * (k - 1) + op + 1 < 1:
            return
        layer = Layer("x", "conv_transpose2d", 1, 1, (n_in, 1), kernel_hw=(k, 1), stride_hw=(s, 1),
                      padding_hw=(p, 0), output_padding_hw=(op, 0), dilation_hw=(d, 1))
    else:
        if n_in + 2 * p < d * (k - 1) + 1:
            return
        layer = Layer("x", "conv2d", 1, 1, (n_in, 1), kernel_hw=(k, 1), stride_hw=(s, 1), padding_hw=(p, 0),
                      dilation_hw=(d, 1))
    n_out = layer.out_hw[0]
    lo = data.draw(st.integers(0, n_out - 1))
    hi = data.draw(st.integers(lo + 1, n_out))
    used = set()
    for o in range(lo, hi):
        for t in range(k):
            if transposed:   # o = i*s - p + t*d
                if (o + p - t * d) % s == 0 and 0 <= (o + p - t * d) // s < n_in:
                    used.add((o + p - t * d) // s)
            elif 0 <= o * s - p + t * d < n_in:
                used.add(o * s - p + t * d)
    a, b = input_rows(lower(layer, "phase"), [lo], [hi])
    assert all(a[0] <= i < b[0] for i in used)                   # covers every input row used
    if d == 1 and k >= s:   # and no more: without dilation, and with no stride gaps, the rows are contiguous
        assert (a[0], b[0]) == ((min(used), max(used) + 1) if used else (a[0], a[0]))


def test_tiled_stack_by_hand():
    """Conv 4 -> 16 -> 4 channels, 3x3 pad 1, 32x32, int8, with 4 KiB ifmap and ofmap buffers (2 KiB
    each usable, double buffered: a 4096-byte pool): the 16 KiB intermediate does not fit, so the
    stack runs in row bands. Rows: input 128 B, intermediate 512 B, output 128 B.
    8 bands of 4 rows, recompute: the intermediate rows made per band are [0,5) [3,9) ... [27,32):
    46 rows for 32 (14 halo rows recomputed), the input rows loaded [0,6) [2,10) ... [26,32): 60
    rows (7680 B), live at the first layer 8*128 + 6*512 = 4096 B: the whole pool.
    16 bands of 2 rows, cache: each row made once, 2 halo rows of the intermediate (1024 B) and of
    the input (256 B) wait in line buffers; peak 4*128 + 4*512 + 1280 = 3840 B <= 4096; the input
    is read once. 8 bands do not fit with the cache (6*128 + 6*512 + 1280 > 4096)."""
    w = _two_convs(cin=4, mid=16, cout=4, hw=32)
    arch = _small_buffers(4)
    args = api.fusion_inputs(w, arch, "int8")
    weights = 4 * 16 * 9 + 16 * 4 * 9
    rec = evaluate_stack(a=0, b=1, n_bands=8, halo="recompute", **args)
    assert rec is not None
    assert rec[0].halo_rows == 14 and rec[1].halo_rows == 0
    assert rec[0].read_bits["ifmap"] == 60 * 128 * 8
    assert rec[0].macs_total == math.ceil(args["base"][0].macs_total * 46 / 32) or \
        rec[0].macs_total == round(args["base"][0].macs_total * 46 / 32)
    assert rec[0].pool_bits == (8 * 128 + 6 * 512) * 8
    assert evaluate_stack(a=0, b=1, n_bands=8, halo="cache", **args) is None
    assert evaluate_stack(a=0, b=1, n_bands=4, halo="recompute", **args) is None
    cache = evaluate_stack(a=0, b=1, n_bands=16, halo="cache", **args)
    assert cache[0].halo_rows == 30 and cache[0].macs_total == args["base"][0].macs_total
    assert cache[0].pool_bits == (4 * 128 + 4 * 512 + 1024 + 256) * 8
    assert cache[0].read_bits["ifmap"] == 32 * 128 * 8 and cache[0].write_bits["ofmap"] == 0
    assert cache[1].read_bits["ifmap"] == 0 and cache[1].write_bits["ofmap"] == 32 * 128 * 8
    # refetch: the intermediate's halo rows (2 per band after the first) out to DRAM and back
    ref = evaluate_stack(a=0, b=1, n_bands=16, halo="refetch", **args)
    assert ref[0].write_bits["ofmap"] == 15 * 2 * 512 * 8 == ref[1].read_bits["ifmap"]
    # the plan: the cheapest in DRAM is the cached one, input + weights + output read/written once
    plan = plan_fusion(objective="dram", **args)
    assert plan.stacks == ((0, 1),)
    assert (plan.layers[0].n_bands, plan.layers[0].halo) == (16, "cache")
    assert plan.fused_dram_bytes == 32 * 128 + weights + 32 * 128
    auto = simulate(w, arch, "int8", fusion="auto")
    none = simulate(w, arch, "int8")
    assert auto.dram_bytes == plan.fused_dram_bytes < none.dram_bytes


def test_skip_kept_or_refetched_is_priced():
    """conv -> conv -> add(second conv, the first conv's input): the skip is read by the stack's first
    layer and by the add; kept on chip it is read from DRAM once, refetched twice."""
    c0 = Layer("c0", "conv2d", 8, 8, (8, 8), kernel_hw=3, padding_hw=1)
    c1 = Layer("c1", "conv2d", 8, 8, (8, 8), kernel_hw=3, padding_hw=1)
    c2 = Layer("c2", "conv2d", 8, 8, (8, 8), kernel_hw=3, padding_hw=1)
    add = Layer("add", "add", 8, 8, (8, 8))
    w = Workload("res", (c0, c1, c2, add), (8, 8, 8), inputs=((-1,), (0,), (1,), (2, 0)), outputs=(3,))
    args = api.fusion_inputs(w, "edge-npu", "int8")
    keep = evaluate_stack(a=1, b=3, n_bands=1, skip="keep", **args)
    ref = evaluate_stack(a=1, b=3, n_bands=1, skip="refetch", **args)
    skip_bits = 8 * 8 * 8 * 8
    assert keep[0].read_bits["ifmap"] == skip_bits and keep[2].read_bits["ifmap"] == 0
    assert ref[0].read_bits["ifmap"] == skip_bits and ref[2].read_bits["ifmap"] == skip_bits
    assert keep[0].pool_bits > ref[0].pool_bits      # the kept skip occupies the buffer meanwhile
    plan = plan_fusion(objective="dram", **args)
    assert plan.fused_dram_bytes <= plan.base_dram_bytes


def test_output_read_later_is_written():
    """A tensor read after the stack (a skip) or leaving the network is still written to DRAM."""
    c0 = Layer("c0", "conv2d", 8, 8, (8, 8), kernel_hw=3, padding_hw=1)
    c1 = Layer("c1", "conv2d", 8, 8, (8, 8), kernel_hw=3, padding_hw=1)
    add = Layer("add", "add", 8, 8, (8, 8))
    w = Workload("late", (c0, c1, add), (8, 8, 8), inputs=((-1,), (0,), (1, 0)), outputs=(2,))
    args = api.fusion_inputs(w, "edge-npu", "int8")
    lf = evaluate_stack(a=0, b=1, n_bands=1, **args)
    assert lf[0].write_bits["ofmap"] == 8 * 8 * 8 * 8     # c0's output: the add reads it after the stack


def test_unknown_readers_keep_tensors_in_dram():
    """Without ``inputs``, a residual add's second operand is unknown: every earlier tensor is written."""
    c0 = Layer("c0", "conv2d", 8, 8, (8, 8), kernel_hw=3, padding_hw=1)
    c1 = Layer("c1", "conv2d", 8, 8, (8, 8), kernel_hw=3, padding_hw=1)
    add = Layer("add", "add", 8, 8, (8, 8))
    w = Workload("anon", (c0, c1, add), (8, 8, 8))
    assert w.producers() == ((-1,), (0,), None)
    auto = simulate(w, "edge-npu", "int8", fusion="auto")
    for l in auto.layers[:2]:
        assert l.activity.dram_write_bytes["ofmap"] == 8 * 8 * 8


def test_band_edges():
    lo, hi = band_edges(10, 3)
    assert list(lo) == [0, 4, 7] and list(hi) == [4, 7, 10]


@pytest.mark.parametrize("value", ["yes", "AUTO", "", None, 1, True])
def test_bad_fusion_value_is_a_clear_error(value):
    with pytest.raises(ConfigError, match=r"fusion must be one of none, auto"):
        simulate("dcgan-64", "edge-npu", "int8", fusion=value)


def test_fusion_on_crossbar_is_a_clear_error():
    with pytest.raises(ConfigError, match="systolic-array archs"):
        simulate("dcgan-64", "isaac-like", "w8a8", fusion="auto")


def test_bad_workload_inputs():
    a = Layer("a", "conv2d", 3, 3, (4, 4))
    with pytest.raises(ModelError, match="inputs of layer 'a'"):
        Workload("w", (a,), (3, 4, 4), inputs=((0,),))
    with pytest.raises(ModelError, match="outputs must be layer indices"):
        Workload("w", (a,), (3, 4, 4), outputs=(1,))


@pytest.mark.parametrize("command", ["energy", "report"])
def test_cli_bad_fusion(command, tmp_path, capsys):
    from accelsim.cli import main
    extra = ["--out", str(tmp_path / "r.html"), "--compare", "none"] if command == "report" else []
    rc = main([command, "--model", "dcgan-64", "--format", "int8", "--fusion", "maybe", *extra])
    assert rc != 0
    err = capsys.readouterr().err
    assert "--fusion must be one of none, auto" in err and "Traceback" not in err


def test_cli_energy_fusion_auto(tmp_path, capsys):
    from accelsim.cli import main
    out = tmp_path / "e.json"
    assert main(["energy", "--model", "dcgan-64", "--arch", "tpu-like", "--format", "int8", "--fusion", "auto",
                 "--json", str(out)]) == 0
    assert "fusion auto" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    text = json.dumps(doc)
    assert "fused_stacks" in text


def test_sweep_point_hash_unchanged_without_fusion():
    from accelsim.arch import load_arch
    from accelsim.sweep.runner import config_hash
    from accelsim.sweep.space import SweepPoint
    base = load_arch("edge-npu")
    p = SweepPoint("dcgan-64", "edge-npu", "int8", 256.0, 16, 16, "lpddr4-3200", "os", "phase", "dram", 1)
    assert "fusion" not in p.to_dict()       # stores written before fusion existed keep their hashes
    q = replace(p, fusion="auto")
    assert q.to_dict()["fusion"] == "auto" and config_hash(q, base) != config_hash(p, base)


def test_cli_sweep_fusion(tmp_path, capsys):
    from accelsim.cli import main
    from accelsim.sweep.store import Store
    rows = {}
    for mode in ("none", "auto"):
        out = tmp_path / f"{mode}.db"
        assert main(["sweep", "--model", "dcgan-64", "--arch", "tpu-like", "--format", "int8", "--buffer", "4MiB",
                     "--jobs", "1", "--fusion", mode, "--out", str(out)]) == 0
        with Store(str(out)) as store:
            (rows[mode],) = store.rows()
    assert rows["none"]["fusion"] is None and rows["auto"]["fusion"] == "auto"
    assert rows["auto"]["dram_bytes"] < rows["none"]["dram_bytes"]
    assert "fusion auto" in capsys.readouterr().out
    assert main(["sweep", "--model", "dcgan-64", "--fusion", "on", "--out", str(tmp_path / "x.db")]) != 0
    assert "--fusion must be one of none, auto" in capsys.readouterr().err


def test_cli_compare_bad_fusion(capsys):
    from accelsim.cli import main
    assert main(["compare", "--fusion", "always"]) != 0
    assert "--fusion must be one of none, auto" in capsys.readouterr().err
