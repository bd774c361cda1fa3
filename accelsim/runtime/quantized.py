"""Calibration, per-node integer parameters and execution of a quantized graph (see the package doc)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
import types

import numpy as np

from accelsim.errors import ConfigError, FormatError, ModelError
from accelsim.formats import binary, fixed, flexpoint, requant, ternary
from accelsim.formats.conv import ConvSpec
from accelsim.formats.registry import NumericFormat, get, parse_assignment
from accelsim.graph.ir import Graph, Node
from accelsim.graph.ops import OPS, conv_spec

CALIB_CHUNK = 16      # calibration inputs per float forward
MAX_CALIB = 4096      # calibration inputs a command accepts (one float forward each)
# Width of a MAC result read by the vector unit (norm, add, tanh ...; not one that only relu/pad/reshape
# ops pass on to MACs, which is requantized straight into their input domain). A modelling assumption,
# not a datasheet figure: int16 is the narrowest width that keeps 8-bit convs' pre-norm values
# accurate (CycleGAN w8a8 34.8 dB at 8 bits, 39.3 dB at 16, benchmarks/bench_runtime.py).
VECTOR_BITS = 16


def calibrate(graph: Graph, inputs) -> dict[str, tuple[float, float, float]]:
    """(min, max, mean |x|) of every value over the calibration inputs: one float64 forward per
    input, in chunks of ``CALIB_CHUNK``."""
    xs = graph.check_inputs(inputs)
    n = xs[0].shape[0]
    if n < 1 or any(x.shape[0] != n for x in xs):
        raise ModelError(f"calibration inputs of {graph.name!r} must share one batch size >= 1")
    stats: dict[str, list] = {}

    def observe(k, v):
        if np.asarray(v).dtype.kind != "f":
            return
        lo, hi, s = float(np.min(v)), float(np.max(v)), float(np.abs(v).sum())
        if k in stats:
            a = stats[k]
            stats[k] = [min(a[0], lo), max(a[1], hi), a[2] + s, a[3] + v.size]
        else:
            stats[k] = [lo, hi, s, v.size]

    for start in range(0, n, CALIB_CHUNK):   # values are freed after their last reader
        graph.run_float(tuple(x[start:start + CALIB_CHUNK] for x in xs), on_value=observe)
    return {k: (a[0], a[1], a[2] / max(a[3], 1)) for k, a in stats.items()}


@dataclass(frozen=True)
class QTensor:
    """An integer tensor: real = scale * (codes - zero_point)."""
    codes: np.ndarray
    scale: float
    zero_point: int
    bits: int

    def dequantize(self) -> np.ndarray:
        return fixed.dequantize(self.codes, self.scale, self.zero_point)


@dataclass
class MacPlan:
    """Everything the kernels need for one MAC node, and what the vectors exporter writes."""
    node: str
    fmt: NumericFormat
    spec: ConvSpec
    w_codes: np.ndarray | None = None
    w_scale: np.ndarray | None = None
    w_exp: int = 0
    out_exp: int | None = None              # flex16+5: static (Autoflex-predicted) output exponent; None = dynamic
    bias: np.ndarray | None = None          # int32/int64 at s_x*s_w (integer formats; beta*alpha for w1a1)
    bias_float: np.ndarray | None = None    # flex16+5, floats
    x_scale: float = 1.0
    x_zero_point: int = 0
    out_scale: float = 1.0
    out_zero_point: int = 0
    out_bits: int = 8                        # the readers' input bits, else act bits or VECTOR_BITS
    m0: np.ndarray | None = None
    shift: np.ndarray | None = None
    act: str = "none"                        # relu when the following ReLU is fused
    fused: str | None = None                 # name of the fused ReLU node
    beta: float = 1.0                        # w1a1 input scale
    xnor_scale: np.ndarray | None = None     # w1a1: beta * alpha_c per output channel (float64)
    w_float: np.ndarray | None = field(default=None, repr=False)   # float formats: rounded weights


def _kernel_weight(node: Node) -> tuple[np.ndarray, ConvSpec]:
    """The weight in torch conv layout and the spec the kernels run the node with (a linear layer is
    a 1x1 conv2d over its rows)."""
    if node.op == "linear":
        w = node.params["weight"]
        return w.reshape(*w.shape, 1, 1), ConvSpec.make()
    return node.params["weight"], conv_spec(node)


def _bias(node: Node, cout: int) -> np.ndarray:
    b = node.params.get("bias")
    return np.zeros(cout) if b is None else np.asarray(b, np.float64)


Domain = tuple  # (scale, zero_point, bits) of signed activation codes: real = scale * (codes - zero_point)

# Ops that commute with quantization (they move, copy or clamp at 0 values, and 0 is exact in every
# domain): on codes they give exactly the codes of their float result. Upsample: nearest only.
CODE_OPS = ("relu", "pad", "reshape", "permute", "pixel_shuffle", "concat", "upsample")


def _code_op(node: Node) -> bool:
    return node.op in CODE_OPS and (node.op != "upsample" or node.attrs["mode"] == "nearest")


# Elementwise ops of one input whose output element depends only on its input element (and, for
# per-channel parameters, its channel): on codes they are a function of the code, tabulated once by
# running the op itself (graph.ops, float64, after the golden dequantize) on every code of the input's
# storage dtype, and quantized as the runtime quantizes the op's output (kernels.lut_codes looks the
# codes up: the same bits as the float64 op, by construction).
TABLE_OPS = ("leaky_relu", "prelu", "tanh", "sigmoid", "hardtanh", "identity", "batch_norm")
TABLE_MAX_ENTRIES = 1 << 20     # per table set (channels x codes): at most 1 Mi entries (8 MiB of float64)


def _per_channel(node: Node) -> bool:
    return node.op == "batch_norm" or (node.op == "prelu" and np.size(node.params["weight"]) > 1)


def _x_domain(node: Node, fmt: NumericFormat, ranges) -> Domain | None:
    """The input domain of an integer-activation MAC node (None for other formats)."""
    if fmt.is_float or fmt.weight_kind == "flex" or fmt.act_kind != "int":
        return None
    x_lo, x_hi, _ = ranges[node.inputs[0]]
    scale, zp = fixed.choose_activation_qparams(x_lo, x_hi, fixed.IntFormat(fmt.act_bits, signed=True))
    return (scale, zp, fmt.act_bits)


def autoflex_exponent(max_abs: float, rounds: int = 8) -> int:
    """The static flex16+5 output exponent of a value whose calibrated max |x| is ``max_abs``:
    Autoflex's prediction (Koster et al. 2017, ``flexpoint.Autoflex``) fed that maximum until the
    exponent stops changing (its 100-LSB margin depends on the exponent), at most ``rounds`` times."""
    af = flexpoint.Autoflex(initial_exponent=0)
    for _ in range(rounds):
        before = af.exponent()
        if af.update(max_abs) == before:
            break
    return af.exponent()


def _plan(node: Node, fmt: NumericFormat, ranges, consumers, graph: Graph, out_domain,
          autoflex: bool = False, weight_quantizer: str = "minmax") -> MacPlan:
    w, spec = _kernel_weight(node)
    cout = w.shape[1] * spec.groups if spec.transposed else w.shape[0]
    b = _bias(node, cout)
    p = MacPlan(node.name, fmt, spec)
    x_mean = ranges[node.inputs[0]][2]
    if fmt.is_float:
        dt = np.float16 if fmt.weight_bits == 16 else np.float32
        p.w_float, p.bias_float = w.astype(dt).astype(np.float64), b
        return p
    if fmt.weight_kind == "flex":
        p.w_codes, p.w_exp = flexpoint.to_flex(w)
        p.bias_float = b
        if autoflex:
            lo, hi, _ = ranges[node.name]
            p.out_exp = autoflex_exponent(max(abs(lo), abs(hi)))
        return p
    if fmt.act_kind == "binary":
        # XNOR-Net: input beta * sign(x), beta = mean |x| (per tensor, calibrated); weights alpha_c *
        # sign(w); the bias is an integer at beta * alpha_c inside the popcount accumulator, so the
        # sign a next binary layer takes (acc * beta * alpha_c >= 0) is the integer test acc >= 0.
        p.w_codes, p.w_scale = binary.binarize(w, spec)
        p.w_codes = np.require(p.w_codes, requirements=["C", "O"])  # its own bytes: kernels.frozen_key freezes them
        p.beta = x_mean if x_mean > 0 else 1.0
        p.bias = fixed.quantize_bias(b, p.beta, p.w_scale)
        # the output scale of acc, as the unfused path multiplies it: beta * alpha_c (float64)
        p.xnor_scale = np.ascontiguousarray(p.beta * _channel(p.w_scale, 2).reshape(-1))
        return p
    p.x_scale, p.x_zero_point, _ = _x_domain(node, fmt, ranges)
    if fmt.weight_kind == "int":
        p.w_codes, p.w_scale = fixed.quantize_weights(w, fmt.weight_bits, spec, per_channel=True,
                                                      method=weight_quantizer)
    elif fmt.weight_kind == "ternary":
        p.w_codes, p.w_scale = ternary.ternarize(w, spec, method=weight_quantizer)
    else:
        p.w_codes, p.w_scale = binary.binarize(w, spec)
    p.w_codes = np.require(p.w_codes, requirements=["C", "O"])  # its own bytes: kernels.frozen_key freezes them
    p.bias = fixed.quantize_bias(b, p.x_scale, p.w_scale)
    users = consumers[node.name]
    out_value = node.name
    if len(users) == 1 and users[0].op == "relu" and node.name not in graph.outputs:
        p.act, p.fused, out_value = "relu", users[0].name, users[0].name
    readers = consumers[out_value]
    domain = out_domain(out_value)
    if domain is not None:                              # every reader is (through CODE_OPS) a MAC input
        p.out_scale, p.out_zero_point, p.out_bits = domain
    else:
        if out_value in graph.outputs or not readers or not all(r.is_mac for r in readers):
            p.out_bits = max(VECTOR_BITS, fmt.act_bits)     # read by the vector unit, not by a MAC
        else:
            p.out_bits = fmt.act_bits
        lo, hi, _ = ranges[out_value]
        p.out_scale, p.out_zero_point = fixed.choose_activation_qparams(lo, hi, fixed.IntFormat(p.out_bits, signed=True))
    pairs = [requant.quantize_multiplier(float(r)) for r in p.x_scale * p.w_scale / p.out_scale]
    p.m0 = np.array([q[0] for q in pairs], np.int32)
    p.shift = np.array([q[1] for q in pairs], np.int32)
    return p


class QuantizedGraph:
    """A graph prepared for one format per MAC node. ``run(inputs, impl)`` executes it."""

    def __init__(self, graph: Graph, formats: dict[str, NumericFormat], ranges: dict, autoflex: bool = False,
                 weight_quantizer: str = "minmax"):
        self.graph = graph
        self.autoflex = autoflex
        self.weight_quantizer = fixed.check_weight_quantizer(weight_quantizer)
        self.formats = formats
        consumers = graph.consumers()
        self._x_domains = {n.name: d for n in graph.mac_nodes
                           if (d := _x_domain(n, formats[n.name], ranges)) is not None}
        self._memo: dict[str, Domain | None] = {}
        self._consumers = consumers
        self.plans = {n.name: _plan(n, formats[n.name], ranges, consumers, graph, self._value_domain, autoflex,
                                    weight_quantizer)
                      for n in graph.mac_nodes}
        self.fused = {p.fused: p.node for p in self.plans.values() if p.fused}
        # Values computed in float64 that MAC inputs read (directly or through CODE_OPS) are quantized
        # once, where they are made: value -> (domain, the reader nodes that take the codes).
        # A value whose readers take codes in several domains (a U-Net skip read by a conv and by a
        # concat) is quantized into each: self.early holds the domain most readers take, _early_also
        # the others (the same codes each reader would make from the float64 value itself).
        self.early: dict[str, tuple[Domain, frozenset[str]]] = {}
        self._early_also: dict[str, tuple[tuple[Domain, frozenset[str]], ...]] = {}
        for v in [i.name for i in graph.inputs] + [n.name for n in graph.nodes
                                                   if n.name not in self.plans and n.name not in self.fused]:
            by_domain: dict = {}
            for r in consumers[v]:
                d = self._reader_domain(r, v)
                if d is not None:
                    by_domain.setdefault(d, set()).add(r.name)
            if by_domain:
                ds = sorted(by_domain, key=lambda k: -len(by_domain[k]))   # stable: ties keep reader order
                self.early[v] = (ds[0], frozenset(by_domain[ds[0]]))
                if len(ds) > 1:
                    self._early_also[v] = tuple((d, frozenset(by_domain[d])) for d in ds[1:])
        # A ReLU that is the only reader of an instance norm emitting codes is applied as the norm's
        # lower clamp (max(q, z) is relu on codes): norm name -> relu name.
        norms = {n.name for n in graph.nodes if n.op == "instance_norm"}
        self._relu_into = {v: rs[0].name for v, (_, readers) in self.early.items()
                           if v in norms and v not in graph.outputs and (rs := consumers[v]) and len(rs) == 1
                           and rs[0].op == "relu" and readers == {rs[0].name}}
        # A two-input add may write into an input that only it reads and that a norm or add made (a
        # fresh float64 array, no view of another value): add node -> that input's position.
        fresh = {n.name for n in graph.nodes if n.op in ("instance_norm", "add")}
        self._add_into = {n.name: i for n in graph.nodes if n.op == "add" and len(n.inputs) == 2
                          and n.inputs[0] != n.inputs[1]
                          for i in (1, 0) if n.inputs[i] in fresh and n.inputs[i] not in graph.outputs
                          and [r.name for r in consumers[n.inputs[i]]] == [n.name]}
        # An instance norm of codes whose only reader is a two-input add of float64 values runs with
        # that add in one pass (kernels.instance_norm_add: the same bits as the norm, then the add, then
        # the quantization of the sum where it is quantized early): norm name -> add name.
        self._norm_add = {v: rs[0].name for v in norms if v not in graph.outputs and v not in self.early
                          and (rs := consumers[v]) and len(rs) == 1 and rs[0].op == "add"
                          and len(rs[0].inputs) == 2 and rs[0].inputs[0] != rs[0].inputs[1]}
        # Such an add may write the sum into its float64 residual input (kernels.instance_norm_add
        # into_residual: no new array) when that input is a fresh array a norm or an add made, no graph
        # output, and every other reader of it takes early codes (made when it was made), so this add
        # is the last to read the array: add names.
        made_by = {n.name: n.op for n in graph.nodes}

        def last_float_reader(r: str, a: str) -> bool:
            """Whether add ``a`` may overwrite value ``r``'s float64 array: a fresh one a norm or an add
            made, no graph output, every other reader of which takes early codes."""
            code_readers = set().union(*(rs for _, rs in self._domains(r))) if r in self.early else set()
            return made_by.get(r) in ("instance_norm", "add") and r not in graph.outputs \
                and all(c.name == a or c.name in code_readers for c in consumers[r])

        self._norm_add_into = set()
        for v, a in self._norm_add.items():
            add = graph.node(a)
            if last_float_reader(add.inputs[1] if add.inputs[0] == v else add.inputs[0], a):
                self._norm_add_into.add(a)
        # A two-input add of codes and a float64 value (a residual block's sum: SRResNet) runs as one
        # pass (kernels.dequantize_add: the same bits as the dequantization, the add and the sum's early
        # quantization); it may write the sum into its float64 input where that is a fresh array a norm
        # or an add made, no graph output, whose other readers all take early codes (made when it was
        # made; last_float_reader): add name -> such input positions.
        self._add_float_into: dict[str, frozenset[int]] = {}
        for n in graph.nodes:
            if n.op != "add" or len(n.inputs) != 2 or n.inputs[0] == n.inputs[1]:
                continue
            ok = {i for i, r in enumerate(n.inputs) if last_float_reader(r, n.name)}
            if ok:
                self._add_float_into[n.name] = frozenset(ok)
        # A w1a1 node (no graph output) whose only reader is a ReLU whose value no MAC takes as codes applies it in its fused call (kernels.conv_xnor_f64 relu: numpy's maximum(y, 0.0), the
        # same bits; it needs positive finite scales): node -> relu.
        self._xnor_relu = {name: rs[0].name for name, p in self.plans.items()
                           if p.xnor_scale is not None and name not in graph.outputs
                           and (rs := consumers[name]) and len(rs) == 1 and rs[0].op == "relu"
                           and rs[0].name not in self.early
                           and bool(np.all((p.xnor_scale > 0) & np.isfinite(p.xnor_scale)))}
        self._dead = graph.dead_after()
        # Float inputs every reader of which takes codes: the quantize kernel checks them for NaN and
        # inf as it makes the codes, one pass, not two (np.isfinite's pass took 0.23 ms of a 7.4 ms run
        # of DCGAN's 512x4x4 layer at batch 64, Zen 4).
        self._quantized_inputs = frozenset(i.name for i in graph.inputs if i.name in self.early
                                           and self._codes_only(i.name) and i.dtype != "int")
        self._tables: dict = {}      # (node, input domain and dtype, output domain or None) -> table or None
        self._conv_calls: dict = {}  # (MAC node, kernels) -> its kernels.ConvRequant, made at its first run

    def _reader_domain(self, r: Node, v: str) -> Domain | None:
        """The domain in which reader ``r`` takes value ``v`` as codes, or None."""
        if r.name in self._x_domains and r.inputs[0] == v:
            return self._x_domains[r.name]
        if _code_op(r):
            return self._value_domain(r.name)
        return None

    def _value_domain(self, v: str) -> Domain | None:
        """The one domain in which every reader of ``v`` takes it as codes, or None."""
        if v not in self._memo:
            readers = self._consumers[v]
            ds = {self._reader_domain(r, v) for r in readers}
            self._memo[v] = ds.pop() if readers and v not in self.graph.outputs and len(ds) == 1 else None
        return self._memo[v]

    @property
    def format_names(self) -> dict[str, str]:
        return {k: v.name for k, v in self.formats.items()}

    def run(self, inputs, impl: str = "cpp", trace: bool = False):
        """Outputs in float64 (one array, or a tuple); with ``trace``, also every node's value as the
        run holds it: a QTensor for integer values, which for a value quantized early is in its MAC
        readers' domain (and, for a norm whose ReLU is its clamp, already relu'd), else float64.
        ``impl``: "cpp" (the C++ kernels), "reference" (golden)."""
        from accelsim import kernels
        K = kernels.implementation(impl) if isinstance(impl, str) else impl
        with kernels.array_cache():    # large arrays (values, outputs) reuse the blocks of earlier runs
            return self._run(inputs, K, trace)

    def _run(self, inputs, K, trace: bool):
        g = self.graph
        env: dict = {}
        codes: dict = {}      # value -> {reader: its early codes for that reader}
        relu_done: set = set()  # instance norms (w1a1 nodes) that applied their ReLU reader as the codes' clamp (in the fused call)

        def store(name, value, made=None):
            """``made``: {domain: codes} of ``value`` already made (then ``value`` may be None if every
            reader takes codes); the other early codes are quantized here."""
            if name in self.early and not isinstance(value, QTensor):
                first = None
                for d, readers in self._domains(name):
                    c = made.get(d) if made else None
                    q = QTensor(K.quantize(value, d[0], d[1], bits=d[2]) if c is None else c, *d)
                    first = q if first is None else first
                    codes.setdefault(name, {}).update(dict.fromkeys(readers, q))
                if self._codes_only(name):
                    value = first
            env[name] = value

        for i, x in zip(g.inputs, g.check_inputs(inputs, finite_checked_later=self._quantized_inputs)):
            if i.name not in self._quantized_inputs:
                store(i.name, x)
                continue
            try:
                store(i.name, x)
            except ValueError as e:
                if np.isfinite(x).all():
                    raise
                raise ModelError(f"input {i.name!r} contains NaN or inf") from e
        dead = None if trace else self._dead
        fuse_norm_add = not trace and hasattr(K, "instance_norm_add")   # trace keeps every node's value
        fuse_requant = not trace and hasattr(K, "conv_requant")         # (and the exporter every accumulator)
        tables = not trace and hasattr(K, "lut_codes")                  # (trace runs the float64 ops)
        fuse_deq_add = not trace and hasattr(K, "dequantize_add")
        for k, n in enumerate(g.nodes):
            args = [codes[i][n.name] if n.name in codes.get(i, ()) else env[i] for i in n.inputs]
            if tables and n.op in TABLE_OPS and (made := self._table_node(n, args, K)) is not None:
                store(n.name, *made)
            elif n.name in self.fused:
                env[n.name] = env[self.fused[n.name]]
            elif n.name in self.plans:
                store(n.name, self._mac(n, self.plans[n.name], args[0], K, fuse_requant,
                                        None if trace else relu_done))
            elif n.op == "relu" and n.inputs[0] in relu_done:
                env[n.name] = env[n.inputs[0]]
            elif fuse_norm_add and n.name in self._norm_add and isinstance(args[0], QTensor) \
                    and args[0].codes.ndim in (3, 4) and all(args[0].codes.shape[2:]):
                env[n.name] = _PendingNorm(n, args[0])        # computed by its add (below)
            elif any(isinstance(a, _PendingNorm) for a in args):
                self._norm_add_node(n, args, K, store, relu_done)
            elif fuse_deq_add and n.op == "add" and (made := self._dequantize_add_node(n, args, K)) is not None:
                store(n.name, *made)
            else:
                store(n.name, self._vector(n, args, K, relu_done, in_place=not trace))
            if dead is not None:   # free a value after its last reader
                for v in dead[k]:
                    del env[v]
                    codes.pop(v, None)
        outs = tuple(_real(env[o], K) for o in g.outputs)
        outs = outs[0] if len(outs) == 1 else outs
        return (outs, env) if trace else outs

    def _domains(self, name: str) -> tuple:
        """((domain, readers), ...) of the early codes of value ``name``, the main domain first."""
        return (self.early[name],) + self._early_also.get(name, ())

    def _codes_only(self, name: str) -> bool:
        """Whether every reader of value ``name`` takes early codes (no float64 copy needed)."""
        readers = set().union(*(rs for _, rs in self._domains(name)))
        return name not in self.graph.outputs and all(r.name in readers for r in self._consumers[name])

    # ---- an elementwise op on codes by table lookup ----------------------------------------------
    def _table_node(self, n: Node, args, K):
        """(float64 value or None, {domain: codes}) of TABLE_OPS node ``n`` on codes by lookup, or None
        when it runs in float64 (input not codes of <= 16 bits, tables too large or not finite)."""
        if len(args) != 1 or not isinstance(args[0], QTensor):
            return None
        x = args[0]
        from accelsim.formats import vector
        if x.codes.dtype not in vector.LUT_CODE_DTYPES or (_per_channel(n) and x.codes.ndim < 2):
            return None
        doms = self._domains(n.name) if n.name in self.early else ()
        want_float = not doms or not self._codes_only(n.name)
        outs = [d for d, _ in doms] + ([None] if want_float else [])
        ts = [self._table(n, x, d) for d in outs]
        if any(t is None for t in ts):
            return None
        made = {d: K.lut_codes(x.codes, t) for d, t in zip(outs, ts) if d is not None}
        return (K.lut_codes(x.codes, ts[-1]) if want_float else None), made

    def _table(self, n: Node, x: QTensor, out: Domain | None):
        """``op_table`` of node ``n`` on codes like ``x``, made once per graph."""
        c = x.codes.shape[1] if _per_channel(n) else 1
        key = (n.name, x.scale, x.zero_point, x.codes.dtype.str, c, out)
        if key not in self._tables:
            self._tables[key] = op_table(n, x.scale, x.zero_point, x.codes.dtype, c, out)
        return self._tables[key]

    def _dequantize_add_node(self, n: Node, args, K):
        """(float64 value or None, {domain: codes} or None) of add node ``n`` of codes and a float64 value
        of their shape (or of two code tensors: the first dequantized into a fresh array), by one
        kernels.dequantize_add call: the same bits as the dequantization, numpy's add (commutative in
        IEEE arithmetic) and the sum's early quantization; None when it does not apply."""
        if len(args) != 2 or n.inputs[0] == n.inputs[1]:
            return None
        is_q = [isinstance(a, QTensor) for a in args]
        if is_q == [True, True]:
            if args[0].codes.shape != args[1].codes.shape:
                return None
            i, other, into = 1, K.dequantize(args[0].codes, args[0].scale, args[0].zero_point), True
        elif is_q == [False, False]:
            return None
        else:
            i = 0 if is_q[0] else 1
            other = args[1 - i]
            if not (isinstance(other, np.ndarray) and other.dtype == np.float64
                    and other.shape == args[i].codes.shape):
                return None
            into = 1 - i in self._add_float_into.get(n.name, ()) and other.base is None \
                and other.flags.c_contiguous and other.flags.writeable
        q = args[i]
        if n.name not in self.early:
            return K.dequantize_add(q.codes, q.scale, q.zero_point, other, into_residual=into), None
        (scale, zp, bits), _ = self.early[n.name]
        # the other early domains (if any) are quantized from the float64 sum by store()
        want_float = not self._codes_only(n.name) or n.name in self._early_also
        y, c = K.dequantize_add(q.codes, q.scale, q.zero_point, other, out=(scale, zp, bits, True),
                                want_float=want_float, into_residual=into)
        return y, {(scale, zp, bits): c}

    def _norm_add_node(self, n: Node, args, K, store, relu_done: set) -> None:
        """Add node ``n`` one of whose inputs is a pending instance norm: norm, add and the sum's early
        quantization in one kernel call when the other input is float64 of the same shape, else the
        norm first (the unfused ops, the same bits)."""
        i = 0 if isinstance(args[0], _PendingNorm) else 1
        pend, other = args[i], args[1 - i]
        x, norm = pend.x, pend.node
        kw = dict(x_bits=x.bits, x_signed=True, scale=x.scale, zero_point=x.zero_point,
                  weight=norm.params.get("weight"), bias=norm.params.get("bias"), eps=norm.attrs["eps"])
        if isinstance(other, np.ndarray) and other.dtype == np.float64 and other.shape == x.codes.shape:
            # into the residual where it is a fresh array only this add still reads (its own data)
            kw["into_residual"] = n.name in self._norm_add_into and other.base is None \
                and other.flags.c_contiguous and other.flags.writeable
            if n.name in self.early:
                (scale, zp, bits), _ = self.early[n.name]
                y, q = K.instance_norm_add(x.codes, other, out=(scale, zp, bits, True),
                                           want_float=not self._codes_only(n.name), **kw)
                store(n.name, y, {(scale, zp, bits): q})
            else:
                store(n.name, K.instance_norm_add(x.codes, other, **kw))
            return
        args = list(args)
        args[i] = self._vector(norm, [x], K, relu_done)
        store(n.name, self._vector(n, args, K, relu_done))

    # ---- one vector-unit node ------------------------------------------------------------------
    def _vector(self, n: Node, args, K, relu_done: set, in_place: bool = False):
        """A non-MAC node: on codes where that is exact (CODE_OPS on codes of one domain; an instance
        norm of codes from integer statistics, accelsim.formats.vector), else float64 (graph.ops)."""
        if _code_op(n) and args and all(isinstance(a, QTensor) for a in args) and \
                len({(a.scale, a.zero_point, a.bits) for a in args}) == 1:
            a0 = args[0]
            if n.op == "relu" and a0.zero_point == -(1 << (a0.bits - 1)):
                return a0    # real 0 is the lowest code: every code is >= it, relu moves nothing
            return QTensor(_run_codes(n, [a.codes for a in args], a0.zero_point, K), a0.scale, a0.zero_point, a0.bits)
        if n.op == "instance_norm" and isinstance(args[0], QTensor) and args[0].codes.ndim in (3, 4) \
                and all(args[0].codes.shape[2:]):
            x = args[0]
            kw = dict(x_bits=x.bits, x_signed=True, scale=x.scale, zero_point=x.zero_point,
                      weight=n.params.get("weight"), bias=n.params.get("bias"), eps=n.attrs["eps"])
            early = self.early.get(n.name)
            if early is not None and all(r.name in early[1] for r in self._consumers[n.name]) \
                    and n.name not in self.graph.outputs:
                scale, zp, bits = early[0]
                relu = n.name in self._relu_into
                if relu:
                    relu_done.add(n.name)
                return QTensor(K.instance_norm_codes(x.codes, out=(scale, zp, bits, True), relu=relu, **kw),
                               scale, zp, bits)
            return K.instance_norm_codes(x.codes, **kw)
        if in_place and n.name in self._add_into:
            i = self._add_into[n.name]
            a, b = args[i], args[1 - i]
            if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype == np.float64 \
                    and a.shape == b.shape and a.flags.writeable:
                return np.add(a, b, out=a)     # the same bits as a + b, without a new array
        if in_place and n.op == "add" and len(args) == 2 and any(isinstance(a, QTensor) for a in args):
            xs = [_real(a, K) for a in args]
            if xs[0].shape == xs[1].shape and xs[0].dtype == xs[1].dtype == np.float64:
                # into the array just dequantized (a new one, nobody else's): the bits of a + b
                return np.add(xs[0], xs[1], out=xs[0 if isinstance(args[0], QTensor) else 1])
            return OPS[n.op].run(n, xs)
        return OPS[n.op].run(n, [_real(a, K) for a in args])

    # ---- one MAC node ----------------------------------------------------------------------------
    def _conv_call(self, node: Node, p: MacPlan, K, fuse_requant: bool):
        """The conv and requantization of integer-activation MAC node ``node`` as a function of its
        input codes: one ``conv_requant`` call (no accumulator tensor) when ``fuse_requant``, else
        ``conv_int`` then ``requantize_integer`` (the same bits). The C++ kernels' ``ConvRequant``
        (arguments checked once) is kept for the node's later runs; a kernel object that is no module
        (one that records or hides calls) gets every call."""
        fmt = p.fmt
        conv = dict(x_bits=fmt.act_bits, x_signed=True, x_zero_point=p.x_zero_point,
                    w_kind="fixed" if fmt.weight_kind == "int" else fmt.weight_kind,
                    w_bits=fmt.weight_bits if fmt.weight_kind == "int" else 2, bias=p.bias, spec=p.spec)
        rq = dict(zero_point=p.out_zero_point, out_bits=p.out_bits, out_signed=True, act=p.act)
        # the plan's weights never change: their key spares the kernels a hash of them per call
        frozen = getattr(K, "frozen_key", None)   # the C++ kernels' (not the golden model's, a crossbar's)
        if frozen:
            conv["w_key"] = frozen(p.w_codes)
        if not fuse_requant:
            return lambda codes: K.requantize_integer(K.conv_int(codes, p.w_codes, **conv), p.m0, p.shift, **rq)
        prepared = getattr(K, "ConvRequant", None) if isinstance(K, types.ModuleType) else None
        if prepared is None:
            return lambda codes: K.conv_requant(codes, p.w_codes, m0=p.m0, shift=p.shift, **conv, **rq)
        call = self._conv_calls[(node.name, K)] = prepared(p.w_codes, m0=p.m0, shift=p.shift, **conv, **rq)
        return call

    def _mac(self, node: Node, p: MacPlan, x, K, fuse_requant: bool = False, relu_done: set | None = None):
        """One MAC node's output. ``relu_done``: a w1a1 node of ``_xnor_relu`` applies its ReLU in the
        fused call and is added to it (its ReLU then passes the value on)."""
        fmt = p.fmt
        if fmt.weight_kind in ("int", "ternary", "binary") and fmt.act_kind == "int":
            if isinstance(x, QTensor) and (x.scale, x.zero_point, x.bits) == (p.x_scale, p.x_zero_point, fmt.act_bits):
                codes = x.codes
            else:
                codes = K.quantize(_real(x, K), p.x_scale, p.x_zero_point, bits=fmt.act_bits)
            codes, restore = _as_conv_input(node, codes)
            call = self._conv_calls.get((node.name, K)) if fuse_requant else None
            if call is None:
                call = self._conv_call(node, p, K, fuse_requant)
            return QTensor(restore(call(codes)), p.out_scale, p.out_zero_point, p.out_bits)
        xr, restore = _as_conv_input(node, _real(x, K))
        if fmt.act_kind == "binary":
            fused = getattr(K, "conv_xnor_f64", None)   # kernels without it (crossbar): the calls below
            if fused is not None and xr.dtype == np.float64 and p.xnor_scale is not None:
                # signs, XNOR conv and scale in one call: the same bits as the three steps below
                frozen = getattr(K, "frozen_key", None)
                kw = {"w_key": frozen(p.w_codes)} if frozen else {}
                relu = relu_done is not None and node.name in self._xnor_relu
                y = fused(xr, p.w_codes, bias=p.bias, scale=p.xnor_scale, spec=p.spec, relu=relu, **kw)
                if relu:
                    relu_done.add(node.name)
                return restore(y)
            codes = np.where(xr >= 0, 1, -1).astype(np.int8)
            acc = K.conv_xnor(codes, p.w_codes, bias=p.bias, spec=p.spec)
            return restore(acc * (p.beta * _channel(p.w_scale, acc.ndim)))
        if fmt.weight_kind == "flex":
            xm, xe = flexpoint.to_flex(xr)
            bias = np.rint(p.bias_float * 2.0 ** -(xe + p.w_exp)).astype(np.int64)
            m, e, _, _ = K.conv_flex(xm, xe, p.w_codes, p.w_exp, bias=bias, spec=p.spec, out_exp=p.out_exp)
            return restore(flexpoint.from_flex(m, e))
        dt = np.float16 if fmt.weight_bits == 16 else np.float32
        from accelsim.formats.fastconv import convolve_gemm
        out = convolve_gemm(xr.astype(dt).astype(np.float64), p.w_float, p.spec) + _channel(p.bias_float, 4)
        return restore(out.astype(np.float32).astype(np.float64))


