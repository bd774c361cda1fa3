"""Import a torch ``nn.Module`` into the generator graph (torch is imported here only).

The module is captured with ``torch.export`` (non-strict: the Python code runs for real on the example
inputs, so control flow on Python values and tensor attributes such as pytorch/examples' ``if
input.is_cuda and self.ngpu > 1`` is specialised away, where torch.fx's symbolic tracing fails), which
yields ATen ops with every argument explicit. Each ATen op maps to one graph op (table ``_ATEN``);
anything else is a ``ModelError`` naming the node, the op and the module it came from. Node names are
the torch module paths (``main.0``), or the export node name for functional code.
"""
from __future__ import annotations

import logging
import operator
import warnings

import numpy as np

from accelsim.errors import ModelError
from accelsim.graph.ir import Graph, Input, Node

log = logging.getLogger(__name__)


def _np(t) -> np.ndarray:
    return t.detach().cpu().to(dtype=__import__("torch").float64).numpy().copy()


class _Importer:
    def __init__(self, ep, name: str, origin: str):
        import torch
        self.torch = torch
        self.ep = ep
        self.name = name
        self.origin = origin
        self.nodes: list[Node] = []
        self.values: dict = {}        # fx node -> graph value name | ("param", ndarray) | ("tuple", [...]) | scalar
        self.used: set[str] = set()
        sig = ep.graph_signature
        tensors = dict(ep.state_dict)
        tensors.update(getattr(ep, "constants", {}) or {})
        self.params = {}
        for spec in sig.input_specs:
            target = getattr(spec, "target", None)
            if target is not None and target in tensors:
                self.params[spec.arg.name] = tensors[target]
        self.inputs: list[Input] = []

    # ---- helpers --------------------------------------------------------------------------------------
    def fail(self, fxnode, msg: str):
        stack = fxnode.meta.get("nn_module_stack") or {}
        where = list(stack.values())[-1][0] if stack else ""
        raise ModelError(f"{self.origin}: node {fxnode.name!r} ({fxnode.target}"
                         f"{', in module ' + repr(where) if where else ''}): {msg}")

    def node_name(self, fxnode, suffix: str = "") -> str:
        stack = fxnode.meta.get("nn_module_stack") or {}
        path = list(stack.values())[-1][0] if stack else ""
        if suffix:
            name = (path or fxnode.name) + suffix
        else:
            name = path if path and path not in self.used else (f"{path}.{fxnode.name}" if path else fxnode.name)
        while name in self.used:
            name += "_"
        self.used.add(name)
        return name

    def tensor(self, fxnode, arg):
        v = self.values.get(arg) if hasattr(arg, "op") else None
        if isinstance(v, str):
            return v
        self.fail(fxnode, f"expected a tensor computed from the inputs, got {arg!r}")

    def param(self, fxnode, arg, what: str):
        if arg is None:
            return None
        v = self.values.get(arg) if hasattr(arg, "op") else None
        if isinstance(v, tuple) and v[0] == "param":
            return v[1]
        self.fail(fxnode, f"{what} must be a parameter or buffer of the module, not computed from the inputs")

    def emit(self, fxnode, op, inputs, attrs=None, params=None, suffix: str = ""):
        """Add a graph node for ``fxnode`` (``suffix``: an extra node the op needs before it)."""
        name = self.node_name(fxnode, suffix)
        stack = fxnode.meta.get("nn_module_stack") or {}
        src = list(stack.values())[-1] if stack else None
        kind = str(src[1]).rsplit(".", 1)[-1].rstrip("'>") if src else ""
        source = f"{src[0]} ({kind})" if src and src[0] else str(fxnode.target)
        params = {k: np.asarray(v, np.float64) for k, v in (params or {}).items() if v is not None}
        self.nodes.append(Node(name, op, tuple(inputs), dict(attrs or {}), params, source=source))
        if not suffix:
            self.values[fxnode] = name
        return name

    def shape(self, fxnode) -> tuple:
        val = fxnode.meta.get("val")
        if val is None or not hasattr(val, "shape"):
            self.fail(fxnode, "has no static tensor shape")
        return tuple(int(d) for d in val.shape)

    # ---- the walk ---------------------------------------------------------------------------------------
    def run(self) -> Graph:
        from torch.fx.operator_schemas import normalize_function
        user_inputs = {s.arg.name for s in self.ep.graph_signature.input_specs
                       if type(s.kind).__name__ == "InputKind" and s.kind.name == "USER_INPUT"}
        outputs = []
        for n in self.ep.graph.nodes:
            if n.op == "placeholder":
                if n.name in self.params:
                    self.values[n] = ("param", _np(self.params[n.name]))
                elif n.name in user_inputs:
                    val = n.meta.get("val")
                    if val is None or not hasattr(val, "shape"):
                        self.fail(n, "inputs must be tensors")
                    kind = "int" if not val.dtype.is_floating_point else "float"
                    self.inputs.append(Input(n.name, tuple(int(d) for d in val.shape), kind))
                    self.values[n] = n.name
                else:
                    self.fail(n, "unsupported kind of graph input")
            elif n.op == "call_function":
                if n.target is operator.getitem:
                    src = self.values.get(n.args[0])
                    if isinstance(src, tuple) and src[0] == "tuple":
                        self.values[n] = src[1][n.args[1]]
                        continue
                    self.fail(n, "indexing is supported only on a batch norm's result tuple")
                opname = str(n.target).split(".")[1] if str(n.target).startswith("aten.") else str(n.target)
                base = opname.rstrip("_")
                if base not in _ATEN:
                    self.fail(n, "operation not supported by the accelerator graph (supported: "
                              f"{', '.join(sorted(_ATEN))})")
                try:
                    pair = normalize_function(n.target, n.args, n.kwargs, normalize_to_only_use_kwargs=True)
                except Exception:   # noqa: BLE001 - fall back to the raw arguments
                    pair = None
                kw = dict(pair.kwargs) if pair is not None else dict(n.kwargs)
                args = n.args
                _ATEN[base](self, n, kw, args)
            elif n.op == "output":
                outs = n.args[0]
                for o in (outs if isinstance(outs, (tuple, list)) else (outs,)):
                    v = self.values.get(o)
                    if not isinstance(v, str):
                        self.fail(n, f"output {o!r} is not a tensor computed from the inputs")
                    outputs.append(v)
            else:
                self.fail(n, f"unsupported fx node kind {n.op!r}")
        if not self.inputs:
            raise ModelError(f"{self.origin}: the model takes no tensor input")
        return Graph(self.name, tuple(self.inputs), tuple(self.nodes), tuple(outputs), self.origin)


