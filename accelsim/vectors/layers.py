"""The tensors of one layer, as exported (names, roles, word formats, layouts).

========  ==================  =======================================================================
tensor    role                contents
========  ==================  =======================================================================
x         input               activation codes NCHW (int formats), signs (binary), mantissas (flex16)
w         weight              codes / packed bits / mantissas (``accelsim.vectors.layout``); binary
                              and ternary weights of a grouped conv: one 2-bit code per word, torch layout
bias      bias                int32/int64 per output channel at scale s_x*s_w (flex16: exponent
                              x_exp + w_exp)
m0        requant             int32 multiplier per output channel, in [2^30, 2^31)
shift     requant             int32 right shift per output channel, in [-31, 62]
lut       requant             activation table: entry i = output code for requantized code qmin + i
acc       intermediate        exact accumulators NCHW (the kernel's int32/int64 output)
y         expected_output     output codes NCHW (the next layer's ``x``); the accumulators when act
                              is ``acc`` (a w1a1 layer read by the vector unit)
========  ==================  =======================================================================
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from accelsim.formats import fixed
from accelsim.vectors.layout import TensorFiles, pack_sign64, pack_ternary2


@dataclass
class LayerRun:
    """One MAC node's kernel call: ``kernel`` is ``qconv``, ``bconv`` or ``flexconv``; ``act`` what
    follows it in the integer pipeline: ``none``, ``relu``, ``lut`` (requantization), ``sign`` (the
    next binary layer's input: +1 where acc >= 0), ``acc`` (y is the accumulators: the vector unit
    scales them in float64)."""

    index: int
    q: object            # the kernel operands (``accelsim.vectors.graph.KernelLayer``)
    kernel: str
    act: str
    x: np.ndarray
    bias: np.ndarray | None
    acc: np.ndarray | None
    y: np.ndarray
    params: dict = field(default_factory=dict)


def _torch_layout(spec) -> str:
    if spec.groups != 1:
        return "torch conv_transpose2d [Cin][Cout/groups][KH][KW]" if spec.transposed else \
            "torch conv2d [Cout][Cin/groups][KH][KW]"
    return "torch conv_transpose2d [Cin][Cout][KH][KW]" if spec.transposed else "torch conv2d [Cout][Cin][KH][KW]"


def _activation(name: str, role: str, values, bits: int, signed: bool, **info) -> TensorFiles:
    if bits == 1:  # binary activations: -1/+1 as one sign bit
        return TensorFiles(name, role, values, 1, False, "sign", "NCHW", **info)
    return TensorFiles(name, role, values, bits, signed, "int", "NCHW", **info)


def _weights(run: LayerRun) -> TensorFiles:
    q = run.q
    logical = {"logical_shape": list(q.w_codes.shape), "w_kind": q.w_kind}
    if q.w_kind in ("binary", "ternary") and q.spec.groups != 1:   # packings are defined for groups == 1
        return TensorFiles("w", "weight", q.w_codes, 2, True, "int", _torch_layout(q.spec), packing="none",
                           **logical)
    if q.w_kind in ("binary", "xnor"):
        return TensorFiles("w", "weight", pack_sign64(q.w_codes, q.spec), 64, False, "packed",
                           "packed sign64 [Cout][KH][KW][ceil(Cin/64)]", packing="sign64", **logical)
    if q.w_kind == "ternary":
        return TensorFiles("w", "weight", pack_ternary2(q.w_codes, q.spec), 64, False, "packed",
                           "packed ternary2 [Cout][KH][KW][ceil(Cin/32)]", packing="ternary2", **logical)
    extra = {"exponent": q.w_exp} if q.w_kind == "flex" else {}
    return TensorFiles("w", "weight", q.w_codes, q.w_bits, True, "int", _torch_layout(q.spec), packing="none",
                       **logical, **extra)


def layer_tensors(run: LayerRun) -> list[TensorFiles]:
    q, p = run.q, run.params
    if run.kernel == "flexconv":
        out = [TensorFiles("x", "input", run.x, 16, True, "int", "NCHW", exponent=p["x_exp"]),
               _weights(run),
               TensorFiles("bias", "bias", run.bias, 64, True, "int", "C order", exponent=p["x_exp"] + p["w_exp"]),
               TensorFiles("y", "expected_output", run.y, 16, True, "int", "NCHW", exponent=p["out_exp"])]
        return out
    out = [_activation("x", "input", run.x, q.x_bits, q.x_signed, zero_point=q.x_zero_point), _weights(run)]
    if run.bias is not None:
        out.append(TensorFiles("bias", "bias", run.bias, run.bias.dtype.itemsize * 8, True))
    if run.act not in ("sign", "acc"):
        out.append(TensorFiles("m0", "requant", q.m0, 32, True))
        out.append(TensorFiles("shift", "requant", q.shift, 32, True))
        if run.act == "lut":
            qmin = fixed.IntFormat(q.out_bits, q.out_signed).qmin
            out.append(TensorFiles("lut", "requant", q.lut, q.out_bits, q.out_signed, qmin=qmin, function=q.act))
    out.append(TensorFiles("acc", "intermediate", run.acc, run.acc.dtype.itemsize * 8, True, "int", "NCHW"))
    out.append(_activation("y", "expected_output", run.y, p["out_bits"], p["out_signed"],
                           zero_point=p.get("requant_zero_point", 0)))
    return out
