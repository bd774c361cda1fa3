"""The simulator's shortcuts (issue 14 item 7) change no result, bit for bit:

- the DRAM kernel batches runs that stay inside one DRAM row piece (after the first, each one hits;
  their bursts are floor sums), and fast-forwards outer iterations that are translates by whole bank
  periods; both checked against the vectorized numpy reference on strided patterns built to exercise
  them: many short runs per row, stride 0, runs crossing rows, sub-byte and non-power-of-two element
  widths, odd geometries, outer shifts that divide or are multiples of the bank period;
- ``mapping.search`` remembers results by each buffer capacity's rank among the tile values the
  operand can take, checked against a fresh ``_search`` on random capacities (and the infeasible
  ones raise in both);
- ``sim.simulate_conv`` remembers activities per mapping (layer names aside), checked against a
  fresh ``_simulate_conv``, and a generator's repeated blocks get their own names;
- the sweep's SRAM energy lookups are remembered (``sram_energy`` is a pure function of its args).
"""
from dataclasses import replace

import numpy as np
import pytest

from accelsim.api import simulate
from accelsim.arch import arch_from_dict, load_arch
from accelsim.errors import InfeasibleError
from accelsim.mapping import MapperCosts, lower, search, shortlist
from accelsim.mapping import tiling
from accelsim.mapping.schedule import RunPattern
from accelsim.sim import engine
from accelsim.sim.dram import service_pattern, service_reference
from accelsim.workload import Compression, Layer
from accelsim.workload.graph import LayerPlan
from accelsim.workload.models import resolve_workload
from accelsim.workload.precision import get_format

from test_sim_dram_patterns import DRAMS, _same


def _patterns(rng, n_pat):
    """Strided run patterns: o x i runs of run_elems elements, element width bits, stride inner_stride
    (0: the same run again; small: many runs per row piece; large: one run per row piece)."""
    bits = rng.choice([1.0, 2.0, 3.0, 4.0, 8.0, 12.0, 16.0, 32.0], n_pat)
    run_elems = rng.integers(0, 40, n_pat)
    inner_stride = np.where(rng.random(n_pat) < 0.15, 0, rng.integers(1, 3000, n_pat))
    return RunPattern(
        base_bit=rng.integers(0, 1 << 26, n_pat).astype(np.float64), bits=bits,
        exact=np.ones(n_pat, dtype=np.bool_), elem0=rng.integers(0, 5000, n_pat),
        n_outer=rng.integers(1, 6, n_pat), outer_stride=rng.integers(0, 100_000, n_pat),
        n_inner=rng.integers(1, 300, n_pat), inner_stride=inner_stride, run_elems=run_elems,
        owner=np.zeros(n_pat, dtype=np.int64))


@pytest.mark.parametrize("dram", DRAMS, ids=lambda d: f"{d.row_bytes}x{d.channels}x{d.banks}x{d.burst_bytes}")
def test_row_piece_batching_equals_reference(dram):
    rng = np.random.default_rng(14)
    batched = 0
    for _ in range(30):
        n_pat, n_t = int(rng.integers(1, 12)), int(rng.integers(1, 5))
        pat = replace(_patterns(rng, n_pat), owner=rng.integers(0, n_t, n_pat))
        start, nbytes, owner = pat.materialize()
        got = service_pattern(dram, pat, n_t, kernel=True)
        _same(got, service_reference(dram, start, nbytes, owner, n_t))
        batched += got.row_hits
    assert batched > 10_000   # the batched path (hits inside a row piece) was exercised


