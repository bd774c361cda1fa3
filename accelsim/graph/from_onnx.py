"""Import an ONNX model into the generator graph (``onnx`` is an optional dependency, imported here only).

The model is loaded, its graph inputs' symbolic batch axis (if any) is fixed to 1, and
``onnx.shape_inference.infer_shapes`` is run; every other input dimension must be static. The nodes are
then walked in order:

* initializers and ``Constant`` nodes are numpy constants, and any node whose operands are all
  constants (or, for ``Shape`` / ``Size``, whose shape is known) is evaluated with numpy and never becomes
  a graph node: the shape computations (Shape, Gather, Unsqueeze, Concat, Cast, Slice, ...) that feed a
  Reshape's shape input fold away this way;
* every other node maps to one graph op (table ``_HANDLERS``; a Conv with asymmetric padding becomes a
  zero ``pad`` node then the conv); constants it reads become its float64 parameters (weight, bias,
  ``other``), or the ``const`` attribute of add / sub / mul for a scalar;
* ``Identity`` and ``Dropout`` (inference) are dropped and their consumers rewired;
* anything else is a ``ModelError`` naming the file, the ONNX node and its op_type.

Each node's shape is computed by the op vocabulary as it is added and checked against ONNX shape
inference. Node names are the ONNX node names when non-empty and unique, else the node's first output
name. Nothing beyond the import is applied: callers run ``accelsim.graph.passes.deploy``.
"""
from __future__ import annotations

import math
import os
from collections import Counter
from pathlib import Path

import numpy as np

from accelsim.errors import ModelError
from accelsim.graph.ir import Graph, Input, Node
from accelsim.graph.ops import OPS, conv_spec

_FLOAT_TYPES = {"FLOAT", "DOUBLE", "FLOAT16", "BFLOAT16"}
_INT_TYPES = {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _load(onnx, path_or_model):
    """(model, origin, default name)."""
    if isinstance(path_or_model, onnx.ModelProto):
        gname = path_or_model.graph.name or "model"
        return path_or_model, gname, gname
    if not isinstance(path_or_model, (str, os.PathLike)):
        raise ModelError(f"expected an ONNX file path or an onnx.ModelProto, got {type(path_or_model).__name__}")
    path = Path(path_or_model)
    if not path.is_file():
        raise ModelError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    try:
        model = onnx.load(str(path))
    except Exception as exc:   # noqa: BLE001 - protobuf / external-data errors: one line
        raise ModelError(f"{path}: cannot load the ONNX model: {_first_line(exc)}") from exc
    return model, str(path), path.stem


def _dims(value_info) -> tuple | None:
    """A value_info's dims, as ints or None (symbolic / unknown); None if it has no shape."""
    t = value_info.type
    if not t.HasField("tensor_type") or not t.tensor_type.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in t.tensor_type.shape.dim)


