"""Malformed inputs across the CLI, the YAML loader, the kernels and the quantizers (issue: reliability).

Every case must fail with a one-line message naming the field or file (an ``accelsim.errors`` error, a
ValueError, in the library; ``accelsim CMD: error: ...`` naming the option and exit status 2 on the
command line), never a bare traceback, and must leave no output file (nor a temporary one) behind.
"""
import math
import os

import numpy as np
import pytest

from accelsim import kernels
from accelsim.arch import arch_from_dict, load_arch
from accelsim.arch.loader import load_yaml
from accelsim.cli import main
from accelsim.formats import fixed, flexpoint, requant, ternary
from accelsim.formats.conv import ConvSpec

GOOD_ARCH = """name: tiny
clock_mhz: 800
tech_node_nm: 22
array: {rows: 8, cols: 8, dataflow: os}
buffers:
  global: {size_kib: 64, word_bits: 64, banks: 1}
dram: lpddr4-3200
"""
# name -> YAML text (written to TMP/<name>.yaml); the CLI cases use them with --arch
ARCH_FILES = {
    "dup": GOOD_ARCH + "clock_mhz: 900\n",
    "unknown": GOOD_ARCH.replace("banks: 1}", "banks: 1, colour: red}"),
    "negsize": GOOD_ARCH.replace("size_kib: 64", "size_kib: -64"),
    "zerorows": GOOD_ARCH.replace("rows: 8", "rows: 0"),
    "hugesize": GOOD_ARCH.replace("size_kib: 64", "size_kib: 1.0e+300"),
    "wrongtype": GOOD_ARCH.replace("rows: 8", "rows: eight"),
    "nan": GOOD_ARCH.replace("clock_mhz: 800", "clock_mhz: .nan"),
    "truncated": GOOD_ARCH[:GOOD_ARCH.index("global:") + 12],
    "empty": "",
}
F = "/dev/null/x"   # a regular file used as a directory: unwritable even for root