def _channel(v, ndim: int) -> np.ndarray:
    return np.asarray(v, np.float64).reshape((1, -1) + (1,) * (ndim - 2))


def _real(v, K=None) -> np.ndarray:
    """A value in float64: codes dequantized (through ``K`` when given: the same bits, faster)."""
    if not isinstance(v, QTensor):
        return v
    return v.dequantize() if K is None else K.dequantize(v.codes, v.scale, v.zero_point)


class _PendingNorm:
    """An instance norm of codes that its add computes (QuantizedGraph._norm_add_node)."""
    __slots__ = ("node", "x")

    def __init__(self, node: Node, x: QTensor):
        self.node, self.x = node, x


def op_table(n: Node, scale: float, zero_point: int, dtype, channels: int = 1, out: Domain | None = None):
    """The lookup table (``kernels.lut_codes``) of TABLE_OPS node ``n`` on codes of storage ``dtype``
    with ``real = scale * (codes - zero_point)``: for every value of the dtype, the op's float64 result
    (``out`` None) or its codes in domain ``out`` = (scale, zero_point, bits), computed by the runtime's
    own float64 path (``fixed.dequantize``, ``graph.ops``, ``fixed.quantize``); one table, or
    ``channels`` tables (axis 1) for per-channel parameters. None when it would exceed
    TABLE_MAX_ENTRIES or when codes are wanted and a float result is NaN or inf (the float64 path
    then runs, and raises where the golden model raises)."""
    from accelsim.formats import vector
    t = vector.lut_entries(dtype)
    if channels * t > TABLE_MAX_ENTRIES:
        return None
    info = np.iinfo(dtype)
    every = np.broadcast_to(np.arange(info.min, info.max + 1).astype(dtype), (1, channels, t))
    with np.errstate(all="ignore"):   # codes the data may never hold: the float64 path warns where it meets them
        y = OPS[n.op].run(n, [fixed.dequantize(every, scale, zero_point)])
    y = np.ascontiguousarray(y.reshape(channels, t) if channels > 1 else y.reshape(t))
    if out is None:
        return y
    if not np.isfinite(y).all():
        return None
    return fixed.quantize(y, out[0], out[1], fixed.IntFormat(out[2], signed=True))


