"""Run a quantized generator layer by layer and keep everything a testbench needs per layer: the
input, the operands the kernel was called with, the accumulators and the layer's output (which is
the next layer's input). Mirrors ``accelsim.qgen.QuantizedGenerator.run`` step for step, and
``verify`` checks that it does (so the vectors are the pipeline ``accelsim generate`` runs)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from accelsim import kernels
from accelsim.formats import fixed, flexpoint
from accelsim.qgen import QLayer, QuantizedGenerator
from accelsim.vectors.errors import VectorsError


@dataclass
class LayerRun:
    """One layer's call: ``kernel`` is ``qconv``, ``bconv`` or ``flexconv``; ``act`` what follows it
    (``none``, ``relu``, ``lut``, ``sign``; ``tanh`` for the float tail of a flex16 generator)."""

    index: int
    q: QLayer
    kernel: str
    act: str
    x: np.ndarray
    bias: np.ndarray | None
    acc: np.ndarray | None
    y: np.ndarray
    params: dict = field(default_factory=dict)


def _int_layer(i: int, q: QLayer, x: np.ndarray, K) -> LayerRun:
    if q.w_kind == "xnor":
        kernel = "bconv"
        acc = K.conv_xnor(x, q.w_codes, bias=q.bias, spec=q.spec)
    else:
        kernel = "qconv"
        acc = K.conv_int(x, q.w_codes, x_bits=q.x_bits, x_signed=q.x_signed, x_zero_point=q.x_zero_point,
                         w_kind=q.w_kind, w_bits=q.w_bits, bias=q.bias, spec=q.spec)
    params = {"x_bits": q.x_bits, "x_signed": q.x_signed, "x_zero_point": q.x_zero_point, "w_kind": q.w_kind,
              "w_bits": q.w_bits, "acc_bits": acc.dtype.itemsize * 8}
    if q.act == "sign":
        y = np.where(acc >= 0, 1, -1).astype(np.int8)
        act = "sign"
        params.update(out_bits=1, out_signed=True)
    else:
        act = "lut" if q.lut is not None else ("relu" if q.act == "relu" else "none")
        zp = 0 if q.lut is not None else q.out_zero_point
        y = K.requantize_integer(acc, q.m0, q.shift, zero_point=zp, out_bits=q.out_bits, out_signed=q.out_signed,
                                 act=q.lut if q.lut is not None else act)
        params.update(requant_mode="integer", requant_zero_point=zp, out_bits=q.out_bits, out_signed=q.out_signed)
    params.update(act=act, x_scale=q.x_scale, out_scale=q.out_scale, out_zero_point=q.out_zero_point)
    if q.lut is not None:
        params["lut_of"] = q.act
    return LayerRun(i, q, kernel, act, x, q.bias, acc, y, params)


def run_chain(gen: QuantizedGenerator, z: np.ndarray, impl: str) -> list[LayerRun]:
    """Every layer of ``gen`` on latents ``z`` with ``impl`` = ``cpp`` or ``reference``."""
    K = kernels.implementation(impl)
    runs: list[LayerRun] = []
    if gen.fmt == "flex16":
        xm, xe = flexpoint.to_flex(z)
        for i, q in enumerate(gen.layers):
            bias = np.rint(q.extra["bias_float"] * 2.0 ** -(xe + q.w_exp)).astype(np.int64)
            m, e, over, amax = K.conv_flex(xm, xe, q.w_codes, q.w_exp, bias=bias, spec=q.spec, out_exp=q.out_exp)
            act = q.act if q.act in ("relu", "tanh") else "none"
            if act == "relu":
                m = np.maximum(m, 0).astype(np.int16)
            params = {"x_exp": xe, "w_exp": q.w_exp, "dynamic": q.out_exp is None,
                      "out_exp": e, "overflows": over, "acc_max_abs": amax, "act": act}
            runs.append(LayerRun(i, q, "flexconv", act, xm, bias, None, m, params))
            if act == "tanh":
                break
            xm, xe = m, e
        return runs
    q0 = gen.layers[0]
    x = fixed.quantize(z, q0.x_scale, q0.x_zero_point, fixed.IntFormat(q0.x_bits))
    for i, q in enumerate(gen.layers):
        run = _int_layer(i, q, x, K)
        runs.append(run)
        x = run.y
    return runs


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


def verify(golden: list[LayerRun], cpp: list[LayerRun], gen: QuantizedGenerator, z: np.ndarray) -> None:
    """Refuse (VectorsError) unless the C++ chain equals the golden chain bit for bit, layer by layer,
    and the golden chain equals ``accelsim.qgen``'s own golden trace."""
    compare_runs(golden, cpp)
    _, trace = gen.run(z, impl="reference", trace=True)
    for g, t in zip(golden, trace):
        out = t["output"][0] if isinstance(t["output"], tuple) else t["output"]
        if not _same(g.y, out):
            raise VectorsError(f"internal: the exporter's layer {g.index} ({g.q.name}) output differs from "
                               f"accelsim.qgen's: refusing to write vectors")


def compare_runs(golden: list[LayerRun], cpp: list[LayerRun]) -> None:
    """Refuse (VectorsError) unless the C++ runs equal the golden runs bit for bit, layer by layer
    (input, accumulators, output, bias and the flexpoint exponent and counters)."""
    if len(golden) != len(cpp):
        raise VectorsError(f"golden model ran {len(golden)} layers, C++ {len(cpp)}: refusing to write vectors")
    for g, c in zip(golden, cpp):
        for what in ("x", "acc", "y", "bias"):
            a, b = getattr(g, what), getattr(c, what)
            if (a is None) != (b is None) or (a is not None and not _same(a, b)):
                diff = "" if a is None or b is None or np.shape(a) != np.shape(b) else \
                    f": {int(np.count_nonzero(np.asarray(a) != np.asarray(b)))} of {np.size(a)} words differ"
                raise VectorsError(f"golden model and C++ kernel disagree at layer {g.index} ({g.q.name}) "
                                   f"{what}{diff}: refusing to write vectors")
        for key in ("out_exp", "overflows", "acc_max_abs"):
            if g.params.get(key) != c.params.get(key):
                raise VectorsError(f"golden model and C++ kernel disagree at layer {g.index} ({g.q.name}) "
                                   f"{key}: {g.params.get(key)} != {c.params.get(key)}: refusing to write vectors")