def _period(dram, pat, p):
    """The kernel's outer-iteration period of pattern p (0: walked in full)."""
    bank_period = dram.row_bytes * dram.channels * dram.banks
    sh_bits = int(pat.outer_stride[p]) * int(pat.bits[p])
    if not pat.exact[p] or pat.n_outer[p] < 3 or sh_bits % 8:
        return 0
    lcm_b = np.lcm(bank_period, dram.burst_bytes)
    period = int(lcm_b // np.gcd(lcm_b, abs(sh_bits // 8)))
    return period if 2 * period < pat.n_outer[p] and period <= 64 else 0


@pytest.mark.parametrize("dram", DRAMS, ids=lambda d: f"{d.row_bytes}x{d.channels}x{d.banks}x{d.burst_bytes}")
def test_outer_period_fast_forward_equals_reference(dram):
    """Patterns whose outer iterations shift by fractions and multiples of the bank period (channels x
    banks x row bytes): translates after a few iterations, fast-forwarded by the kernel; mixed with
    other patterns, several transfers, runs within and across rows, stride 0."""
    rng = np.random.default_rng(21)
    bank_period = dram.row_bytes * dram.channels * dram.banks
    forwarded = 0
    for _ in range(25):
        n_pat, n_t = int(rng.integers(1, 8)), int(rng.integers(1, 4))
        pat = _patterns(rng, n_pat)
        bits = pat.bits.astype(np.int64)
        shift_bytes = rng.choice([0, bank_period, 3 * bank_period, bank_period // 2, bank_period // 8,
                                  dram.row_bytes, dram.burst_bytes * 5, 4096, 12_345], n_pat)
        stride = np.where(shift_bytes * 8 % bits == 0, shift_bytes * 8 // bits, pat.outer_stride)
        pat = replace(pat, outer_stride=stride, n_outer=rng.integers(3, 200, n_pat),
                      n_inner=rng.integers(1, 60, n_pat), owner=rng.integers(0, n_t, n_pat))
        forwarded += sum(_period(dram, pat, p) > 0 for p in range(n_pat))
        start, nbytes, owner = pat.materialize()
        _same(service_pattern(dram, pat, n_t, kernel=True), service_reference(dram, start, nbytes, owner, n_t))
    assert forwarded >= 20


def _sep_arch(ifmap_kib, weight_kib, ofmap_kib, double=True):
    buffers = {r: {"size_kib": kib, "word_bits": 64, "banks": 1, "double_buffered": double}
               for r, kib in (("ifmap", ifmap_kib), ("weight", weight_kib), ("ofmap", ofmap_kib))}
    return arch_from_dict({"name": "t", "clock_mhz": 1000, "tech_node_nm": 45,
                           "array": {"rows": 16, "cols": 16, "dataflow": "os"},
                           "buffers": buffers, "dram": {"preset": "lpddr4-3200", "channels": 2}})


LAYERS = [
    Layer("G3", "conv_transpose2d", 128, 64, (16, 16), kernel_hw=4, stride_hw=2, padding_hw=1),
    Layer("c7", "conv2d", 3, 64, (70, 70), kernel_hw=7, padding_hw=3, bias=True),
    Layer("dw", "conv2d", 32, 32, (24, 24), kernel_hw=3, padding_hw=1, groups=8, bias=True),
    Layer("fc", "linear", 100, 512, (1, 1), batch=4),
]


@pytest.mark.parametrize("layer", LAYERS, ids=lambda l: l.name)
@pytest.mark.parametrize("objective", ["dram", "energy", "latency", "edp"])
def test_search_memo_equals_fresh_search(layer, objective):
    rng = np.random.default_rng(7)
    methods = ("zero_insert", "phase", "scatter") if layer.op == "conv_transpose2d" else ("zero_insert",)
    costs = MapperCosts(2.5, 3.5, 40_000, 900.0, 30.0, 13.0)
    checked = infeasible = 0
    for method in methods:
        lowered = lower(layer, method)
        for fmt, comp in (("int8", Compression()), ("flex16+5", Compression()),
                          ("int4", Compression(weight_density=0.4, weight_storage="bitmap"))):
            p = LayerPlan(layer, get_format(fmt), comp)
            kibs = np.exp(rng.uniform(np.log(0.25), np.log(512), (12, 3)))
            kibs[::4] = kibs[1::4]        # some capacities twice: the second one is a memo hit
            for ki, kw, ko in kibs:
                arch = _sep_arch(round(ki, 2), round(kw, 2), round(ko, 2), double=bool(rng.random() < 0.7))
                try:
                    fresh = tiling._search(lowered, p, arch, objective, costs, 3)
                except InfeasibleError:
                    with pytest.raises(InfeasibleError):
                        search(lowered, p, arch, objective, costs)
                    infeasible += 1
                    continue
                assert shortlist(lowered, p, arch, objective, costs, 3) == fresh
                assert search(lowered, p, arch, objective, costs) == fresh[0]
                checked += 1
    assert checked > 10


def test_search_memo_hits_within_a_rank():
    """Two capacities with the same ranks give the very same (remembered) mapping object."""
    layer = LAYERS[0]
    lowered, p = lower(layer, "phase"), LayerPlan(layer, get_format("int8"))
    a, b = search(lowered, p, _sep_arch(64, 64, 64)), search(lowered, p, _sep_arch(64.01, 64.01, 64.01))
    assert a is b


def test_simulate_conv_memo_equals_fresh_and_renames():
    arch = load_arch("edge-npu")
    layer = LAYERS[0]
    lowered = lower(layer, "phase")
    for fmt in ("int8", "w2a8", "flex16+5"):
        p = LayerPlan(layer, get_format(fmt))
        m = search(lowered, p, arch)
        first = engine.simulate_conv(m, p, arch)
        assert first == engine._simulate_conv(m, p, arch)
        twin = replace(layer, name="twin")
        pt, lt = replace(p, layer=twin), lower(twin, "phase")
        mt = search(lt, pt, arch)
        got = engine.simulate_conv(mt, pt, arch)
        assert got.name == "twin" and got.mapping is mt and got.mapping.lowered.layer.name == "twin"
        assert got == engine._simulate_conv(mt, pt, arch)


def test_repeated_blocks_keep_their_names_and_numbers():
    """CycleGAN's 18 residual convs are simulated once; every one keeps its name, and its numbers
    equal a layer-by-layer fresh simulation of the same plan."""
    rep = simulate("cyclegan-resnet9", "edge-npu", "w8a8")
    names = [l.name for l in rep.layers]
    assert names == [l.name for l in resolve_workload("cyclegan-resnet9").layers]
    convs = [l for l in rep.layers if l.activity.mapping is not None]
    arch = load_arch("edge-npu")
    assert all(l.activity.mapping.lowered.layer.name == l.name for l in convs)
    for l in convs[3:6]:
        m = l.activity.mapping
        p = LayerPlan(m.lowered.layer, get_format("w8a8"))
        assert engine._simulate_conv(m, p, arch) == l.activity


def test_memos_keep_each_layers_name_in_errors_and_mappings():
    """Identical layers share memo entries, but a mapping and an infeasibility error name the layer asked for."""
    a = Layer("big", "conv_transpose2d", 8, 8, (16, 16), kernel_hw=15, stride_hw=2, padding_hw=1)
    b = replace(a, name="other")
    for layer in (a, b, a):
        m = search(lower(layer, "phase"), LayerPlan(layer, get_format("int8")), _sep_arch(64, 64, 64))
        assert m.lowered.layer.name == layer.name
        with pytest.raises(InfeasibleError, match=f"layer '{layer.name}'"):
            search(lower(layer, "phase"), LayerPlan(layer, get_format("int8")), _sep_arch(0.25, 0.25, 0.25))


def test_clear_memos_forgets_and_changes_nothing():
    from accelsim.api import clear_memos
    first = simulate("dcgan-64", "edge-npu", "w4a8").to_json()
    assert engine._SAME_MAPPING and tiling._SEARCHED
    clear_memos()
    assert not engine._SAME_MAPPING and not tiling._SEARCHED and tiling._space.cache_info().currsize == 0
    assert simulate("dcgan-64", "edge-npu", "w4a8").to_json() == first


def test_small_replays_skip_numba_in_a_fresh_process_with_the_same_numbers():
    """A fresh process pricing DCGAN-64 (tens of runs per layer) never imports numba (the numpy form
    of the DRAM model, equal bit for bit); forcing the kernel gives the same report."""
    import json
    import os
    import subprocess
    import sys
    code = ("import json, sys\nfrom accelsim.api import simulate\n"
            "r = simulate('dcgan-64', 'tpu-like', 'int8')\n"
            "print(json.dumps({'numba': 'numba' in sys.modules, 'report': r.to_json()}))")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                                    env=env).stdout)
    assert out["numba"] is False
    from accelsim.api import clear_memos
    from accelsim.sim import dram
    clear_memos()
    original = dram._use_kernel
    try:
        dram._use_kernel = lambda n_runs, kernel: True
        forced = simulate("dcgan-64", "tpu-like", "int8").to_json()
    finally:
        dram._use_kernel = original
        clear_memos()
    assert forced == out["report"]