class _Importer:
    def __init__(self, onnx, model, name: str, origin: str):
        self.onnx = onnx
        self.origin = origin
        self.name = name
        self.graph = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
        self.vals: dict = {}                 # ONNX value name -> ("t", graph value) | ("c", ndarray)
        self.shapes: dict[str, tuple] = {}   # graph value -> shape
        self.dtypes: dict[str, str] = {}     # graph input -> float | int
        self.used: set[str] = set()
        self.nodes: list[Node] = []
        self.inputs: list[Input] = []
        self.onnx_shapes: dict[str, tuple] = {}
        names = Counter(n.name for n in self.graph.node if n.name)
        self.unique_names = {k for k, c in names.items() if c == 1}
        self.consumed = {i for n in self.graph.node for i in n.input if i} | {o.name for o in self.graph.output}

    # ---- helpers --------------------------------------------------------------------------------------
    @staticmethod
    def label(node) -> str:
        return repr(node.name) if node.name else f"producing {node.output[0]!r}" if node.output else "''"

    def fail(self, node, msg: str):
        raise ModelError(f"{self.origin}: node {self.label(node)} ({node.op_type}): {msg}")

    def attrs(self, node) -> dict:
        out = {}
        for a in node.attribute:
            v = self.onnx.helper.get_attribute_value(a)
            if isinstance(v, bytes):
                v = v.decode("utf-8", "replace")
            elif isinstance(v, self.onnx.TensorProto):
                v = self.onnx.numpy_helper.to_array(v)
            out[a.name] = v
        return out

    def arg(self, node, i: int):
        """Input ``i`` of ``node``: ("t", name) | ("c", ndarray) | None when absent."""
        if i >= len(node.input) or not node.input[i]:
            return None
        v = self.vals.get(node.input[i])
        if v is None:
            self.fail(node, f"reads {node.input[i]!r}, which is not defined before it")
        return v

    def tensor(self, node, i: int = 0) -> str:
        v = self.arg(node, i)
        if v is None or v[0] != "t":
            what = "missing" if v is None else "a constant"
            self.fail(node, f"input {i} must be a tensor computed from the graph inputs, but it is {what}")
        return v[1]

    def const(self, node, i: int, what: str, required: bool = True):
        v = self.arg(node, i)
        if v is None:
            if required:
                self.fail(node, f"{what} (input {i}) is missing")
            return None
        if v[0] != "c":
            self.fail(node, f"{what} (input {i}) must be an initializer or a constant, "
                            "not computed from the graph inputs")
        return v[1]

    def node_name(self, node, suffix: str = "") -> str:
        base = node.name if node.name in self.unique_names else (node.output[0] if node.output else node.op_type)
        name = base + suffix
        while name in self.used:
            name += "_"
        self.used.add(name)
        return name

    def emit(self, node, op, inputs, attrs=None, params=None, suffix: str = "") -> str:
        """Add a graph node for ``node`` (``suffix``: an extra node the op needs before it)."""
        name = self.node_name(node, suffix)
        label = node.name or (node.output[0] if node.output else "")
        params = {k: np.array(v, np.float64) for k, v in (params or {}).items() if v is not None}
        n = Node(name, op, tuple(inputs), dict(attrs or {}), params, source=f"{label} ({node.op_type})")
        try:
            shape = tuple(int(d) for d in OPS[op].shape(n, [self.shapes[i] for i in inputs]))
            if op in ("conv2d", "conv_transpose2d"):
                conv_spec(n)
        except ModelError as exc:
            raise ModelError(f"{self.origin}: {exc}") from None
        except ValueError as exc:
            self.fail(node, str(exc))
        if not suffix:
            expect = self.onnx_shapes.get(node.output[0])
            if expect is not None and expect != shape:
                self.fail(node, f"the imported {op} computes shape {shape}, ONNX shape inference gives {expect}")
            self.vals[node.output[0]] = ("t", name)
        self.shapes[name] = shape
        self.nodes.append(n)
        return name

    def alias(self, node, value: str):
        self.vals[node.output[0]] = ("t", value)

    def only_first_output(self, node):
        for o in node.output[1:]:
            if o and o in self.consumed:
                self.fail(node, f"output {o!r} is used; only the first output is supported")

    # ---- the walk ---------------------------------------------------------------------------------------
    def run(self, inferred) -> Graph:
        from onnx import numpy_helper
        g = self.graph
        if len(g.sparse_initializer):
            raise ModelError(f"{self.origin}: sparse initializers are not supported")
        for init in g.initializer:
            try:
                self.vals[init.name] = ("c", numpy_helper.to_array(init))
            except Exception as exc:   # noqa: BLE001
                raise ModelError(f"{self.origin}: initializer {init.name!r}: {_first_line(exc)}") from exc
        for vi in (*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output):
            dims = _dims(vi)
            if dims is not None and all(d is not None for d in dims):
                self.onnx_shapes[vi.name] = tuple(int(d) for d in dims)
        for vi in inferred.graph.input:
            if vi.name in self.vals:
                continue      # an initializer listed as an input (IR < 4): a constant
            self.add_input(vi)
        if not g.node:
            raise ModelError(f"{self.origin}: an empty graph (not an exported model?)")
        if not self.inputs:
            raise ModelError(f"{self.origin}: the model takes no tensor input")
        for node in g.node:
            self.visit(node)
        outputs = []
        for o in g.output:
            v = self.vals.get(o.name)
            if v is None or v[0] != "t":
                raise ModelError(f"{self.origin}: output {o.name!r} is "
                                 f"{'not defined' if v is None else 'a constant, not computed from the inputs'}")
            outputs.append(v[1])
        if not self.nodes:
            raise ModelError(f"{self.origin}: the model has no operations")
        try:
            return Graph(self.name, tuple(self.inputs), tuple(self.nodes), tuple(outputs), self.origin)
        except ModelError as exc:
            raise ModelError(f"{self.origin}: {exc}") from None

    def add_input(self, vi):
        TP = self.onnx.TensorProto
        t = vi.type
        if not t.HasField("tensor_type"):
            raise ModelError(f"{self.origin}: input {vi.name!r} is not a tensor")
        elem = TP.DataType.Name(t.tensor_type.elem_type) if t.tensor_type.elem_type else "UNDEFINED"
        if elem in _FLOAT_TYPES:
            kind = "float"
        elif elem in _INT_TYPES:
            kind = "int"
        else:
            raise ModelError(f"{self.origin}: input {vi.name!r} has element type {elem}; "
                             "only float and integer inputs are supported")
        dims = _dims(vi)
        if not dims:
            raise ModelError(f"{self.origin}: input {vi.name!r} needs a static shape with a batch axis first")
        bad = [i for i, d in enumerate(dims) if d is None or d < 1]
        if bad:
            raise ModelError(f"{self.origin}: input {vi.name!r} has a dynamic or empty dimension at axis "
                             f"{bad[0]} (only the batch axis may be symbolic)")
        name = vi.name
        while name in self.used:
            name += "_"
        self.used.add(name)
        self.inputs.append(Input(name, dims, kind))
        self.shapes[name] = dims
        self.dtypes[name] = kind
        self.vals[vi.name] = ("t", name)

    def visit(self, node):
        if node.domain not in ("", "ai.onnx"):
            self.fail(node, f"operator of domain {node.domain!r} is not supported")
        if not node.output or not node.output[0]:
            self.fail(node, "has no output")
        args = [self.arg(node, i) for i in range(len(node.input))]
        present = [a for a in args if a is not None]
        op = node.op_type
        if op in _FOLD and (all(a[0] == "c" for a in present) or op in ("Shape", "Size")):
            try:
                ins = [None if a is None else a[1] if a[0] == "c" else self.shapes[a[1]] for a in args]
                if op in ("Shape", "Size") and args[0][0] == "c":
                    ins[0] = ins[0].shape
                value = _FOLD[op](self, node, self.attrs(node), ins)
            except ModelError:
                raise
            except Exception as exc:   # noqa: BLE001 - numpy evaluation failure: one line
                self.fail(node, f"cannot evaluate this constant computation: {_first_line(exc)}")
            self.vals[node.output[0]] = ("c", np.asarray(value))
            return
        handler = _HANDLERS.get(op)
        if handler is None:
            self.fail(node, "operation not supported by the accelerator graph (supported: "
                            f"{', '.join(sorted(_HANDLERS))}; constant subgraphs of {', '.join(sorted(_FOLD))} "
                            "are evaluated at import)")
        handler(self, node, self.attrs(node))


