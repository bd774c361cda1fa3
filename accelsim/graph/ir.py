"""The generator graph: the one representation of a generator that every job consumes.

A ``Graph`` is a list of ``Node``s in topological order over named values (its inputs and the nodes'
outputs), like an ONNX graph or a torch.fx graph: each node applies one op of ``accelsim.graph.ops``
to the values it names, with static attributes and float64 parameters. Every node carries its output
shape at batch 1 (the shapes are checked against the op's shape function when the graph is built),
and the name of what it came from (a torch module path, an ONNX node).

Transformations are passes, Graph in and Graph out (``accelsim.graph.passes``); running the graph in
float is ``Graph.run_float``; in a quantized format, ``accelsim.runtime``; pricing it,
``accelsim.workload.from_graph``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from accelsim.errors import ModelError
from accelsim.graph.ops import OPS

MAX_VALUE_ELEMS = 1 << 28    # elements of one tensor per image: 16k x 16k x 1; bigger is a typo, not a GAN


def _per_image(shape) -> int:
    n = 1
    for d in tuple(shape)[1:]:
        n *= int(d)
    return n


@dataclass(frozen=True)
class Input:
    name: str
    shape: tuple[int, ...]          # batch first (the example's batch)
    dtype: str = "float"            # float | int (class labels for an embedding)


@dataclass(frozen=True, eq=False)
class Node:
    name: str
    op: str
    inputs: tuple[str, ...]
    attrs: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict, repr=False)   # name -> float64 ndarray
    shape: tuple[int, ...] = ()
    source: str = ""

    @property
    def schema(self):
        return OPS[self.op]

    @property
    def is_mac(self) -> bool:
        return OPS[self.op].kind == "mac"

    @property
    def weight_elems(self) -> int:
        return int(self.params["weight"].size) if self.is_mac or self.op == "embedding" else 0


@dataclass(frozen=True, eq=False)
class Graph:
    name: str
    inputs: tuple[Input, ...]
    nodes: tuple[Node, ...]
    outputs: tuple[str, ...]
    source: str = ""

    def __post_init__(self):
        shapes = {}
        for i in self.inputs:
            if i.name in shapes:
                raise ModelError(f"graph {self.name!r}: input name {i.name!r} is repeated")
            if i.dtype not in ("float", "int"):
                raise ModelError(f"graph {self.name!r}: input {i.name!r} dtype must be float or int")
            shapes[i.name] = tuple(i.shape)
            if not all(isinstance(d, int) and d >= 1 for d in i.shape):
                raise ModelError(f"graph {self.name!r}: input {i.name!r} needs positive dimensions, got {i.shape}")
            if _per_image(i.shape) > MAX_VALUE_ELEMS:
                raise ModelError(f"graph {self.name!r}: input {i.name!r} of shape {tuple(i.shape)} has more than "
                                 f"2^28 elements per image")
        if not self.nodes:
            raise ModelError(f"graph {self.name!r} has no operations")
        for n in self.nodes:
            if n.op not in OPS:
                raise ModelError(f"node {n.name!r}: unknown op {n.op!r}")
            if n.name in shapes:
                raise ModelError(f"graph {self.name!r}: value name {n.name!r} is defined twice")
            lo, hi = OPS[n.op].arity
            if not lo <= len(n.inputs) <= hi:
                raise ModelError(f"node {n.name!r} ({n.op}) takes {lo}..{hi} inputs, got {len(n.inputs)}")
            missing = [i for i in n.inputs if i not in shapes]
            if missing:
                raise ModelError(f"node {n.name!r} ({n.op}) reads {missing[0]!r}, which is not defined before it")
            extra = set(n.params) - set(OPS[n.op].params)
            if extra:
                raise ModelError(f"node {n.name!r} ({n.op}): unexpected parameters {sorted(extra)}")
            missing = [k for k in OPS[n.op].required if k not in n.params] + \
                [k for k in OPS[n.op].attrs if k not in n.attrs]
            if missing:
                raise ModelError(f"node {n.name!r} ({n.op}): missing {missing[0]!r}")
            shape = tuple(int(d) for d in OPS[n.op].shape(n, [shapes[i] for i in n.inputs]))
            if n.shape and tuple(n.shape) != shape:
                raise ModelError(f"node {n.name!r} ({n.op}): shape {tuple(n.shape)} recorded, {shape} computed")
            if _per_image(shape) > MAX_VALUE_ELEMS:
                raise ModelError(f"node {n.name!r} ({n.op}): output {shape} has more than 2^28 elements per image")
            object.__setattr__(n, "shape", shape)
            shapes[n.name] = shape
        for o in self.outputs:
            if o not in shapes:
                raise ModelError(f"graph {self.name!r}: output {o!r} is not defined")
        if not self.outputs:
            raise ModelError(f"graph {self.name!r} has no outputs")

    # ---- queries -----------------------------------------------------------------------------------
    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise ModelError(f"graph {self.name!r} has no node {name!r}")

    def shape_of(self, value: str) -> tuple[int, ...]:
        for i in self.inputs:
            if i.name == value:
                return tuple(i.shape)
        return self.node(value).shape

    def consumers(self) -> dict[str, list[Node]]:
        out: dict[str, list[Node]] = {i.name: [] for i in self.inputs}
        for n in self.nodes:
            out[n.name] = []
            for i in n.inputs:
                out[i].append(n)
        return out

    @property
    def mac_nodes(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.is_mac)

    @property
    def params(self) -> int:
        return sum(int(p.size) for n in self.nodes for k, p in n.params.items() if k != "other")

    def with_nodes(self, nodes, outputs=None) -> "Graph":
        return replace(self, nodes=tuple(replace(n, shape=()) for n in nodes),
                       outputs=tuple(outputs if outputs is not None else self.outputs))

    # ---- float execution ------------------------------------------------------------------------------
    def check_inputs(self, inputs, finite_checked_later: frozenset = frozenset()) -> tuple[np.ndarray, ...]:
        """The graph's inputs as arrays: one per graph input, any batch, other dimensions as declared,
        finite floats (integers for int inputs). ``finite_checked_later``: names of float inputs whose
        finiteness the caller checks itself (the quantized runtime's quantize kernel refuses NaN and
        inf in the same pass that makes the codes)."""
        if isinstance(inputs, np.ndarray) or not isinstance(inputs, (tuple, list)):
            inputs = (inputs,)
        if len(inputs) != len(self.inputs):
            raise ModelError(f"graph {self.name!r} takes {len(self.inputs)} input(s) "
                             f"({', '.join(i.name for i in self.inputs)}), got {len(inputs)}")
        out = []
        for spec, x in zip(self.inputs, inputs):
            x = np.asarray(x)
            if x.ndim != len(spec.shape) or tuple(x.shape[1:]) != tuple(spec.shape[1:]):
                raise ModelError(f"input {spec.name!r}: expected shape (N, {', '.join(map(str, spec.shape[1:]))}), "
                                 f"got {x.shape}")
            if spec.dtype == "int":
                if x.dtype.kind not in "iu":
                    raise ModelError(f"input {spec.name!r}: expected integers, got {x.dtype}")
                x = x.astype(np.int64)
            else:
                if x.dtype.kind not in "biuf":
                    raise ModelError(f"input {spec.name!r}: expected numbers, got {x.dtype}")
                # float64 inputs are taken as they are (no copy: a 64 x 128 x 16 x 16 batch's copy was a
                # tenth of a one-layer run); the runtime and the float forward never write into them
                x = x.astype(np.float64, copy=False)
                if spec.name not in finite_checked_later and not np.isfinite(x).all():
                    raise ModelError(f"input {spec.name!r} contains NaN or inf")
            out.append(x)
        return tuple(out)

    def dead_after(self) -> list[tuple[str, ...]]:
        """For node k, the values no later node (and no output) reads: freed once node k has run."""
        last = {}
        for k, n in enumerate(self.nodes):
            for i in n.inputs:
                last[i] = k
        out: list[list[str]] = [[] for _ in self.nodes]
        for v, k in last.items():
            if v not in self.outputs:
                out[k].append(v)
        return [tuple(d) for d in out]

    def run_float(self, inputs, trace: bool = False, on_value=None):
        """Float64 outputs (one array, or a tuple for several outputs); with ``trace``, also the dict
        of every value by name. Without ``trace`` a value is freed after its last reader;
        ``on_value(name, array)`` sees every value as it is made (calibration statistics)."""
        env = dict(zip((i.name for i in self.inputs), self.check_inputs(inputs)))
        if on_value is not None:
            for k, v in env.items():
                on_value(k, v)
        dead = None if trace else self.dead_after()
        for k, n in enumerate(self.nodes):
            env[n.name] = OPS[n.op].run(n, [env[i] for i in n.inputs])
            if on_value is not None:
                on_value(n.name, env[n.name])
            if dead is not None:
                for v in dead[k]:
                    del env[v]
        outs = tuple(env[o] for o in self.outputs)
        outs = outs[0] if len(outs) == 1 else outs
        return (outs, env) if trace else outs
