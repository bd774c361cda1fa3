"""Smoke test of benchmarks/bench_runtime.py --quick: the accelsim runtime, the bare kernel and torch
(this interpreter's, through the peer worker) on one DCGAN-64 layer and the tiny DCGAN; the ONNX
Runtime and OpenVINO peers are pointed at an empty venvs root, so they are skipped (as in CI, where
their benchmark venvs do not exist) and reported as left out."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BENCH = os.path.join(ROOT, "benchmarks", "bench_runtime.py")


def test_bench_runtime_quick(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    out = tmp_path / "rows.json"
    venvs = tmp_path / "no-venvs"
    venvs.mkdir()
    impls = "accelsim-w8a8,accelsim-w1a1,accelsim-w8a8-kernel,torch-fp32,ort-int8,openvino-int8"
    res = subprocess.run([sys.executable, BENCH, "--quick", "--models", "dcgan", "--layers", "0", "--no-simulate",
                          "--settle-ms", "1",
                          "--impls", impls, "--venvs", str(venvs), "--workdir", str(tmp_path / "work"),
                          "--json", str(out), "--markdown", str(tmp_path / "t.md")], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads(out.read_text())
    assert doc["machine"]["threads"] == 2 and len(doc["machine"]["load_average_start"]) == 3
    assert doc["config"]["settle_ms"] == 1.0   # how the runs were spaced is part of the record
    rows = {(r["model"], r["layer"], r["impl"]): r for r in doc["rows"]}
    for key in [("dcgan64", "512x4x4->256x8x8", "accelsim-w8a8"), ("dcgan64", "512x4x4->256x8x8", "accelsim-w8a8-kernel"),
                ("dcgan_tiny", "all", "accelsim-w8a8"), ("dcgan_tiny", "all", "accelsim-w1a1")]:
        r = rows[key]
        assert r["batch"] == 1 and r["median_s"] > 0 and r["gmacs_per_s"] > 0, r
        assert set(r) >= {"model", "layer", "batch", "impl", "median_s", "gmacs_per_s", "peak_fraction",
                          "precision_executed"}
    assert rows["dcgan_tiny", "all", "accelsim-w8a8"]["psnr_db_vs_torch_fp32"] > 30
    # torch runs from this interpreter when its benchmark venv is absent; its row says what it executed
    torch_row = rows["dcgan_tiny", "all", "torch-fp32"]
    assert "ConvTranspose2d fp32" in torch_row["precision_executed"]
    assert torch_row["speedup_of_accelsim_w8a8"] > 0
    assert set(doc["skipped"]) == {"ort-int8", "openvino-int8"}
    assert not any(r["impl"].startswith(("ort-", "openvino-")) for r in doc["rows"])
    assert "ratios measured in this run" in res.stdout
    md = (tmp_path / "t.md").read_text()
    assert "| dcgan_tiny | all | 1 | accelsim-w8a8 |" in md and "- ort-int8: no venv" in md


PROFILE = os.path.join(ROOT, "benchmarks", "profile_runtime.py")


def test_profile_runtime_times_each_mac_layer(tmp_path):
    """profile_runtime.py's JSON holds the time of each MAC node, in execution order, within the run's."""
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    out = tmp_path / "p.json"
    res = subprocess.run([sys.executable, PROFILE, "--models", "dcgan_tiny:1:2", "--repeats", "2", "--workdir",
                          str(tmp_path / "work"), "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    prof = json.loads(out.read_text())["rows"][0]["profile_s"]
    macs = prof["macs"]
    assert len(macs) >= 2 and len({m[0] for m in macs}) == len(macs)
    assert all(op in ("conv2d", "conv_transpose2d", "linear") and s > 0 for _, op, s in macs), macs
    assert sum(s for _, _, s in macs) < prof["wall"]


@pytest.mark.parametrize("peer,message", [("openvino-int8", "no venv"), ("ort-int8", "openvino-int8 only")])
def test_profile_runtime_peer_refused_clearly(tmp_path, peer, message):
    """--peer without its venv, or a peer without per-node counters: a clear error, no traceback, before
    any model is exported into the workdir."""
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    venvs = tmp_path / "no-venvs"
    venvs.mkdir()
    res = subprocess.run([sys.executable, PROFILE, "--models", "dcgan_tiny:1:2", "--repeats", "1", "--peer", peer,
                          "--venvs", str(venvs), "--workdir", str(tmp_path / "work")],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode != 0 and message in res.stderr and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").iterdir())
