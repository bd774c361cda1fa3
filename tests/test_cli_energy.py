"""accelsim energy: the default run, the JSON schema, the plot, custom arch files and bad arguments."""
import json
import subprocess
import sys

import pytest

from accelsim.cli import main


def test_default_run_prints_both_tables(capsys):
    assert main(["energy"]) == 0
    out = capsys.readouterr().out
    assert "dcgan-digits on edge-npu" in out and "per generated image:" in out
    assert "energy/image uJ" in out
    for fmt in ("fp32", "fp16", "w8a8", "w4a8", "w4a4", "w2a8", "w1a8", "w1a1", "flex16+5"):
        assert f"\n{fmt} " in out
    image_rows = out.split("per generated image:")[1].strip().splitlines()[2:]
    assert len(image_rows) == 9   # accelsim.formats.registry.DEFAULT
    assert all(float(r.split()[1]) > 0 for r in image_rows)


def test_json_schema(tmp_path):
    path = tmp_path / "e.json"
    assert main(["energy", "--format", "int8,binary", "--lowering", "zero_insert", "--json", str(path),
                 "--no-layers"]) == 0
    data = json.loads(path.read_text())
    assert data["model"] == "dcgan-digits" and data["arch"] == "edge-npu"
    assert [r["format"] for r in data["results"]] == ["w8a8", "w1a1"]   # aliases in, canonical names out
    for r in data["results"]:
        assert isinstance(r["energy_per_image_uj"], float) and r["energy_per_image_uj"] > 0
        for key in ("dram_bytes", "cycles", "macs_effectual", "macs_total"):
            assert isinstance(r[key], int) and r[key] > 0
        assert r["macs_total"] == 19_398_656 and r["macs_effectual"] == 3_702_912
        assert len(r["layers"]) == 4
        layer = r["layers"][0]
        for key in ("name", "macs_effectual", "macs_total", "weight_bytes", "dram_read_bytes", "dram_write_bytes",
                    "buffer_access_bits", "cycles", "stall_cycles", "utilization", "latency_us", "energy_pj"):
            assert key in layer
        assert sum(l["dram_bytes"] for l in r["layers"]) == r["dram_bytes"]
        assert sum(l["energy_total_pj"] for l in r["layers"]) == pytest.approx(r["energy_per_image_uj"] * 1e6, rel=1e-6)


def test_plot_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "e.png"
    assert main(["energy", "--format", "int8,int4", "--plot", str(path), "--no-layers"]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_custom_arch_file(tmp_path, capsys):
    f = tmp_path / "mine.yaml"
    f.write_text("name: mine\nclock_mhz: 400\ntech_node_nm: 45\narray: {rows: 8, cols: 8, dataflow: ws}\n"
                 "buffers:\n  global: {size_kib: 32, word_bits: 64, banks: 2}\ndram: hbm2\n")
    assert main(["energy", "--arch", str(f), "--format", "int8", "--model", "dcgan-64"]) == 0
    assert "dcgan-64 on mine (8x8 ws, 400 MHz, 45 nm, hbm2 x1)" in capsys.readouterr().out


@pytest.mark.parametrize("argv,msg", [
    (["--format", "int17"], "--format: unknown format int17"),
    (["--arch", "nope"], "unknown arch preset 'nope'"),
    (["--model", "nope"], "unknown model 'nope'"),
    (["--lowering", "im2col"], "--lowering must be one of"),
    (["--objective", "area"], "--objective must be one of"),
    (["--batch", "0"], "--batch must be in [1, 4096]"),
    (["--json", "/nonexistent-dir/x.json"], "cannot write"),
])
def test_bad_arguments(argv, msg, capsys):
    assert main(["energy", "--format", "int8", "--no-layers"] + argv if "--format" not in argv
                else ["energy", "--no-layers"] + argv) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1


def test_bad_arch_file_names_the_key(tmp_path, capsys):
    f = tmp_path / "bad.yaml"
    f.write_text("name: bad\nclock_mhz: 400\ntech_node_nm: 45\narray: {rows: 8, cols: 8, dataflow: ws}\n"
                 "buffers:\n  global: {size_kib: 32, word_bits: 64, banks: 2, banks: 4}\ndram: hbm2\n")
    assert main(["energy", "--arch", str(f)]) == 2
    assert "duplicate key 'banks'" in capsys.readouterr().err


def test_module_entry_point_does_not_import_torch():
    code = ("import sys; from accelsim.cli import main; main(['energy', '--format', 'int8', '--no-layers']); "
            "print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules), file=sys.stderr)")
    # numba is the simulator's inner loop (the DRAM kernel, DESIGN.md section 2): energy may load it
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stderr.strip().endswith("[]")
