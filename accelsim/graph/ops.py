"""The op vocabulary of the generator graph: one schema per op, registered once.

Each op has a kind, the attributes and parameters it takes, a shape function and a float64 numpy
implementation (the graph's float semantics: those of the torch functional op of the same name).
Tensors are NCHW (or N x ... for linear); axis 0 is always the batch axis and no op mixes it.

kinds:
  ``mac``          conv2d, conv_transpose2d, linear: run by the integer kernels in a quantized format
  ``elementwise``  add, sub, mul (two tensors, or a tensor and a constant), activations, norms
  ``data``         concat, reshape, permute, pad, pixel_shuffle, upsample, embedding (moves data)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from accelsim.errors import ModelError

ACTIVATIONS = ("relu", "leaky_relu", "prelu", "tanh", "sigmoid", "hardtanh", "identity")
PAD_MODES = ("zeros", "reflect", "replicate")
UPSAMPLE_MODES = ("nearest", "bilinear")


@dataclass(frozen=True)
class OpSchema:
    name: str
    kind: str                       # mac | elementwise | data
    arity: tuple[int, int]          # min, max number of tensor inputs
    params: tuple[str, ...]         # parameter names it may carry (weight, bias, ...)
    shape: Callable                 # (node, input shapes) -> output shape
    run: Callable                   # (node, input arrays) -> output array (float64)
    required: tuple[str, ...] = ()  # parameters it must carry
    attrs: tuple[str, ...] = ()     # attributes it must carry


def _fail(node, msg: str):
    raise ModelError(f"node {node.name!r} ({node.op}{', from ' + node.source if node.source else ''}): {msg}")


# ---- shapes -----------------------------------------------------------------------------------
def conv_out(n, k, s, p0, p1, d):
    return (n + p0 + p1 - d * (k - 1) - 1) // s + 1


def convt_out(n, k, s, p, op, d):
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1


def _conv_shape(node, shapes):
    (x,) = shapes
    w = node.params["weight"].shape
    a = node.attrs
    if len(x) != 4 or len(w) != 4:
        _fail(node, f"input and weight must be 4-D, got shapes {x} and {w}")
    try:
        conv_spec(node)
    except (ValueError, KeyError, TypeError) as exc:
        _fail(node, f"bad convolution attributes: {exc}")
    g = a["groups"]
    if (w[1] * g if node.op == "conv_transpose2d" else w[0]) % g:
        _fail(node, f"output channels must be divisible by groups={g}")
    if node.op == "conv2d":
        if x[1] != w[1] * g:
            _fail(node, f"input has {x[1]} channels, weight expects {w[1] * g}")
        hw = [conv_out(x[2 + i], w[2 + i], a["stride"][i], a["padding"][i], a["padding"][i], a["dilation"][i])
              for i in range(2)]
        cout = w[0]
    else:
        if x[1] != w[0]:
            _fail(node, f"input has {x[1]} channels, weight expects {w[0]}")
        hw = [convt_out(x[2 + i], w[2 + i], a["stride"][i], a["padding"][i], a["output_padding"][i],
                        a["dilation"][i]) for i in range(2)]
        cout = w[1] * g
    if min(hw) < 1:
        _fail(node, f"output would be empty ({hw})")
    return (x[0], cout, *hw)


def _linear_shape(node, shapes):
    (x,) = shapes
    w = node.params["weight"].shape
    if x[-1] != w[1]:
        _fail(node, f"input's last axis is {x[-1]}, weight expects {w[1]}")
    return (*x[:-1], w[0])


def _binary_shape(node, shapes):
    if len(shapes) == 1 and "other" in node.params:
        other = node.params["other"]
        if other.ndim >= len(shapes[0]) and other.shape[0] != 1:
            _fail(node, f"a constant operand of shape {other.shape} would broadcast over the batch axis")
        shapes = (shapes[0], other.shape)
    elif "const" not in node.attrs and len(shapes) == 1:
        _fail(node, "needs a second tensor, an 'other' parameter or a 'const' attribute")
    try:
        out = np.broadcast_shapes(*shapes)
    except ValueError:
        _fail(node, f"shapes {shapes[0]} and {shapes[1]} do not broadcast")
    if len(out) != len(shapes[0]) or out[0] != shapes[0][0]:
        _fail(node, f"broadcasting {shapes[0]} with {shapes[-1]} must keep the first operand's rank and batch axis")
    return tuple(out)


def _same_shape(node, shapes):
    if node.op == "hardtanh" and not node.attrs["min"] <= node.attrs["max"]:
        _fail(node, f"min {node.attrs['min']} > max {node.attrs['max']}")
    if node.op == "instance_norm" and ("weight" in node.params) != ("bias" in node.params):
        _fail(node, "an affine instance norm needs both weight and bias")
    return shapes[0]


def _concat_shape(node, shapes):
    axis = node.attrs["axis"]
    ref = shapes[0]
    if axis == 0 or not 0 < axis < len(ref):
        _fail(node, f"concat axis must be in [1, {len(ref) - 1}], got {axis}")
    for s in shapes[1:]:
        if len(s) != len(ref) or any(a != b for i, (a, b) in enumerate(zip(s, ref)) if i != axis):
            _fail(node, f"inputs {shapes} differ outside axis {axis}")
    return (*ref[:axis], sum(s[axis] for s in shapes), *ref[axis + 1:])


def _reshape_shape(node, shapes):
    (x,) = shapes
    tail = tuple(node.attrs["shape"])
    known = math.prod(d for d in tail if d != -1)
    rest = math.prod(x[1:])
    if tail.count(-1) > 1 or known == 0 or rest % known:
        _fail(node, f"cannot reshape {x} to (N, {', '.join(map(str, tail))})")
    return (x[0], *(rest // known if d == -1 else d for d in tail))


def _permute_shape(node, shapes):
    (x,) = shapes
    dims = tuple(node.attrs["dims"])
    if sorted(dims) != list(range(len(x))) or dims[0] != 0:
        _fail(node, f"permutation {dims} must keep the batch axis first and name every axis of {x}")
    return tuple(x[d] for d in dims)


def _pad_shape(node, shapes):
    (x,) = shapes
    if node.attrs["mode"] not in PAD_MODES or len(node.attrs["pads"]) != 4 or min(node.attrs["pads"]) < 0:
        _fail(node, f"pad needs 4 non-negative pads and a mode in {PAD_MODES}, got {node.attrs}")
    t, b, l, r = node.attrs["pads"]
    if len(x) != 4:
        _fail(node, f"pad needs a 4-D input, got {x}")
    if node.attrs["mode"] == "reflect" and (max(t, b) >= x[2] or max(l, r) >= x[3]):
        _fail(node, f"reflect padding {node.attrs['pads']} must be smaller than the input {x[2:]}")
    return (x[0], x[1], x[2] + t + b, x[3] + l + r)


def _pixel_shuffle_shape(node, shapes):
    (x,) = shapes
    r = node.attrs["factor"]
    if len(x) != 4 or x[1] % (r * r):
        _fail(node, f"pixel shuffle by {r} needs channels divisible by {r * r}, got {x}")
    return (x[0], x[1] // (r * r), x[2] * r, x[3] * r)


def _upsample_shape(node, shapes):
    (x,) = shapes
    if node.attrs.get("mode") not in UPSAMPLE_MODES:
        _fail(node, f"mode must be one of {UPSAMPLE_MODES}")
    if node.attrs["mode"] == "bilinear" and "align_corners" not in node.attrs:
        _fail(node, "bilinear upsampling needs align_corners")
    oh, ow = node.attrs["size"]
    if len(x) != 4 or oh < 1 or ow < 1:
        _fail(node, f"upsample needs a 4-D input and a positive size, got {x} -> {(oh, ow)}")
    return (x[0], x[1], oh, ow)


def _embedding_shape(node, shapes):
    (x,) = shapes
    return (*x, node.params["weight"].shape[1])


# ---- float64 implementations -----------------------------------------------------------------------
def conv_spec(node):
    from accelsim.formats.conv import ConvSpec
    a = node.attrs
    return ConvSpec.make(stride=tuple(a["stride"]), padding=tuple(a["padding"]),
                         output_padding=tuple(a.get("output_padding", (0, 0))), dilation=tuple(a["dilation"]),
                         groups=a["groups"], transposed=node.op == "conv_transpose2d")


def _run_conv(node, xs):
    from accelsim.formats.fastconv import convolve_gemm
    out = convolve_gemm(np.asarray(xs[0], np.float64), node.params["weight"], conv_spec(node))
    b = node.params.get("bias")
    return out if b is None else out + b.reshape(1, -1, 1, 1)


def _run_linear(node, xs):
    from accelsim.blas import one_thread
    with one_thread():
        out = np.asarray(xs[0], np.float64) @ node.params["weight"].T
    b = node.params.get("bias")
    return out if b is None else out + b


def _operands(node, xs):
    if len(xs) == 2:
        a, b = xs
    elif "other" in node.params:
        a, b = xs[0], node.params["other"]
    else:
        a, b = xs[0], node.attrs["const"]
    return (b, a) if node.attrs.get("reverse") else (a, b)


def _run_add(node, xs):
    a, b = _operands(node, xs)
    return np.add(a, b, dtype=np.float64)


def _run_sub(node, xs):
    a, b = _operands(node, xs)
    return np.subtract(a, b, dtype=np.float64)


def _run_mul(node, xs):
    a, b = _operands(node, xs)
    return np.multiply(a, b, dtype=np.float64)


def _channel(v, ndim):
    return np.asarray(v, np.float64).reshape((1, -1) + (1,) * (ndim - 2))


def _run_batch_norm(node, xs):
    x = np.asarray(xs[0], np.float64)
    p = node.params
    inv = p["weight"] / np.sqrt(p["running_var"] + node.attrs["eps"])
    return (x - _channel(p["running_mean"], x.ndim)) * _channel(inv, x.ndim) + _channel(p["bias"], x.ndim)


def _run_instance_norm(node, xs):
    x = np.asarray(xs[0], np.float64)
    axes = tuple(range(2, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + node.attrs["eps"])
    if "weight" in node.params:
        y = y * _channel(node.params["weight"], x.ndim) + _channel(node.params["bias"], x.ndim)
    return y


def activation(name: str, x: np.ndarray, attrs: dict, params: dict) -> np.ndarray:
    """The float64 activation ``name`` (one of ACTIVATIONS) of ``x``."""
    x = np.asarray(x, np.float64)
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "leaky_relu":
        slope = attrs["slope"]
        y = x * slope
        if 0.0 < slope <= 1.0:     # then max(x, slope*x) is where(x >= 0, x, slope*x), to the bit (-0.0, inf)
            return np.maximum(x, y, out=y)
        return np.where(x >= 0, x, y)
    if name == "prelu":
        w = params["weight"]
        w = w.reshape((1, -1) + (1,) * (x.ndim - 2)) if w.size > 1 and x.ndim > 1 else w.reshape(())
        return np.where(x >= 0, x, x * w)
    if name == "tanh":
        return np.tanh(x)
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * x))   # = 1/(1+exp(-x)), without overflow warnings
    if name == "hardtanh":
        return np.clip(x, attrs["min"], attrs["max"])
    return x


def _run_act(node, xs):
    return activation(node.op, xs[0], node.attrs, node.params)


def _run_concat(node, xs):
    return np.concatenate([np.asarray(x, np.float64) for x in xs], axis=node.attrs["axis"])


def _run_reshape(node, xs):
    x = np.asarray(xs[0])
    return x.reshape(x.shape[0], *node.attrs["shape"])


def _run_permute(node, xs):
    return np.ascontiguousarray(np.transpose(xs[0], node.attrs["dims"]))


def _run_pad(node, xs):
    t, b, l, r = node.attrs["pads"]
    mode = {"zeros": "constant", "reflect": "reflect", "replicate": "edge"}[node.attrs["mode"]]
    return np.pad(np.asarray(xs[0], np.float64), ((0, 0), (0, 0), (t, b), (l, r)), mode=mode)


def _run_pixel_shuffle(node, xs):
    x = np.asarray(xs[0], np.float64)
    n, c, h, w = x.shape
    r = node.attrs["factor"]
    return x.reshape(n, c // (r * r), r, r, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(n, c // (r * r), h * r, w * r)


def _interp_matrix(n_in: int, n_out: int, align_corners: bool, scale: float | None) -> np.ndarray:
    """(n_out, n_in) weights of torch's 1-D linear interpolation (upsample_bilinear2d semantics)."""
    m = np.zeros((n_out, n_in))
    for o in range(n_out):
        if align_corners:
            src = o * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        else:
            ratio = 1.0 / scale if scale else n_in / n_out
            src = max((o + 0.5) * ratio - 0.5, 0.0)
        i0 = min(int(math.floor(src)), n_in - 1)
        i1 = min(i0 + 1, n_in - 1)
        lam = src - i0
        m[o, i0] += 1.0 - lam
        m[o, i1] += lam
    return m


