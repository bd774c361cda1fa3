"""accelsim energy: the default run, the JSON schema, the plot, custom arch files and bad arguments."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from accelsim.cli import main


def _summary_rows(lines: list[str]) -> dict:
    """format -> cells of the summary table found in ``lines`` (the rows between its rule and its legend)."""
    start = next(i for i, l in enumerate(lines) if l.startswith("format ")) + 2
    rows = {}
    for line in lines[start:]:
        if line.startswith("vs "):
            break
        cells = line.split()
        rows[cells[0]] = cells
    return rows


def test_default_run_answer_first(tmp_path, capsys):
    """The README's main job: the summary of every default format within the first 15 lines, under 110
    columns, with its legend; no per-layer table; its numbers are the JSON's."""
    from accelsim.formats.registry import DEFAULT
    path = tmp_path / "e.json"
    assert main(["energy", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "dcgan-digits on edge-npu" in lines[0]
    head = lines[:15]
    assert all(len(l) <= 110 for l in head)
    assert any(l.startswith("vs fp32: ratio to fp32 |") for l in head)   # the legend
    rows = _summary_rows(head)
    assert list(rows) == list(DEFAULT)
    assert "per layer:" not in out and "deconv1 " not in out and "I/W/P" not in out
    data = json.loads(path.read_text())
    results = {r["format"]: r for r in data["results"]}
    summary = {r["format"]: r for r in data["summary"]["rows"]}
    assert data["summary"]["baseline"] == "fp32" and list(summary) == list(DEFAULT)
    fp32 = results["fp32"]
    for fmt, cells in rows.items():
        r, s = results[fmt], summary[fmt]
        uj, e_ratio, dram, d_ratio, lat = float(cells[1]), float(cells[2]), int(cells[3].replace(",", "")), \
            float(cells[4]), float(cells[5])
        assert uj == pytest.approx(r["energy_per_image_uj"], abs=5e-5) and s["energy_per_image_uj"] == r["energy_per_image_uj"]
        assert e_ratio == pytest.approx(r["energy_per_image_uj"] / fp32["energy_per_image_uj"], abs=5e-4)
        assert e_ratio == pytest.approx(s["energy_vs_baseline"], abs=5e-4)
        assert dram == r["dram_bytes"] == s["dram_bytes_per_image"]   # batch 1
        assert d_ratio == pytest.approx(r["dram_bytes"] / fp32["dram_bytes"], abs=5e-4)
        assert d_ratio == pytest.approx(s["dram_vs_baseline"], abs=5e-4)
        assert lat == pytest.approx(r["latency_us"], abs=5e-3 + 1e-9) and s["latency_us_per_image"] == r["latency_us"]
        top = max(r["energy_pj"], key=r["energy_pj"].get)   # the dominant part: name and share
        assert s["dominant_component"] == top
        assert s["dominant_share"] == pytest.approx(r["energy_pj"][top] / sum(r["energy_pj"].values()), rel=1e-6)
        assert cells[-1] == f"{100 * s['dominant_share']:.1f}%"
    assert rows["fp32"][2] == rows["fp32"][4] == "1.000"
    assert rows["w1a1"][-2:] == ["bg", f"{100 * summary['w1a1']['dominant_share']:.1f}%"]   # "DRAM bg 56.4%"


def test_readme_shows_the_default_output(capsys):
    """README.md's block after <!-- output: accelsim energy --> is what the command prints."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("<!-- output: accelsim energy -->\n```text\n", 1)[1].split("```", 1)[0]
    assert main(["energy"]) == 0
    assert capsys.readouterr().out == block


@pytest.mark.parametrize("flag", ["--layers", "-v", "--verbose"])
def test_layers_flag_prints_the_details(flag, capsys):
    assert main(["energy", "--format", "fp32,w8a8", flag]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert set(_summary_rows(lines)) == {"fp32", "w8a8"}   # the answer still comes first
    i = lines.index("per layer:")
    assert i < lines.index("per generated image, all energy parts:")
    head = lines[i + 1].split("  ")
    for col in ("DRAM rd I/W/P B", "DRAM wr O/P B", "SRAM rd/wr B", "PE util", "latency us", "DRAM act nJ",
                "DRAM bg nJ", "total nJ"):
        assert col in [c.strip() for c in head]
    layer_rows = lines[i + 3:i + 3 + 8]   # 4 layers x 2 formats
    assert [r.split()[:2] for r in layer_rows] == [[f, f"deconv{k}"] for f in ("fp32", "w8a8") for k in range(1, 5)]
    legend = lines[i + 3 + 8]
    for term in ("I/W/P: ifmap/weight/psum", "O/P: ofmap/psum", "PE util:", "act: row activates",
                 "bg: background"):
        assert term in legend


def test_no_layers_is_the_default(capsys):
    assert main(["energy", "--format", "w8a8"]) == 0
    default = capsys.readouterr().out
    assert main(["energy", "--format", "w8a8", "--no-layers"]) == 0
    assert capsys.readouterr().out == default and "per layer:" not in default


def test_summary_per_image_with_a_batch(tmp_path, capsys):
    """With a batch, the summary is per image (batch totals / batch) and its baseline is the first format
    when fp32 is not asked for."""
    path = tmp_path / "e.json"
    assert main(["energy", "--format", "w8a8,w4a4", "--batch", "4", "--json", str(path)]) == 0
    rows = _summary_rows(capsys.readouterr().out.splitlines())
    data = json.loads(path.read_text())
    assert data["summary"]["baseline"] == "w8a8" and rows["w8a8"][2] == "1.000"
    for r, s in zip(data["results"], data["summary"]["rows"]):
        assert s["dram_bytes_per_image"] == pytest.approx(r["dram_bytes"] / 4)
        assert s["latency_us_per_image"] == pytest.approx(r["latency_us"] / 4)
        assert float(rows[r["format"]][5]) == pytest.approx(r["latency_us"] / 4, abs=5e-3)


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
    summary = data["summary"]
    assert summary["baseline"] == "w8a8" and [s["format"] for s in summary["rows"]] == ["w8a8", "w1a1"]
    for s, r in zip(summary["rows"], data["results"]):
        assert set(s) == {"format", "energy_per_image_uj", "energy_vs_baseline", "dram_bytes_per_image",
                          "dram_vs_baseline", "latency_us_per_image", "dominant_component", "dominant_share"}
        assert s["energy_vs_baseline"] == pytest.approx(r["energy_per_image_uj"] / data["results"][0]["energy_per_image_uj"])
        assert s["dominant_component"] in r["energy_pj"] and 0 < s["dominant_share"] <= 1


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