def _cli_cases():
    t = "{tmp}"
    c = [  # (argv, what the error line must name, output path that must not exist afterwards)
        (["validate", "--cases", "0"], "--cases", None),
        (["validate", "--cases", "-5"], "--cases", None),
        (["validate", "--formats", "int9"], "int9", None),
        (["validate", "--isa", "sse9"], "--isa", None),
        (["validate", "--minutes", "0"], "--minutes", None),
        (["validate", "--minutes", "nan"], "--minutes", None),
        (["validate", "--jobs", "0"], "--jobs", None),
        (["validate", "--cases", "2", "--json", F + ".json"], F + ".json", F + ".json"),
        (["validate", "--cases", "2", "--json", t + "/missing/v.json"], "missing", t + "/missing/v.json"),
        (["validate", "--cases", "2", "--json", t + "/afile/v.json"], "afile", t + "/afile/v.json"),
        (["validate", "--cases", "2", "--json", t], "directory", None),
        (["energy", "--arch", t + "/nosuch.yaml"], "nosuch.yaml", None),
        (["energy", "--arch", t + "/dup.yaml", "--json", t + "/e.json"], "duplicate key 'clock_mhz'", t + "/e.json"),
        (["energy", "--arch", t + "/unknown.yaml"], "buffers.global.colour", None),
        (["energy", "--arch", t + "/negsize.yaml"], "buffers.global.size_kib", None),
        (["energy", "--arch", t + "/zerorows.yaml"], "array.rows", None),
        (["energy", "--arch", t + "/hugesize.yaml"], "buffers.global.size_kib", None),
        (["energy", "--arch", t + "/wrongtype.yaml"], "array.rows", None),
        (["energy", "--arch", t + "/nan.yaml"], "clock_mhz", None),
        (["energy", "--arch", t + "/truncated.yaml"], "truncated.yaml", None),
        (["energy", "--arch", t + "/empty.yaml"], "top level", None),
        (["energy", "--format", "int17"], "int17", None),
        (["energy", "--batch", "0"], "--batch", None),
        (["energy", "--lowering", "sideways"], "--lowering", None),
        (["energy", "--model", "no-such-model"], "no-such-model", None),
        (["energy", "--format", "int8", "--json", F + ".json"], F + ".json", F + ".json"),
        (["energy", "--format", "int8", "--json", t + "/missing/e.json"], "missing", t + "/missing/e.json"),
        (["energy", "--format", "int8", "--json", t + "/ok.json", "--plot", F + ".png"], F + ".png", t + "/ok.json"),
        (["sweep", "--buffer", "4MiB:16KiB", "--out", t + "/s.db"], "--buffer", t + "/s.db"),
        (["sweep", "--buffer", "0KiB", "--out", t + "/s.db"], "--buffer", t + "/s.db"),
        (["sweep", "--buffer", "1e400KiB", "--out", t + "/s.db"], "--buffer", t + "/s.db"),
        (["sweep", "--array", "0x16", "--out", t + "/s.db"], "--array", t + "/s.db"),
        (["sweep", "--dram", "ddr9", "--out", t + "/s.db"], "--dram", t + "/s.db"),
        (["sweep", "--buffer", "64KiB", "--out", F + ".db"], F + ".db", F + ".db"),
        (["sweep", "--buffer", "64KiB", "--out", t], "--out", None),
        (["sweep", "--points", t + "/nosuch.csv", "--out", t + "/s.db"], "nosuch.csv", t + "/s.db"),
        (["sweep", "--tolerance", "nan", "--out", t + "/s.db"], "--tolerance", t + "/s.db"),
        (["generate", "--format", "int17", "--out", t + "/g.png"], "--format", t + "/g.png"),
        (["generate", "--n", "0", "--out", t + "/g.png"], "--n", t + "/g.png"),
        (["generate", "--out", F + ".png"], F + ".png", F + ".png"),
        (["generate", "--out", t + "/missing/g.png"], "missing", t + "/missing/g.png"),
        (["compare", "--recipes", "int8,zip9", "--json", t + "/c.json"], "zip9", t + "/c.json"),
        (["compare", "--images", "0"], "--images", None),
        (["compare", "--fid-images", "10"], "--fid-images", None),
        (["compare", "--recipes", "int8", "--json", F + ".json"], F + ".json", F + ".json"),
        (["vectors", "export", "--format", "int1", "--out", t + "/v"], "--format", t + "/v"),
        (["vectors", "export", "--batch", "0", "--out", t + "/v"], "--batch", t + "/v"),
        (["vectors", "export", "--out", F + "/v"], "/dev/null", F + "/v"),
        (["vectors", "check", "--manifest", t + "/nosuch.json", "--actual", t], "nosuch.json", None),
        (["vectors", "check", "--manifest", t + "/broken.json", "--actual", t], "broken.json", None),
        (["vectors", "check", "--manifest", t + "/dup.yaml", "--actual", t, "--max-report", "-1"], "--max-report",
         None),
        (["adc-sweep", "--adc-bits", "10:3"], "--adc-bits", None),
        (["adc-sweep", "--adc-bits", "0:20"], "--adc-bits", None),
        (["adc-sweep", "--adc-bits", "1:1000000000000"], "--adc-bits", None),
        (["adc-sweep", "--arch", "edge-npu", "--json", t + "/a.json"], "edge-npu", t + "/a.json"),
        (["adc-sweep", "--json", F + ".json"], F + ".json", F + ".json"),
        # library errors name the field; the command line puts the option in front of it (issue 13 item 3)
        (["energy", "--arch", "nope"], "error: --arch: unknown arch preset 'nope'", None),
        (["energy", "--arch", t + "/unknown.yaml"],
         "error: --arch: buffers.global.colour: unknown key; allowed: banks, double_buffered, size_kib, word_bits", None),
        (["compare", "--arch", "nope", "--recipes", "int8"], "error: --arch: unknown arch preset 'nope'", None),
        (["sweep", "--arch", "isaac-like", "--array", "8x8", "--out", t + "/s.db"],
         "error: --array: arch 'isaac-like' has no PE array", t + "/s.db"),
        (["sweep", "--arch", "isaac-like", "--dataflow", "os", "--out", t + "/s.db"],
         "error: --dataflow: arch 'isaac-like' has no PE array", t + "/s.db"),
        (["sweep", "--buffer", "512B", "--out", t + "/s.db"], "error: --buffer: 512B in total gives the ifmap", t + "/s.db"),
        (["sweep", "--export", "xml", "--out", t + "/afile"], "error: --export must be one of csv, json", None),
        (["sweep", "--export", "csv", "--out", t + "/nosuch.db"], "error: --out: " + t + "/nosuch.db does not exist",
         t + "/nosuch.csv"),
        (["sweep", "--export", "csv", "--out", t + "/afile"], "error: --out: " + t + "/afile is not an accelsim sweep store",
         t + "/afile.csv"),
        (["adc-sweep", "--adc-bits", "4,4"], "error: --adc-bits: a value is repeated", None),
        (["adc-sweep", "--images", "0"], "error: --images must be >= 1", None),
        (["adc-sweep", "--arch", "edge-npu"], "error: --arch: 'edge-npu' has no ReRAM crossbars", None),
    ]
    return c