def _run_codes(n: Node, xs: list[np.ndarray], zero_point: int, K=None) -> np.ndarray:
    """A CODE_OPS node on codes of one domain (real 0 is the code ``zero_point``); ``K``: the kernels
    that pad (accelsim.kernels or the golden reference), numpy when None."""
    if n.op == "relu":
        return np.maximum(xs[0], xs[0].dtype.type(zero_point))
    if n.op == "pad":
        from accelsim.formats import vector
        pad = getattr(K, "pad_codes", vector.pad_codes)   # kernels without one (crossbar): the golden
        return pad(xs[0], n.attrs["pads"], n.attrs["mode"], zero_point)
    if n.op == "concat":
        return np.concatenate(xs, axis=n.attrs["axis"])
    x = xs[0]
    if n.op == "pixel_shuffle" and x.ndim == 4:   # the move of graph.ops' pixel shuffle, on the codes' dtype
        from accelsim.formats import vector
        return getattr(K, "pixel_shuffle_codes", vector.pixel_shuffle_codes)(x, n.attrs["factor"])
    # reshape, permute, nearest upsample: pure moves (some compute in float64: exact)
    return OPS[n.op].run(n, xs).astype(x.dtype, copy=False)


def _as_conv_input(node: Node, x: np.ndarray):
    """A linear node's input (N, ..., D) as the 1x1 conv input (rows, D, 1, 1), and the inverse for
    its output; conv inputs pass unchanged."""
    if node.op != "linear":
        return np.ascontiguousarray(x), lambda y: y
    lead = x.shape[:-1]
    rows = np.ascontiguousarray(x.reshape(-1, x.shape[-1], 1, 1))
    return rows, lambda y: y.reshape(*lead, y.shape[1])


