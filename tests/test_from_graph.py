"""Pricing a graph: Graph -> Workload equals the hand-written published shapes, every node has a rule,
and `accelsim energy` takes any model reference."""
import dataclasses
import pathlib

import pytest

from accelsim.cli import main
from accelsim.graph.shipped import shipped_graph
from accelsim.workload import get_model
from accelsim.workload.from_graph import from_graph
from accelsim.workload.models import resolve_workload

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples" / "generators.py"
SHAPE_FIELDS = ("op", "in_channels", "out_channels", "in_hw", "kernel_hw", "stride_hw", "padding_hw",
                "output_padding_hw", "groups", "bias_folded", "padding_mode", "post_ops")


def _shape(layer):
    return tuple(getattr(layer, f) for f in SHAPE_FIELDS)


def test_shipped_graph_prices_like_the_published_shape():
    w = from_graph(shipped_graph("dcgan-digits"))
    z = get_model("dcgan-digits")
    assert [_shape(l) for l in w.layers] == [_shape(l) for l in z.layers]
    assert (w.macs, w.macs_effectual, w.conv_weights) == (z.macs, z.macs_effectual, z.conv_weights)


@pytest.mark.torch
@pytest.mark.parametrize("factory, zoo_name", [("cyclegan", "cyclegan-resnet9"), ("dcgan", "dcgan-64")])
def test_imported_papers_price_like_the_zoo(factory, zoo_name):
    w = resolve_workload(f"{EXAMPLES}:{factory}")
    z = get_model(zoo_name)
    conv = [l for l in w.layers if l.is_conv]
    assert [_shape(l)[:9] for l in conv] == [_shape(l)[:9] for l in z.layers if l.is_conv]
    assert (w.macs, w.macs_direct) == (z.macs, z.macs_direct)
    if factory == "cyclegan":
        assert w.macs == 56_799_264_768          # 56.8 G (zero-insert convention), 49.6 G direct
        assert all(l.padding_mode == "reflect" for l in conv if l.kernel_hw == (7, 7))
        assert sum(1 for l in w.layers if l.op == "add") == 9


@pytest.mark.torch
def test_nothing_is_dropped(tmp_path):
    """A pad that is not before a conv, a linear over a token axis, a standalone activation and a mul
    are each priced, not dropped."""
    src = tmp_path / "m.py"
    src.write_text(
        "import torch\nfrom torch import nn\nimport torch.nn.functional as F\n"
        "class M(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__(); self.c = nn.Conv2d(4, 8, 3); self.l = nn.Linear(4, 5)\n"
        "    def forward(self, x):\n"
        "        y = F.pad(torch.relu(self.c(x)), (1, 1, 1, 1)) * 0.5\n"
        "        return self.l(torch.tanh(y))\n")
    w = resolve_workload(f"{src}:M", ["4,6,4"])
    ops = [l.op for l in w.layers]
    assert ops == ["conv2d", "pad", "mul", "elementwise", "linear"]
    lin = w.layers[-1]
    assert lin.macs == 8 * 6 * 4 * 5      # 8 channels x 6 rows = 48 tokens, each 4 -> 5
    assert w.layers[0].post_ops == ("relu",)


@pytest.mark.torch
def test_energy_cli_takes_a_user_model(capsys, tmp_path):
    assert main(["energy", "--model", f"{EXAMPLES}:cyclegan_tiny", "--format", "w8a8,ternary", "--no-layers",
                 "--json", str(tmp_path / "e.json")]) == 0
    out = capsys.readouterr().out
    assert "cyclegan_tiny" in out and "w8a8" in out and "w2a8" in out


@pytest.mark.parametrize("ref, extra, message", [
    ("nope.py:G", [], "nope.py: no such file"),
    ("{ex}:Missing", [], "the file has no 'Missing'"),
    ("{ex}:CycleGANResnet9", [], "returns only a module; give its input shape"),
    ("{ex}:cyclegan_tiny", ["--input-shape", "3,32,32"], "returns its example inputs; drop the input shape"),
    ("{ex}:CycleGANResnet9", ["--input-shape", "3,x,32"], "expected positive integers"),
    ("dcgan-64x", [], "unknown model 'dcgan-64x'"),
    ("model.onnx", [], "model.onnx: no such file"),
    ("file.py", [], "expected path/to/file.py:NAME"),
    ("{ex}:CycleGANResnet9", ["--input-shape", "3,16,16", "--input-shape", "3,16,16"],
     "forward() takes 1 input(s) (x), 2 input shape(s) given"),
    ("{ex}:CycleGANResnet9", ["--input-shape", "3,100000,100000"], "more than 2^28"),
])
def test_bad_model_references_are_one_line(capsys, ref, extra, message):
    pytest.importorskip("torch")
    assert main(["energy", "--model", ref.format(ex=EXAMPLES), "--no-layers"] + extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("accelsim energy: error: ") and err.count("\n") == 1 and message in err, err


def test_layer_rejects_output_hw_on_conv():
    layer = get_model("dcgan-digits").layers[0]
    with pytest.raises(ValueError, match="output_hw is for data ops"):
        dataclasses.replace(layer, output_hw=(2, 2))


@pytest.mark.torch
def test_compare_ptq_rows_for_a_user_model(tmp_path, capsys):
    import json
    out = tmp_path / "c.json"
    assert main(["compare", "--model", f"{EXAMPLES}:cdcgan", "--recipes", "fp32,int8,w2a8", "--images", "4",
                 "--calib", "8", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["fmt"] for r in rows] == ["fp32", "w8a8", "w2a8"]
    assert rows[0]["weight_bits"] == 4 * rows[1]["weight_bits"] == 16 * rows[2]["weight_bits"]
    assert rows[1]["psnr_db"] > rows[2]["psnr_db"] and rows[0]["psnr_db"] > 100
    assert rows[1]["energy_per_image_uj"] < rows[0]["energy_per_image_uj"]
    assert main(["compare", "--model", f"{EXAMPLES}:cdcgan", "--recipes", "w8a9x"]) == 2
    assert "--recipes: unknown format w8a9x" in capsys.readouterr().err


@pytest.mark.torch
def test_sweep_takes_a_user_model(tmp_path):
    import json
    args = ["sweep", "--model", f"{EXAMPLES}:CycleGANResnet9", "--input-shape", "3,16,16", "--buffer", "16KiB:64KiB",
            "--format", "w8a8", "--jobs", "2", "--no-progress", "--out", str(tmp_path / "s.db"),
            "--json", str(tmp_path / "s.json")]
    assert main(args) == 0
    doc = json.loads((tmp_path / "s.json").read_text())
    assert {a["fmt"] for a in doc["answers"]} == {"w8a8"}
