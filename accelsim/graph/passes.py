"""Graph passes: Graph in, Graph out.

* ``remove_identity``: drops ``identity`` nodes (dropout in eval mode, contiguous, clone), rewiring
  their consumers.
* ``fold_batchnorm``: a ``batch_norm`` whose only producer is a conv / transposed conv / linear that
  feeds nothing else is folded into that node's weight and bias (Jacob et al. 2018, section 3.2);
  every other batch_norm stays a per-channel affine node.
* ``deploy``: both, in that order: the form every job runs and prices.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from accelsim.graph.ir import Graph, Node


def _rename(nodes, outputs, mapping: dict[str, str]):
    def fix(v):
        while v in mapping:
            v = mapping[v]
        return v
    return [replace(n, inputs=tuple(fix(i) for i in n.inputs)) for n in nodes], [fix(o) for o in outputs]


def remove_identity(g: Graph) -> Graph:
    mapping = {n.name: n.inputs[0] for n in g.nodes if n.op == "identity"}
    if not mapping:
        return g
    keep = [n for n in g.nodes if n.op != "identity"]
    nodes, outputs = _rename(keep, g.outputs, mapping)
    return g.with_nodes(nodes, outputs)


def fold_into(conv: Node, bn: Node) -> Node:
    """``conv`` with the inference batch norm ``bn`` folded into its weight and bias."""
    p = bn.params
    inv = p["weight"] / np.sqrt(p["running_var"] + bn.attrs["eps"])
    w = conv.params["weight"]
    axis = 1 if conv.op == "conv_transpose2d" else 0
    shape = [1] * w.ndim
    shape[axis] = -1
    if conv.op == "conv_transpose2d" and conv.attrs["groups"] > 1:
        g = conv.attrs["groups"]
        cin_g, cout_g = w.shape[0] // g, w.shape[1]
        w = (w.reshape(g, cin_g, cout_g, *w.shape[2:]) * inv.reshape(g, 1, cout_g, *([1] * (w.ndim - 2))))\
            .reshape(w.shape)
    else:
        w = w * inv.reshape(shape)
    b = conv.params.get("bias")
    b = np.zeros(inv.shape) if b is None else b
    params = dict(conv.params, weight=w, bias=(b - p["running_mean"]) * inv + p["bias"])
    return replace(conv, params=params, attrs=dict(conv.attrs, folded_bn=bn.name))


def fold_batchnorm(g: Graph) -> Graph:
    consumers = g.consumers()
    by_name = {n.name: n for n in g.nodes}
    folded: dict[str, Node] = {}     # conv name -> folded conv
    mapping: dict[str, str] = {}     # bn name -> conv name
    for n in g.nodes:
        if n.op != "batch_norm":
            continue
        src = by_name.get(n.inputs[0])
        if src is None or not src.is_mac or len(consumers[src.name]) != 1 or src.name in g.outputs:
            continue
        if src.op == "linear" and len(src.shape) != 2:
            continue     # batch norm over channels of a token axis: not a per-output scale of this linear
        folded[src.name] = fold_into(folded.get(src.name, src), n)
        mapping[n.name] = src.name
    if not mapping:
        return g
    nodes = [folded.get(n.name, n) for n in g.nodes if n.name not in mapping]
    nodes, outputs = _rename(nodes, g.outputs, mapping)
    return g.with_nodes(nodes, outputs)


def deploy(g: Graph) -> Graph:
    return fold_batchnorm(remove_identity(g))