# ---- constant folding: (importer, node, attrs, inputs as ndarrays; a shape tuple for Shape/Size) ---------
def _axes(node, a, ins, i=1):
    if len(ins) > i and ins[i] is not None:
        return [int(v) for v in np.asarray(ins[i]).ravel()]
    return [int(v) for v in a["axes"]] if "axes" in a else None


def _reshape_dims(im, node, in_shape, target, allowzero=False):
    """The output shape of an ONNX Reshape of ``in_shape`` to ``target``; ModelError naming the node."""
    dims = [int(d) for d in np.asarray(target).ravel()]
    out = [in_shape[i] if d == 0 and not allowzero else d for i, d in enumerate(dims)]
    if out.count(-1) > 1:
        im.fail(node, f"shape {dims} has more than one -1")
    if -1 in out:
        known = math.prod(d for d in out if d != -1)
        total = math.prod(in_shape)
        if known == 0 or total % known:
            im.fail(node, f"cannot reshape {tuple(in_shape)} to {dims}")
        out[out.index(-1)] = total // known
    if math.prod(out) != math.prod(in_shape) or min(out, default=1) < 0:
        im.fail(node, f"cannot reshape {tuple(in_shape)} to {dims}")
    return tuple(out)


def _fold_constant(im, node, a, ins):
    if "value" in a:
        return a["value"]
    for key, dtype in (("value_float", np.float32), ("value_floats", np.float32),
                       ("value_int", np.int64), ("value_ints", np.int64)):
        if key in a:
            return np.array(a[key], dtype)
    im.fail(node, f"constant of kind {sorted(a)} is not supported")


def _fold_cast(im, node, a, ins):
    return ins[0].astype(im.onnx.helper.tensor_dtype_to_np_dtype(a["to"]))


def _fold_shape(im, node, a, ins):
    shape = np.array(ins[0], np.int64)
    return shape[a.get("start", 0):a.get("end", len(shape))] if ("start" in a or "end" in a) else shape


def _fold_gather(im, node, a, ins):
    return np.take(ins[0], np.asarray(ins[1], np.int64), axis=int(a.get("axis", 0)))


def _fold_unsqueeze(im, node, a, ins):
    axes = _axes(node, a, ins)
    x = ins[0]
    rank = x.ndim + len(axes)
    for ax in sorted(ax % rank for ax in axes):
        x = np.expand_dims(x, ax)
    return x


def _fold_squeeze(im, node, a, ins):
    axes = _axes(node, a, ins)
    return np.squeeze(ins[0]) if axes is None else np.squeeze(ins[0], axis=tuple(ax % ins[0].ndim for ax in axes))


def _fold_slice(im, node, a, ins):
    x = ins[0]
    if len(ins) > 1:
        starts, ends = np.asarray(ins[1]).ravel(), np.asarray(ins[2]).ravel()
        axes = np.asarray(ins[3]).ravel() if len(ins) > 3 and ins[3] is not None else np.arange(len(starts))
        steps = np.asarray(ins[4]).ravel() if len(ins) > 4 and ins[4] is not None else np.ones(len(starts), np.int64)
    else:
        starts, ends = a["starts"], a["ends"]
        axes, steps = a.get("axes", list(range(len(starts)))), [1] * len(starts)
    index = [slice(None)] * x.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps):
        n = x.shape[int(ax)]
        s, e, st = int(s), int(e), int(st)
        s, e = max(min(s, n), -n - 1), max(min(e, n), -n - 1)     # clamp the int64 "infinity" sentinels
        index[int(ax) % x.ndim] = slice(s, e if e >= -n else None, st)
    return x[tuple(index)]


def _fold_div(im, node, a, ins):
    x, y = ins[0], ins[1]
    if np.asarray(x).dtype.kind in "iu" and np.asarray(y).dtype.kind in "iu":
        return np.trunc(np.divide(x, y)).astype(np.result_type(x, y))
    return np.divide(x, y)


def _fold_range(im, node, a, ins):
    start, limit, delta = (np.asarray(v).item() for v in ins[:3])
    return np.arange(start, limit, delta, dtype=np.result_type(ins[0]))


