"""benchmarks/vs_accelforge.py: the shared architecture hands AccelForge accelsim's own energy table, the
Einsums execute the MACs accelsim's lowering executes, and (only where AccelForge's benchmark venv
exists, never under CI) two small layers run through AccelForge agree with accelsim where the two
models are the same: MACs, MAC energy, array-side input reads, weights loaded once, DRAM bytes up to
the padding AccelForge has to store. Also the scatter read-modify-write count this comparison found."""
import os

import pytest

from accelsim.arch import load_arch
from accelsim.energy import energy_table
from accelsim.mapping import lower, search
from accelsim.sim import simulate_conv, sram_traffic
from accelsim.workload import Layer, get_format, get_model, plan
from tests.bench_modules import ROOT, load_benchmark



def _bench():
    return load_benchmark('vs_accelforge')


SMALL = (Layer("c1", "conv2d", 8, 16, (8, 8), kernel_hw=(3, 3), padding_hw=(1, 1)),
         Layer("t1", "conv_transpose2d", 16, 8, (4, 4), kernel_hw=(4, 4), stride_hw=(2, 2), padding_hw=(1, 1)))


def test_shared_arch_is_accelsims_energy_table():
    v = _bench()
    arch, fmt = load_arch(v.ARCH), get_format(v.FMT)
    t = energy_table(arch, fmt.mac_ops)
    s = v.shared_arch(arch, fmt)
    assert s["mac_pj"] == pytest.approx(sum(t.pj(op) for op in fmt.mac_ops))
    assert s["dram"]["read_pj"] == pytest.approx(8 * t.pj(("dram_read_bit",)))
    assert s["dram"]["write_pj"] == pytest.approx(8 * t.pj(("dram_write_bit",)))
    leak_pj_per_cycle = 0.0
    for role in ("ifmap", "weight", "ofmap"):
        b = s["buffers"][role]
        assert b["read_pj"] == pytest.approx(8 * t.pj(("sram_read_bit", role)))
        assert b["write_pj"] == pytest.approx(8 * t.pj(("sram_write_bit", role)))
        assert b["size_bits"] == arch.buffer(role).usable_bits
        leak_pj_per_cycle += b["leak_power_w"] / arch.clock_hz * 1e12
    per_cycle = dict(t.entries[("cycle",)])
    assert leak_pj_per_cycle == pytest.approx(per_cycle["leakage"])
    assert s["dram"]["leak_power_w"] / arch.clock_hz * 1e12 == pytest.approx(per_cycle["dram_bg"]
                                                                           + per_cycle.get("dram_ref", 0.0))
    assert all(s["sources"].values())


@pytest.mark.parametrize("model", ["dcgan-64", "cyclegan-resnet9"])
def test_einsums_execute_accelsims_macs(model):
    v = _bench()
    fmt = get_format(v.FMT)
    for layer in get_model(model).layers:
        if not layer.is_conv:
            continue
        e = v.einsum(layer, fmt)
        assert e["macs"] == lower(layer, "scatter").macs_total, layer.name
        assert e["tensor_elems"]["weight"] == layer.weight_elems


def test_scatter_ws_ofmap_reads_equal_writes():
    """Overlap-add on a ws array: each partial-sum write is one read-modify-write. The fold
    accumulation reads are among them; they used to be counted a second time."""
    arch = load_arch("ws16-45nm")
    layer = get_model("dcgan-64").layers[2]
    p = plan(get_model("dcgan-64"), "int8")[2]
    low = lower(layer, "scatter")
    act = simulate_conv(search(low, p, arch), p, arch)
    t = sram_traffic(low.gemms[0], arch.array.rows, arch.array.cols, "ws")
    acc = get_format("int8").acc_bits
    assert t.ofmap_reads > 0
    wr = act.dram_write_bytes
    assert act.buffer_access_bits["ofmap.write"] == t.ofmap_writes * acc
    assert act.buffer_access_bits["ofmap.read"] == t.ofmap_writes * acc + 8 * (wr["ofmap"] + wr["psum"])


def _accelforge_python():
    v = _bench()
    return v.DEFAULT_AF_PYTHON if os.path.exists(v.DEFAULT_AF_PYTHON) else None


