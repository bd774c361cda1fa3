"""The bad-input corpus (issue 13 item 7): a few hundred malformed command lines over every class the
issue lists (bad numbers, Unicode digits, unknown names, broken YAML/CSV/JSON/manifest files, special
and missing files, outputs onto inputs, links and devices, unbounded sizes) and the ones found while
building it. Each runs in-process through ``accelsim.cli.main`` and must

* exit with status 2,
* print exactly one line, ``accelsim[ CMD]: error: ...``, naming the field, option or file at fault,
* print no traceback and nothing on stdout,
* leave every input unchanged (bytes, mode, links) and write no output, not even a partial or
  temporary one.

The hand-written cases of tests/test_bad_inputs.py check specific messages; this corpus checks the
rules above over the whole matrix. Cases fail before any simulation, so the corpus runs in seconds.
"""
from __future__ import annotations

import hashlib
import os

import pytest

from accelsim.cli import main

GOOD_ARCH = """name: tiny
clock_mhz: 800
tech_node_nm: 22
array: {rows: 8, cols: 8, dataflow: os}
buffers:
  global: {size_kib: 64, word_bits: 64, banks: 1}
dram: lpddr4-3200
"""

# ---- input files: name -> bytes ------------------------------------------------------------------
def _arch(old: str, new: str) -> bytes:
    assert old in GOOD_ARCH, old
    return GOOD_ARCH.replace(old, new, 1).encode()