def _fold_constant_of_shape(im, node, a, ins):
    value = a.get("value", np.zeros(1, np.float32))
    return np.full(tuple(int(d) for d in np.asarray(ins[0]).ravel()), value.ravel()[0], value.dtype)


def _fold_flatten(im, node, a, ins):
    x = ins[0]
    axis = int(a.get("axis", 1)) % max(x.ndim, 1) if x.ndim else 0
    return x.reshape(math.prod(x.shape[:axis]), -1)


_FOLD = {
    "Constant": _fold_constant,
    "ConstantOfShape": _fold_constant_of_shape,
    "Identity": lambda im, n, a, ins: ins[0],
    "Cast": _fold_cast,
    "Shape": _fold_shape,
    "Size": lambda im, n, a, ins: np.array(math.prod(ins[0]), np.int64),
    "Gather": _fold_gather,
    "Unsqueeze": _fold_unsqueeze,
    "Squeeze": _fold_squeeze,
    "Concat": lambda im, n, a, ins: np.concatenate([np.atleast_1d(x) for x in ins if x is not None],
                                                   axis=int(a.get("axis", 0))),
    "Reshape": lambda im, n, a, ins: ins[0].reshape(
        _reshape_dims(im, n, ins[0].shape, ins[1], bool(a.get("allowzero")))),
    "Flatten": _fold_flatten,
    "Slice": _fold_slice,
    "Transpose": lambda im, n, a, ins: np.transpose(ins[0], a.get("perm")),
    "Add": lambda im, n, a, ins: np.add(ins[0], ins[1]),
    "Sub": lambda im, n, a, ins: np.subtract(ins[0], ins[1]),
    "Mul": lambda im, n, a, ins: np.multiply(ins[0], ins[1]),
    "Div": _fold_div,
    "Neg": lambda im, n, a, ins: np.negative(ins[0]),
    "Equal": lambda im, n, a, ins: np.equal(ins[0], ins[1]),
    "Where": lambda im, n, a, ins: np.where(ins[0], ins[1], ins[2]),
    "Min": lambda im, n, a, ins: np.minimum.reduce(np.broadcast_arrays(*ins)),
    "Max": lambda im, n, a, ins: np.maximum.reduce(np.broadcast_arrays(*ins)),
    "Range": _fold_range,
    "Expand": lambda im, n, a, ins: ins[0] * np.ones(tuple(int(d) for d in np.asarray(ins[1]).ravel()),
                                                     ins[0].dtype),
}


# ---- op handlers: (importer, node, attrs) --------------------------------------------------------------
def _four_d(im, node, x: str, what: str = "input"):
    s = im.shapes[x]
    if len(s) != 4:
        im.fail(node, f"the {what} must be 4-D NCHW, got shape {s}")
    return s


def _pair_attr(im, node, a, key, default):
    v = [int(t) for t in a.get(key, default)]
    if len(v) != 2:
        im.fail(node, f"{key}={v}: only 2-D operations are supported")
    return tuple(v)


def _conv_common(im, node, a):
    x = im.tensor(node, 0)
    w = im.const(node, 1, "the weight")
    b = im.const(node, 2, "the bias", required=False)
    if w.ndim != 4:
        im.fail(node, f"only 2-D convolutions are supported (weight shape {w.shape})")
    if "kernel_shape" in a and tuple(a["kernel_shape"]) != tuple(w.shape[2:]):
        im.fail(node, f"kernel_shape {tuple(a['kernel_shape'])} does not match the weight {w.shape}")
    xs = _four_d(im, node, x)
    stride = _pair_attr(im, node, a, "strides", (1, 1))
    dilation = _pair_attr(im, node, a, "dilations", (1, 1))
    groups = int(a.get("group", 1))
    if b is not None:
        b = np.asarray(b).reshape(-1)
    return x, w, b, xs, stride, dilation, groups


def _conv(im, node, a):
    x, w, b, xs, stride, dilation, groups = _conv_common(im, node, a)
    auto = a.get("auto_pad", "NOTSET")
    if auto == "NOTSET":
        pads = [int(p) for p in a.get("pads", (0, 0, 0, 0))]
        if len(pads) != 4:
            im.fail(node, f"pads={pads}: expected 4 values")
        hb, wb, he, we = pads
    elif auto == "VALID":
        hb = wb = he = we = 0
    elif auto in ("SAME_UPPER", "SAME_LOWER"):
        pair = []
        for n, k, s, d in zip(xs[2:], w.shape[2:], stride, dilation):
            total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
            small, big = total // 2, total - total // 2
            pair.append((small, big) if auto == "SAME_UPPER" else (big, small))
        (hb, he), (wb, we) = pair
    else:
        im.fail(node, f"auto_pad {auto!r} is not supported")
    if min(hb, wb, he, we) < 0:
        im.fail(node, f"negative pads {(hb, wb, he, we)} are not supported")
    if (hb, wb) == (he, we):
        padding = (hb, wb)
    else:
        x = im.emit(node, "pad", [x], {"pads": (hb, he, wb, we), "mode": "zeros"}, suffix=".pad")
        padding = (0, 0)
    im.emit(node, "conv2d", [x], {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups},
            {"weight": w, "bias": b})