def _run_upsample(node, xs):
    x = np.asarray(xs[0], np.float64)
    n, c, h, w = x.shape
    oh, ow = node.attrs["size"]
    if node.attrs["mode"] == "nearest":
        iy = np.minimum((np.arange(oh) * (h / oh)).astype(np.int64), h - 1)
        ix = np.minimum((np.arange(ow) * (w / ow)).astype(np.int64), w - 1)
        return x[:, :, iy][:, :, :, ix]
    scales = node.attrs.get("scale") or (None, None)
    my = _interp_matrix(h, oh, node.attrs["align_corners"], scales[0])
    mx = _interp_matrix(w, ow, node.attrs["align_corners"], scales[1])
    return np.einsum("yh,nchw,xw->ncyx", my, x, mx, optimize=False)


def _run_embedding(node, xs):
    idx = np.asarray(xs[0])
    table = node.params["weight"]
    if idx.dtype.kind not in "iu":
        _fail(node, f"indices must be integers, got {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= table.shape[0]):
        _fail(node, f"index out of range [0, {table.shape[0]})")
    return table[idx]


_CONV = dict(kind="mac", arity=(1, 1), params=("weight", "bias"), shape=_conv_shape, run=_run_conv,
             required=("weight",))
_CONV_ATTRS = ("stride", "padding", "dilation", "groups")
OPS: dict[str, OpSchema] = {s.name: s for s in (
    OpSchema("conv2d", **_CONV, attrs=_CONV_ATTRS),
    OpSchema("conv_transpose2d", **_CONV, attrs=_CONV_ATTRS + ("output_padding",)),
    OpSchema("linear", "mac", (1, 1), ("weight", "bias"), _linear_shape, _run_linear, ("weight",)),
    OpSchema("add", "elementwise", (1, 2), ("other",), _binary_shape, _run_add),
    OpSchema("sub", "elementwise", (1, 2), ("other",), _binary_shape, _run_sub),
    OpSchema("mul", "elementwise", (1, 2), ("other",), _binary_shape, _run_mul),
    OpSchema("batch_norm", "elementwise", (1, 1), ("weight", "bias", "running_mean", "running_var"),
             _same_shape, _run_batch_norm, ("weight", "bias", "running_mean", "running_var"), ("eps",)),
    OpSchema("instance_norm", "elementwise", (1, 1), ("weight", "bias"), _same_shape, _run_instance_norm, (),
             ("eps",)),
    *(OpSchema(a, "elementwise", (1, 1), ("weight",) if a == "prelu" else (), _same_shape, _run_act,
               ("weight",) if a == "prelu" else (),
               {"leaky_relu": ("slope",), "hardtanh": ("min", "max")}.get(a, ())) for a in ACTIVATIONS),
    OpSchema("concat", "data", (1, 64), (), _concat_shape, _run_concat, (), ("axis",)),
    OpSchema("reshape", "data", (1, 1), (), _reshape_shape, _run_reshape, (), ("shape",)),
    OpSchema("permute", "data", (1, 1), (), _permute_shape, _run_permute, (), ("dims",)),
    OpSchema("pad", "data", (1, 1), (), _pad_shape, _run_pad, (), ("pads", "mode")),
    OpSchema("pixel_shuffle", "data", (1, 1), (), _pixel_shuffle_shape, _run_pixel_shuffle, (), ("factor",)),
    OpSchema("upsample", "data", (1, 1), (), _upsample_shape, _run_upsample, (), ("size", "mode")),
    OpSchema("embedding", "data", (1, 1), ("weight",), _embedding_shape, _run_embedding, ("weight",)),
)}
MAC_OPS = tuple(n for n, s in OPS.items() if s.kind == "mac")
