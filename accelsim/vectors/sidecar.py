"""``vectors.txt``: the manifest as plain text for C testbenches (``examples/c_testbench/tb.c``).

One record per line, space-separated, ``#`` starts a comment line. Per layer, between ``layer`` and
``end``::

    layer INDEX NAME
    kernel qconv|bconv|flexconv
    conv STRIDE_H STRIDE_W PAD_H PAD_W OUTPAD_H OUTPAD_W DIL_H DIL_W GROUPS TRANSPOSED
    qconv X_BITS X_SIGNED X_ZERO_POINT W_KIND W_BITS ACC_BITS          (qconv, bconv; W_KIND 0 1 2 = fixed ternary binary)
    requant ACT ZERO_POINT OUT_BITS OUT_SIGNED                          (ACT 0 none, 1 relu, 2 lut, 3 sign, 4 acc: y = acc)
    flex X_EXP W_EXP DYNAMIC OUT_EXP RELU                               (flexconv; OUT_EXP = expected exponent)
    weights PACKING D0 D1 D2 D3                                         (PACKING 0 none, 1 sign64, 2 ternary2; torch shape)
    tensor NAME DTYPE NDIM D0 .. D(NDIM-1) PATH                         (raw little-endian binary, relative path)
    end

DTYPE is one of i8 u8 i16 u16 i32 i64 u64. Names are written with whitespace as ``_`` and
non-ASCII characters escaped (``\\uXXXX``), so every record stays one line of space-separated words.

Graph-model exports (``accelsim.vectors.graph``) add one header line before the first ``layer``::

    chain 0|1      1: each layer K's x is layer K-1's y (as in the DCGAN chain); 0: not so for some
                   pair (another op, e.g. a norm or an add, runs between two MAC nodes): a testbench
                   checks the chain only when this is 1 (the manifest's layers[].input.from_layer
                   names, per layer, the layer whose y is its x)
"""
from __future__ import annotations

from accelsim.vectors.layout import PACKINGS

NAME = "vectors.txt"
_DT = {"int8": "i8", "uint8": "u8", "int16": "i16", "uint16": "u16", "int32": "i32", "int64": "i64",
       "uint64": "u64"}
_ACT = {"none": 0, "relu": 1, "lut": 2, "sign": 3, "acc": 4}
_WKIND = {"fixed": 0, "ternary": 1, "binary": 2, "xnor": 2}


def _word(text) -> str:
    out = str(text).encode("ascii", "backslashreplace").decode("ascii")
    return "_".join(out.split()) or "_"


def render(manifest: dict) -> str:
    lines = ["# accelsim vectors: plain-text index for C testbenches (format: accelsim/vectors/sidecar.py)",
             "accelsim_vectors 1", f"format {_word(manifest['format'])}", f"layers {len(manifest['layers'])}"]
    if "chained" in manifest:
        lines.append(f"chain {int(manifest['chained'])}")
    for rec in manifest["layers"]:
        p, c = rec["params"], rec["conv"]
        lines.append(f"layer {rec['index']} {_word(rec['name'])}")
        lines.append(f"kernel {rec['kernel']}")
        lines.append("conv " + " ".join(str(v) for v in (*c["stride"], *c["padding"], *c["output_padding"],
                                                         *c["dilation"], c["groups"], int(c["transposed"]))))
        if rec["kernel"] == "flexconv":
            lines.append(f"flex {p['x_exp']} {p['w_exp']} {int(p['dynamic'])} {p['out_exp']} "
                         f"{int(rec['act'] == 'relu')}")
        else:
            lines.append(f"qconv {p['x_bits']} {int(p['x_signed'])} {p['x_zero_point']} {_WKIND[p['w_kind']]} "
                         f"{p['w_bits']} {p['acc_bits']}")
            lines.append(f"requant {_ACT[rec['act']]} {p.get('requant_zero_point', 0)} {p['out_bits']} "
                         f"{int(p['out_signed'])}")
        w = rec["tensors"]["w"]
        lines.append(f"weights {PACKINGS[w['packing']]} " + " ".join(str(d) for d in w["logical_shape"]))
        for name, t in rec["tensors"].items():
            shape = " ".join(str(d) for d in t["shape"])
            lines.append(f"tensor {name} {_DT[t['bin_dtype']]} {len(t['shape'])} {shape} {t['bin']}")
        lines.append("end")
    return "\n".join(lines) + "\n"