@pytest.fixture
def workdir(tmp_path):
    for name, text in ARCH_FILES.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    (tmp_path / "afile").write_text("a regular file, not a directory\n")
    (tmp_path / "broken.json").write_text('{"schema": "accelsim-vectors/1", "layers": [')
    return tmp_path


@pytest.mark.parametrize("argv,names,out", _cli_cases(), ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_cli_bad_input(argv, names, out, workdir, capsys):
    fill = lambda s: s.replace("{tmp}", str(workdir))  # noqa: E731
    rc = main([fill(a) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"accelsim {argv[0]}: error: "), err
    assert fill(names) in lines[0], err
    if out:
        assert not os.path.exists(fill(out))
    leftovers = [p for p in os.listdir(workdir) if p.startswith(".accelsim-") or ".tmp-" in p]
    assert not leftovers


@pytest.mark.parametrize("argv,option", [(["validate", "--cases", "abc"], "--cases"),
                                         (["energy", "--batch", "1.5"], "--batch")])
def test_cli_argparse_errors_name_the_option(argv, option, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert option in err.strip().splitlines()[-1] and "Traceback" not in err


# ---- the YAML loader, directly -----------------------------------------------------------------------
@pytest.mark.parametrize("text,names", [
    ("? [a, b]\n: 1\n", "not a plain name"),                                  # unhashable key
    (GOOD_ARCH.replace("dram: lpddr4-3200", "dram: {preset: [1]}"), "dram.preset"),
    (GOOD_ARCH.replace("dataflow: os}", "dataflow: os, 7: 1, z: 2}"), "unknown key"),   # mixed key types
    (GOOD_ARCH.replace("rows: 8", "rows: true"), "array.rows"),
    (GOOD_ARCH.replace("clock_mhz: 800", "clock_mhz: .inf"), "clock_mhz"),
    (GOOD_ARCH.replace("global:", "shared:"), "buffers.shared"),
    (GOOD_ARCH + "array: {rows: 8, cols: 8, dataflow: os}\n", "duplicate key 'array'"),
    ("name: [unclosed\n", "not valid YAML at line"),
])
def test_yaml_loader_bad_input(text, names):
    with pytest.raises(ValueError) as exc:
        arch_from_dict(load_yaml(text, "t.yaml"), "t.yaml")
    assert names in str(exc.value) and "\n" not in str(exc.value)


def test_arch_file_not_utf8(tmp_path):
    p = tmp_path / "bin.yaml"
    p.write_bytes(GOOD_ARCH.encode() + b"\xff\xfe")
    with pytest.raises(ValueError, match="bin.yaml: not UTF-8"):
        load_arch(str(p))


# ---- kernels: ValueError naming the argument -------------------------------------------------------------
T = ConvSpec.make(stride=2, padding=1, transposed=True)
X = np.zeros((1, 2, 3, 3), np.int8)
W = np.zeros((2, 2, 3, 3), np.int8)
XM = np.zeros((1, 2, 3, 3), np.int16)
WM = np.zeros((2, 2, 3, 3), np.int16)
Q = dict(x_bits=8, x_signed=True, x_zero_point=0, w_bits=8, spec=T)


@pytest.mark.parametrize("call,names", [
    (lambda: kernels.conv_int(X, W, **{**Q, "x_zero_point": 1 << 40}), "x_zero_point"),
    (lambda: kernels.conv_int(X, W, **{**Q, "x_bits": 8.5}), "x_bits"),
    (lambda: kernels.conv_int(X, W, **{**Q, "w_bits": 1}), "w_bits"),
    (lambda: kernels.conv_int(X, W, **{**Q, "spec": ConvSpec(stride=(0, 1), transposed=True)}), "stride"),
    (lambda: kernels.conv_int(X, W, **{**Q, "spec": ConvSpec(groups=1 << 40, transposed=True)}), "groups"),
    (lambda: kernels.conv_int(np.zeros((1, 2, 0, 3), np.int8), W, **Q), "dimension"),
    (lambda: kernels.conv_flex(XM, 16, WM, 0, spec=T), "x_exp"),
    (lambda: kernels.conv_flex(XM, 0, WM, -17, spec=T), "w_exp"),
    (lambda: kernels.conv_flex(np.full((1, 2, 3, 3), 32767, np.int16), 15, np.full((2, 2, 3, 3), 32767, np.int16),
                               15, spec=T), "output overflow"),
    (lambda: kernels.requantize_integer(np.zeros(4, np.int32), [1 << 30], [0], zero_point=0, out_bits=8,
                                        out_signed=True, act=np.full(256, 2 ** 32 + 5)), "lookup table"),
    (lambda: kernels.requantize_integer(np.zeros(4, np.int32), [1 << 30], [0], zero_point=0, out_bits=17,
                                        out_signed=True), "bits"),
])
def test_kernels_bad_input(call, names):
    with pytest.raises(ValueError, match=names):
        call()


# ---- quantizers: NaN, inf, ranges ------------------------------------------------------------------------
NAN_X = np.array([0.5, np.nan, 1.0])
INF_X = np.array([0.5, np.inf])


@pytest.mark.parametrize("call,names", [
    (lambda: fixed.quantize(NAN_X, 0.1, 0, fixed.IntFormat(8)), "NaN or inf"),
    (lambda: fixed.quantize(INF_X, 0.1, 0, fixed.IntFormat(8)), "NaN or inf"),
    (lambda: fixed.quantize([1.0], 0.0, 0, fixed.IntFormat(8)), "scale"),
    (lambda: fixed.quantize([1.0], math.nan, 0, fixed.IntFormat(8)), "scale"),
    (lambda: fixed.quantize([1.0], 0.1, 300, fixed.IntFormat(8)), "zero_point"),
    (lambda: fixed.IntFormat(17), "bits"),
    (lambda: fixed.IntFormat(0), "bits"),
    (lambda: fixed.quantize_bias(NAN_X, 0.1, 0.1), "bias"),
    (lambda: fixed.choose_activation_qparams(0.0, math.inf, fixed.IntFormat(8)), "finite"),
    (lambda: fixed.quantize_weights(np.full((2, 2, 3, 3), np.nan), 8, T), "weights"),
    (lambda: ternary.ternarize(np.full((2, 2, 3, 3), np.inf), T), "NaN or inf"),
    (lambda: flexpoint.to_flex(NAN_X), "NaN or inf"),
    (lambda: flexpoint.to_flex(np.array([1e30])), "exponent > 15"),
    (lambda: flexpoint.to_flex(np.array([1.0]), exponent=16), "exponent"),
    (lambda: flexpoint.check_exponent(-17, "x_exp"), "x_exp"),
    (lambda: flexpoint.Autoflex().update(math.nan), "max_abs"),
    (lambda: requant.quantize_multiplier(math.nan), "multiplier"),
    (lambda: requant.quantize_multiplier(-1.0), "multiplier"),
    (lambda: requant.quantize_multiplier(2.0 ** 40), "out of range"),
])
def test_quantizers_bad_input(call, names):
    with pytest.raises(ValueError, match=names):
        call()


@pytest.fixture(scope="module")
def digits_graph():
    from accelsim.graph.shipped import shipped_graph
    return shipped_graph("dcgan-digits")


@pytest.mark.parametrize("fmt", ["fp32", "w8a8", "w1a1", "flex16+5"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_runtime_rejects_nonfinite_inputs(fmt, bad, digits_graph):
    from accelsim.errors import ModelError
    from accelsim.runtime import quantize
    g = quantize(digits_graph, fmt, np.random.default_rng(0).standard_normal((4, 64, 1, 1)))
    z = np.zeros((2, 64, 1, 1))
    z[1, 3] = bad
    with pytest.raises(ModelError, match="NaN or inf|finite"):
        g.run(z)
    with pytest.raises(ModelError, match="input 'x' contains NaN or inf|finite"):
        g.run(z, impl="reference")         # the golden model's quantize refuses it as the kernel does
    with pytest.raises(ModelError, match="NaN or inf|finite"):
        quantize(digits_graph, fmt, z)     # calibration inputs too


def test_runtime_rejects_nonfinite_weights(digits_graph):
    from dataclasses import replace

    from accelsim.errors import AccelsimError
    from accelsim.runtime import quantize
    node = digits_graph.mac_nodes[1]
    w = node.params["weight"].copy()
    w[0, 0, 0, 0] = np.nan
    g = digits_graph.with_nodes([replace(n, params=dict(n.params, weight=w)) if n is node else n
                                 for n in digits_graph.nodes])
    with pytest.raises(AccelsimError, match="NaN or inf|finite"):
        quantize(g, "w8a8", np.zeros((2, 64, 1, 1)))


def test_outputs_get_the_default_file_mode(tmp_path):
    """Outputs are written to a temporary file and renamed: they must still get 0666 minus the umask
    (mkstemp's 0600 made them unreadable to the rest of a team)."""
    out = tmp_path / "v.json"
    assert main(["validate", "--cases", "1", "--formats", "int8", "--json", str(out)]) == 0
    mask = os.umask(0)
    os.umask(mask)
    assert (out.stat().st_mode & 0o777) == 0o666 & ~mask


# ---- outputs never destroy inputs or special files; bounds; no traceback on a closed pipe ------------
def test_outputs_never_replace_inputs_links_or_devices(tmp_path, capsys):
    import os
    from accelsim.cli import main
    arch = tmp_path / "my.yaml"
    from accelsim.arch.loader import _presets_dir
    with open(os.path.join(_presets_dir(), "edge-npu.yaml")) as f:
        arch.write_text(f.read())
    before = arch.read_text()
    link = tmp_path / "link.json"
    link.symlink_to(arch)
    cases = [
        (["energy", "--arch", str(arch), "--json", str(arch)], "is the same file as --arch (input)"),
        (["energy", "--json", str(tmp_path / "a.json"), "--plot", str(tmp_path / "a.json")], "give distinct outputs"),
        (["energy", "--json", os.devnull], "not a regular file"),
        (["energy", "--json", str(link)], "symbolic link"),
        (["sweep", "--out", str(tmp_path / "s.db"), "--json", str(tmp_path / "s.db"), "--no-progress"],
         "is the same file as --out"),
        (["energy", "--batch", "100000"], "--batch must be in [1, 4096]"),
        (["validate", "--jobs", "100000"], "--jobs must be in [1, "),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, (argv, err)
    assert arch.read_text() == before and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "my.yaml"]


def test_closed_pipe_is_quiet():
    import subprocess
    import sys
    code = "import sys; from accelsim.cli import main; sys.exit(main(['models']))"
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as p:
        p.stdout.close()          # the reader is gone before the first line
        err = p.stderr.read().decode()
        p.wait()
    assert "Traceback" not in err and p.returncode in (0, 141), err


def test_yaml_bounds_and_strict_api_types(tmp_path, capsys):
    import accelsim
    from accelsim import kernels
    from accelsim.cli import main
    from accelsim.errors import AccelsimError
    from accelsim.formats.conv import ConvSpec
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b]\n")
    deep = tmp_path / "deep.yaml"
    deep.write_text("a:" + " [" * 200 + "]" * 200 + "\n")
    big = tmp_path / "big.yaml"
    big.write_text("a" * (2 << 20))
    for path, message in ((bomb, "aliases (*name) are not allowed"), (deep, "nested deeper than 32 levels"),
                          (big, "larger than 1024 KiB"), ("/dev/zero", "is not a regular file")):
        assert main(["energy", "--arch", str(path), "--no-layers"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    for kwargs, message in ((dict(arch=None), "arch must be an ArchSpec"), (dict(fmt=["int8"]), "fmt must be"),
                            (dict(compression="prune50"), "compression must be"), (dict(batch=True), "batch must be"),
                            (dict(arch="isaac-like", objective="bogus"), "objective must be one of"),
                            (dict(arch="edge-npu", objective="bogus"), "objective must be one of")):
        with pytest.raises(AccelsimError, match=message):
            accelsim.simulate("dcgan-digits", **kwargs)
    for kwargs, message in ((dict(groups=1.9), "groups must be an integer"), (dict(groups=True), "groups"),
                            (dict(transposed="no"), "transposed must be True or False"),
                            (dict(stride=True), "stride must be an int")):
        with pytest.raises(ValueError, match=message):
            ConvSpec.make(**kwargs)
    with pytest.raises(ValueError, match="number of threads"):
        kernels.set_num_threads("4")


def test_more_bad_inputs_are_one_line(tmp_path, capsys):
    from accelsim.cli import main
    dup = tmp_path / "dup.csv"
    dup.write_text("format,buffer,buffer\nint8,32KiB,64KiB\n")
    extra = tmp_path / "extra.csv"
    extra.write_text("format,buffer\nint8,32KiB,9\n")
    cases = [
        (["validate", "--seed", "-1"], "--seed must be in [0, 2^63)"),
        (["vectors", "check", "--manifest", "/dev/zero", "--actual", str(tmp_path)], "not a regular file"),
        (["sweep", "--points", str(dup), "--out", str(tmp_path / "a.db"), "--no-progress"], "column 'buffer' is repeated"),
        (["sweep", "--points", str(extra), "--out", str(tmp_path / "b.db"), "--no-progress"],
         "line 2: more values than columns"),
        (["generate", "--format", "w4a8,first=w8a8,first=w2a8", "--out", str(tmp_path / "g.png")], "given twice"),
        (["energy", "--format", "int\u0668"], "unknown format"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, (argv, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dup.csv", "extra.csv"]
