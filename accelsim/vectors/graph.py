"""Golden vectors of any generator graph: ``accelsim vectors export --model REF`` for any model
reference (``accelsim.graph.reference``: a shipped generator, a file.py:NAME module, an ``.onnx``
file), run by the one runtime (``accelsim.runtime``).

Steps, in order:
1. load the reference (``reference.load``; the model file's or weights' SHA-256 goes in the manifest);
2. quantize the graph to the format (``accelsim.runtime.quantize``), calibrated on ``calib`` inputs of
   seed 1234: the calibration ``accelsim generate`` uses, so the vectors are the pipeline it runs;
3. draw ``batch`` inputs of ``seed`` (the shipped DCGANs' latents, else ``LoadedModel.example_inputs``);
4. run the whole graph twice, with the golden model and with the C++ kernels, through a *recording*
   kernel implementation (``QuantizedGraph.run`` takes a kernel implementation object as ``impl``):
   it forwards every call to the real kernels and keeps, per MAC node (matched by the identity of the
   node's weight codes and m0 arrays in its ``MacPlan``), the operands of its integer kernel call
   (``conv_int``, ``conv_xnor`` or ``conv_flex``: the input the kernel consumed, its arguments), the
   accumulators and, for ``conv_int``, the output codes of ``requantize_integer``. Nothing is
   recomputed on the side: the vectors are the kernel calls;
5. refuse unless golden == C++ on every recorded tensor and on every value of the graph (outputs
   included), and the recorded outputs are the runtime's own trace;
6. write the selected MAC nodes with the shared per-layer writer (``export.layer_record``), the
   manifest and the C sidecar (``export.write_vectors``).

Exported: every MAC node whose format runs an integer kernel: ``qconv`` (``conv_int``: wNaM with N >= 3,
ternary w2aM, binary-weight w1aM; M >= 2), ``bconv`` (``conv_xnor``: w1a1; its y is the signs the next
binary layer reads, or its accumulators when the vector unit reads it) and ``flexconv`` (``conv_flex``:
flex16+5). Layer K is the K-th MAC node of the graph (conv2d, conv_transpose2d, or linear run as a 1x1
conv2d over the rows of its input).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np

from accelsim import __version__, kernels
from accelsim.errors import AccelsimError, FormatError, ModelError
from accelsim.formats.conv import ConvSpec
from accelsim.vectors import export as ex
from accelsim.vectors.errors import VectorsError
from accelsim.vectors.layers import LayerRun

INT_HELP = "an integer format: w8a8, w4a8, w2a8 (ternary), w1a8, w1a1 (XNOR), flex16+5, ..."


@dataclass
class KernelLayer:
    """One MAC node as its kernel calls saw it: the fields ``layers.layer_tensors`` reads."""
    name: str
    spec: ConvSpec
    w_codes: np.ndarray
    w_kind: str
    w_bits: int
    x_bits: int
    x_signed: bool
    x_zero_point: int
    bias: np.ndarray | None
    m0: np.ndarray | None
    shift: np.ndarray | None
    out_bits: int
    out_signed: bool
    act: str
    lut: None = None
    w_exp: int = 0


def kernel_of(fmt) -> str | None:
    """The integer kernel MAC nodes in ``fmt`` (a ``NumericFormat``) run (as ``QuantizedGraph._mac``):
    ``qconv``, ``bconv``, ``flexconv``, or None for the float formats."""
    if fmt.is_float:
        return None
    if fmt.weight_kind == "flex":
        return "flexconv"
    return "bconv" if fmt.act_kind == "binary" else "qconv"


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


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


class _Recording:
    """A kernel implementation: forwards every call to ``K``; keeps the integer kernel calls and the
    ``requantize_integer`` calls of the MAC nodes of ``plans`` (by node name)."""

    # No fused w1a1 call: the runtime then runs signs, conv_xnor (recorded) and the scale as three steps
    # (the same bits, QuantizedGraph._mac).
    conv_xnor_f64 = None

    def __init__(self, K, plans):
        self._K = K
        self._by_w = {id(p.w_codes): name for name, p in plans.items() if p.w_codes is not None}
        self._by_m0 = {id(p.m0): name for name, p in plans.items() if p.m0 is not None}
        self.calls: dict[str, dict] = {}

    def __getattr__(self, attr):
        return getattr(self._K, attr)

    def _keep(self, name: str, kernel: str, **values) -> None:
        rec = self.calls.setdefault(name, {})
        if kernel in rec:
            raise VectorsError(f"internal: MAC node {name!r} called {kernel} twice in one run: "
                               f"refusing to write vectors")
        rec[kernel] = True
        rec.update(values)

    def _conv(self, kernel: str, x, w, kw):
        acc = getattr(self._K, kernel)(x, w, **kw)
        name = self._by_w.get(id(w))
        if name is not None:
            self._keep(name, kernel, x=x, w=w, acc=acc, conv=kw)
        return acc

    def conv_int(self, x, w, **kw):
        return self._conv("conv_int", x, w, kw)

    def conv_xnor(self, x, w, **kw):
        return self._conv("conv_xnor", x, w, kw)

    def conv_flex(self, xm, x_exp, wm, w_exp, **kw):
        out = self._K.conv_flex(xm, x_exp, wm, w_exp, **kw)
        name = self._by_w.get(id(wm))
        if name is not None:
            self._keep(name, "conv_flex", x=xm, x_exp=x_exp, w=wm, w_exp=w_exp, conv=kw, flex_out=out)
        return out

    def requantize_integer(self, acc, m0, shift, **kw):
        y = self._K.requantize_integer(acc, m0, shift, **kw)
        name = self._by_m0.get(id(m0))
        if name is not None:
            self._keep(name, "requantize_integer", acc_in=acc, m0=m0, shift=shift, y=y, rq=kw)
        return y


def _sign_readers(qg, name: str) -> bool:
    """Whether every reader of MAC node ``name`` is a binary-activation MAC (it takes the signs)."""
    readers = qg._consumers.get(name, [])
    return bool(readers) and name not in qg.graph.outputs and \
        all(r.name in qg.plans and qg.plans[r.name].fmt.act_kind == "binary" for r in readers)


def _missing(node, p, kernel: str):
    return VectorsError(f"internal: MAC node {node.name!r} ({p.fmt.name}) did not run {kernel}"
                        f": refusing to write vectors")


def _qconv_run(i, node, p, c) -> LayerRun:
    if "conv_int" not in c or "requantize_integer" not in c or c["acc_in"] is not c["acc"]:
        raise _missing(node, p, "conv_int then requantize_integer on its accumulators")
    kw, rq = c["conv"], c["rq"]
    act = rq.get("act", "none")
    if not isinstance(act, str):
        raise VectorsError(f"internal: MAC node {node.name!r} requantizes through a lookup table: "
                           f"refusing to write vectors")
    q = KernelLayer(node.name, kw["spec"], c["w"], kw["w_kind"], kw["w_bits"], kw["x_bits"], kw["x_signed"],
                    kw["x_zero_point"], kw.get("bias"), c["m0"], c["shift"], rq["out_bits"], rq["out_signed"], act)
    params = {"x_bits": q.x_bits, "x_signed": q.x_signed, "x_zero_point": q.x_zero_point, "w_kind": q.w_kind,
              "w_bits": q.w_bits, "acc_bits": c["acc"].dtype.itemsize * 8, "requant_mode": "integer",
              "requant_zero_point": rq["zero_point"], "out_bits": q.out_bits, "out_signed": q.out_signed,
              "act": act, "x_scale": float(p.x_scale), "out_scale": float(p.out_scale),
              "out_zero_point": p.out_zero_point, "format": p.fmt.name}
    return LayerRun(i, q, "qconv", act, c["x"], q.bias, c["acc"], c["y"], params)


def _bconv_run(i, node, p, c, sign: bool) -> LayerRun:
    if "conv_xnor" not in c:
        raise _missing(node, p, "conv_xnor")
    acc, kw = c["acc"], c["conv"]
    acc_bits = acc.dtype.itemsize * 8
    if sign:
        act, y, out_bits = "sign", np.where(acc >= 0, 1, -1).astype(np.int8), 1
    else:
        act, y, out_bits = "acc", acc, acc_bits
    q = KernelLayer(node.name, kw["spec"], c["w"], "xnor", 1, 1, True, 0, kw.get("bias"), None, None, out_bits,
                    True, act)
    params = {"x_bits": 1, "x_signed": True, "x_zero_point": 0, "w_kind": "xnor", "w_bits": 1,
              "acc_bits": acc_bits, "out_bits": out_bits, "out_signed": True, "act": act,
              "x_scale": float(p.beta), "alpha": [float(v) for v in np.ravel(p.w_scale)], "format": p.fmt.name,
              "epilogue": "y = sign (+1 where acc >= 0, else -1), the next binary layer's input" if sign else
              "y = acc; the vector unit computes acc * x_scale * alpha[c] in float64"}
    return LayerRun(i, q, "bconv", act, c["x"], q.bias, acc, y, params)


def _flexconv_run(i, node, p, c) -> LayerRun:
    if "conv_flex" not in c:
        raise _missing(node, p, "conv_flex")
    kw = c["conv"]
    m, e, over, amax = c["flex_out"]
    q = KernelLayer(node.name, kw["spec"], c["w"], "flex", 16, 16, True, 0, kw.get("bias"), None, None, 16, True,
                    "none", w_exp=int(c["w_exp"]))
    params = {"x_exp": int(c["x_exp"]), "w_exp": int(c["w_exp"]), "dynamic": kw.get("out_exp") is None,
              "out_exp": int(e), "overflows": int(over), "acc_max_abs": int(amax), "act": "none",
              "format": p.fmt.name}
    return LayerRun(i, q, "flexconv", "none", c["x"], q.bias, None, m, params)


def run_graph(qg, inputs, impl: str) -> tuple[list[LayerRun], dict, object]:
    """(one LayerRun per MAC node that runs an integer kernel, the value trace, the outputs) of one run."""
    rec = _Recording(kernels.implementation(impl), qg.plans)
    outs, env = qg.run(inputs, impl=rec, trace=True)
    runs = []
    for i, node in enumerate(qg.graph.mac_nodes):
        p = qg.plans[node.name]
        kernel = kernel_of(p.fmt)
        c = rec.calls.get(node.name, {})
        if kernel == "qconv":
            runs.append(_qconv_run(i, node, p, c))
        elif kernel == "bconv":
            runs.append(_bconv_run(i, node, p, c, _sign_readers(qg, node.name)))
        elif kernel == "flexconv":
            runs.append(_flexconv_run(i, node, p, c))
    return runs, env, outs


def _value_equal(a, b) -> bool:
    from accelsim.runtime import QTensor
    if isinstance(a, QTensor) or isinstance(b, QTensor):
        return isinstance(a, QTensor) and isinstance(b, QTensor) and _same(a.codes, b.codes) and \
            (a.scale, a.zero_point, a.bits) == (b.scale, b.zero_point, b.bits)
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def verify_graph(qg, golden: list[LayerRun], cpp: list[LayerRun], g_env: dict, c_env: dict) -> None:
    """Refuse (VectorsError) unless the C++ run equals the golden run on every recorded kernel tensor
    and every value of the graph, and the recorded outputs are the runtime's trace."""
    compare_runs(golden, cpp)
    for name, value in g_env.items():
        if name not in c_env or not _value_equal(value, c_env[name]):
            raise VectorsError(f"golden model and C++ kernels disagree at graph value {name!r}: "
                               f"refusing to write vectors")
    from accelsim.formats import flexpoint
    for run in golden:
        t = g_env[run.q.name]
        if run.kernel == "qconv":
            codes = getattr(t, "codes", None)
            ok = codes is not None and codes.size == run.y.size and np.array_equal(codes.ravel(), run.y.ravel()) \
                and t.zero_point == run.params["requant_zero_point"]
        elif run.kernel == "bconv":
            v = np.asarray(t).ravel()
            ok = v.size == run.y.size and (np.array_equal(np.where(v >= 0, 1, -1), run.y.ravel()) if run.act == "sign"
                                           else np.array_equal(np.sign(v), np.sign(run.y.ravel())))
        else:
            ok = np.array_equal(np.asarray(t).ravel(), flexpoint.from_flex(run.y, run.params["out_exp"]).ravel())
        if not ok:
            raise VectorsError(f"internal: the exporter's layer {run.index} ({run.q.name}) output differs from "
                               f"the runtime's trace: refusing to write vectors")