ARCH_FILES: dict[str, tuple[bytes, str]] = {   # file -> (content, what the error must name)
    "dup.yaml": ((GOOD_ARCH + "clock_mhz: 900\n").encode(), "clock_mhz"),
    "dup_nested.yaml": (_arch("banks: 1}", "banks: 1, banks: 2}"), "banks"),
    "unknown_top.yaml": ((GOOD_ARCH + "colour: red\n").encode(), "colour"),
    "unknown_array.yaml": (_arch("dataflow: os}", "dataflow: os, depth: 3}"), "array.depth"),
    "unknown_buffer.yaml": (_arch("banks: 1}", "banks: 1, colour: red}"), "buffers.global.colour"),
    "rows_zero.yaml": (_arch("rows: 8", "rows: 0"), "array.rows"),
    "rows_neg.yaml": (_arch("rows: 8", "rows: -8"), "array.rows"),
    "rows_float.yaml": (_arch("rows: 8", "rows: 8.5"), "array.rows"),
    "rows_bool.yaml": (_arch("rows: 8", "rows: true"), "array.rows"),
    "rows_str.yaml": (_arch("rows: 8", "rows: eight"), "array.rows"),
    "rows_list.yaml": (_arch("rows: 8", "rows: [8]"), "array.rows"),
    "rows_null.yaml": (_arch("rows: 8", "rows: null"), "array.rows"),
    "rows_huge.yaml": (_arch("rows: 8", "rows: 100000000000000000000"), "array.rows"),
    "cols_zero.yaml": (_arch("cols: 8", "cols: 0"), "array.cols"),
    "cols_str.yaml": (_arch("cols: 8", "cols: '8'"), "array.cols"),
    "dataflow_bad.yaml": (_arch("dataflow: os", "dataflow: xy"), "array.dataflow"),
    "dataflow_num.yaml": (_arch("dataflow: os", "dataflow: 3"), "array.dataflow"),
    "clock_nan.yaml": (_arch("clock_mhz: 800", "clock_mhz: .nan"), "clock_mhz"),
    "clock_inf.yaml": (_arch("clock_mhz: 800", "clock_mhz: .inf"), "clock_mhz"),
    "clock_neg.yaml": (_arch("clock_mhz: 800", "clock_mhz: -800"), "clock_mhz"),
    "clock_zero.yaml": (_arch("clock_mhz: 800", "clock_mhz: 0"), "clock_mhz"),
    "clock_bool.yaml": (_arch("clock_mhz: 800", "clock_mhz: false"), "clock_mhz"),
    "clock_str.yaml": (_arch("clock_mhz: 800", "clock_mhz: fast"), "clock_mhz"),
    "tech_zero.yaml": (_arch("tech_node_nm: 22", "tech_node_nm: 0"), "tech_node_nm"),
    "tech_str.yaml": (_arch("tech_node_nm: 22", "tech_node_nm: small"), "tech_node_nm"),
    "size_neg.yaml": (_arch("size_kib: 64", "size_kib: -64"), "buffers.global.size_kib"),
    "size_zero.yaml": (_arch("size_kib: 64", "size_kib: 0"), "buffers.global.size_kib"),
    "size_huge.yaml": (_arch("size_kib: 64", "size_kib: 1.0e+300"), "buffers.global.size_kib"),
    "size_nan.yaml": (_arch("size_kib: 64", "size_kib: .nan"), "buffers.global.size_kib"),
    "size_bool.yaml": (_arch("size_kib: 64", "size_kib: yes"), "buffers.global.size_kib"),
    "size_str.yaml": (_arch("size_kib: 64", "size_kib: big"), "buffers.global.size_kib"),
    "word_zero.yaml": (_arch("word_bits: 64", "word_bits: 0"), "buffers.global.word_bits"),
    "word_str.yaml": (_arch("word_bits: 64", "word_bits: wide"), "buffers.global.word_bits"),
    "banks_zero.yaml": (_arch("banks: 1", "banks: 0"), "buffers.global.banks"),
    "banks_neg.yaml": (_arch("banks: 1", "banks: -2"), "buffers.global.banks"),
    "dram_bad.yaml": (_arch("dram: lpddr4-3200", "dram: ddr9"), "dram"),
    "dram_num.yaml": (_arch("dram: lpddr4-3200", "dram: 42"), "dram"),
    "dram_list.yaml": (_arch("dram: lpddr4-3200", "dram: {preset: [1]}"), "dram.preset"),
    "array_list.yaml": (_arch("array: {rows: 8, cols: 8, dataflow: os}", "array: [8, 8]"), "array"),
    "array_str.yaml": (_arch("array: {rows: 8, cols: 8, dataflow: os}", "array: big"), "array"),
    "buffers_list.yaml": (GOOD_ARCH.replace("buffers:\n  global: {size_kib: 64, word_bits: 64, banks: 1}",
                                            "buffers: [1, 2]").encode(), "buffers"),
    "buffer_renamed.yaml": (_arch("global:", "shared:"), "buffers.shared"),
    "name_list.yaml": (_arch("name: tiny", "name: [tiny]"), "name"),
    "key_list.yaml": (b"? [a, b]\n: 1\n" + GOOD_ARCH.encode(), "not a plain name"),
    "key_int.yaml": (_arch("dataflow: os}", "dataflow: os, 7: 1}"), "array"),
    "top_list.yaml": (b"- 1\n- 2\n", "top level"),
    "top_scalar.yaml": (b"42\n", "top level"),
    "top_str.yaml": (b"just a string\n", "top level"),
    "empty.yaml": (b"", "top level"),
    "comment_only.yaml": (b"# nothing here\n", "top level"),
    "truncated.yaml": (GOOD_ARCH[:GOOD_ARCH.index("global:") + 12].encode(), "truncated.yaml"),
    "unclosed.yaml": (b"name: [unclosed\n", "unclosed.yaml"),
    "tabs.yaml": (b"name: tiny\n\tclock_mhz: 800\n", "tabs.yaml"),
    "alias.yaml": (b"a: &a [1,1,1]\nb: [*a,*a]\n", "aliases"),
    "bomb.yaml": (b"a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b]\n",
                  "aliases"),
    "deep.yaml": (("a:" + " [" * 200 + "]" * 200 + "\n").encode(), "nested deeper"),
    "big.yaml": (b"a" * (2 << 20), "larger than"),
    "latin1.yaml": (GOOD_ARCH.encode() + b"# caf\xe9\n", "not UTF-8"),
    "binary.yaml": (b"\x00\x01\x02\xff\xfe", "binary.yaml"),
    "nul.yaml": (GOOD_ARCH.encode() + b"\x00", "nul.yaml"),
    "python_tag.yaml": (b"!!python/object/apply:os.system ['true']\n", "python_tag.yaml"),
}
POINTS_FILES: dict[str, tuple[bytes, str]] = {
    "dup_col.csv": (b"format,buffer,buffer\nint8,32KiB,64KiB\n", "buffer"),
    "extra_vals.csv": (b"format,buffer\nint8,32KiB,9\n", "line 2"),
    "unknown_col.csv": (b"format,colour\nint8,red\n", "colour"),
    "bad_format.csv": (b"format,buffer\nint99,32KiB\n", "int99"),
    "unicode_format.csv": ("format,buffer\nint\u0668,32KiB\n".encode(), "format"),
    "bad_buffer.csv": (b"format,buffer\nint8,lots\n", "buffer"),
    "zero_buffer.csv": (b"format,buffer\nint8,0KiB\n", "buffer"),
    "bool_batch.csv": (b"format,buffer,batch\nint8,32KiB,true\n", "batch"),
    "float_batch.csv": (b"format,buffer,batch\nint8,32KiB,1.5\n", "batch"),
    "zero_batch.csv": (b"format,buffer,batch\nint8,32KiB,0\n", "batch"),
    "huge_batch.csv": (b"format,buffer,batch\nint8,32KiB,99999999\n", "batch"),
    "unicode_batch.csv": ("format,buffer,batch\nint8,32KiB,\u0668\n".encode(), "batch"),
    "bad_array.csv": (b"format,buffer,array\nint8,32KiB,0x8\n", "array"),
    "bad_dram.csv": (b"format,buffer,dram\nint8,32KiB,ddr9\n", "dram"),
    "bad_dataflow.csv": (b"format,buffer,dataflow\nint8,32KiB,xy\n", "dataflow"),
    "empty.csv": (b"", "empty.csv"),
    "header_only.csv": (b"format,buffer\n", "header_only.csv"),
    "latin1.csv": (b"format,buffer\nint8,32KiB\n# caf\xe9\n", "not UTF-8"),
    "not_list.json": (b'{"format": "int8", "buffer": "32KiB"} 7', "not_list.json"),
    "broken.json": (b'[{"format": "int8"', "broken.json"),
    "unknown_key.json": (b'[{"format": "int8", "buffer": "32KiB", "colour": "red"}]', "colour"),
    "bool_batch.json": (b'[{"format": "int8", "buffer": "32KiB", "batch": true}]', "batch"),
    "str_list.json": (b'["int8"]', "str_list.json"),
    "empty_list.json": (b"[]", "empty_list.json"),
    "nested.json": (b'[{"format": ["int8"], "buffer": "32KiB"}]', "format"),
}
MANIFEST_FILES: dict[str, tuple[bytes, str]] = {
    "broken.json": (b'{"schema": "accelsim-vectors/1", "layers": [', "broken.json"),
    "empty.json": (b"", "empty.json"),
    "list.json": (b"[1, 2]", "list.json"),
    "schema.json": (b'{"schema": "something-else/9", "layers": []}', "schema"),
    "noschema.json": (b'{"layers": []}', "schema"),
    "latin1.json": (b'{"schema": "caf\xe9"}', "latin1.json"),
    "nul.json": (b"\x00\x00\x00", "nul.json"),
}
MODEL_FILES: dict[str, tuple[bytes, str]] = {
    "syntax.py": (b"def broken(:\n", "syntax.py"),
    "empty.py": (b"", "empty.py"),
    "garbage.onnx": (b"this is not a protobuf\x00\xff", "garbage.onnx"),
    "empty.onnx": (b"", "empty.onnx"),
}