# ---- op handlers: (importer, fx node, normalized kwargs, raw args) -------------------------------------
def _pair(v):
    return tuple(int(x) for x in v) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _conv(im, n, kw, args, transposed=False):
    x = im.tensor(n, kw.get("input", args[0]))
    w = im.param(n, kw.get("weight", args[1]), "the weight")
    b = im.param(n, kw.get("bias"), "the bias")
    if w.ndim != 4:
        im.fail(n, f"only 2-D convolutions are supported (weight shape {w.shape})")
    stride, dilation = _pair(kw.get("stride", 1)), _pair(kw.get("dilation", 1))
    groups = int(kw.get("groups", 1))
    padding = kw.get("padding", 0)
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            totals = [d * (k - 1) for d, k in zip(dilation, w.shape[2:])]
            before = [t // 2 for t in totals]
            after = [t - b_ for t, b_ in zip(totals, before)]
            if before != after:   # odd total: torch pads the extra row/column at the end
                x = im.emit(n, "pad", [x], {"pads": (before[0], after[0], before[1], after[1]), "mode": "zeros"},
                            suffix=".same_pad")
                before = [0, 0]
            padding = tuple(before)
        else:
            im.fail(n, f"padding {padding!r} is not supported")
    attrs = {"stride": stride, "padding": _pair(padding), "dilation": dilation, "groups": groups}
    if transposed:
        attrs["output_padding"] = _pair(kw.get("output_padding", 0))
    im.emit(n, "conv_transpose2d" if transposed else "conv2d", [x], attrs, {"weight": w, "bias": b})


def _convolution(im, n, kw, args):
    if kw.get("transposed"):
        _conv(im, n, kw, args, transposed=True)
    else:
        _conv(im, n, kw, args)


def _linear(im, n, kw, args):
    x = im.tensor(n, kw.get("input", args[0]))
    im.emit(n, "linear", [x], {}, {"weight": im.param(n, kw.get("weight", args[1]), "the weight"),
                                   "bias": im.param(n, kw.get("bias"), "the bias")})


def _matmul(im, n, kw, args):
    a, b = kw.get("input", kw.get("self", args[0])), kw.get("other", kw.get("mat2", args[1]))
    w = im.param(n, b, "the right-hand operand of a matrix product")
    if w.ndim != 2:
        im.fail(n, "the right-hand operand must be a 2-D parameter")
    im.emit(n, "linear", [im.tensor(n, a)], {}, {"weight": w.T.copy()})


def _binary(op):
    def handler(im, n, kw, args):
        a = kw.get("self", kw.get("input", args[0]))
        b = kw.get("other", args[1] if len(args) > 1 else None)
        alpha = kw.get("alpha", 1)
        if alpha != 1:
            im.fail(n, f"alpha={alpha} is not supported")
        opname, reverse = op, False
        if op == "div":
            if hasattr(b, "op"):
                im.fail(n, "division by a tensor is not supported")
            opname, b = "mul", 1.0 / float(b)
        if op == "rsub":
            opname, reverse = "sub", True
        if not hasattr(a, "op") or not isinstance(im.values.get(a), str):
            a, b, reverse = b, a, not reverse
        x = im.tensor(n, a)
        attrs, params, inputs = {"reverse": reverse} if reverse else {}, {}, [x]
        vb = im.values.get(b) if hasattr(b, "op") else None
        if isinstance(vb, str):
            inputs.append(vb)
        elif isinstance(vb, tuple) and vb[0] == "param":
            params["other"] = vb[1]
        elif isinstance(b, (int, float)) and not isinstance(b, bool):
            attrs["const"] = float(b)
        else:
            im.fail(n, f"unsupported operand {b!r}")
        im.emit(n, opname, inputs, attrs, params)
    return handler


def _cat(im, n, kw, args):
    tensors = kw.get("tensors", args[0])
    rank = len(im.shape(n))
    dim = int(kw.get("dim", 0))
    im.emit(n, "concat", [im.tensor(n, t) for t in tensors], {"axis": dim % rank})


def _reshape_like(im, n, kw, args):
    x = kw.get("self", kw.get("input", args[0]))
    in_shape, out_shape = im.shape(x), im.shape(n)
    if not out_shape or out_shape[0] != in_shape[0]:
        im.fail(n, f"reshape {in_shape} -> {out_shape} changes the batch axis")
    im.emit(n, "reshape", [im.tensor(n, x)], {"shape": tuple(out_shape[1:])})


def _permute(im, n, kw, args):
    x = kw.get("self", args[0])
    rank = len(im.shape(x))
    if str(n.target).startswith("aten.transpose"):
        d0, d1 = int(kw.get("dim0", args[1])) % rank, int(kw.get("dim1", args[2])) % rank
        dims = list(range(rank))
        dims[d0], dims[d1] = dims[d1], dims[d0]
    else:
        dims = [int(d) % rank for d in kw.get("dims", args[1])]
    im.emit(n, "permute", [im.tensor(n, x)], {"dims": tuple(dims)})


def _identity(im, n, kw, args):
    x = kw.get("self", kw.get("input", args[0]))
    if kw.get("train") is True:
        im.fail(n, "dropout in training mode")
    im.values[n] = im.tensor(n, x)


def _pixel_shuffle(im, n, kw, args):
    im.emit(n, "pixel_shuffle", [im.tensor(n, kw.get("self", args[0]))],
            {"factor": int(kw.get("upscale_factor", args[1]))})


def _upsample(mode):
    def handler(im, n, kw, args):
        x = kw.get("input", kw.get("self", args[0]))
        out = im.shape(n)
        scales = kw.get("scale_factors") or kw.get("scales_h") and (kw.get("scales_h"), kw.get("scales_w"))
        attrs = {"size": tuple(out[2:]), "mode": mode}
        if mode == "bilinear":
            attrs["align_corners"] = bool(kw.get("align_corners", False))
            attrs["scale"] = tuple(float(s) for s in scales) if scales else None
        im.emit(n, "upsample", [im.tensor(n, x)], attrs)
    return handler


def _pad(im, n, kw, args):
    x = kw.get("self", kw.get("input", args[0]))
    target = str(n.target)
    if "reflection_pad2d" in target:
        mode, pads = "reflect", kw.get("padding", args[1])
    elif "replication_pad2d" in target:
        mode, pads = "replicate", kw.get("padding", args[1])
    else:
        mode = {"constant": "zeros", "reflect": "reflect", "replicate": "replicate"}.get(kw.get("mode", "constant"))
        pads = kw.get("pad", args[1])
        value = kw.get("value") or 0.0
        if mode is None:
            im.fail(n, f"padding mode {kw.get('mode')!r} is not supported")
        if value:
            im.fail(n, f"constant padding with value {value} is not supported (zeros only)")
    pads = [int(p) for p in pads]
    if len(pads) != 4 or min(pads) < 0:
        im.fail(n, f"padding must be 4 non-negative values (left, right, top, bottom), got {pads}")
    l, r, t, b = pads
    im.emit(n, "pad", [im.tensor(n, x)], {"pads": (t, b, l, r), "mode": mode})


def _batch_norm(im, n, kw, args):
    x = im.tensor(n, kw.get("input", args[0]))
    if kw.get("training"):
        im.fail(n, "batch norm in training mode (call model.eval())")
    c = im.shape(n)[1]
    w = im.param(n, kw.get("weight"), "the weight")
    b = im.param(n, kw.get("bias"), "the bias")
    mean = im.param(n, kw.get("running_mean"), "running_mean")
    var = im.param(n, kw.get("running_var"), "running_var")
    if mean is None or var is None:
        im.fail(n, "batch norm without running statistics")
    params = {"weight": np.ones(c) if w is None else w, "bias": np.zeros(c) if b is None else b,
              "running_mean": mean, "running_var": var}
    name = im.emit(n, "batch_norm", [x], {"eps": float(kw.get("eps", 1e-5))}, params)
    if "legit" in str(n.target):
        im.values[n] = ("tuple", [name, None, None])


def _instance_norm(im, n, kw, args):
    x = im.tensor(n, kw.get("input", args[0]))
    if kw.get("use_input_stats") is False:
        im.fail(n, "instance norm with running statistics (track_running_stats=True) is not supported")
    w = im.param(n, kw.get("weight"), "the weight")
    b = im.param(n, kw.get("bias"), "the bias")
    params = {} if w is None else {"weight": w, "bias": np.zeros_like(w) if b is None else b}
    im.emit(n, "instance_norm", [x], {"eps": float(kw.get("eps", 1e-5))}, params)


def _act(op):
    def handler(im, n, kw, args):
        x = im.tensor(n, kw.get("self", kw.get("input", args[0])))
        attrs, params = {}, {}
        if op == "leaky_relu":
            attrs["slope"] = float(kw.get("negative_slope", 0.01))
        elif op == "hardtanh":
            attrs["min"], attrs["max"] = float(kw.get("min_val", -1.0)), float(kw.get("max_val", 1.0))
        elif op == "prelu":
            params["weight"] = im.param(n, kw.get("weight", args[1]), "the weight")
        im.emit(n, op, [x], attrs, params)
    return handler


def _clamp(im, n, kw, args):
    x = im.tensor(n, kw.get("self", args[0]))
    lo, hi = kw.get("min"), kw.get("max")
    if lo is not None and hi is None and float(lo) == 0.0:
        im.emit(n, "relu", [x])
    elif lo is not None and hi is not None:
        im.emit(n, "hardtanh", [x], {"min": float(lo), "max": float(hi)})
    else:
        im.fail(n, "clamp needs both bounds (or min=0)")


def _embedding(im, n, kw, args):
    w = im.param(n, kw.get("weight", args[0]), "the embedding table")
    im.emit(n, "embedding", [im.tensor(n, kw.get("indices", args[1]))], {}, {"weight": w})


_ATEN = {
    "conv2d": _conv, "convolution": _convolution,
    "conv_transpose2d": lambda im, n, kw, a: _conv(im, n, kw, a, transposed=True),
    "linear": _linear, "matmul": _matmul, "mm": _matmul,
    "add": _binary("add"), "sub": _binary("sub"), "rsub": _binary("rsub"), "mul": _binary("mul"),
    "div": _binary("div"),
    "cat": _cat, "concat": _cat,
    "view": _reshape_like, "reshape": _reshape_like, "_unsafe_view": _reshape_like, "flatten": _reshape_like,
    "unsqueeze": _reshape_like, "squeeze": _reshape_like, "unflatten": _reshape_like,
    "permute": _permute, "transpose": _permute,
    "contiguous": _identity, "clone": _identity, "alias": _identity, "detach": _identity, "dropout": _identity,
    "feature_dropout": _identity, "lift_fresh_copy": _identity,
    "pixel_shuffle": _pixel_shuffle,
    "upsample_nearest2d": _upsample("nearest"), "upsample_bilinear2d": _upsample("bilinear"),
    "pad": _pad, "constant_pad_nd": _pad, "reflection_pad2d": _pad, "replication_pad2d": _pad,
    "batch_norm": _batch_norm, "_native_batch_norm_legit_no_training": _batch_norm,
    "instance_norm": _instance_norm,
    "relu": _act("relu"), "leaky_relu": _act("leaky_relu"), "prelu": _act("prelu"), "tanh": _act("tanh"),
    "sigmoid": _act("sigmoid"), "hardtanh": _act("hardtanh"), "clamp": _clamp, "embedding": _embedding,
}


def from_torch(module, example_inputs, name: str | None = None, origin: str | None = None) -> Graph:
    """The graph of ``module`` (an ``nn.Module``) run on ``example_inputs`` (a tensor or a tuple of
    tensors, batch first). The module is put in eval mode for the capture and restored after."""
    import torch
    if not isinstance(module, torch.nn.Module):
        raise ModelError(f"{origin or 'model'}: expected a torch.nn.Module, got {type(module).__name__}")
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    example_inputs = tuple(example_inputs)
    if not example_inputs or not all(isinstance(t, torch.Tensor) for t in example_inputs):
        raise ModelError(f"{origin or 'model'}: example inputs must be a tensor or a tuple of tensors")
    name = name or type(module).__name__
    origin = origin or name
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ep = torch.export.export(module, example_inputs, strict=False)
        for w in caught:   # torch's own remarks while tracing the user's code: not errors of the import
            log.debug("%s: torch.export: %s", origin, w.message)
    except Exception as exc:   # noqa: BLE001 - any capture failure is the user's model: one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{origin}: torch.export could not capture the model: {type(exc).__name__}: {first}") from exc
    finally:
        module.train(was_training)
    return _Importer(ep, name, origin).run()


__all__ = ["from_torch"]
