"""Golden vectors for hardware testbenches: export -> check round trips for every format, mismatches
reported at the right (layer, n, c, y, x), clear one-line errors for bad dumps and manifests, the
export refuses when the golden model and the C++ kernels disagree, and the C testbench
(examples/c_testbench) replays the vectors through the C ABI. Nothing here depends on the values of
the shipped weights (they are being retrained): only on shapes and on self-consistency."""
import hashlib
import json
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

from accelsim import native
from accelsim.cli import main
from accelsim.formats.conv import ConvSpec
from accelsim.vectors import VectorsError, export_vectors
from accelsim.vectors.hexfile import read_hex, values_to_words
from accelsim.vectors.layout import pack_sign64, pack_ternary2, unpack

FORMATS = ("int8", "int4", "int16", "ternary", "binary_w_int8_a", "binary", "flex16")
ROOT = pathlib.Path(__file__).resolve().parent.parent
TB_DIR = ROOT / "examples" / "c_testbench"


def corrupt_conv_int(monkeypatch) -> None:
    """Make the C++ conv_int wrong by one in one accumulator (golden != C++ must refuse to write)."""
    from accelsim import kernels
    real = kernels.conv_int

    def off_by_one(*a, **k):
        acc = real(*a, **k).copy()
        acc.flat[acc.size // 2] += 1
        return acc

    monkeypatch.setattr(kernels, "conv_int", off_by_one)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """fmt -> (vectors dir, manifest), one CLI export per format of the shipped dcgan-digits."""
    base = tmp_path_factory.mktemp("vec")
    out = {}
    for fmt in FORMATS:
        d = base / fmt
        assert main(["vectors", "export", "--format", fmt, "--out", str(d)]) == 0
        out[fmt] = (d, json.loads((d / "manifest.json").read_text()))
    return out


def _dump(vec: pathlib.Path, manifest: dict, dest: pathlib.Path, kind: str = "hex") -> pathlib.Path:
    """A 'device dump' directory: each layer's expected output copied to layerK.hex (or .bin)."""
    dest.mkdir()
    for rec in manifest["layers"]:
        shutil.copy(vec / rec["tensors"]["y"][kind], dest / f"layer{rec['index']}.{kind}")
    return dest


def _check(capsys, *argv):
    rc = main(["vectors", "check", *map(str, argv)])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_check_round_trip(exported, tmp_path, capsys, fmt):
    vec, m = exported[fmt]
    assert m["format"] == fmt and m["accelsim_version"] and m["command"].startswith("accelsim vectors export")
    assert m["kernel_check"]["golden_equals_cpp"] is True
    assert [r["index"] for r in m["layers"]] == list(range(len(m["layers"])))
    for rec in m["layers"]:
        for name, t in rec["tensors"].items():
            for rel, digest in t["sha256"].items():  # every file is listed with its checksum
                assert hashlib.sha256((vec / rel).read_bytes()).hexdigest() == digest
            header = (vec / t["hex"]).read_text().splitlines()[:2]
            assert all(h.startswith("// ") for h in header) and f"width={t['word_bits']}" in header[1]
            words = read_hex(str(vec / t["hex"]), t["word_bits"], t["count"])  # hex and bin agree
            values = np.fromfile(vec / t["bin"], dtype=np.dtype(t["bin_dtype"]).newbyteorder("<"))
            assert values.size == t["count"] == int(np.prod(t["shape"]))
            np.testing.assert_array_equal(words, values_to_words(values, t["word_bits"], t["signed"], t["encoding"]))
        if rec["index"] > 0:  # the chain: this input is the previous layer's expected output
            prev = m["layers"][rec["index"] - 1]["tensors"]["y"]
            x = np.fromfile(vec / rec["tensors"]["x"]["bin"], dtype=np.dtype(prev["bin_dtype"]).newbyteorder("<"))
            y = np.fromfile(vec / prev["bin"], dtype=np.dtype(prev["bin_dtype"]).newbyteorder("<"))
            if rec["kernel"] == "flexconv":   # the ReLU runs in the vector unit, on the real values
                from accelsim.formats.flexpoint import from_flex
                e_y, e_x = m["layers"][rec["index"] - 1]["params"]["out_exp"], rec["params"]["x_exp"]
                assert np.array_equal(from_flex(x, e_x), np.maximum(from_flex(y, e_y), 0))
            else:
                assert rec["input"]["from_layer"] == rec["index"] - 1 and np.array_equal(x, y)
    assert m["chained"] == (fmt != "flex16")
    total = sum(r["tensors"]["y"]["count"] for r in m["layers"])
    for kind in ("hex", "bin"):
        dump = _dump(vec, m, tmp_path / kind, kind)
        rc, out, _ = _check(capsys, "--manifest", vec / "manifest.json", "--actual", dump, "--json",
                            tmp_path / f"{kind}.json")
        r = json.loads((tmp_path / f"{kind}.json").read_text())
        assert rc == 0 and "PASS" in out
        assert r["ok"] and r["mismatches"] == 0 and r["words_compared"] == total
        assert r["layers_compared"] == len(m["layers"])


def test_packed_weight_layouts_by_hand():
    spec = ConvSpec.make(stride=2, transposed=True)
    w = np.array([1, -1, 1], np.int8).reshape(3, 1, 1, 1)  # Cin=3, Cout=1, 1x1
    assert pack_sign64(w, spec).ravel().tolist() == [0b101]
    t = np.array([1, -1, 0], np.int8).reshape(3, 1, 1, 1)
    assert pack_ternary2(t, spec).ravel().tolist() == [0b00_11_01]
    rng = np.random.default_rng(0)
    for transposed in (True, False):
        spec = ConvSpec.make(transposed=transposed)
        b = np.where(rng.random((70, 3, 2, 2)) < 0.5, 1, -1).astype(np.int8)
        np.testing.assert_array_equal(unpack(pack_sign64(b, spec), "sign64", b.shape, spec), b)
        tw = rng.integers(-1, 2, (40, 3, 2, 2)).astype(np.int8)
        np.testing.assert_array_equal(unpack(pack_ternary2(tw, spec), "ternary2", tw.shape, spec), tw)


@pytest.mark.parametrize("fmt,layer", [("int8", 2), ("binary", 1), ("flex16", 3), ("int4", 0)])
def test_corrupted_word_is_reported_at_its_coordinates(exported, tmp_path, capsys, fmt, layer):
    vec, m = exported[fmt]
    dump = _dump(vec, m, tmp_path / "dump")
    t = m["layers"][layer]["tensors"]["y"]
    n, c, yy, xx = (s - 1 for s in t["shape"])  # the last element of each axis ...
    c, yy = min(c, 1), min(yy, 2)                 # ... moved off the corners
    flat = np.ravel_multi_index((n, c, yy, xx), t["shape"])
    path = dump / f"layer{layer}.hex"
    lines = path.read_text().splitlines()
    data = [i for i, s in enumerate(lines) if not s.startswith("//")]
    word = int(lines[data[flat]], 16)
    lines[data[flat]] = f"{word ^ 1:0{(t['word_bits'] + 3) // 4}x}"
    path.write_text("\n".join(lines) + "\n")
    rc, out, _ = _check(capsys, "--manifest", vec, "--actual", dump, "--json", tmp_path / "r.json")
    r = json.loads((tmp_path / "r.json").read_text())
    assert rc == 1 and "FAIL" in out and r["mismatches"] == 1
    (mm,) = [f for lr in r["layers"] for f in lr["first_mismatches"]]
    assert (mm["layer"], mm["n"], mm["c"], mm["y"], mm["x"]) == (layer, n, c, yy, xx)
    assert mm["expected_word"] != mm["actual_word"]
    assert f"MISMATCH layer {layer}" in out and f"n={n}, c={c}, y={yy}, x={xx}" in out


def test_at_most_ten_mismatches_listed_per_layer(exported, tmp_path, capsys):
    vec, m = exported["int8"]
    t = m["layers"][1]["tensors"]["y"]
    y = np.fromfile(vec / t["bin"], np.int8).copy()
    y[:15] ^= 1
    y.tofile(tmp_path / "l1.bin")
    rc, out, _ = _check(capsys, "--manifest", vec, "--actual", tmp_path / "l1.bin", "--layer", "1",
                        "--json", tmp_path / "r.json")
    r = json.loads((tmp_path / "r.json").read_text())
    assert rc == 1 and r["mismatches"] == 15 and len(r["layers"][0]["first_mismatches"]) == 10
    assert [f["element"] for f in r["layers"][0]["first_mismatches"]] == list(range(10))


def _bad_hex(text: str, how: str) -> str:
    lines = text.splitlines()
    data = [i for i, s in enumerate(lines) if not s.startswith("//")]
    if how == "truncated":
        return "\n".join(lines[:data[-5]]) + "\n"
    if how == "too many":
        return text + "00\n"
    if how == "bad digit":
        lines[data[3]] = "0g"
    elif how == "undefined":
        lines[data[3]] = "xx"
    elif how == "wide":
        lines[data[3]] = "1ff"
    elif how == "address":
        lines[data[3]] = "@10"
    elif how == "prefix":
        lines[data[3]] = "0x1f"
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("how,message", [
    ("truncated", "truncated: "), ("too many", "too many words"), ("bad digit", "bad hex digit 'g'"),
    ("undefined", "undefined value"), ("wide", "wider than the declared 8 bits"),
    ("address", "address directive"), ("prefix", "0x prefix"),
])
def test_malformed_hex_dumps_are_one_line_errors(exported, tmp_path, capsys, how, message):
    vec, m = exported["int8"]
    text = (vec / m["layers"][2]["tensors"]["y"]["hex"]).read_text()
    bad = tmp_path / "dev.hex"
    bad.write_text(_bad_hex(text, how))
    rc, out, err = _check(capsys, "--manifest", vec / "manifest.json", "--actual", bad, "--layer", "2")
    assert rc == 2 and message in err and "dev.hex" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_binary_dumps_and_manifests(exported, tmp_path, capsys):
    vec, m = exported["int4"]
    y = np.fromfile(vec / m["layers"][0]["tensors"]["y"]["bin"], np.int8)
    cases = []
    y[:-1].tofile(tmp_path / "short.bin")
    cases.append((["--actual", tmp_path / "short.bin", "--layer", "0"], "truncated"))
    np.concatenate([y, y[:1]]).tofile(tmp_path / "long.bin")
    cases.append((["--actual", tmp_path / "long.bin", "--layer", "0"], "wrong size"))
    wide = y.copy()
    wide[7] = 9  # does not fit a 4-bit signed word
    wide.tofile(tmp_path / "wide.bin")
    cases.append((["--actual", tmp_path / "wide.bin", "--layer", "0"], "element 7: value 9 does not fit a 4-bit"))
    (tmp_path / "garbage.hex").write_bytes(b"\x00\xff\x10")
    cases.append((["--actual", tmp_path / "garbage.hex", "--layer", "0"], "not a text hex file"))
    cases.append((["--actual", tmp_path / "short.bin"], "manifest has 4 layers: give the layer it holds (--layer K)"))
    cases.append((["--actual", tmp_path / "nothing.hex"], "no such file"))
    (tmp_path / "d.weird").write_text("")
    cases.append((["--actual", tmp_path / "d.weird", "--layer", "0"], "cannot tell hex from raw binary"))
    (tmp_path / "empty").mkdir()
    cases.append((["--actual", tmp_path / "empty"], "no layer dump found"))
    for args, message in cases:
        rc, _, err = _check(capsys, "--manifest", vec, *args)
        assert rc == 2 and message in err, (args, err)
        assert len(err.strip().splitlines()) == 1
    # the expected files are verified against the manifest's checksums
    tampered = tmp_path / "tampered"
    shutil.copytree(vec, tampered)
    with open(tampered / m["layers"][0]["tensors"]["y"]["hex"], "a") as f:
        f.write("// edited\n")
    rc, _, err = _check(capsys, "--manifest", tampered, "--actual", vec / "layer0" / "y.hex", "--layer", "0")
    assert rc == 2 and "manifest checksum mismatch" in err and "y.hex" in err
    # a manifest with a missing field, and one that is not JSON
    man = json.loads((vec / "manifest.json").read_text())
    del man["layers"][1]["tensors"]["y"]["word_bits"]
    (tampered / "manifest.json").write_text(json.dumps(man))
    rc, _, err = _check(capsys, "--manifest", tampered / "manifest.json", "--actual", tmp_path / "short.bin")
    assert rc == 2 and "layers[1].tensors.y: missing field 'word_bits'" in err
    (tampered / "manifest.json").write_text("{")
    rc, _, err = _check(capsys, "--manifest", tampered / "manifest.json", "--actual", tmp_path / "short.bin")
    assert rc == 2 and "not a JSON manifest" in err


def test_single_layer_export_and_refusals(exported, tmp_path, capsys, monkeypatch):
    vec, m = exported["int8"]
    one = tmp_path / "one"
    assert main(["vectors", "export", "--layer", "deconv3", "--out", str(one)]) == 0
    m1 = json.loads((one / "manifest.json").read_text())
    assert [r["index"] for r in m1["layers"]] == [2]
    for name in ("x", "w", "y"):  # same run, same chain: layer 2 alone equals layer 2 of the full export
        assert (one / f"layer2/{name}.bin").read_bytes() == (vec / f"layer2/{name}.bin").read_bytes()
    rc, out, _ = _check(capsys, "--manifest", one, "--actual", vec / "layer2" / "y.hex")
    assert rc == 0 and "PASS" in out
    # an existing non-empty directory is kept unless --force
    capsys.readouterr()
    assert main(["vectors", "export", "--out", str(one)]) == 2
    assert "not empty" in capsys.readouterr().err and (one / "layer2").exists()
    assert main(["vectors", "export", "--layer", "0", "--force", "--out", str(one)]) == 0
    assert not (one / "layer2").exists() and (one / "layer0").exists()
    capsys.readouterr()
    for args, message in ((["--format", "fp32"], "--format"), (["--layer", "9"], "--layer"),
                          (["--model", "nope"], "--model"), (["--batch", "0"], "--batch")):
        assert main(["vectors", "export", *args, "--out", str(tmp_path / "x")]) == 2
        assert message in capsys.readouterr().err and not (tmp_path / "x").exists()
    # golden != C++: nothing is written, no temporary directory is left behind
    corrupt_conv_int(monkeypatch)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(VectorsError, match=r"disagree at layer 0 \(deconv1\) acc: 1 of .* differ"):
        export_vectors(str(tmp_path / "refused"), fmt="int4")
    assert sorted(os.listdir(tmp_path)) == before


@pytest.fixture(scope="module")
def tb_exe(tmp_path_factory):
    """examples/c_testbench built with the system compiler (make, or cc directly without make);
    None without a C compiler."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    exe = tmp_path_factory.mktemp("tb") / "tb"
    pkg = os.path.dirname(native.library_path())
    if shutil.which("make"):
        subprocess.run(["make", "-s", "-C", str(TB_DIR), f"OUT={exe}", f"ACCELSIM_DIR={pkg}", f"CC={cc}"],
                       check=True, capture_output=True)
    else:
        subprocess.run([cc, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-I", native.include_dir(),
                        str(TB_DIR / "tb.c"), native.library_path(), f"-Wl,-rpath,{pkg}", "-o", str(exe)],
                       check=True)
    return exe


def test_c_testbench_replays_the_vectors(exported, tb_exe, tmp_path):
    if tb_exe is None:
        pytest.skip("no C compiler")
    exe = tb_exe
    for fmt in FORMATS:
        vec, m = exported[fmt]
        r = subprocess.run([str(exe), str(vec)], capture_output=True, text=True)
        assert r.returncode == 0, (fmt, r.stdout, r.stderr)
        assert r.stdout.strip().splitlines()[-1].startswith(f"PASS: {len(m['layers'])} layers")
    # a wrong expected accumulator makes it fail, naming the layer
    vec, m = exported["ternary"]
    bad = tmp_path / "bad"
    shutil.copytree(vec, bad)
    acc = np.fromfile(bad / "layer1" / "acc.bin", np.int32)
    acc[3] += 1
    acc.tofile(bad / "layer1" / "acc.bin")
    r = subprocess.run([str(exe), str(bad)], capture_output=True, text=True)
    assert r.returncode == 1 and "MISMATCH layer 1 acc[3]" in r.stdout
    (bad / "layer2" / "y.bin").write_bytes(b"\x00")
    r = subprocess.run([str(exe), str(bad)], capture_output=True, text=True)
    assert r.returncode == 2 and "wrong size" in r.stderr


def test_readmemh_reads_the_hex_files(exported, tmp_path, capsys):
    """Icarus Verilog's $readmemh loads the files (// headers included) and its $writememh dump of
    the same memory checks clean (skipped without iverilog)."""
    if not (shutil.which("iverilog") and shutil.which("vvp")):
        pytest.skip("no iverilog")
    vec, m = exported["int4"]
    t = m["layers"][1]["tensors"]["y"]
    src = tmp_path / "rd.v"
    src.write_text(f"""module rd; reg [{t['word_bits'] - 1}:0] mem [0:{t['count'] - 1}];
      initial begin $readmemh("{vec / t['hex']}", mem); $writememh("{tmp_path / 'dump.hex'}", mem); end
    endmodule\n""")
    subprocess.run(["iverilog", "-o", str(tmp_path / "rd"), str(src)], check=True)
    subprocess.run(["vvp", "-n", str(tmp_path / "rd")], check=True, capture_output=True)
    rc, out, _ = _check(capsys, "--manifest", vec, "--actual", tmp_path / "dump.hex", "--layer", "1")
    assert rc == 0 and "PASS" in out


USER_CHAIN = """
import torch
from torch import nn


class Chain(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        ch = (6, 70, 36, 5, 1)
        layers = []
        for i in range(4):
            layers.append(nn.ConvTranspose2d(ch[i], ch[i + 1], 4, 1 if i == 0 else 2, 0 if i == 0 else 1, bias=False))
            layers.append(nn.ReLU() if i < 3 else nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)
"""


@pytest.mark.torch
def test_user_generator_through_the_library_api(tb_exe, tmp_path):
    """A chain that is not a shipped model (a user's module, odd channel counts, batch 2) exports and
    checks clean through the Python API; Cin = 70 and 36 exercise the second packed word."""
    pytest.importorskip("torch")
    from accelsim.vectors import check_vectors
    src = tmp_path / "chain.py"
    src.write_text(USER_CHAIN)
    for fmt in ("w1a1", "ternary"):
        out = tmp_path / fmt
        m = export_vectors(str(out), model=f"{src}:Chain", fmt=fmt, batch=2, seed=7, input_shapes=["6,1,1"],
                           calib=8)
        assert m["model"]["name"] == "Chain" and m["inputs"]["tensors"][0]["shape"] == [2, 6, 1, 1]
        assert [r["kernel"] for r in m["layers"]] == (["bconv"] * 4 if fmt == "w1a1" else ["qconv"] * 4)
        packed = m["layers"][1]["tensors"]["w"]
        assert packed["shape"][-1] == (2 if fmt == "w1a1" else 3) and packed["logical_shape"] == [70, 36, 4, 4]
        r = check_vectors(str(out / "manifest.json"), str(out / "layer3" / "y.bin"), layer=3)
        assert r["ok"] and r["words_compared"] == 2 * 32 * 32
        if tb_exe is not None:  # and through the C ABI
            tb = subprocess.run([str(tb_exe), str(out)], capture_output=True, text=True)
            assert tb.returncode == 0 and "PASS: 4 layers" in tb.stdout, tb.stdout + tb.stderr


# ---- graph models: any model reference, through the one runtime (accelsim.vectors.graph) ------------
GEN_PY = ROOT / "examples" / "generators.py"
GRAPH_CASES = {"cyclegan_tiny": ("w8a8", 1), "cdcgan": ("w4a8", 2)}   # name -> (format, batch)
GRAPH_CALIB = 8


@pytest.fixture(scope="module")
def graph_exported(tmp_path_factory):
    """name -> (vectors dir, manifest), one CLI export per example generator (calibration on 8 inputs)."""
    pytest.importorskip("torch")
    base = tmp_path_factory.mktemp("gvec")
    out = {}
    for name, (fmt, batch) in GRAPH_CASES.items():
        d = base / name
        assert main(["vectors", "export", "--model", f"{GEN_PY}:{name}", "--format", fmt, "--batch", str(batch),
                     "--seed", "3", "--calib", str(GRAPH_CALIB), "--out", str(d)]) == 0
        out[name] = (d, json.loads((d / "manifest.json").read_text()))
    return out


def _read_tensor(vec: pathlib.Path, t: dict) -> np.ndarray:
    """A tensor's values from its hex file, after checking the raw binary holds the same."""
    from accelsim.vectors.hexfile import words_to_values
    words = read_hex(str(vec / t["hex"]), t["word_bits"], t["count"])
    values = np.fromfile(vec / t["bin"], dtype=np.dtype(t["bin_dtype"]).newbyteorder("<")).reshape(t["shape"])
    np.testing.assert_array_equal(words, values_to_words(values, t["word_bits"], t["signed"], t["encoding"]))
    np.testing.assert_array_equal(words_to_values(words, t["word_bits"], t["signed"], t["encoding"]),
                                  values.ravel())
    return values


@pytest.mark.torch
@pytest.mark.parametrize("name", list(GRAPH_CASES))
def test_graph_model_export_is_the_runtime(graph_exported, name):
    """The manifest lists the graph's MAC nodes, and the files hold what the runtime computes: the
    input codes its kernel consumed, the plan's weights, bias and m0/shift, the kernel's accumulators
    and the output codes of its trace, recomputed here independently of the exporter."""
    from accelsim import kernels
    from accelsim.formats import fixed
    from accelsim.graph.reference import load
    from accelsim.runtime import QTensor, quantize
    vec, m = graph_exported[name]
    fmt, batch = GRAPH_CASES[name]
    ref = f"{GEN_PY}:{name}"
    loaded = load(ref)
    macs = loaded.graph.mac_nodes
    assert m["format"] == fmt and m["kernel_check"]["golden_equals_cpp"] is True
    assert m["model"]["file"] == str(GEN_PY)
    assert m["model"]["file_sha256"] == hashlib.sha256(GEN_PY.read_bytes()).hexdigest()
    assert m["model"]["calibration"]["n"] == GRAPH_CALIB and m["model"]["calibration"]["seed"] == 1234
    assert m["inputs"]["batch"] == batch and m["inputs"]["seed"] == 3
    assert [(r["index"], r["name"], r["op"], r["format"]) for r in m["mac_nodes"]] == \
        [(k, n.name, n.op, fmt) for k, n in enumerate(macs)]
    assert [r["name"] for r in m["layers"]] == [n.name for n in macs]
    q = quantize(loaded.graph, fmt, loaded.example_inputs(GRAPH_CALIB, 1234))
    _, env = q.run(loaded.example_inputs(batch, 3), impl="reference", trace=True)
    for rec, node in zip(m["layers"], macs):
        p, t = q.plans[node.name], rec["tensors"]
        assert rec["op"] == node.op and rec["conv"]["stride"] == list(node.attrs["stride"])
        assert rec["conv"]["transposed"] == (node.op == "conv_transpose2d")
        vals = {k: _read_tensor(vec, t[k]) for k in ("x", "w", "bias", "m0", "shift", "acc", "y")}
        np.testing.assert_array_equal(vals["w"], p.w_codes)
        np.testing.assert_array_equal(vals["bias"], p.bias)
        np.testing.assert_array_equal(vals["m0"], p.m0)
        np.testing.assert_array_equal(vals["shift"], p.shift)
        src = env[node.inputs[0]]   # the kernel's input: codes as they are, or the value quantized (as _mac)
        same = isinstance(src, QTensor) and (src.scale, src.zero_point) == (p.x_scale, p.x_zero_point)
        x = src.codes if same else fixed.quantize(src, p.x_scale, p.x_zero_point, fixed.IntFormat(8))
        np.testing.assert_array_equal(vals["x"], x)
        acc = kernels.conv_int(x, p.w_codes, x_bits=8, x_signed=True, x_zero_point=p.x_zero_point, w_kind="fixed",
                               w_bits=int(fmt[1]), bias=p.bias, spec=p.spec)
        np.testing.assert_array_equal(vals["acc"], acc)
        np.testing.assert_array_equal(vals["y"], env[node.name].codes)
        assert rec["params"]["x_zero_point"] == p.x_zero_point and t["x"]["zero_point"] == p.x_zero_point
        assert rec["params"]["requant_zero_point"] == p.out_zero_point
    # cdcgan's convs read each other's (fused-ReLU) outputs; cyclegan_tiny has norms between them
    chained = name == "cdcgan"
    assert m["chained"] is chained and f"chain {int(chained)}" in (vec / "vectors.txt").read_text()


@pytest.mark.torch
def test_graph_model_vectors_check(graph_exported, tmp_path, capsys, tb_exe):
    for name, (vec, m) in graph_exported.items():
        dump = _dump(vec, m, tmp_path / name)
        rc, out, _ = _check(capsys, "--manifest", vec, "--actual", dump, "--json", tmp_path / f"{name}.json")
        r = json.loads((tmp_path / f"{name}.json").read_text())
        assert rc == 0 and "PASS" in out and r["mismatches"] == 0 and r["layers_compared"] == len(m["layers"])
        assert r["words_compared"] == sum(rec["tensors"]["y"]["count"] for rec in m["layers"])
        last = m["layers"][-1]   # one file, the layer named by its node name
        rc, out, _ = _check(capsys, "--manifest", vec, "--actual", vec / last["tensors"]["y"]["bin"],
                            "--layer", last["name"])
        assert rc == 0 and "0 mismatches" in out
    vec, m = graph_exported["cdcgan"]   # a flipped word is found at its coordinates
    y = np.fromfile(vec / "layer1" / "y.bin", np.int8).copy()
    y[9] ^= 1   # (n, c, y, x) = (0, 0, 1, 1) of 2x64x8x8
    y.tofile(tmp_path / "l1.bin")
    rc, out, _ = _check(capsys, "--manifest", vec, "--actual", tmp_path / "l1.bin", "--layer", "1")
    assert rc == 1 and "MISMATCH layer 1 (main.3) at (n=0, c=0, y=1, x=1)" in out
    if tb_exe is not None:   # the C testbench replays graph exports through the C ABI, chained or not
        r = subprocess.run([str(tb_exe), str(vec)], capture_output=True, text=True)
        assert r.returncode == 0 and "PASS: 4 layers" in r.stdout, r.stdout + r.stderr
        vec, m = graph_exported["cyclegan_tiny"]    # norms between convs: no chain check ("chain 0")
        r = subprocess.run([str(tb_exe), str(vec)], capture_output=True, text=True)
        assert r.returncode == 0 and f"PASS: {len(m['layers'])} layers" in r.stdout and "NO" not in r.stdout, \
            r.stdout + r.stderr


@pytest.mark.torch
def test_graph_model_refusals(graph_exported, tmp_path, capsys, monkeypatch):
    ref = f"{GEN_PY}:cdcgan"
    cases = [(["--format", "fp32"], "--format: fp32: it has no layer that runs an integer kernel"),
             (["--format", "fp16"], "--format: fp16: "), (["--format", "int99"], "unknown format"),
             (["--layer", "99"], "--layer must be 'all', an index in [0, 3] or a MAC node name (main.0, main.3"),
             (["--layer", "main.1"], "--layer must be"), (["--input-shape", "3,4,4"], "--model: ")]
    for args, message in cases:
        argv = ["vectors", "export", "--model", ref, "--format", "w8a8", *args, "--out", str(tmp_path / "x")]
        assert main(argv) == 2, args
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, (args, err)
        assert not (tmp_path / "x").exists() and os.listdir(tmp_path) == []
    # golden != C++: nothing is written, no temporary directory is left behind
    corrupt_conv_int(monkeypatch)
    with pytest.raises(VectorsError, match=r"disagree at layer 0 \(main.0\) acc: 1 of .* differ"):
        export_vectors(str(tmp_path / "refused"), model=ref, fmt="w2a8", calib=4)
    assert os.listdir(tmp_path) == []