def _write_inputs(root):
    for sub, files in (("arch", ARCH_FILES), ("points", POINTS_FILES), ("manifest", MANIFEST_FILES),
                       ("model", MODEL_FILES)):
        d = root / sub
        d.mkdir()
        for name, (data, _) in files.items():
            (d / name).write_bytes(data)
    (root / "good.yaml").write_text(GOOD_ARCH)
    (root / "afile").write_text("a regular file, not a directory\n")
    (root / "adir").mkdir()
    (root / "adir" / "keep.txt").write_text("keep\n")
    (root / "link.json").symlink_to(root / "good.yaml")
    (root / "dangling.json").symlink_to(root / "nowhere" / "x.json")


def _snapshot(root) -> dict:
    """Every path under root: (kind, mode, content hash or link target)."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if os.path.islink(p):
                snap[p] = ("link", os.readlink(p))
            elif os.path.isdir(p):
                snap[p] = ("dir", st.st_mode)
            else:
                with open(p, "rb") as f:
                    snap[p] = ("file", st.st_mode, hashlib.sha256(f.read()).hexdigest())
    return snap


# ---- the cases: (argv, text the error line must contain) ---------------------------------------------
INT_OPTIONS = [  # (command prefix, option, extra arguments the command needs)
    (["validate"], "--cases", []), (["validate"], "--seed", []),
    (["energy"], "--batch", []),
    (["sweep"], "--batch", ["--out", "{t}/s.db"]), (["sweep"], "--jobs", ["--out", "{t}/s.db"]),
    (["generate"], "--n", ["--out", "{t}/g.png"]), (["generate"], "--seed", ["--out", "{t}/g.png"]),
    (["generate"], "--calib", ["--out", "{t}/g.png"]), (["generate"], "--scale", ["--out", "{t}/g.png"]),
    (["compare"], "--calib", []), (["compare"], "--images", []), (["compare"], "--fid-images", []),
    (["adc-sweep"], "--images", []), (["adc-sweep"], "--seed", []),
    (["vectors", "export"], "--batch", ["--out", "{t}/v"]), (["vectors", "export"], "--seed", ["--out", "{t}/v"]),
    (["vectors", "export"], "--calib", ["--out", "{t}/v"]),
    (["vectors", "check"], "--max-report", ["--manifest", "{t}/manifest/broken.json", "--actual", "{t}/afile"]),
]
# not integers: letters, a fraction, empty, Unicode digits (Arabic-Indic, fullwidth, superscript),
# hex, exponent, underscores, padding
BAD_INTS = ["abc", "1.5", "", "\u0668", "\uff11\uff12", "\u00b2", "0x10", "1e3", "1_000", " 7"]
FLOAT_OPTIONS = [(["validate"], "--minutes", []), (["sweep"], "--tolerance", ["--out", "{t}/s.db"])]
BAD_FLOATS = ["abc", "", "\u0661.\u0665", "1_0", " 2", "1,5", "0x1p3"]
OUT_OF_RANGE = [  # values that parse but are out of range
    (["validate", "--cases", "0"], "--cases"), (["validate", "--cases", "-5"], "--cases"),
    (["validate", "--cases", "99999999999999999999999"], "--cases"),
    (["validate", "--seed", "-1"], "--seed"), (["validate", "--seed", str(1 << 63)], "--seed"),
    (["validate", "--jobs", "0"], "--jobs"), (["validate", "--jobs", "-3"], "--jobs"),
    (["validate", "--jobs", "100000"], "--jobs"), (["validate", "--jobs", "many"], "--jobs"),
    (["validate", "--minutes", "0"], "--minutes"), (["validate", "--minutes", "-1"], "--minutes"),
    (["validate", "--minutes", "nan"], "--minutes"), (["validate", "--minutes", "inf"], "--minutes"),
    (["energy", "--batch", "0"], "--batch"), (["energy", "--batch", "-1"], "--batch"),
    (["energy", "--batch", "100000"], "--batch"), (["energy", "--batch", str(1 << 62)], "--batch"),
    (["sweep", "--batch", "0", "--out", "{t}/s.db"], "--batch"),
    (["sweep", "--batch", "100000", "--out", "{t}/s.db"], "--batch"),
    (["sweep", "--jobs", "0", "--out", "{t}/s.db"], "--jobs"),
    (["sweep", "--jobs", "100000", "--out", "{t}/s.db"], "--jobs"),
    (["sweep", "--tolerance", "nan", "--out", "{t}/s.db"], "--tolerance"),
    (["sweep", "--tolerance", "-0.5", "--out", "{t}/s.db"], "--tolerance"),
    (["sweep", "--tolerance", "inf", "--out", "{t}/s.db"], "--tolerance"),
    (["generate", "--n", "0", "--out", "{t}/g.png"], "--n"), (["generate", "--n", "-4", "--out", "{t}/g.png"], "--n"),
    (["generate", "--n", "100000000", "--out", "{t}/g.png"], "--n"),
    (["generate", "--calib", "0", "--out", "{t}/g.png"], "--calib"),
    (["generate", "--calib", "100000000", "--out", "{t}/g.png"], "--calib"),
    (["generate", "--seed", "-1", "--out", "{t}/g.png"], "--seed"),
    (["generate", "--scale", "0", "--out", "{t}/g.png"], "--scale"),
    (["generate", "--scale", "100000", "--out", "{t}/g.png"], "--scale"),
    (["compare", "--images", "0"], "--images"), (["compare", "--images", "-1"], "--images"),
    (["compare", "--fid-images", "10"], "--fid-images"), (["compare", "--fid-images", "-1"], "--fid-images"),
    (["compare", "--calib", "0"], "--calib"), (["compare", "--calib", "100000000"], "--calib"),
    (["adc-sweep", "--images", "0"], "--images"), (["adc-sweep", "--seed", "-1"], "--seed"),
    (["adc-sweep", "--adc-bits", "10:3"], "--adc-bits"), (["adc-sweep", "--adc-bits", "0:20"], "--adc-bits"),
    (["adc-sweep", "--adc-bits", "1:1000000000000"], "--adc-bits"), (["adc-sweep", "--adc-bits", "4,4"], "--adc-bits"),
    (["adc-sweep", "--adc-bits", "a:b"], "--adc-bits"), (["adc-sweep", "--adc-bits", ""], "--adc-bits"),
    (["adc-sweep", "--adc-bits", "\u0663:\u0668"], "--adc-bits"),
    (["vectors", "export", "--batch", "0", "--out", "{t}/v"], "--batch"),
    (["vectors", "export", "--batch", "100000", "--out", "{t}/v"], "--batch"),
    (["vectors", "export", "--calib", "0", "--out", "{t}/v"], "--calib"),
    (["vectors", "export", "--seed", "-1", "--out", "{t}/v"], "--seed"),
    (["vectors", "check", "--manifest", "{t}/manifest/broken.json", "--actual", "{t}/afile", "--max-report", "-1"],
     "--max-report"),
]
NAME_OPTIONS = [  # (argv prefix, option, bad values): names outside their vocabulary
    (["energy"], "--format", ["int17", "int1", "int0", "int\u0668", "INT 8", "w8a8,", ",", "", "fp64", "w9a0",
                              "flex16+99"]),
    (["sweep", "--out", "{t}/s.db"], "--format", ["int17", "int\u0668", "fp64", ","]),
    (["generate", "--out", "{t}/g.png"], "--format", ["int17", "int\u0668", "fp64", "w8a8,first=zz"]),
    (["validate"], "--formats", ["int9", "int\u0668", ",", "binary,,"]),
    (["adc-sweep"], "--format", ["int17", "fp64", "int\u0668"]),
    (["vectors", "export", "--out", "{t}/v"], "--format", ["int1", "int17", "fp64"]),
    (["energy"], "--lowering", ["sideways", "", "phase,phase2"]),
    (["sweep", "--out", "{t}/s.db"], "--lowering", ["sideways", ","]),
    (["compare"], "--lowering", ["sideways"]),
    (["adc-sweep"], "--lowering", ["sideways"]),
    (["energy"], "--objective", ["bogus", ""]),
    (["sweep", "--out", "{t}/s.db"], "--objective", ["bogus"]),
    (["validate"], "--isa", ["sse9", "avx1024", ""]),
    (["validate"], "--lowerings", ["gather", "sideways"]),
    (["generate", "--out", "{t}/g.png"], "--impl", ["rust"]),
    (["compare"], "--impl", ["rust"]),
    (["compare"], "--recipes", ["int8,zip9", "zip9", ""]),
    (["sweep", "--out", "{t}/s.db"], "--buffer", ["4MiB:16KiB", "0KiB", "1e400KiB", "lots", "-4KiB", "64XB"]),
    (["sweep", "--out", "{t}/s.db"], "--array", ["0x16", "8x", "axb", "8x8x8", "-8x8"]),
    (["sweep", "--out", "{t}/s.db"], "--dram", ["ddr9", ","]),
    (["sweep", "--out", "{t}/s.db"], "--dataflow", ["xy", ","]),
    (["sweep", "--out", "{t}/s.db"], "--executor", ["thread"]),
    (["sweep", "--out", "{t}/s.db"], "--export", ["xml"]),
    (["energy"], "--model", ["no-such-model", "{t}/nosuch.py:Net", "{t}/nosuch.onnx"]),
    (["energy"], "--arch", ["nope", "{t}/nosuch.yaml", "{t}/adir", "/dev/zero", "{t}/dangling.json"]),
    (["compare"], "--arch", ["nope"]),
    (["adc-sweep"], "--arch", ["edge-npu", "nope"]),
    (["generate", "--out", "{t}/g.png"], "--model", ["no-such-model", "{t}/nosuch.py:Net"]),
]
OUTPUTS = [  # (argv, the output it names) for every command that writes
    (["validate", "--cases", "1", "--formats", "int8", "--json"], "validate"),
    (["energy", "--format", "int8", "--json"], "energy"),
    (["energy", "--format", "int8", "--plot"], "energy"),
    (["adc-sweep", "--adc-bits", "4:5", "--images", "1", "--json"], "adc"),
    (["compare", "--recipes", "int8", "--images", "1", "--fid-images", "0", "--json"], "compare"),
    (["generate", "--n", "1", "--out"], "generate"),
]
BAD_OUT_PATHS = [  # (path, what the error must name)
    ("/dev/null/x.json", "/dev/null"), ("{t}/missing/o.json", "missing"), ("{t}/afile/o.json", "afile"),
    ("{t}/adir", "adir"), ("{t}/link.json", "link.json"), ("/dev/null", "/dev/null"),
    ("{t}/dangling.json", "dangling.json"), ("{t}/arch/dup.yaml/o.json", "dup.yaml"), ("", "--"),
]


def _cases():
    c = []
    for prefix, opt, extra in INT_OPTIONS:
        for v in BAD_INTS:
            c.append((prefix + [opt, v] + extra, opt))
    for prefix, opt, extra in FLOAT_OPTIONS:
        for v in BAD_FLOATS:
            c.append((prefix + [opt, v] + extra, opt))
    c += OUT_OF_RANGE
    for prefix, opt, values in NAME_OPTIONS:
        for v in values:
            c.append((prefix + [opt, v], opt))
    for name, (_, what) in ARCH_FILES.items():
        c.append((["energy", "--arch", "{t}/arch/" + name, "--json", "{t}/e.json"], what))
        c.append((["sweep", "--arch", "{t}/arch/" + name, "--out", "{t}/s.db"], what))
    for name, (_, what) in POINTS_FILES.items():
        c.append((["sweep", "--points", "{t}/points/" + name, "--out", "{t}/s.db", "--no-progress"], what))
    for name, (_, what) in MANIFEST_FILES.items():
        c.append((["vectors", "check", "--manifest", "{t}/manifest/" + name, "--actual", "{t}/afile"], what))
    for name, (_, what) in MODEL_FILES.items():
        ref = "{t}/model/" + name + (":Net" if name.endswith(".py") else "")
        c.append((["energy", "--model", ref], name))
    for argv, _ in OUTPUTS:
        for path, what in BAD_OUT_PATHS:
            c.append((argv + [path], what))
    # outputs onto inputs or onto each other (same inode), and --plot without an image extension
    c += [
        (["energy", "--arch", "{t}/good.yaml", "--json", "{t}/good.yaml"], "good.yaml"),
        (["energy", "--arch", "{t}/good.yaml", "--plot", "{t}/good.yaml"], "good.yaml"),
        (["energy", "--json", "{t}/a.json", "--plot", "{t}/a.json"], "a.json"),
        (["energy", "--plot", "{t}/noext"], "--plot"), (["energy", "--plot", "{t}/p.txt"], "--plot"),
        (["sweep", "--out", "{t}/s.db", "--json", "{t}/s.db"], "s.db"),
        (["sweep", "--out", "{t}/s.db", "--plot", "{t}/s.db"], "s.db"),
        (["sweep", "--points", "{t}/points/dup_col.csv", "--out", "{t}/points/dup_col.csv"], "dup_col.csv"),
        (["sweep", "--out", "{t}/s.db", "--plot", "{t}/noext"], "--plot"),
        (["compare", "--recipes", "int8", "--json", "{t}/c.json", "--plot", "{t}/c.json"], "c.json"),
        (["adc-sweep", "--json", "{t}/a.json", "--plot", "{t}/a.json"], "a.json"),
        (["adc-sweep", "--plot", "{t}/noext"], "--plot"),
        (["vectors", "check", "--manifest", "{t}/manifest/broken.json", "--actual", "{t}/afile",
          "--json", "{t}/manifest/broken.json"], "broken.json"),
        (["vectors", "export", "--out", "{t}/afile"], "afile"),
        (["vectors", "export", "--out", "{t}/adir"], "adir"),
        (["vectors", "export", "--out", "/dev/null/v"], "/dev/null"),
        (["vectors", "check", "--manifest", "/dev/zero", "--actual", "{t}/afile"], "/dev/zero"),
        (["vectors", "check", "--manifest", "{t}/nosuch.json", "--actual", "{t}/afile"], "nosuch.json"),
        (["vectors", "check", "--manifest", "{t}/adir", "--actual", "{t}/afile"], "adir"),
        (["sweep", "--export", "csv", "--out", "{t}/nosuch.db"], "nosuch.db"),
        (["sweep", "--export", "csv", "--out", "{t}/afile"], "afile"),
        (["sweep", "--points", "/dev/zero", "--out", "{t}/s.db"], "/dev/zero"),
        (["sweep", "--points", "{t}/adir", "--out", "{t}/s.db"], "adir"),
        (["sweep", "--points", "{t}/nosuch.csv", "--out", "{t}/s.db"], "nosuch.csv"),
        (["sweep", "--points", "{t}/points/dup_col.csv", "--buffer", "64KiB", "--out", "{t}/s.db"], "--points"),
        (["sweep", "--executor", "dask", "--jobs", "1", "--scheduler", "nonsense::://", "--out", "{t}/s.db"],
         "--scheduler"),
    ]
    # unknown options and commands (argparse, one line)
    c += [(["bogus"], "bogus"), (["validate", "--bogus"], "--bogus"), (["energy", "--batch"], "--batch"),
          (["vectors"], "vectors"), (["vectors", "bogus"], "bogus"), (["generate"], "--out")]
    return c


CASES = _cases()


def _id(case):
    return " ".join(case[0])[:90]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    _write_inputs(root)
    return root


@pytest.mark.parametrize("argv,names", CASES, ids=[_id(c) for c in CASES])
def test_bad_input(argv, names, inputs, capsys):
    t = str(inputs)
    fill = lambda s: s.replace("{t}", t)  # noqa: E731
    before = _snapshot(inputs)
    try:
        rc = main([fill(a) for a in argv])
    except SystemExit as exc:   # argparse
        rc = exc.code
    out, err = capsys.readouterr()
    assert rc == 2, (rc, err)
    assert "Traceback" not in err and out == "", (out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    assert lines[0].startswith("accelsim") and ": error: " in lines[0], err
    assert fill(names) in lines[0], err
    assert _snapshot(inputs) == before, "an input changed or an output (or a temporary file) was written"


def test_corpus_size():
    assert len(CASES) >= 300