def quantize(graph: Graph, fmt, calib_inputs=None, autoflex: bool = False, ranges: dict | None = None,
             weight_quantizer: str = "minmax") -> QuantizedGraph:
    """``graph`` prepared for ``fmt``: one format name for every MAC node, a per-layer assignment
    string (``"w4a8,first=w8a8,last=w8a8"``), or a dict node name -> format. Activation ranges are
    calibrated on ``calib_inputs`` (one float forward each), or given as ``ranges`` (what
    ``calibrate(graph, calib_inputs)`` returned: one calibration reused for many assignments, as the
    format search does). ``autoflex``: flex16+5 nodes use static output exponents predicted from the
    calibration (``autoflex_exponent``), else dynamic ones. ``weight_quantizer``: how integer and
    ternary weight scales are chosen (``formats.fixed.WEIGHT_QUANTIZERS``: minmax, mse, em)."""
    fixed.check_weight_quantizer(weight_quantizer)
    names = [n.name for n in graph.mac_nodes]
    if not names:
        raise ModelError(f"graph {graph.name!r} has no conv, transposed conv or linear node to quantize")
    if isinstance(fmt, dict):
        unknown = set(fmt) - set(names)
        if unknown:
            raise FormatError(f"no MAC node {sorted(unknown)[0]!r} in {graph.name!r}; MAC nodes: {', '.join(names)}")
        missing = set(names) - set(fmt)
        if missing:
            raise FormatError(f"no format for MAC node {sorted(missing)[0]!r}")
        formats = {k: get(v) for k, v in fmt.items()}
    else:
        formats = {k: get(v) for k, v in parse_assignment(fmt, names).items()}
    if (calib_inputs is None) == (ranges is None):
        raise ConfigError("quantize: give exactly one of calib_inputs and ranges")
    if ranges is None:
        ranges = calibrate(graph, calib_inputs)   # of the float model, before sign_inputs rewires it
    return QuantizedGraph(sign_inputs(graph, formats), formats, ranges, autoflex, weight_quantizer)


def sign_inputs(graph: Graph, formats: dict[str, NumericFormat]) -> Graph:
    """XNOR-Net's binary activation is sign(x) of the pre-activation (Rastegari et al. 2016): a
    binary-activation MAC (``w1a1``) that reads a ReLU reads the ReLU's input instead (sign of a
    ReLU output is +1 everywhere). A ReLU left without readers goes; every other node stays."""
    by_name = {n.name: n for n in graph.nodes}
    nodes, changed = [], False
    for n in graph.nodes:
        src = by_name.get(n.inputs[0]) if n.inputs else None
        if n.name in formats and formats[n.name].act_kind == "binary" and src is not None and src.op == "relu":
            n = replace(n, inputs=(src.inputs[0],) + n.inputs[1:])
            changed = True
        nodes.append(n)
    if not changed:
        return graph
    read = {i for n in nodes for i in n.inputs} | set(graph.outputs)
    return graph.with_nodes([n for n in nodes if n.op != "relu" or n.name in read], graph.outputs)