def _no_int(fmt: str, canonical: str, model: str | None = None) -> VectorsError:
    named = fmt if fmt == canonical else f"{fmt} ({canonical})"
    where = f"no MAC node of {model} runs" if model else "it has no layer that runs"
    return VectorsError(f"fmt: {named}: {where} an integer kernel, so there are no integer vectors to "
                        f"export; use {INT_HELP}")


def _check_format(fmt) -> None:
    """Refuse a single float format before any work (assignments are checked once the MAC nodes are
    known)."""
    from accelsim.formats import registry
    if not isinstance(fmt, str) or not fmt.strip():
        raise VectorsError(f"fmt must be a format name such as w8a8, got {fmt!r}")
    if "," in fmt or "=" in fmt:
        return
    try:
        f = registry.get(fmt)
    except FormatError as exc:
        raise VectorsError(f"fmt: {exc}") from None
    if kernel_of(f) is None:
        raise _no_int(fmt.strip(), f.name)


def _model_file(ref: str) -> str | None:
    if ref.lower().endswith(".onnx"):
        return ref
    m = re.fullmatch(r"(.+\.py):([A-Za-z_][A-Za-z0-9_]*)", ref)
    return m.group(1) if m else None


def _digest(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError as exc:
        raise VectorsError(f"model: {path}: cannot read: {exc.strerror or exc}") from None


def model_inputs(loaded, n: int, seed: int) -> tuple[tuple[np.ndarray, ...], str]:
    """(inputs, their source): what ``accelsim generate`` feeds the model."""
    return loaded.example_inputs(n, seed), loaded.input_source


def _model_info(ref: str, loaded, calib: int, calib_source: str, autoflex: bool = False) -> dict:
    info = {"name": loaded.name, "reference": ref, "origin": loaded.origin}
    path = _model_file(ref)
    if path is not None:
        info.update(file=path, file_sha256=_digest(path))
    else:
        from accelsim.models import registry
        if loaded.name in registry.GENERATORS:
            wpath = registry.weights_path(loaded.name)
            info.update(weights_file=wpath.rsplit("/", 1)[-1], weights_sha256=_digest(wpath))
    info["calibration"] = {"n": calib, "seed": ex.CALIB_SEED, "source": calib_source, "autoflex": autoflex}
    return info


def _select(qg, layer) -> list[int]:
    """Indices among the graph's MAC nodes: ``all`` (those that run an integer kernel), an index or a name."""
    macs = qg.graph.mac_nodes
    names = [n.name for n in macs]
    ok = [kernel_of(qg.plans[n].fmt) is not None for n in names]
    if layer is None or layer == "all":
        return [k for k in range(len(names)) if ok[k]]
    if isinstance(layer, str) and layer in names:
        k = names.index(layer)
    else:
        try:
            k = int(layer)
        except (TypeError, ValueError):
            k = -1
        if not 0 <= k < len(names):
            shown = ", ".join(names[:8]) + (f", ... ({len(names)} in all)" if len(names) > 8 else "")
            raise VectorsError(f"layer must be 'all', an index in [0, {len(names) - 1}] or a MAC node name "
                               f"({shown}), got {layer!r}")
    if not ok[k]:
        fmt = qg.plans[names[k]].fmt.name
        raise VectorsError(f"layer: {layer}: MAC node {names[k]!r} runs {fmt}, which has no integer vectors")
    return [k]


def _input_from(qg, runs: dict[int, LayerRun], index: dict[str, int], node_input: str, x: np.ndarray):
    """The MAC layer whose output codes are this input's codes as they are (or None)."""
    src = qg.fused.get(node_input, node_input)
    k = index.get(src)
    if k is None or k not in runs:
        return None
    y = runs[k].y
    return k if y.dtype == x.dtype and y.size == x.size and np.array_equal(y.ravel(), x.ravel()) else None


def export_graph(out_dir: str, model: str, fmt: str, layer="all", batch: int = 1, seed: int = 0,
                 command: str | None = None, force: bool = False, autoflex: bool = False, input_shapes=None,
                 calib: int = ex.CALIB_N) -> dict:
    """Write the vectors of the MAC nodes of any model reference (module docstring) and return the manifest."""
    from accelsim.graph.reference import load
    from accelsim.runtime import quantize

    _check_format(fmt)
    ex.check_run_options(batch, seed, calib)
    ex._check_out(out_dir, force)
    try:
        loaded = load(model, input_shapes)
    except ModelError as exc:
        raise VectorsError(f"model: {exc}") from None
    calib_inputs, source = model_inputs(loaded, calib, ex.CALIB_SEED)
    try:
        qg = quantize(loaded.graph, fmt, calib_inputs, autoflex=autoflex)
    except FormatError as exc:
        raise VectorsError(f"fmt: {exc}") from None
    except (AccelsimError, ValueError) as exc:
        raise VectorsError(f"model: {model} in {fmt}: {exc}") from None
    macs = qg.graph.mac_nodes
    if not any(kernel_of(qg.plans[n.name].fmt) is not None for n in macs):
        raise _no_int(fmt, fmt, loaded.name)
    chosen = _select(qg, layer)
    inputs, _ = model_inputs(loaded, batch, seed)
    golden, g_env, _ = run_graph(qg, inputs, "reference")
    cpp, c_env, _ = run_graph(qg, inputs, "cpp")
    verify_graph(qg, golden, cpp, g_env, c_env)

    by_index = {r.index: r for r in golden}
    index = {n.name: k for k, n in enumerate(macs)}
    records, files = [], {}
    for k in chosen:
        run, node = by_index[k], macs[k]
        try:
            rec, contents = ex.layer_record(run, run.params["format"])
        except VectorsError as exc:
            raise VectorsError(f"layer {k} ({node.name}): {exc}") from None
        if node.op == "linear":
            rec["op"] = "linear"
            rec["as_conv"] = "1x1 conv2d: input (N, ..., D) -> (rows, D, 1, 1), output (rows, Dout, 1, 1)"
        rec["format"] = run.params["format"]
        rec["fused"] = qg.plans[node.name].fused
        rec["input"] = {"value": node.inputs[0],
                        "from_layer": _input_from(qg, by_index, index, node.inputs[0], run.x)}
        rec["source"] = node.source
        records.append(rec)
        files.update(contents)
    chained = all(b["input"]["from_layer"] == a["index"] for a, b in zip(records, records[1:])
                  if b["index"] == a["index"] + 1)
    manifest = {"schema": ex.SCHEMA, "accelsim_version": __version__, "command": command,
                "format": fmt.strip(), "model": _model_info(model, loaded, calib, source, autoflex),
                "runtime": "accelsim.runtime (quantize, QuantizedGraph.run)",
                "inputs": {"source": source, "batch": batch, "seed": seed,
                           "tensors": [{"name": i.name, "shape": [batch, *i.shape[1:]], "dtype": i.dtype}
                                       for i in loaded.graph.inputs]},
                "kernel_check": {"golden_equals_cpp": True, "isa": kernels.active_isa()},
                "files": dict(ex.FILES_INFO),
                "mac_nodes": [{"index": k, "name": n.name, "op": n.op, "format": qg.plans[n.name].fmt.name,
                               "exported": k in chosen} for k, n in enumerate(macs)],
                "chained": chained,
                "layers": records}
    ex.write_vectors(out_dir, manifest, files, force)
    return manifest
