"""ArchSpec: presets load, DRAM presets carry sources, and every kind of bad config is rejected with a
message naming the key path."""
import dataclasses
import textwrap

import pytest

from accelsim.arch import DEFAULT_ARCH, arch_from_dict, dram_presets, load_arch, preset_names
from accelsim.arch.loader import load_yaml

GOOD = textwrap.dedent("""\
    name: tiny
    clock_mhz: 500
    tech_node_nm: 45
    array: {rows: 8, cols: 8, dataflow: ws}
    buffers:
      ifmap:  {size_kib: 8, word_bits: 64, banks: 1, double_buffered: true}
      weight: {size_kib: 8, word_bits: 64, banks: 1}
      ofmap:  {size_kib: 8, word_bits: 64, banks: 2, double_buffered: false}
    dram: {preset: ddr4-2400, channels: 2}
    """)


def test_presets():
    names = preset_names()
    assert {"edge-npu", "eyeriss-like", "tpu-like", "scalesim-32x32"} <= set(names)
    assert DEFAULT_ARCH == "edge-npu"
    for n in names:
        a = load_arch(n)
        assert a.name == n and a.source and a.clock_hz > 0
    s = load_arch("scalesim-32x32")
    assert (s.array.rows, s.array.cols, s.array.dataflow) == (32, 32, "os")
    assert all(b.size_bytes == 65536 and b.usable_bits == 65536 * 8 // 2 for b in s.buffers)
    assert all(b.word_bits == 8 * s.array.cols for b in s.buffers)   # port: one array edge of 1-byte words
    assert load_arch("eyeriss-like").shared_buffer


def test_dram_presets_and_derived_quantities():
    p = dram_presets()
    assert {"lpddr4-3200", "ddr4-2400", "hbm2"} <= set(p)
    from importlib import resources
    text = (resources.files("accelsim.arch") / "presets" / "_dram.yaml").read_text()
    for src in ("JESD209-4", "Micron", "DRAMsim3", "DRAMSys", "TN-41-01"):
        assert src in text
    for name, preset in p.items():   # every preset models refresh (issue 14 item 5)
        assert 0 < preset["t_rfc_ns"] < preset["t_refi_ns"] and preset["refresh_energy_pj"] > 0, name
    d = load_arch("edge-npu").dram
    assert d.burst_bytes == 2 * 16 and d.channels == 2
    assert d.peak_bytes_per_ns == pytest.approx(12.8)


def test_custom_file(tmp_path):
    f = tmp_path / "tiny.yaml"
    f.write_text(GOOD)
    a = load_arch(str(f))
    assert a.name == "tiny" and a.dram.channels == 2 and a.dram.name == "ddr4-2400"
    assert a.buffer("ofmap").usable_bits == 8 * 1024 * 8 and a.buffer("ifmap").usable_bits == 4 * 1024 * 8
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.clock_mhz = 1.0


def _mutate(text, old, new):
    assert old in text
    return text.replace(old, new)


@pytest.mark.parametrize("old,new,msg", [
    ("clock_mhz: 500", "clock_mhz: 500\nclok_mhz: 3", "clok_mhz: unknown key"),
    ("clock_mhz: 500", "clock_mhz: 500\nclock_mhz: 600", "duplicate key 'clock_mhz'"),
    ("banks: 1, double_buffered: true}", "banks: 1, banks: 2}", "duplicate key 'banks'"),
    ("clock_mhz: 500", "clock_mhz: fast", "clock_mhz: expected a number"),
    ("clock_mhz: 500", "clock_mhz: 0", r"clock_mhz: 0.0 is out of range; allowed \[1.0, 10000.0\]"),
    ("rows: 8", "rows: 8.5", "array.rows: expected an integer"),
    ("rows: 8", "rows: 0", r"array.rows: 0 is out of range; allowed \[1, 1024\]"),
    ("dataflow: ws", "dataflow: rs", "array.dataflow: 'rs' is not allowed; choose one of os, ws, is"),
    ("size_kib: 8, word_bits: 64, banks: 1, double_buffered: true}",
     "size_kib: 8, word_bits: 64, banks: 1, double_buffered: yes please}", "buffers.ifmap.double_buffered"),
    ("{size_kib: 8, word_bits: 64, banks: 2", "{size_kib: 8, word_bits: 60, banks: 2", "buffers.ofmap.word_bits"),
    ("{size_kib: 8, word_bits: 64, banks: 2", "{sise_kib: 8, word_bits: 64, banks: 2", "buffers.ofmap.sise_kib: unknown key"),
    ("  weight: {size_kib: 8, word_bits: 64, banks: 1}\n", "", "give either one 'global' buffer"),
    ("  weight:", "  weights:", "buffers.weights: unknown buffer role"),
    ("channels: 2", "channels: 200", r"dram.channels: 200 is out of range; allowed \[1, 64\]"),
    ("preset: ddr4-2400", "preset: ddr9", "dram.preset: unknown DRAM preset 'ddr9'"),
    ("channels: 2}", "channels: 2, row_bytes: 1000}", "dram.row_bytes: 1000 must be a power of two"),
    ("channels: 2}", "channels: 2, t_rcd_ns: -1}", r"dram.t_rcd_ns: -1.0 is out of range"),
    ("channels: 2}", "channels: 2, tRCD: 3}", "dram.tRCD: unknown key"),
    ("tech_node_nm: 45\n", "", "tech_node_nm: missing required key"),
    ("name: tiny", "name: [tiny]", "name: expected a string"),
])
def test_bad_configs_name_the_key(old, new, msg):
    with pytest.raises(ValueError, match=msg):
        arch_from_dict(load_yaml(_mutate(GOOD, old, new), "test"))


def test_bad_inputs():
    with pytest.raises(ValueError, match="unknown arch preset 'nope'"):
        load_arch("nope")
    with pytest.raises(ValueError, match="does not exist"):
        load_arch("/nonexistent/arch.yaml")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_yaml("a: [1, 2", "x")
    with pytest.raises(ValueError, match="expected a mapping"):
        arch_from_dict([1, 2])
    with pytest.raises(ValueError, match="array: missing required key"):
        arch_from_dict({"name": "x"})


def _keys(cls, *, drop=(), add=()):
    return ", ".join(sorted({f.name for f in dataclasses.fields(cls)} - set(drop) | set(add)))


@pytest.mark.parametrize("old,new,where,allowed", [
    ("clock_mhz: 500", "clock_mhz: 500\nclok_mhz: 3", "clok_mhz",
     "array, buffers, clock_mhz, crossbar, dram, name, source, tech_node_nm"),
    ("rows: 8,", "rows: 8, rowz: 8,", "array.rowz", "cols, dataflow, rows"),
    ("banks: 1}", "banks: 1, bank: 1}", "buffers.weight.bank", "banks, double_buffered, size_kib, word_bits"),
    # a buffer's role is its key under buffers, not a key inside it
    ("banks: 1}", "banks: 1, role: ifmap}", "buffers.weight.role", "banks, double_buffered, size_kib, word_bits"),
    ("  weight:", "  weights:", "buffers.weights", "global, ifmap, ofmap, weight"),
    ("channels: 2}", "channels: 2, tRCD: 3}", "dram.tRCD", "DramSpec+preset"),
    ("{preset: ddr4-2400, channels: 2}", "{type: ddr4, tRCD: 3}", "dram.tRCD", "DramSpec+preset"),
    ("array: {rows: 8, cols: 8, dataflow: ws}", "crossbar: {rows: 128, adc_bitz: 8}", "crossbar.adc_bitz", "CrossbarSpec"),
])
def test_unknown_key_lists_every_allowed_key(old, new, where, allowed):
    """The unknown-key message lists ALL keys allowed at that place, sorted, not a part of them."""
    from accelsim.arch import CrossbarSpec, DramSpec
    from accelsim.errors import ConfigError
    allowed = {"DramSpec+preset": _keys(DramSpec, add=("preset",)), "CrossbarSpec": _keys(CrossbarSpec)}.get(
        allowed, allowed)
    with pytest.raises(ConfigError) as exc:
        arch_from_dict(load_yaml(_mutate(GOOD, old, new), "test"))
    head, _, listed = str(exc.value).partition("; allowed: ")
    assert head.startswith(where + ": unknown")
    assert listed == allowed and listed.split(", ") == sorted(listed.split(", "))