def _conv_transpose(im, node, a):
    x, w, b, xs, stride, dilation, groups = _conv_common(im, node, a)
    if "output_shape" in a:
        im.fail(node, "the output_shape attribute is not supported (export with explicit pads and output_padding)")
    out_pad = _pair_attr(im, node, a, "output_padding", (0, 0))
    auto = a.get("auto_pad", "NOTSET")
    if auto == "NOTSET":
        pads = [int(p) for p in a.get("pads", (0, 0, 0, 0))]
        if len(pads) != 4:
            im.fail(node, f"pads={pads}: expected 4 values")
    elif auto == "VALID":
        pads = [0, 0, 0, 0]
    elif auto in ("SAME_UPPER", "SAME_LOWER"):
        if any(out_pad):
            im.fail(node, f"auto_pad {auto} with output_padding {out_pad} is not supported (ONNX shape inference "
                          "and onnxruntime disagree on its output size)")
        totals = [op + (k - 1) * d + 1 - s for op, k, s, d in zip(out_pad, w.shape[2:], stride, dilation)]
        if min(totals) < 0:
            im.fail(node, f"auto_pad {auto} needs negative padding {totals}")
        lo = [t // 2 if auto == "SAME_UPPER" else t - t // 2 for t in totals]
        pads = [lo[0], lo[1], totals[0] - lo[0], totals[1] - lo[1]]
    else:
        im.fail(node, f"auto_pad {auto!r} is not supported")
    if (pads[0], pads[1]) != (pads[2], pads[3]) or min(pads) < 0:
        im.fail(node, f"asymmetric or negative pads {tuple(pads)} (begin h, w, end h, w) are not supported "
                      "for a transposed convolution")
    im.emit(node, "conv_transpose2d", [x], {"stride": stride, "padding": (pads[0], pads[1]), "dilation": dilation,
                                             "groups": groups, "output_padding": out_pad},
            {"weight": w, "bias": b})


def _gemm(im, node, a):
    x = im.tensor(node, 0)
    B = im.const(node, 1, "B (the weight)")
    C = im.const(node, 2, "C (the bias)", required=False)
    ta, tb = int(a.get("transA", 0)), int(a.get("transB", 0))
    alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
    if ta != 0:
        im.fail(node, "transA=1 is not supported")
    if tb not in (0, 1):
        im.fail(node, f"transB={tb} is not supported")
    if alpha != 1.0 or (C is not None and beta != 1.0):
        im.fail(node, f"alpha={alpha}, beta={beta}: only alpha = beta = 1 is supported")
    if B.ndim != 2:
        im.fail(node, f"B must be 2-D, got shape {B.shape}")
    if len(im.shapes[x]) != 2:
        im.fail(node, f"A must be 2-D, got shape {im.shapes[x]}")
    weight = B if tb else B.T
    bias = None
    if C is not None:
        try:
            bias = np.broadcast_to(C, (1, weight.shape[0])).reshape(-1)
        except ValueError:
            im.fail(node, f"C of shape {C.shape} is not a bias of {weight.shape[0]} outputs broadcast over the batch")
    im.emit(node, "linear", [x], {}, {"weight": weight, "bias": bias})


def _matmul(im, node, a):
    x = im.tensor(node, 0)
    w = im.const(node, 1, "the right-hand operand")
    if w.ndim != 2:
        im.fail(node, f"the right-hand operand must be a 2-D initializer, got shape {w.shape}")
    if len(im.shapes[x]) < 2:
        im.fail(node, f"the left-hand operand must have a batch axis and a feature axis, got shape {im.shapes[x]}")
    im.emit(node, "linear", [x], {}, {"weight": w.T})


def _gather(im, node, a):
    table = im.const(node, 0, "the table (embedding weight)")
    idx = im.tensor(node, 1)
    if table.ndim != 2:
        im.fail(node, f"only a 2-D table (an embedding) is supported, got shape {table.shape}")
    if im.dtypes.get(idx, "int") != "int":
        im.fail(node, f"the indices {idx!r} must be an integer input")
    if int(a.get("axis", 0)) % 2 != 0:
        im.fail(node, f"axis={a.get('axis')}: only axis 0 (an embedding lookup) is supported")
    im.emit(node, "embedding", [idx], {}, {"weight": table})


def _binary(op):
    def handler(im, node, a):
        if len(node.input) != 2:
            im.fail(node, f"expected 2 inputs, got {len(node.input)}")
        va, vb = im.arg(node, 0), im.arg(node, 1)
        if va is None or vb is None:
            im.fail(node, "an operand is missing")
        if va[0] == "t" and vb[0] == "t":
            if op == "Div":
                im.fail(node, "division by a tensor is not supported (only by a constant)")
            im.emit(node, op.lower(), [va[1], vb[1]])
            return
        reverse = va[0] == "c"
        x, c = (vb[1], va[1]) if reverse else (va[1], vb[1])
        c = np.asarray(c, np.float64)
        rank = len(im.shapes[x])
        name = op.lower()
        if op == "Div":
            if reverse:
                im.fail(node, "division of a constant by a tensor is not supported")
            if not np.all(c != 0):
                im.fail(node, "division by zero")
            name, c = "mul", 1.0 / c
        if c.ndim > rank or (c.ndim == rank and c.shape[0] != 1):
            im.fail(node, f"the constant operand of shape {c.shape} would broadcast over the batch axis "
                          f"of the tensor {im.shapes[x]}")
        attrs = {"reverse": True} if reverse and name == "sub" else {}
        if c.size == 1:
            im.emit(node, name, [x], dict(attrs, const=float(c.reshape(()))))
        else:
            im.emit(node, name, [x], attrs, {"other": c})
    return handler


def _concat(im, node, a):
    xs = [im.tensor(node, i) for i in range(len(node.input))]
    rank = len(im.shapes[xs[0]])
    im.emit(node, "concat", xs, {"axis": int(a.get("axis", 0)) % rank})


def _reshape_like(im, node, a):
    x = im.tensor(node, 0)
    s = im.shapes[x]
    op = node.op_type
    try:
        if op == "Reshape":
            target = im.const(node, 1, "the shape")
            if a.get("allowzero") and 0 in np.asarray(target).ravel().tolist():
                im.fail(node, "allowzero with a 0 in the shape (an empty tensor) is not supported")
            out = _reshape_dims(im, node, s, target, bool(a.get("allowzero")))
        elif op == "Flatten":
            axis = int(a.get("axis", 1))
            axis = axis + len(s) if axis < 0 else axis
            if axis == 0:
                im.fail(node, "Flatten with axis 0 merges the batch axis")
            out = (math.prod(s[:axis]), math.prod(s[axis:]))
        elif op == "Squeeze":
            axes = _axes(node, a, [None, im.const(node, 1, "the axes", required=False)])
            axes = [i for i, d in enumerate(s) if d == 1] if axes is None else [ax % len(s) for ax in axes]
            if 0 in axes:
                im.fail(node, "squeezing the batch axis is not supported")
            if any(s[ax] != 1 for ax in axes):
                im.fail(node, f"cannot squeeze axes {axes} of shape {s}")
            out = tuple(d for i, d in enumerate(s) if i not in axes)
        else:   # Unsqueeze
            axes = _axes(node, a, [None, im.const(node, 1, "the axes", required=False)])
            if axes is None:
                im.fail(node, "Unsqueeze without axes")
            rank = len(s) + len(axes)
            axes = sorted(ax % rank for ax in axes)
            if 0 in axes:
                im.fail(node, "inserting an axis before the batch axis is not supported")
            out = list(s)
            for ax in axes:
                out.insert(ax, 1)
            out = tuple(out)
    except ModelError:
        raise
    except ValueError as exc:
        im.fail(node, str(exc))
    if not out or out[0] != s[0]:
        im.fail(node, f"reshape {s} -> {out} changes the batch axis")
    im.emit(node, "reshape", [x], {"shape": tuple(int(d) for d in out[1:])})


def _transpose(im, node, a):
    x = im.tensor(node, 0)
    rank = len(im.shapes[x])
    perm = [int(p) % rank for p in a.get("perm", range(rank - 1, -1, -1))]
    if not perm or perm[0] != 0:
        im.fail(node, f"perm={perm}: the batch axis must stay first")
    im.emit(node, "permute", [x], {"dims": tuple(perm)})


def _depth_to_space(im, node, a):
    x = im.tensor(node, 0)
    mode = a.get("mode", "DCR")
    if mode != "CRD":
        im.fail(node, f"mode {mode!r} is not supported (only CRD, torch's pixel_shuffle)")
    im.emit(node, "pixel_shuffle", [x], {"factor": int(a["blocksize"])})


_NEAREST_OK = {("asymmetric", "floor"), ("tf_half_pixel_for_nn", "floor"),
               ("half_pixel", "round_prefer_floor"), ("half_pixel", "round_prefer_ceil"),
               ("pytorch_half_pixel", "round_prefer_floor"), ("pytorch_half_pixel", "round_prefer_ceil")}


def _resize(im, node, a):
    x = im.tensor(node, 0)
    s = _four_d(im, node, x)
    op = node.op_type
    mode = a.get("mode", "nearest")
    scales = sizes = None
    if op == "Upsample":
        ctm, nearest_mode = "asymmetric", "floor"
        scales = a.get("scales")
        if scales is None:
            scales = im.const(node, 1, "the scales")
        if mode == "bilinear":
            mode = "linear"
    else:
        if im.opset < 11:
            ctm, nearest_mode = "asymmetric", "floor"
            scales = im.const(node, 1, "the scales")
        else:
            ctm = a.get("coordinate_transformation_mode", "half_pixel")
            nearest_mode = a.get("nearest_mode", "round_prefer_floor")
            scales = im.const(node, 2, "the scales", required=False)
            sizes = im.const(node, 3, "the sizes", required=False)
        if int(a.get("antialias", 0)):
            im.fail(node, "antialias=1 is not supported")
        if a.get("keep_aspect_ratio_policy", "stretch") != "stretch" and sizes is not None:
            im.fail(node, f"keep_aspect_ratio_policy {a['keep_aspect_ratio_policy']!r} is not supported")
    axes = [int(ax) % 4 for ax in a.get("axes", range(4))]
    full_scale = [1.0] * 4
    out = list(s)
    if sizes is not None and np.asarray(sizes).size:
        sizes = [int(v) for v in np.asarray(sizes).ravel()]
        if len(sizes) != len(axes):
            im.fail(node, f"sizes {sizes} do not match the axes {axes}")
        for ax, v in zip(axes, sizes):
            out[ax] = v
            full_scale[ax] = v / s[ax]
        given_scale = None
    elif scales is not None and np.asarray(scales).size:
        scales = [float(v) for v in np.asarray(scales).ravel()]
        if len(scales) != len(axes):
            im.fail(node, f"scales {scales} do not match the axes {axes}")
        for ax, v in zip(axes, scales):
            full_scale[ax] = v
            out[ax] = int(math.floor(s[ax] * v))
        given_scale = (full_scale[2], full_scale[3])
    else:
        im.fail(node, "needs constant scales or sizes")
    if out[:2] != list(s[:2]):
        im.fail(node, f"resizing the batch or channel axes ({tuple(s)} -> {tuple(out)}) is not supported")
    if min(out[2:]) < 1:
        im.fail(node, f"empty output {tuple(out)}")
    if mode == "nearest":
        factors = [out[i] / s[i] for i in (2, 3)]
        if any(f != int(f) or f < 1 or full_scale[i + 2] != f for i, f in enumerate(factors)):
            im.fail(node, f"nearest resize {tuple(s)} -> {tuple(out)} (scales {full_scale[2:]}): "
                          "only integer upscaling factors are supported")
        if factors != [1.0, 1.0] and (ctm, nearest_mode) not in _NEAREST_OK:
            im.fail(node, f"nearest resize with coordinate_transformation_mode {ctm!r} and nearest_mode "
                          f"{nearest_mode!r} is not supported (use asymmetric + floor, or half_pixel + "
                          "round_prefer_floor)")
        im.emit(node, "upsample", [x], {"size": (out[2], out[3]), "mode": "nearest"})
    elif mode == "linear":
        if ctm in ("half_pixel", "pytorch_half_pixel"):
            if ctm == "pytorch_half_pixel" and any(o == 1 and i > 1 for o, i in zip(out[2:], s[2:])):
                im.fail(node, "pytorch_half_pixel with an output length of 1 is not supported")
            align = False
        elif ctm == "align_corners":
            align, given_scale = True, None
        else:
            im.fail(node, f"linear resize with coordinate_transformation_mode {ctm!r} is not supported "
                          "(half_pixel, pytorch_half_pixel or align_corners)")
        im.emit(node, "upsample", [x], {"size": (out[2], out[3]), "mode": "bilinear", "align_corners": align,
                                        "scale": given_scale})
    else:
        im.fail(node, f"mode {mode!r} is not supported (nearest or linear)")


def _pad(im, node, a):
    x = im.tensor(node, 0)
    _four_d(im, node, x)   # a 4-D input, or a ModelError naming the node
    mode = a.get("mode", "constant")
    if im.opset >= 11:
        pads = im.const(node, 1, "the pads")
        value = im.const(node, 2, "the constant value", required=False)
        axes = im.const(node, 3, "the axes", required=False)
    else:
        pads, value, axes = a.get("pads"), a.get("value", 0.0), None
    pads = [int(p) for p in np.asarray(pads).ravel()]
    axes = list(range(4)) if axes is None else [int(ax) % 4 for ax in np.asarray(axes).ravel()]
    if len(pads) != 2 * len(axes):
        im.fail(node, f"pads {pads} do not match the axes {axes}")
    full = [0] * 8
    for i, ax in enumerate(axes):
        full[ax], full[ax + 4] = pads[i], pads[i + len(axes)]
    if full[0] or full[1] or full[4] or full[5]:
        im.fail(node, f"pads {pads}: only the H and W axes may be padded")
    if min(full) < 0:
        im.fail(node, f"negative pads {pads} (cropping) are not supported")
    kind = {"constant": "zeros", "reflect": "reflect", "edge": "replicate"}.get(mode)
    if kind is None:
        im.fail(node, f"mode {mode!r} is not supported (constant, reflect or edge)")
    if kind == "zeros" and value is not None and np.asarray(value).size and float(np.asarray(value).ravel()[0]):
        im.fail(node, f"constant padding with value {float(np.asarray(value).ravel()[0])} is not supported "
                      "(zeros only)")
    im.emit(node, "pad", [x], {"pads": (full[2], full[6], full[3], full[7]), "mode": kind})


def _batch_norm(im, node, a):
    x = im.tensor(node, 0)
    if int(a.get("training_mode", 0)):
        im.fail(node, "batch norm in training mode")
    if not int(a.get("spatial", 1)):
        im.fail(node, "spatial=0 is not supported")
    im.only_first_output(node)
    params = {k: np.asarray(im.const(node, i, k)).reshape(-1)
              for i, k in enumerate(("weight", "bias", "running_mean", "running_var"), start=1)}
    im.emit(node, "batch_norm", [x], {"eps": float(a.get("epsilon", 1e-5))}, params)


def _instance_norm(im, node, a):
    x = im.tensor(node, 0)
    w = np.asarray(im.const(node, 1, "the scale"), np.float64).reshape(-1)
    b = np.asarray(im.const(node, 2, "the bias"), np.float64).reshape(-1)
    params = {} if np.all(w == 1) and np.all(b == 0) else {"weight": w, "bias": b}
    im.emit(node, "instance_norm", [x], {"eps": float(a.get("epsilon", 1e-5))}, params)


def _act(op):
    def handler(im, node, a):
        x = im.tensor(node, 0)
        attrs = {"slope": float(a.get("alpha", 0.01))} if op == "leaky_relu" else {}
        im.emit(node, op, [x], attrs)
    return handler


def _prelu(im, node, a):
    x = im.tensor(node, 0)
    slope = np.asarray(im.const(node, 1, "the slope"), np.float64)
    s = im.shapes[x]
    if slope.size > 1:
        full = (1,) * (len(s) - slope.ndim) + slope.shape
        if len(full) != len(s) or len(s) < 2 or full[1] != s[1] or math.prod(full) != s[1]:
            im.fail(node, f"slope of shape {slope.shape} is not one value per channel of {s}")
    im.emit(node, "prelu", [x], {}, {"weight": slope.reshape(-1)})


def _clip(im, node, a):
    x = im.tensor(node, 0)
    if im.opset >= 11:
        lo = im.const(node, 1, "min", required=False)
        hi = im.const(node, 2, "max", required=False)
    else:
        lo, hi = a.get("min"), a.get("max")
    lo = None if lo is None else float(np.asarray(lo).reshape(()))
    hi = None if hi is None else float(np.asarray(hi).reshape(()))
    if lo is not None and hi is not None:
        im.emit(node, "hardtanh", [x], {"min": lo, "max": hi})
    elif lo == 0.0 and hi is None:
        im.emit(node, "relu", [x])
    else:
        im.fail(node, f"min={lo}, max={hi}: Clip needs both bounds (or min 0 alone)")


def _identity(im, node, a):
    im.alias(node, im.tensor(node, 0))


def _dropout(im, node, a):
    x = im.tensor(node, 0)
    training = im.const(node, 2, "training_mode", required=False)
    if training is not None and bool(np.asarray(training).reshape(())):
        im.fail(node, "dropout in training mode")
    if "is_test" in a and not int(a["is_test"]):
        im.fail(node, "dropout in training mode (is_test=0)")
    im.only_first_output(node)
    im.alias(node, x)


_HANDLERS = {
    "Conv": _conv, "ConvTranspose": _conv_transpose, "Gemm": _gemm, "MatMul": _matmul, "Gather": _gather,
    "Add": _binary("Add"), "Sub": _binary("Sub"), "Mul": _binary("Mul"), "Div": _binary("Div"),
    "Concat": _concat,
    "Reshape": _reshape_like, "Flatten": _reshape_like, "Squeeze": _reshape_like, "Unsqueeze": _reshape_like,
    "Transpose": _transpose, "DepthToSpace": _depth_to_space,
    "Resize": _resize, "Upsample": _resize, "Pad": _pad,
    "BatchNormalization": _batch_norm, "InstanceNormalization": _instance_norm,
    "Relu": _act("relu"), "LeakyRelu": _act("leaky_relu"), "PRelu": _prelu, "Tanh": _act("tanh"),
    "Sigmoid": _act("sigmoid"), "Clip": _clip, "Identity": _identity, "Dropout": _dropout,
}


def _prepare(onnx, model, origin: str):
    """A copy of ``model`` with its inputs' symbolic batch axis set to 1, and its shape inference."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    inits = {i.name for i in m.graph.initializer}
    for vi in m.graph.input:
        if vi.name in inits or not vi.type.HasField("tensor_type") or not vi.type.tensor_type.HasField("shape"):
            continue
        dims = vi.type.tensor_type.shape.dim
        if len(dims) and not dims[0].HasField("dim_value"):
            dims[0].Clear()
            dims[0].dim_value = 1
    del m.graph.value_info[:]           # stale (possibly symbolic) annotations: re-inferred below
    for vi in m.graph.output:
        if vi.type.HasField("tensor_type") and vi.type.tensor_type.HasField("shape"):
            if any(not d.HasField("dim_value") for d in vi.type.tensor_type.shape.dim):
                vi.type.tensor_type.ClearField("shape")
    try:
        inferred = onnx.shape_inference.infer_shapes(m, check_type=False, strict_mode=False, data_prop=True)
    except Exception as exc:   # noqa: BLE001 - inference errors are the model's: one line
        raise ModelError(f"{origin}: ONNX shape inference failed: {_first_line(exc)}") from exc
    return m, inferred


def from_onnx(path_or_model, name: str | None = None) -> Graph:
    """The graph of an ONNX model (a file path or an ``onnx.ModelProto``). ``name`` defaults to the file's
    stem (the graph's name for a ModelProto)."""
    try:
        import onnx
        import onnx.numpy_helper
        import onnx.shape_inference
    except ImportError as exc:
        raise ModelError("importing an ONNX model needs the onnx package: pip install onnx") from exc
    model, origin, default = _load(onnx, path_or_model)
    model, inferred = _prepare(onnx, model, origin)
    return _Importer(onnx, model, name or default, origin).run(inferred)


__all__ = ["from_onnx"]