@pytest.mark.skipif(os.environ.get("CI") == "true" or _accelforge_python() is None,
                    reason="AccelForge's benchmark venv is absent (bash benchmarks/peers/setup_accelforge.sh), "
                           "or CI (kept fast)")
def test_small_layers_through_accelforge():
    v = _bench()
    arch, fmt = load_arch(v.ARCH), get_format(v.FMT)
    shared = v.shared_arch(arch, fmt)
    ours, _ = v.accelsim_layers("small", SMALL, arch, "scatter")
    af = v.run_accelforge(_accelforge_python(), shared, [v.einsum(l, fmt) for l in SMALL],
                          {"time_limit": 60, "explore_loop_orders": False, "max_fused_loops": 1})
    for layer in SMALL:
        e = v.einsum(layer, fmt)
        f = v.af_summary(next(r for r in af["layers"] if r["layer"] == e["name"]), shared)
        a = ours[layer.name]
        assert f["macs"] == a["macs"] == e["macs"]
        assert f["energy_pj"]["mac"] == pytest.approx(a["energy_pj"]["mac"], rel=1e-9)
        # the same array model: inputs multicast along a row, streamed once per column fold
        assert f["buffer_bits"]["ifmap.read"] == a["buffer_bits"]["ifmap.read"]
        # every weight loaded into the weight buffer once by both
        assert f["buffer_bits"]["weight.write"] == a["buffer_bits"]["weight.write"] == 8 * layer.weight_elems
        # AccelForge: no fill/drain and no DRAM stalls: at most accelsim's compute cycles
        assert f["cycles"] <= a["compute_cycles"] + 1
        # DRAM: AccelForge stores the padded input (conv) / the uncropped output footprint (transposed)
        if layer.op == "conv2d":
            pad = e["tensor_elems"]["input"] - layer.in_channels * layer.in_hw[0] * layer.in_hw[1]
            assert f["dram_bytes"] == a["dram_bytes"] + pad
        else:
            assert f["dram_bytes"] >= a["dram_bytes"] + e["tensor_elems"]["output"] - layer.output_elems


def test_committed_run_holds_the_documented_claims():
    """docs/vs_accelforge.md's claims about every layer, checked on the committed run's JSON: MACs and
    MAC energy equal, DRAM background+refresh difference = cycle difference, AccelForge's compute =
    MACs / PEs used, and the fold-overhead ratio (2R+C+T-2)/T where both fill the array."""
    import glob
    import json
    import pathlib

    v = _bench()
    paths = sorted(glob.glob(os.path.join(ROOT, "benchmarks", "results", "vs_accelforge-*.json")))
    assert paths
    doc = json.loads(pathlib.Path(paths[-1]).read_text())
    for r in doc["layers"]:
        if "gemm" not in r:   # runs before the gemm shape was recorded
            layer = {l.name: l for l in get_model(r["model"]).layers}[r["layer"]]
            g = lower(layer, "scatter").gemms[0]
            r["gemm"] = {"pixels": g.pixels, "window": g.window, "filters": g.filters}
    results = v.checks(doc["layers"], doc["shared_arch"])
    assert len(results) >= 4 * len(doc["layers"])
    assert [c for c in results if not c[1]] == []
    assert sum("ratio" in n for n, _, _ in results) >= 8


def test_doc_tables_are_generated_from_the_newest_committed_run():
    """docs/vs_accelforge.md's tables (per layer, totals, mappings, wall times) are the ones
    ``vs_accelforge.py --tables-from`` prints from the newest committed result JSON: not typed."""
    import glob
    import json
    import pathlib

    v = _bench()
    paths = sorted(glob.glob(os.path.join(ROOT, "benchmarks", "results", "vs_accelforge-*.json")))
    doc = pathlib.Path(ROOT, "docs", "vs_accelforge.md").read_text()
    tables = v.markdown_tables(json.loads(pathlib.Path(paths[-1]).read_text()))
    assert {"layers dcgan-64", "total dcgan-64", "layers cyclegan-resnet9", "total cyclegan-resnet9",
            "mappings", "wall"} <= set(tables)
    missing = [name for name, md in tables.items() if md not in doc]
    assert missing == [], f"regenerate with --tables-from {os.path.basename(paths[-1])}: {missing}"
    assert os.path.basename(paths[-1]) in doc
